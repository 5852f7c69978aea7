// `lifecheck prop`: a property campaign — generated scenarios on one target, judged against the
// model — with a progress line, coverage figures and a shrunk counterexample file.
#include "harness/cli/args.hpp"
#include "harness/cli/cli.hpp"
#include "harness/property/campaign.hpp"
#include "harness/run/targets.hpp"

#include <chrono>
#include <cstdio>
#include <iomanip>
#include <iostream>

#include <unistd.h>

namespace lifecheck::cli {
namespace {

void print_summary(property::campaign_result const& r, property::campaign_options const& o) {
    std::cout << "lifecheck prop: target " << o.target << ", seed " << r.seed;
    if (r.workers > 1)
        std::cout << ", " << r.workers << " target processes";
    std::cout << "\n";
    std::cout << "cases: " << r.cases << " run, " << r.discarded << " discarded";
    if (!r.discard_reasons.empty()) {
        std::cout << " (";
        bool first = true;
        for (auto const& [why, n] : r.discard_reasons) {
            std::cout << (first ? "" : "; ") << n << " " << why;
            first = false;
        }
        std::cout << ")";
    }
    std::cout << "\ndistinct traces: " << r.traces.size() << "\n";
    std::cout << "coverage (callbacks that ran, by phase and what they did):\n";
    std::cout << "  " << std::left << std::setw(18) << "phase" << std::right << std::setw(9)
              << "threw" << std::setw(9) << "sent" << std::setw(11) << "continued" << std::setw(7)
              << "hung"
              << "\n";
    for (auto const& [phase, c] : r.coverage)
        std::cout << "  " << std::left << std::setw(18) << phase << std::right << std::setw(9)
                  << c.threw << std::setw(9) << c.sent << std::setw(11) << c.continued
                  << std::setw(7) << c.hung << "\n";
}

} // namespace

int prop_command(parsed_args const& p) {
    property::campaign_options o;
    o.cases = static_cast<int>(p.count("--cases").value_or(1000));
    o.target = p.text("--target", o.target);
    o.seed = p.seed("--seed");
    o.gen.max_scopes = static_cast<int>(p.count("--max-scopes").value_or(o.gen.max_scopes));
    if (p.has("--dialect")) {
        std::string const d = p.text("--dialect");
        if (d != "fastify" && d != "koa")
            return usage_error("prop", "--dialect wants fastify or koa, got " + d);
        o.gen.dialect = d == "koa" ? scenario::dialect::koa : scenario::dialect::fastify;
    }
    if (p.has("--faults")) {
        auto f = engine::parse_faults(p.text("--faults"));
        if (!f)
            return usage_error("prop", "unknown fault in --faults " + p.text("--faults"));
        o.faults = *f;
    }
    o.counterexample_dir = p.text("--out", o.counterexample_dir.string());
    o.runner = runner_options(p);
    o.jobs = jobs_of(p, 1);
    o.shrink = !p.has("--no-shrink");
    std::optional<bool> const progress = p.last_of("--progress", "--no-progress");
    if (o.faults != 0 && o.target != property::in_process_target)
        return usage_error("prop",
                           "--faults applies to --target in-process; for a socket target use "
                           "--target 'lifecheck-reference --faults F'");
#ifndef LIFECHECK_FAULTS
    if (o.faults != 0)
        return usage_error("prop", "this build has no seeded faults (LIFECHECK_FAULTS=OFF)");
#endif
    bool const terminal = ::isatty(STDERR_FILENO) == 1;
    bool const show = progress.value_or(terminal);
    bool drawn = false;
    if (show)
        o.progress = [&drawn, terminal](std::string const& line) {
            if (terminal)
                std::cerr << "\r\033[K[prop] " << line << std::flush;
            else
                std::cerr << "[prop] " << line << "\n";
            drawn = true;
        };
    auto const started = std::chrono::steady_clock::now();
    property::campaign_result const r = property::run_campaign(o);
    double const seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    if (drawn && terminal)
        std::cerr << "\r\033[K" << std::flush;
    if (!r.error.empty() && !r.counterexample) {
        std::cerr << "lifecheck prop: " << r.error << "\n";
        if (r.cases + r.discarded > 0)
            print_summary(r, o);
        return exit_internal;
    }
    print_summary(r, o);
    char rate[64];
    std::snprintf(rate,
                  sizeof rate,
                  "%.1f s, %.0f cases/s",
                  seconds,
                  seconds > 0 ? (r.cases + r.discarded) / seconds : 0.0);
    std::cout << "time: " << rate << "\n";
    if (r.passed) {
        std::cout << "PASS: " << r.cases << " cases agree with the model\n";
        return exit_pass;
    }
    std::cout << "FAIL: counterexample after " << r.cases << " cases and " << r.shrinks
              << " shrink steps\n";
    for (auto const& line : r.failure)
        std::cout << "  " << line << "\n";
    if (!r.written.empty())
        std::cout << "counterexample: " << r.written.string() << "\n"
                  << "replay: " << r.replay_command << "\n";
    else if (!r.error.empty())
        std::cout << "counterexample not written: " << r.error << "\n";
    std::cout << "RapidCheck seed: " << r.seed << "\n"
              << "reproduce: " << r.reproduce_command << "\n";
    return exit_fail;
}

} // namespace lifecheck::cli
