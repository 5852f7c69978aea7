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

constexpr char const* sweep_usage = R"(usage: lifecheck sweep FILE --step ID [options]

Replays request step ID of scenario FILE once per request byte offset N (0..length of the
request's wire bytes): the client writes exactly N bytes, then closes its socket
(abortAfterRequestBytes N). The steps before ID run as the scenario has them; the swept step's
`expect` is dropped, so each offset is judged by the invariants (scenario-format §4 I1-I7: one `end`, phase
order, onResponse at most once, the target stays alive) and by crash and hang detection.

options:
  --step ID          the request step to sweep (required)
  --target T         reference (default), fastify[@VERSION], koa or a command line
  --from N           first offset (default 0)
  --to N             last offset (default: the request's length in bytes)
  --stride K         every K-th offset (default 1)
  -j N, --jobs N     offsets at once, one target process each (default 2)
  --deadline MS      time a request has to get its end before it is a hang (default 5000)
  --junit FILE       JUnit XML report (default reports/sweep/junit.xml)
  --json FILE        JSON report (default reports/sweep/results.json)
  -h, --help         show this help

Each offset is reported as scenario "ID@N"; only offsets that fail are printed in full.

exit codes: 0 no offset broke an invariant, 1 some offset failed, crashed or hung,
2 usage or invalid scenario, 3 internal error
)";

struct sweep_args {
    std::string file;
    std::string step;
    std::string target = "reference";
    long long from = 0;
    std::optional<long long> to;
    long long stride = 1;
    int jobs = 2;
    run::milliseconds deadline = run::default_deadline;
    std::string junit = "reports/sweep/junit.xml";
    std::string json = "reports/sweep/results.json";
};

std::optional<int> parse(std::vector<std::string> const& args, sweep_args& a) {
    for (std::size_t i = 0; i < args.size(); ++i) {
        std::string const& arg = args[i];
        std::string err;
        std::string v;
        auto take = [&](char const* name) {
            return take_option(args, i, name, v, err);
        };
        auto count = [&](char const* what, long long min) -> std::optional<long long> {
            auto const n = parse_count(v);
            if (!n || *n < min) {
                err = std::string{what} + " wants a number >= " + std::to_string(min) + ", got \"" +
                      v + "\"";
                return std::nullopt;
            }
            return n;
        };
        if (arg == "-h" || arg == "--help") {
            std::cout << sweep_usage;
            return exit_pass;
        }
        if (take("--step")) {
            a.step = v;
        } else if (take("--target")) {
            a.target = v;
        } else if (take("--from")) {
            if (auto n = count("--from", 0))
                a.from = *n;
        } else if (take("--to")) {
            if (auto n = count("--to", 0))
                a.to = *n;
        } else if (take("--stride")) {
            if (auto n = count("--stride", 1))
                a.stride = *n;
        } else if (take("-j") || take("--jobs")) {
            if (auto n = count("-j", 1))
                a.jobs = static_cast<int>(std::min(*n, 64LL));
        } else if (take("--deadline")) {
            if (auto n = count("--deadline", 1))
                a.deadline = run::milliseconds{*n};
        } else if (take("--junit")) {
            a.junit = v;
        } else if (take("--json")) {
            a.json = v;
        } else if (err.empty() && arg.size() > 1 && arg[0] == '-') {
            return usage_error("sweep", "unknown option " + arg, sweep_usage);
        } else if (err.empty()) {
            if (!a.file.empty())
                return usage_error(
                    "sweep", "one scenario FILE only, got a second: " + arg, sweep_usage);
            a.file = arg;
        }
        if (!err.empty())
            return usage_error("sweep", err, sweep_usage);
    }
    if (a.file.empty())
        return usage_error("sweep", "no scenario FILE given", sweep_usage);
    if (a.step.empty())
        return usage_error("sweep", "--step ID is required", sweep_usage);
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

int sweep_command(std::vector<std::string> const& args) {
    sweep_args a;
    if (auto const code = parse(args, a))
        return *code;

    auto files = load_paths({a.file});
    if (files.size() != 1 || !files.front().sc) {
        for (loaded_file const& f : files)
            for (diagnostic const& d : f.problems)
                std::cerr << "lifecheck sweep: " << describe(d) << '\n';
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

    auto spec = run::resolve_target(a.target, run::self_exe());
    if (!spec)
        return usage_error(
            "sweep", "unknown target: " + describe(spec.error().front()), sweep_usage);

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

    run::options opts;
    opts.deadline = a.deadline;
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
