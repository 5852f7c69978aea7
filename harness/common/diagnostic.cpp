// Formats diagnostics the one way every lifecheck command prints them.
#include "harness/common/diagnostic.hpp"

namespace lifecheck {

std::string describe(diagnostic const& d) {
    std::string out = d.file;
    if (!d.json_path.empty())
        out += ": " + d.json_path;
    out += ": expected " + d.expected;
    if (!d.got.empty())
        out += ", got " + d.got;
    return out;
}

} // namespace lifecheck
