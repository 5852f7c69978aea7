// `lifecheck run --with-plugin NAME[@VERSION][:OPTIONS_JSON]` (decisions.md D35): the plugins a
// command line names, the scenarios with them registered first at the root, the check that the
// target can register them, and what changed between the runs without and with them.
#pragma once

#include "harness/common/result.hpp"
#include "harness/report/report.hpp"
#include "harness/run/runner.hpp"
#include "harness/scenario/scenario.hpp"

#include <optional>
#include <ostream>
#include <string>
#include <vector>

namespace lifecheck::cli {

/// Reads `NAME[@VERSION][:OPTIONS_JSON]`: OPTIONS_JSON follows the first `:`, VERSION the last
/// `@` after NAME's last `/` (so `@fastify/cors@11` is NAME @fastify/cors, VERSION 11); a NAME
/// starting with ./ or ../ becomes an absolute path from the current folder. NAME and VERSION
/// follow the rules of a scenario's `npmPlugins` entry (scenario-format §1.1); a diagnostic
/// names the option and what is wrong.
result<scenario::npm_plugin> parse_plugin_spec(std::string const& text);

/// `sc` with `plugins` registered first at its root, before its own npm plugins (a koa scenario
/// is returned as it is: a Fastify target skips it anyway).
scenario::scenario with_root_plugins(scenario::scenario sc,
                                     std::vector<scenario::npm_plugin> const& plugins);

/// The target name results of the run with the plugins carry: "fastify+@fastify/cors".
std::string with_plugins_name(std::string const& target,
                              std::vector<scenario::npm_plugin> const& plugins);

/// Loads an app of nothing but `plugins` into the target once, before any scenario runs: the
/// versions the target registered, in order ("" when it does not say), or nothing after printing
/// why it cannot (not installed, another version, options it refuses, a target without npm
/// plugins): a usage problem, exit 2.
std::optional<std::vector<std::string>>
check_plugins(run::target_spec const& spec,
              run::options const& opts,
              std::vector<scenario::npm_plugin> const& plugins);

/// The delta of the run without (`without`) and with (`with`) the plugins: results in the same
/// scenario order; a scenario counts as compared when neither result is an invalid file or an
/// --exclude skip.
report::plugin_delta plugin_delta_of(std::vector<check::scenario_result> const& without,
                                     std::vector<check::scenario_result> const& with,
                                     std::vector<report::plugin_info> plugins);

/// Prints the delta: a header, `CHANGED`/`BROKEN` and the changes of each changed scenario, and
/// a summary line.
void print_delta(report::plugin_delta const& d,
                 std::string const& target_version,
                 std::ostream& out);

} // namespace lifecheck::cli
