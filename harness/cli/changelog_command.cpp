// `lifecheck changelog`: runs scenarios on two releases of a framework and lists what changed.
#include "harness/check/compare.hpp"
#include "harness/cli/args.hpp"
#include "harness/cli/cli.hpp"
#include "harness/cli/release_table.hpp"
#include "harness/report/report.hpp"
#include "harness/run/releases.hpp"
#include "harness/run/runner.hpp"

#include <iostream>
#include <sstream>

namespace lifecheck::cli {
namespace {

using check::verdict;

/// One line per difference between two results of the same scenario; empty when equal.
std::vector<std::string> differences(check::scenario_result const& a,
                                     check::scenario_result const& b) {
    std::vector<std::string> out;
    // The class each target showed, before documented divergences are applied: a crash that is
    // documented for one version is still a change.
    if (a.shown != b.shown)
        out.push_back(std::string{"result: "} + check::to_string(a.shown) + " -> " +
                      check::to_string(b.shown));
    for (check::change const& c : check::step_changes(a, b, true))
        out.push_back(check::describe(c));
    return out;
}

/// The targets to compare, oldest first: --from and --to, or the releases of --target
/// NAME@A..B (each minor's newest, as bisect --table; --every-release: every one).
std::optional<std::vector<std::string>> targets_of(parsed_args const& p) {
    auto const fail = [](std::string const& problem) {
        usage_error("changelog", problem);
        return std::nullopt;
    };
    std::string const range = p.text("--target");
    if (range.empty()) {
        if (p.has("--every-release"))
            return fail("--every-release goes with --target NAME@A..B");
        if (p.text("--from").empty() || p.text("--to").empty())
            return fail("both --from and --to are needed (or --target NAME@A..B)");
        return std::vector<std::string>{p.text("--from"), p.text("--to")};
    }
    if (p.has("--from") || p.has("--to"))
        return fail("--target NAME@A..B or --from/--to, not both");
    auto const at = range.find('@');
    std::string const name = range.substr(0, at);
    std::filesystem::path adapter_dir;
    if (at == std::string::npos)
        return fail("--target NAME@A..B is needed (fastify@5.10.0..5.11.0)");
    if (auto const problem = adapter_problem(name, adapter_dir))
        return fail("--target " + range + ": " + *problem);
    auto const all = run::releases::resolve_all(adapter_dir, name, range.substr(at + 1));
    if (!all) {
        std::cerr << "lifecheck changelog: " << describe(all.error().front()) << '\n';
        return std::nullopt;
    }
    std::vector<std::string> texts;
    for (std::string const& v :
         run::releases::table_versions(all.value(), p.has("--every-release")))
        texts.push_back(name + "@" + v);
    if (texts.size() < 2)
        return fail("--target " + range + " names one release (" + texts.front() +
                    "): nothing to compare");
    return texts;
}

} // namespace

int changelog_command(parsed_args const& p) {
    auto const targets = targets_of(p);
    if (!targets)
        return exit_usage;
    std::vector<std::string> paths = p.operands;
    if (paths.empty())
        paths.push_back((run::source_dir(run::self_exe()) / "scenarios").string());

    auto const specs = resolve_targets("changelog", *targets);
    if (!specs)
        return exit_usage;

    std::vector<loaded_file> files = select_scenarios(selection_of(p, paths));
    if (report_invalid("changelog", files))
        return exit_usage;
    std::vector<scenario::scenario> scenarios;
    for (loaded_file& f : files)
        if (f.excluded.empty())
            scenarios.push_back(std::move(*f.sc));
    if (scenarios.empty()) {
        std::cerr << "lifecheck changelog: no scenarios to run\n";
        return exit_usage;
    }

    run::options opts = runner_options(p);
    opts.log_dir = p.text("--logs", "reports/logs");
    int const jobs = jobs_of(p, 2);
    auto const hellos = hellos_of("changelog", *specs, opts);
    if (!hellos)
        return exit_usage;
    std::vector<std::string> versions;
    for (protocol::hello_info const& hello : *hellos)
        versions.push_back(hello.target + " " + hello.version);
    std::vector<std::vector<run::outcome>> results;
    for (run::target_spec const& spec : *specs) {
        std::size_t done = 0;
        results.push_back(
            run::run_all(scenarios, spec, opts, jobs, [&](std::size_t, run::outcome const&) {
                ++done;
                std::cerr << "\r[" << spec.text << "] " << done << "/" << scenarios.size()
                          << std::flush;
            }));
        std::cerr << '\n';
    }

    std::size_t changed_pairs = 0;
    for (std::size_t k = 1; k < targets->size(); ++k) {
        std::string const& from = (*targets)[k - 1];
        std::string const& to = (*targets)[k];
        if (k > 1)
            std::cout << '\n';
        std::cout << "lifecheck " << report::lifecheck_version() << " changelog: " << from << " ("
                  << versions[k - 1] << ") -> " << to << " (" << versions[k] << "), "
                  << scenarios.size() << " scenarios\n\n";
        std::size_t changed = 0;
        for (std::size_t i = 0; i < scenarios.size(); ++i) {
            auto const diff = differences(results[k - 1][i].result, results[k][i].result);
            if (diff.empty())
                continue;
            ++changed;
            std::cout << "CHANGED " << results[k - 1][i].result.scenario_id << '\n';
            for (std::string const& line : diff)
                std::cout << "        " << line << '\n';
        }
        std::cout << '\n'
                  << changed << " of " << scenarios.size() << " scenarios changed between " << from
                  << " and " << to << '\n';
        changed_pairs += changed > 0 ? 1 : 0;
    }
    if (targets->size() > 2)
        std::cout << "\n"
                  << targets->size() << " releases: " << changed_pairs << " of "
                  << targets->size() - 1 << " neighbouring pairs changed something\n";
    return changed_pairs == 0 ? exit_pass : exit_fail;
}

} // namespace lifecheck::cli
