// Reads a parsed scenario document into the structs, collecting every problem (scenario-format.md
// v1.3, strict).
#pragma once

#include "harness/common/diagnostic.hpp"
#include "harness/scenario/scenario.hpp"

#include <cstddef>
#include <string>

namespace lifecheck::scenario::detail {

/// Deepest JSON nesting the loader accepts (keeps copies and dumps of payload values shallow).
constexpr std::size_t max_json_depth = 128;

/// Deepest plugin nesting the loader accepts.
constexpr int max_plugin_depth = 64;

/// Reads `doc` as a scenario. Every problem is appended to `problems` (none are thrown); the
/// returned scenario is only meaningful when none were added. Labels are not assigned here.
scenario read_scenario(json const& doc, std::string const& file, diagnostics& problems);

/// "$.a.b" for identifier-like keys, `$.a["content-type"]` for the others.
std::string member_path(std::string const& base, std::string const& key);

/// A JSON value as shown in a diagnostic's `got`: dumped on one line, at most ~60 characters.
std::string shown(json const& v);

/// How deep `v` nests (a scalar is 0, `[]` is 1), computed without recursion.
std::size_t depth_of(json const& v);

} // namespace lifecheck::scenario::detail
