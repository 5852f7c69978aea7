// One scenario on releases of a framework, and the version table of its results: shared by
// `lifecheck bisect` (--table) and `lifecheck repro FILE.json --table` (docs/releases.md).
#pragma once

#include "harness/run/runner.hpp"
#include "harness/scenario/scenario.hpp"

#include <filesystem>
#include <iosfwd>
#include <optional>
#include <string>
#include <vector>

namespace lifecheck::cli {

/// A release cannot be run (not installable, unknown): the command stops with exit 2.
struct release_error {
    std::string message;
};

/// The result class compared across releases: the verdict before documented divergences, with a
/// skip spelled as the target's answer (`unsupported`: the release lacks what the scenario needs).
std::string result_class(check::verdict v);

/// The adapter folder of a framework NAME (server_under_test/NAME), or a usage problem when NAME
/// has no adapter (reference, a command line).
std::optional<std::string> adapter_problem(std::string const& name,
                                           std::filesystem::path& adapter_dir);

/// Runs one scenario on NAME@VERSION and prints "  NAME@VERSION  RESULT  N ms" to `out`.
struct release_run {
    std::string name;
    scenario::scenario sc;
    run::options opts;
    std::ostream* out;

    /// The result class; throws release_error when the release cannot be resolved.
    std::string operator()(std::string const& version) const;
};

/// The results of one scenario per release, oldest release first.
struct version_table {
    std::string name; // fastify, koa
    std::vector<std::string> versions;
    std::vector<std::string> results;
};

/// Runs `run` on each version, in order.
version_table run_table(release_run const& run, std::vector<std::string> const& versions);

/// "| fastify | result |\n| --- | --- |\n| 5.10.0 | crash |\n..." (Markdown).
std::string table_markdown(version_table const& t);

/// One line per change between neighbouring rows: "change: crash on 5.10.0 -> pass on 5.11.3",
/// with " (bisect between them for the exact release)" unless every release ran.
std::vector<std::string> table_changes(version_table const& t, bool every_release);

} // namespace lifecheck::cli
