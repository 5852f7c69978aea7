// `lifecheck sweep`: replays one request step, aborting at every request byte offset, and checks
// the invariants at each offset — how a user hunts for the offset that breaks a server.
#include "harness/cli/args.hpp"
#include "harness/cli/cli.hpp"
#include "harness/report/json.hpp"
#include "harness/report/junit.hpp"
#include "harness/run/runner.hpp"

#include <chrono>
#include <iostream>

#include <unistd.h>

namespace lifecheck::cli {
namespace {

using check::verdict;

struct sweep_args {
    std::string file;
    std::string step;
    std::string target;
    long long from = 0;
    std::optional<long long> to;
    long long stride = 1;
    int jobs = 2;
    run::options opts;
    std::string junit;
    std::string json;
};

std::optional<int> parse(parsed_args const& p, sweep_args& a) {
    // sweep's --from/--to are byte offsets (decisions.md D26)
    for (char const* name : {"--from", "--to"})
        if (p.has(name) && !p.count(name))
            return usage_error("sweep",
                               std::string{name} + " wants a number from 0, got \"" + p.text(name) +
                                   "\"");
    a.file = p.operands.front();
    a.step = p.text("--step");
    if (a.step.empty())
        return usage_error("sweep", "--step ID is required");
    a.target = p.text("--target", "reference");
    a.from = p.count("--from").value_or(0);
    a.to = p.count("--to");
    a.stride = p.count("--stride").value_or(1);
    a.jobs = jobs_of(p, 2);
    a.opts = runner_options(p);
    a.junit = p.text("--junit", "reports/sweep/junit.xml");
    a.json = p.text("--json", "reports/sweep/results.json");
    return std::nullopt;
}

/// The scenario up to and including step `id` (top level or inside a parallel group, which is
/// then replaced by the step alone), or nothing when there is no such request step.
std::optional<scenario::scenario> cut_at(scenario::scenario const& sc, std::string const& id) {
    scenario::scenario out = sc;
    out.steps.clear();
    for (scenario::step const& s : sc.steps) {
        if (s.kind == scenario::step_kind::request && s.id == id) {
            out.steps.push_back(s);
            return out;
        }
        if (s.kind == scenario::step_kind::parallel)
            for (scenario::step const& c : s.children)
                if (c.kind == scenario::step_kind::request && c.id == id) {
                    out.steps.push_back(c);
                    return out;
                }
        out.steps.push_back(s);
    }
    return std::nullopt;
}

std::string progress_line(std::size_t done,
                          std::size_t total,
                          std::size_t bad,
                          std::chrono::steady_clock::time_point started) {
    auto const secs =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    return "\rsweep: " + std::to_string(done) + "/" + std::to_string(total) + " offsets, " +
           std::to_string(bad) + " broken, " + std::to_string(static_cast<long long>(secs)) + " s";
}

} // namespace

int sweep_command(parsed_args const& args) {
    sweep_args a;
    if (auto const code = parse(args, a))
        return *code;

    selection one;
    one.paths = {a.file};
    auto files = select_scenarios(one);
    if (report_invalid("sweep", files) || files.size() != 1) {
        if (files.size() != 1)
            std::cerr << "lifecheck sweep: FILE must be one scenario file\n";
        return exit_usage;
    }
    scenario::scenario const& sc = *files.front().sc;
    auto base = cut_at(sc, a.step);
    if (!base) {
        std::cerr << "lifecheck sweep: " << a.file << ": no request step with id \"" << a.step
                  << "\" ($.steps[*].id or a parallel group's children)\n";
        return exit_usage;
    }
    scenario::step const& swept = base->steps.back();
    long long const length =
        static_cast<long long>(scenario::wire_bytes(swept.id, swept.request).size());
    long long const to = std::min(a.to.value_or(length), length);
    if (a.from > to) {
        std::cerr << "lifecheck sweep: --from " << a.from << " is past the request's " << length
                  << " bytes\n";
        return exit_usage;
    }

    auto const specs = resolve_targets("sweep", {a.target});
    if (!specs)
        return exit_usage;
    run::target_spec const* spec = &specs->front();

    std::vector<scenario::scenario> variants;
    std::vector<long long> offsets;
    for (long long n = a.from; n <= to; n += a.stride) {
        scenario::scenario v = *base;
        v.id = sc.id + "@" + std::to_string(n);
        v.divergences.clear();
        scenario::step& s = v.steps.back();
        s.expect.reset();
        s.client = scenario::client_options{};
        s.client.abort_after_request_bytes = n;
        variants.push_back(std::move(v));
        offsets.push_back(n);
    }

    std::cout << "lifecheck " << report::lifecheck_version() << " sweep: " << sc.id << " step "
              << a.step << " (" << length << " request bytes), offsets " << a.from << ".." << to;
    if (a.stride > 1)
        std::cout << " every " << a.stride;
    std::cout << ", target " << a.target << '\n';
    std::cout.flush();

    run::options opts = a.opts;
    opts.log_dir = std::filesystem::path{a.json}.parent_path() / "logs";
    bool const tty = isatty(STDERR_FILENO) != 0;
    auto const started = std::chrono::steady_clock::now();
    std::size_t done = 0;
    std::size_t bad = 0;
    report::run_report rep;
    rep.run.command = "lifecheck sweep " + run::shell_quote(a.file) + " --step " + a.step;
    rep.run.id = "sweep-" + sc.id;
    auto outcomes =
        run::run_all(variants, *spec, opts, a.jobs, [&](std::size_t, run::outcome const& o) {
            ++done;
            if (o.result.v != verdict::pass)
                ++bad;
            if (tty)
                std::cerr << progress_line(done, variants.size(), bad, started) << std::flush;
        });
    if (tty)
        std::cerr << '\n';

    for (std::size_t i = 0; i < outcomes.size(); ++i) {
        check::scenario_result& r = outcomes[i].result;
        r.replay_command = "lifecheck sweep " + run::shell_quote(a.file) + " --step " + a.step +
                           " --target " + run::shell_quote(a.target) + " --from " +
                           std::to_string(offsets[i]) + " --to " + std::to_string(offsets[i]);
        if (r.v != verdict::pass) {
            std::cout << check::to_string(r.v) << "  offset " << offsets[i] << '\n'
                      << indent(report::failure_text(r), 6);
        }
        rep.results.push_back(r);
    }
    rep.run.targets.push_back(
        {a.target, outcomes.empty() ? "" : outcomes.front().result.target_version});
    rep.run.duration_ms =
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - started)
            .count();

    report::tally const t = report::count(rep.results);
    std::cout << variants.size() << " offsets: " << t.of(verdict::pass) << " passed, "
              << t.of(verdict::fail) << " failed, " << t.of(verdict::crash) << " crashed, "
              << t.of(verdict::hang) << " hung, " << t.of(verdict::error) << " errors\n";
    auto const junit = report::write_junit(a.junit, rep);
    auto const json = report::write_json(a.json, rep);
    if (!junit || !json) {
        for (auto const* r : {&junit, &json})
            if (!*r)
                std::cerr << "lifecheck sweep: " << describe(r->error().front()) << '\n';
        return exit_internal;
    }
    std::cout << "reports: " << junit->string() << ", " << json->string() << '\n';
    return t.of(verdict::pass) + t.of(verdict::skip) == rep.results.size() ? exit_pass : exit_fail;
}

} // namespace lifecheck::cli
