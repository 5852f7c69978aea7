// Small helpers shared by the subcommands: option parsing, usage errors, loading scenarios.
#pragma once

#include "harness/common/result.hpp"
#include "harness/scenario/scenario.hpp"

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace lifecheck::cli {

/// Exit codes of every lifecheck command.
constexpr int exit_pass = 0;
constexpr int exit_fail = 1;
constexpr int exit_usage = 2;
constexpr int exit_internal = 3;

/// Reads `--name VALUE` or `--name=VALUE` at args[i] (advancing i past a separate value).
/// Nothing when args[i] is another option; `error` is set when the value is missing.
std::optional<std::string> option_value(std::vector<std::string> const& args,
                                        std::size_t& i,
                                        std::string const& name,
                                        std::string& error);

/// option_value for a parse loop: true when args[i] is `name`, its value then in `value`.
bool take_option(std::vector<std::string> const& args,
                 std::size_t& i,
                 std::string const& name,
                 std::string& value,
                 std::string& error);

/// Parses a non-negative integer option value; nothing when it is not one.
std::optional<long long> parse_count(std::string const& text);

/// Prints "lifecheck COMMAND: PROBLEM" and the usage to stderr; returns exit_usage.
int usage_error(std::string const& command, std::string const& problem, char const* usage);

/// A scenario file that loaded, or the diagnostics of one that did not.
struct loaded_file {
    std::filesystem::path file;
    std::string id;                       // the scenario id (also for files that failed)
    std::optional<scenario::scenario> sc; // empty when invalid
    diagnostics problems;
};

/// Expands PATHs (files and folders) and loads every scenario file. Paths that do not exist
/// become problems of their own.
std::vector<loaded_file> load_paths(std::vector<std::string> const& paths);

/// "text" with every line indented by `n` spaces.
std::string indent(std::string const& text, std::size_t n);

} // namespace lifecheck::cli
