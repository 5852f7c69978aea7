// `lifecheck mutants`: every seeded fault of the reference engine against the scripted corpus
// (over sockets) and the property (in-process): who kills it, and the mutation score.
#include "harness/cli/args.hpp"
#include "harness/cli/cli.hpp"
#include "harness/property/campaign.hpp"
#include "harness/property/in_process.hpp"
#include "harness/run/runner.hpp"
#include "harness/run/targets.hpp"

#include <iostream>
#include <map>
#include <set>

namespace lifecheck::cli {
namespace {

/// What killed a fault in the corpus: scenario id and its first finding.
struct corpus_kill {
    std::string id;
    std::string why;
};

std::string first_finding(check::scenario_result const& r) {
    if (r.findings.empty())
        return check::to_string(r.v);
    check::finding const& f = r.findings.front();
    std::string kind =
        f.kind == check::finding_kind::invariant ? f.invariant_id : check::to_string(f.kind);
    return std::string{check::to_string(r.v)} + ", " + kind +
           (f.step_id.empty() ? "" : " at step " + f.step_id);
}

} // namespace

int mutants_command(parsed_args const& p) {
    int const cases = static_cast<int>(p.count("--cases").value_or(2000));
    std::uint64_t const seed = p.seed("--seed").value_or(1);
    std::vector<std::string> corpus = p.all("--corpus");
    bool const with_corpus = !p.has("--no-corpus");
    std::set<std::string> only;
    for (std::string const& name : p.all("--fault")) {
        if (!engine::parse_faults(name))
            return usage_error("mutants", "unknown fault " + name);
        only.insert(name);
    }
    int const jobs = jobs_of(p, 2);
    run::options const ropts = runner_options(p);
#ifndef LIFECHECK_FAULTS
    std::cerr << "lifecheck mutants: this build has no seeded faults (LIFECHECK_FAULTS=OFF)\n";
    return exit_usage;
#endif

    // The corpus, and which of its scenarios pass on the clean reference.
    std::vector<scenario::scenario> scenarios;
    std::set<std::string> clean_pass;
    auto reference = run::resolve_target("reference", run::self_exe());
    if (!reference.has_value()) {
        std::cerr << "lifecheck mutants: " << describe(reference.error().front()) << "\n";
        return exit_internal;
    }
    if (with_corpus) {
        if (corpus.empty())
            corpus.push_back((run::source_dir(run::self_exe()) / "scenarios" / "fastify").string());
        std::vector<loaded_file> files = select_scenarios(selection_of(p, corpus));
        if (report_invalid("mutants", files))
            return exit_usage;
        for (loaded_file& f : files)
            if (f.excluded.empty() && f.sc->lang == scenario::dialect::fastify)
                scenarios.push_back(std::move(*f.sc));
        std::cerr << "[mutants] clean run: " << scenarios.size() << " scenarios on reference\n";
        auto const clean = run::run_all(scenarios, reference.value(), ropts, jobs);
        for (std::size_t k = 0; k < clean.size(); ++k)
            if (clean[k].result.v == check::verdict::pass)
                clean_pass.insert(scenarios[k].id);
        std::cerr << "[mutants] " << clean_pass.size() << " of them pass on the clean reference\n";
    }

    int total = 0;
    int killed = 0;
    int killed_by_corpus = 0;
    int killed_by_property = 0;
    std::vector<std::string> survivors;
    for (auto const& [name, fault] : engine::all_faults()) {
        if (!only.empty() && only.count(name) == 0)
            continue;
        ++total;
        std::cout << "fault " << name << "\n";
        std::vector<corpus_kill> kills;
        if (with_corpus) {
            run::target_spec spec = reference.value();
            spec.text = "reference --faults " + name;
            spec.argv.push_back("--faults");
            spec.argv.push_back(name);
            std::cerr << "[mutants] " << name << ": corpus\n";
            auto const results = run::run_all(scenarios, spec, ropts, jobs);
            for (std::size_t k = 0; k < results.size(); ++k) {
                auto const v = results[k].result.v;
                if (clean_pass.count(scenarios[k].id) != 0 &&
                    (v == check::verdict::fail || v == check::verdict::crash ||
                     v == check::verdict::hang))
                    kills.push_back({scenarios[k].id, first_finding(results[k].result)});
            }
            std::cout << "  corpus:   "
                      << (kills.empty()
                              ? "survives"
                              : "KILLED by " + std::to_string(kills.size()) + " scenario(s)")
                      << "\n";
            for (std::size_t k = 0; k < kills.size() && k < 3; ++k)
                std::cout << "            " << kills[k].id << " (" << kills[k].why << ")\n";
        }
        property::campaign_options o;
        o.cases = cases;
        o.seed = seed;
        o.faults = static_cast<engine::fault_set>(fault);
        o.write_counterexample = false;
        std::cerr << "[mutants] " << name << ": property, " << cases << " cases in-process\n";
        auto const r = property::run_campaign(o);
        bool property_kill = !r.passed && r.counterexample.has_value();
        if (property_kill) {
            // a kill counts only when the clean engine passes the same case (open findings of
            // the clean engine would otherwise "kill" every fault)
            auto const clean = property::run_in_process(*r.counterexample);
            if (!property::compare_with_model(*r.counterexample, clean).empty() ||
                !property::check(*r.counterexample, clean).empty()) {
                property_kill = false;
                std::cout << "  property: not attributable (the counterexample fails without the "
                             "fault too: "
                          << (r.failure.empty() ? "" : r.failure.front()) << ")\n";
            }
        }
        if (property_kill) {
            std::cout << "  property: KILLED after " << r.cases << " cases, shrunk to "
                      << property::count_scopes(r.counterexample->application.root) << " scope(s), "
                      << property::count_callbacks(r.counterexample->application.root)
                      << " callback(s)\n";
            if (!r.failure.empty())
                std::cout << "            " << r.failure.front() << "\n";
        } else if (r.passed || !r.error.empty()) {
            std::cout << "  property: "
                      << (r.error.empty() ? "survives " + std::to_string(r.cases) + " cases"
                                          : r.error)
                      << "\n";
        }
        bool const dead = property_kill || !kills.empty();
        killed += dead ? 1 : 0;
        killed_by_corpus += kills.empty() ? 0 : 1;
        killed_by_property += property_kill ? 1 : 0;
        if (!dead)
            survivors.push_back(name);
    }
    std::cout << "\nmutation score: " << killed << "/" << total << " faults killed";
    if (with_corpus)
        std::cout << " (corpus " << killed_by_corpus << "/" << total << ", property "
                  << killed_by_property << "/" << total << ")";
    else
        std::cout << " (property only)";
    std::cout << "\n";
    for (auto const& s : survivors)
        std::cout << "SURVIVED: " << s << "\n";
    return survivors.empty() ? exit_pass : exit_fail;
}

} // namespace lifecheck::cli
