// The lifecheck command line: the subcommands (the command table in options.hpp lists them).
#pragma once

#include "harness/cli/options.hpp"

#include <string>
#include <string_view>
#include <vector>

namespace lifecheck::cli {

/// Matches a scenario id against a --filter/--exclude pattern: `*` and `?` stay within one
/// path segment, `**` crosses segments (`a/**/b` also matches `a/b`). A pattern without
/// wildcards matches that id and every id below it (`fastify/hooks` selects the folder).
bool glob_match(std::string_view pattern, std::string_view id);

/// Runs `lifecheck ARGS...` (argv without the program name); returns the exit code:
/// 0 all pass, 1 some fail/crash/hang, 2 invalid input or usage, 3 internal error.
int main(std::vector<std::string> const& args);

int run_command(parsed_args const& args);
int validate_command(parsed_args const& args);
int serve_command(parsed_args const& args);
int record_command(parsed_args const& args);
int repro_command(parsed_args const& args);
/// repro_command on a scenario file (FILE.json): the Markdown report (repro_scenario.cpp).
int repro_scenario_command(parsed_args const& args);
int changelog_command(parsed_args const& args);
int sweep_command(parsed_args const& args);
int bisect_command(parsed_args const& args);
int releases_command(parsed_args const& args);
int prop_command(parsed_args const& args);
int mutants_command(parsed_args const& args);

} // namespace lifecheck::cli
