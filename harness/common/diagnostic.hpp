// A problem found in untrusted input: which file, where in it, what was expected and what was
// found.
#pragma once

#include <string>
#include <vector>

namespace lifecheck {

/// One problem in a scenario file, a target's output or a command line.
struct diagnostic {
    std::string file;      // the file (or "<stdin>", "<target>", "<args>")
    std::string json_path; // "$.app.plugins[0].hooks.onSend[1].do"
    std::string expected;  // "one of continue, throw, send, ..."
    std::string got;       // "\"sned\""
};

using diagnostics = std::vector<diagnostic>;

/// "file: $.path: expected X, got Y" — the one format every command prints.
std::string describe(diagnostic const& d);

} // namespace lifecheck
