// Strict loader for scenario files (scenario-format.md v2.2): every problem is a diagnostic with
// file and JSON path.
#pragma once

#include "harness/common/result.hpp"
#include "harness/scenario/scenario.hpp"

#include <filesystem>
#include <string>
#include <vector>

namespace lifecheck::scenario {

/// Loads one scenario file. `root` is the scenarios/ folder the id is computed from (the id is
/// the path below it without `.json`); when the file is not below `root`, the id is the file's
/// stem. Unknown keys, wrong types and bad values are diagnostics naming the JSON path.
result<scenario> load_file(std::filesystem::path const& file,
                           std::filesystem::path const& root = {});

/// Parses scenario text (already read). `file` and `id` are used for diagnostics and the id.
result<scenario> parse(std::string const& text, std::string const& file, std::string const& id);

/// Builds a scenario from JSON already parsed.
result<scenario> from_json(json const& doc, std::string const& file, std::string const& id);

/// Writes a scenario back as JSON in the file format (labels given in the file stay, defaults
/// are omitted). parse(to_json(s)) == s for any scenario the loader accepts.
json to_json(scenario const& s);

/// The app part alone, as sent to targets in `load` (every ACTION carries its label).
json app_to_json(app const& a, dialect d);

/// Expands files and folders into scenario files (*.json, recursively, sorted by path).
/// Files named DIVERGENCES.md or README.md and non-.json files are ignored.
std::vector<std::filesystem::path> collect_files(std::vector<std::filesystem::path> const& paths);

/// Finds the `scenarios` folder above `file` (for computing ids), or nothing.
std::filesystem::path find_root(std::filesystem::path const& file);

/// The id of `file` (scenario-format §1): its path below `root` without `.json`, with forward
/// slashes. An empty `root` means find_root(file). A file with no root or outside it gets its file
/// name without `.json`. load_file uses this.
std::string scenario_id(std::filesystem::path const& file, std::filesystem::path const& root = {});

/// The 1-based line of scenario text where `json_path` (a diagnostic's path: `$.steps[2]`,
/// `$.steps[0].expect.trace`, `$.app.routes[0]["x-y"]`) starts: a member's key, an array
/// element's first character. When the path is not all there, the line of its deepest part that
/// is; 1 for `$` or text that is not JSON. A syntax error's "line N, column M" is line N. For
/// CI annotations (`lifecheck run --format github`,
/// SARIF), which point at a line.
int line_of(std::string const& text, std::string const& json_path);

} // namespace lifecheck::scenario
