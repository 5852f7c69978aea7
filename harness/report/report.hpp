// What a run report holds (run facts + one result per scenario and target), shared by the writers.
#pragma once

#include "harness/check/compare.hpp"
#include "harness/check/verdict.hpp"
#include "harness/common/result.hpp"
#include "harness/common/text.hpp"

#include <array>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace lifecheck::report {

/// A target as it introduced itself (hello).
struct target_info {
    std::string name;
    std::string version;
};

/// Facts about the whole run.
struct run_info {
    std::string id;                    // e.g. "20250101T120000Z-4f2a"
    std::optional<std::uint64_t> seed; // fuzz/property runs; nothing for scripted runs
    std::string command;               // the command line that started the run
    std::vector<target_info> targets;  // in the order they were run
    std::string started;               // ISO 8601, UTC
    double duration_ms = 0;
    std::string lifecheck_version; // "" = this build's version (lifecheck_version())
    std::string interrupted;       // "SIGINT"/"SIGTERM" when a signal cut the run short, else ""
    std::filesystem::path source_root; // what SARIF and GitHub annotations name files relative
                                       // to (source_root()); "" = the current directory
};

/// An npm plugin of `lifecheck run --with-plugin`, as asked and as the target found it.
struct plugin_info {
    std::string name;
    std::string version_asked; // "" when any version goes
    std::string installed;     // the version the target registered ("" when unknown)
    scenario::json options = scenario::json::object();
};

/// One scenario whose run with the plugins differs from its run without (check::lifecycle_changes).
struct plugin_change {
    std::string scenario_id;
    std::string file;
    bool broken = false; // some change breaks the lifecycle: an invariant, a crash or a hang
    std::vector<check::change> changes;
};

/// `lifecheck run --with-plugin` (decisions.md D35): every scenario ran without and with the
/// plugins registered first at the root; what changed.
struct plugin_delta {
    std::vector<plugin_info> plugins;
    std::string without;      // the target name of the run without, e.g. "fastify"
    std::string with;         // the target name of the run with, e.g. "fastify+@fastify/cors"
    std::size_t compared = 0; // scenarios that ran both times
    std::vector<plugin_change> changed;
};

/// How many changed scenarios of `d` broke the lifecycle.
std::size_t broken_count(plugin_delta const& d);

/// A finished run: what junit and json reports are written from.
struct run_report {
    run_info run;
    std::vector<check::scenario_result> results;
    std::optional<plugin_delta> delta; // run --with-plugin only
};

/// The version of lifecheck that was built (CMake project version).
char const* lifecheck_version();

/// The verdicts in report order: pass, fail, crash, hang, skip, error, divergence.
std::array<check::verdict, 7> const& all_verdicts();

/// How many results have each verdict.
struct tally {
    std::size_t total = 0;
    std::array<std::size_t, 7> by_verdict{}; // indexed like all_verdicts()

    std::size_t of(check::verdict v) const;
};

/// Counts `results`, or only those of `target` when it is given.
tally count(std::vector<check::scenario_result> const& results,
            std::optional<std::string> const& target = std::nullopt);

/// Target names in report order: those of `run.targets` first, then any other target that
/// appears in the results, in order of first appearance.
std::vector<std::string> target_order(run_report const& r);

/// A result's full failure text: every finding (`describe` + its side-by-side trace diff,
/// indented), the divergence or skip note when there is one, then "replay: COMMAND".
std::string failure_text(check::scenario_result const& r);

/// True for the verdicts that fail a run: fail, crash, hang, error.
bool is_failure(check::verdict v);

/// The folder CI tools resolve file paths against: $GITHUB_WORKSPACE when set, else the nearest
/// folder at or above the current one that holds `.git` (the repository), else the current one.
std::filesystem::path source_root();

/// `file` relative to `root` ("" = the current directory) when it lies below it, with forward
/// slashes; otherwise absolute.
std::string relative_to(std::string const& file, std::filesystem::path const& root);

/// Where a result points in its scenario file.
struct source_location {
    std::string file; // relative_to(r.file, root)
    int line = 1;     // 1-based
};

/// The file of `r` and the line of its first finding that names a place in it (the expect field
/// it compared, else its step: scenario::line_of); line 1 when none does or the file cannot be
/// read.
source_location locate(check::scenario_result const& r, std::filesystem::path const& root);

/// A result in a few words: "FAIL fastify/errors/x [reference]".
std::string headline(check::scenario_result const& r);

/// `s` cut to at most `limit` bytes without splitting a UTF-8 sequence (harness/common/text.hpp).
using lifecheck::utf8_prefix;

/// Writes `content` to `file` (parent folders created); the path, or a diagnostic naming it.
result<std::filesystem::path> write_text(std::filesystem::path const& file,
                                         std::string const& content);

} // namespace lifecheck::report
