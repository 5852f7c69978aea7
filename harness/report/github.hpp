// Writes failing results as GitHub Actions workflow commands (`::error file=...,line=...::...`),
// which GitHub shows as annotations on the scenario file's line.
#pragma once

#include "harness/report/report.hpp"

#include <filesystem>
#include <string>
#include <string_view>

namespace lifecheck::report {

/// The workflow command for one result: `::error file=PATH,line=N,title=TITLE::MESSAGE` for a
/// failure (fail, crash, hang, error), "" for any other verdict. PATH is relative to `root`
/// (relative_to), N the line locate() finds, TITLE the verdict, id and target, MESSAGE the
/// first finding and the replay command. Ends with a newline.
std::string github_annotation(check::scenario_result const& r, std::filesystem::path const& root);

/// `s` escaped for a workflow command: `%`, CR and LF as %25, %0D, %0A; in a property value
/// (`property`) also `:` and `,` as %3A and %2C.
std::string github_escape(std::string_view s, bool property);

} // namespace lifecheck::report
