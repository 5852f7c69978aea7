// `lifecheck changelog`: runs scenarios on two releases of a framework and lists what changed.
#include "harness/check/compare.hpp"
#include "harness/cli/args.hpp"
#include "harness/cli/cli.hpp"
#include "harness/report/report.hpp"
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

} // namespace

int changelog_command(parsed_args const& p) {
    std::string const from = p.text("--from");
    std::string const to = p.text("--to");
    if (from.empty() || to.empty())
        return usage_error("changelog", "both --from and --to are needed");
    std::vector<std::string> paths = p.operands;
    if (paths.empty())
        paths.push_back((run::source_dir(run::self_exe()) / "scenarios").string());

    auto const specs = resolve_targets("changelog", {from, to});
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

    std::cout << "lifecheck " << report::lifecheck_version() << " changelog: " << from << " ("
              << versions[0] << ") -> " << to << " (" << versions[1] << "), " << scenarios.size()
              << " scenarios\n\n";
    std::size_t changed = 0;
    for (std::size_t i = 0; i < scenarios.size(); ++i) {
        auto const diff = differences(results[0][i].result, results[1][i].result);
        if (diff.empty())
            continue;
        ++changed;
        std::cout << "CHANGED " << results[0][i].result.scenario_id << '\n';
        for (std::string const& line : diff)
            std::cout << "        " << line << '\n';
    }
    std::cout << '\n'
              << changed << " of " << scenarios.size() << " scenarios changed between " << from
              << " and " << to << '\n';
    return changed == 0 ? exit_pass : exit_fail;
}

} // namespace lifecheck::cli
