// `lifecheck changelog`: runs scenarios on two releases of a framework and lists what changed.
#include "harness/cli/args.hpp"
#include "harness/cli/cli.hpp"
#include "harness/report/report.hpp"
#include "harness/run/runner.hpp"

#include <iostream>
#include <sstream>

namespace lifecheck::cli {
namespace {

using check::verdict;

std::string quoted_body(std::string const& body) {
    std::string out = "\"";
    for (char c : report::utf8_prefix(body, 80)) {
        if (c == '\n')
            out += "\\n";
        else if (c == '"')
            out += "\\\"";
        else
            out += c;
    }
    out += body.size() > 80 ? "...\"" : "\"";
    return out;
}

std::string joined(std::vector<std::string> const& v) {
    std::string out = "[";
    for (std::size_t i = 0; i < v.size(); ++i)
        out += (i ? ", " : "") + v[i];
    return out + "]";
}

/// One line per difference between two results of the same scenario; empty when equal.
std::vector<std::string> differences(check::scenario_result const& a,
                                     check::scenario_result const& b) {
    std::vector<std::string> out;
    // The class each target showed, before documented divergences are applied: a crash that is
    // documented for one version is still a change.
    if (a.shown != b.shown)
        out.push_back(std::string{"result: "} + check::to_string(a.shown) + " -> " +
                      check::to_string(b.shown));
    std::size_t const n = std::max(a.steps.size(), b.steps.size());
    for (std::size_t i = 0; i < n; ++i) {
        check::step_record const empty;
        check::step_record const& x = i < a.steps.size() ? a.steps[i] : empty;
        check::step_record const& y = i < b.steps.size() ? b.steps[i] : empty;
        std::string const id = "step " + (x.id.empty() ? y.id : x.id) + ": ";
        auto status = [](check::step_record const& s) {
            return s.got_response ? std::to_string(s.status) : std::string{"no response"};
        };
        if (x.got_response != y.got_response || x.status != y.status)
            out.push_back(id + "status " + status(x) + " -> " + status(y));
        if (x.trace != y.trace)
            out.push_back(id + "trace " + joined(x.trace) + " -> " + joined(y.trace));
        if (x.body != y.body)
            out.push_back(id + "body " + quoted_body(x.body) + " -> " + quoted_body(y.body));
    }
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
