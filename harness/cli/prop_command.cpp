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

constexpr char const* prop_usage = R"(usage: lifecheck prop [options]

Generates fastify-dialect scenarios (RapidCheck: apps of nested scopes, hooks with every verb,
error handlers, routes, payloads; requests, aborts, parallel groups, flags), runs each on a
target and compares every step with the model's prediction (trace, endAt, status, body,
complete, aborted) and with invariants I1-I7. A failing case is shrunk to a minimal one and
written as an ordinary scenario file (expect filled from the model) that `lifecheck run`
replays. Cases whose outcome the model cannot decide (a race within 20 ms), and over sockets
cases where it predicts a hang or a Fastify crash, are discarded and counted.

options:
  --target T        in-process (default: the reference engine in this process, virtual
                    clock, no sockets), reference, fastify, fastify@VERSION, koa, or a command
                    line that speaks the target protocol
  --cases N         cases that must pass (default 1000)
  --seed S          RapidCheck seed (default: random; printed, with the command that repeats
                    the campaign)
  --max-scopes K    at most K scopes per app, root included: 1-4 (default 4)
  --dialect D       fastify (default) or koa: koa apps of 1-6 middleware (next once, never,
                    twice; down/up ACTIONs; flags; the error listener), for --target
                    in-process, reference or koa (real Koa 2)
  --faults F        in-process only: seeded engine faults (comma-separated names; see
                    `lifecheck mutants`)
  --out DIR         where the counterexample goes (default reports/counterexamples)
  --no-shrink       report the first failing case as generated
  --deadline MS     socket targets: time a request has to get its end (default 5000)
  --progress        show the progress line (default: only on a terminal)
  --no-progress     never show it
  --verbose         pass the target's stderr through (default: reports/logs/)
  -h, --help        show this help

exit codes: 0 every case agreed with the model, 1 a counterexample was found, 2 usage,
3 the campaign could not run (the target did not start, too many discarded cases, internal
error)
)";

void print_summary(property::campaign_result const& r, property::campaign_options const& o) {
    std::cout << "lifecheck prop: target " << o.target << ", seed " << r.seed << "\n";
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

int prop_command(std::vector<std::string> const& args) {
    property::campaign_options o;
    o.cases = 1000;
    int progress = -1; // -1: on a terminal
    std::string error;
    for (std::size_t i = 0; i < args.size(); ++i) {
        std::string const& a = args[i];
        std::optional<std::string> v;
        auto takes = [&](char const* name) {
            v = option_value(args, i, name, error);
            return v.has_value();
        };
        if (a == "-h" || a == "--help") {
            std::cout << prop_usage;
            return exit_pass;
        }
        if (takes("--target")) {
            o.target = *v;
        } else if (takes("--cases")) {
            auto n = parse_count(*v);
            if (!n || *n < 1 || *n > 100'000'000)
                return usage_error("prop", "--cases wants a number from 1, got " + *v, prop_usage);
            o.cases = static_cast<int>(*n);
        } else if (takes("--seed")) {
            try {
                std::size_t used = 0;
                o.seed = std::stoull(*v, &used);
                if (used != v->size() || v->front() == '-')
                    throw std::invalid_argument("trailing");
            } catch (std::exception const&) {
                return usage_error(
                    "prop", "--seed wants a non-negative integer, got " + *v, prop_usage);
            }
        } else if (takes("--max-scopes")) {
            auto n = parse_count(*v);
            if (!n || *n < 1 || *n > 4)
                return usage_error("prop", "--max-scopes wants 1 to 4, got " + *v, prop_usage);
            o.gen.max_scopes = static_cast<int>(*n);
        } else if (takes("--dialect")) {
            if (*v != "fastify" && *v != "koa")
                return usage_error("prop", "--dialect wants fastify or koa, got " + *v, prop_usage);
            o.gen.dialect = *v == "koa" ? scenario::dialect::koa : scenario::dialect::fastify;
        } else if (takes("--faults")) {
            auto f = engine::parse_faults(*v);
            if (!f)
                return usage_error("prop", "unknown fault in --faults " + *v, prop_usage);
            o.faults = *f;
        } else if (takes("--out")) {
            o.counterexample_dir = *v;
        } else if (takes("--deadline")) {
            auto n = parse_count(*v);
            if (!n || *n < 1)
                return usage_error("prop", "--deadline wants milliseconds, got " + *v, prop_usage);
            o.runner.deadline = std::chrono::milliseconds{*n};
        } else if (a == "--no-shrink") {
            o.shrink = false;
        } else if (a == "--progress") {
            progress = 1;
        } else if (a == "--no-progress") {
            progress = 0;
        } else if (a == "--verbose") {
            o.runner.verbose = true;
        } else {
            return usage_error("prop", error.empty() ? "unknown argument " + a : error, prop_usage);
        }
        if (!error.empty())
            return usage_error("prop", error, prop_usage);
    }
    if (o.faults != 0 && o.target != property::in_process_target)
        return usage_error("prop",
                           "--faults applies to --target in-process; for a socket target use "
                           "--target 'lifecheck-reference --faults F'",
                           prop_usage);
#ifndef LIFECHECK_FAULTS
    if (o.faults != 0)
        return usage_error(
            "prop", "this build has no seeded faults (LIFECHECK_FAULTS=OFF)", prop_usage);
#endif
    bool const terminal = ::isatty(STDERR_FILENO) == 1;
    bool const show = progress == 1 || (progress == -1 && terminal);
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
