// Helpers shared by the subcommands: the scenario-selection path (load, filter, exclude,
// diagnostics) and target resolution.
#pragma once

#include "harness/cli/options.hpp"
#include "harness/common/result.hpp"
#include "harness/run/runner.hpp"
#include "harness/scenario/scenario.hpp"

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace lifecheck::cli {

/// Exit codes of every lifecheck command.
constexpr int exit_pass = 0;
constexpr int exit_fail = 1;
constexpr int exit_usage = 2;
constexpr int exit_internal = 3;

/// Parses a non-negative integer option value; nothing when it is not one.
std::optional<long long> parse_count(std::string const& text);

/// A scenario file that loaded, or the diagnostics of one that did not.
struct loaded_file {
    std::filesystem::path file;
    std::string id;                       // the scenario id (also for files that failed)
    std::optional<scenario::scenario> sc; // empty when invalid
    diagnostics problems;
    std::string excluded; // the --exclude reason; "" when the file is not excluded
};

/// Which scenarios a command works on: PATHs, --filter, -k, --tag and --exclude.
struct selection {
    std::vector<std::string> paths;
    std::vector<std::string> filters;
    std::string keyword;                                       // -k; "" for none
    std::vector<std::string> tags;                             // --tag: any of them
    std::vector<std::pair<std::string, std::string>> excludes; // pattern, reason
};

/// The selection a command line names: its --filter, -k, --tag and --exclude with the given
/// paths.
selection selection_of(parsed_args const& p, std::vector<std::string> paths);

/// Loads the selection's paths, keeps the files a --filter matches (all when there is none),
/// -k matches and that carry a --tag, and marks those an --exclude matches. Invalid files stay
/// (when their id matches the --filter and -k), with their diagnostics.
std::vector<loaded_file> select_scenarios(selection const& s);

/// -k: `pattern` occurs in `text`, ignoring ASCII case; `*` and `?` in it are wildcards.
bool keyword_match(std::string const& pattern, std::string const& text);

/// `file` as messages and reports show it: relative to the current folder when it lies below
/// it (issue 19: no absolute paths of the machine that ran), else as given.
std::filesystem::path shown_path(std::filesystem::path const& file);

/// Prints the diagnostics of every invalid file as "lifecheck COMMAND: ..." on stderr;
/// returns whether there was one.
bool report_invalid(std::string_view command, std::vector<loaded_file> const& files);

/// Resolves target names (scenario-format targets or command lines); on an unknown one
/// reports a usage error and returns nothing (exit 2).
std::optional<std::vector<run::target_spec>> resolve_targets(std::string_view command,
                                                             std::vector<std::string> const& texts);

/// Why a target did not start: the start error and the target's own stderr (bounded).
struct start_failure {
    std::string target;
    std::string why;
    std::string target_stderr;
};

/// Starts the runner's target (if it is not running) for its hello; on failure prints
/// "lifecheck COMMAND: cannot start target ...: WHY" with the target's stderr under it, fills
/// `failed` when given, and returns nothing (a usage problem: exit 2).
std::optional<protocol::hello_info> start_target(std::string_view command,
                                                 std::string const& name,
                                                 run::runner& rn,
                                                 start_failure* failed = nullptr);

/// Starts each target once (a probe, stopped again) for its hello, before anything runs; on
/// the first that cannot start prints as start_target does, fills `failed` when given, and
/// returns nothing (exit 2).
std::optional<std::vector<protocol::hello_info>>
hellos_of(std::string_view command,
          std::vector<run::target_spec> const& specs,
          run::options const& opts,
          start_failure* failed = nullptr);

/// Expands PATHs (files and folders) and loads every scenario file, each under its shown_path.
/// Paths that do not exist become problems of their own.
std::vector<loaded_file> load_paths(std::vector<std::string> const& paths);

/// "text" with every line indented by `n` spaces.
std::string indent(std::string const& text, std::size_t n);

} // namespace lifecheck::cli
