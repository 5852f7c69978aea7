// The one-page story of a scenario run, in the order it happens: start the target, load the
// app, run the steps, collect events until quiet (D4), close the app, then check and judge.
#include "harness/run/runner.hpp"

#include "harness/run/socket_driver.hpp"
#include "harness/scenario/load.hpp"

#include <algorithm>
#include <atomic>
#include <cctype>
#include <cstdio>
#include <exception>
#include <fstream>
#include <functional>
#include <map>
#include <mutex>
#include <thread>
#include <utility>

namespace lifecheck::run {

using clock = std::chrono::steady_clock;

/// Everything one scenario run accumulates; the step functions fill it in, judge() reads it.
struct runner::scenario_run {
    explicit scenario_run(scenario::scenario const& s)
        : sc{s} {}

    scenario::scenario const& sc;
    clock::time_point const started = clock::now();
    check::run_facts facts;
    std::vector<std::string> warnings;
    int port = 0;                          // where the loaded app listens
    std::unique_ptr<socket_driver> driver; // carries out the steps; its connections live there
    std::vector<raw_window> raw_windows;   // where raw steps started (observe)
    clock::time_point steps_done = started;
    bool stopped = false;                          // we stopped the target: not a crash
    std::optional<check::startup_refusal> refused; // v2.5: the target's startupError
    std::optional<std::size_t> idle_at;            // v2.6: where the target said idle (D57)
};

//----------------------------------------------------------------------------------------------
// The story.

outcome runner::run(scenario::scenario const& sc) {
    scenario_run r{sc};
    try {
        if (start_target(r) && load_app(r)) {
            run_steps(r);
            collect_events(r);
            close_app(r);
        }
    } catch (std::exception const& e) {
        r.facts.harness_fault = std::string{"exception while running the scenario: "} + e.what();
        restart_next_time(r, "lifecheck failed mid-scenario");
    }
    try {
        return judge(r);
    } catch (std::exception const& e) {
        outcome out;
        out.result.scenario_id = sc.id;
        out.result.file = sc.file;
        check::describe_scenario(sc, out.result);
        out.result.target = target_text_;
        out.result.v = out.result.shown = check::verdict::error;
        out.result.harness_fault = true;
        out.result.findings.push_back({"",
                                       check::finding_kind::harness,
                                       "",
                                       std::string{"lifecheck fault while checking: "} + e.what(),
                                       "",
                                       "",
                                       std::nullopt,
                                       ""});
        return out;
    }
}

// 1. A live target: reuse the process, or start one (after a crash, or the first time).
bool runner::start_target(scenario_run& r) {
    auto const hello = ensure_started();
    if (hello)
        return true;
    r.facts.crash = "the target could not start: " + describe(hello.error().front());
    return false;
}

// 2. Load the labelled app (D1) and wait for ready (a port), unsupported (skip) or loadError.
bool runner::load_app(scenario_run& r) {
    auto const app = scenario::app_to_json(r.sc.application, r.sc.lang);
    auto const loaded = target_->load(r.sc.id, app, r.sc.lang, opts_.load_timeout);
    switch (loaded.status) {
    case protocol::load_status::ready:
        r.port = loaded.port;
        return true;
    case protocol::load_status::unsupported:
        r.facts.unsupported = loaded.detail;
        return false;
    case protocol::load_status::load_error:
        r.facts.load_error = loaded.detail;
        return false;
    case protocol::load_status::startup_error:
        // v2.5 (§1.8): in a scenario with a `startup` object the refusal is compared with
        // `startup.expect`; elsewhere it is reported as before targets stayed up: a crash, with
        // the target's stderr.
        r.refused = check::startup_refusal{loaded.code, loaded.detail};
        if (!r.sc.startup)
            r.facts.crash = "the target refused to start the app: " +
                            (loaded.code ? *loaded.code + ": " : std::string{}) + loaded.detail;
        return false;
    case protocol::load_status::died:
        return false; // judge() sees the dead process: crash
    case protocol::load_status::timed_out:
        r.facts.hung_steps.push_back("load");
        restart_next_time(r, "load: " + loaded.detail);
        return false;
    }
    return false;
}

// 3. The steps, in order, through the socket step driver (step_driver.hpp: the same walk and
// client plans as the in-process path); a dead target answers nothing more, so stop there.
void runner::run_steps(scenario_run& r) {
    r.driver = std::make_unique<socket_driver>(
        *target_, r.port, opts_.deadline, opts_.raw_only, r.facts, r.warnings);
    r.raw_windows = drive_steps(r.sc, *r.driver);
    r.steps_done = clock::now();
}

// 4. Collect until every request that reached the target has its `end` and the target says the
// app is idle (v2.6, D57), or, for a target that does not say so, has been quiet for the D4
// window; a request still without end at the deadline is a hang.
void runner::collect_events(scenario_run& r) {
    auto const& log = target_->events();
    auto const quiet = quiet_window(r.sc.application);
    auto const last_sent = r.driver->last_sent().value_or(r.started);
    auto const deadline = std::max(last_sent + opts_.deadline, clock::now());
    auto const all_ended = [](std::vector<protocol::event> const& es) {
        return unended(es).empty();
    };
    log.wait_until(all_ended, deadline);
    if (wait_idle(r, deadline))
        return;
    for (;;) {
        log.wait_until(all_ended, deadline);
        log.wait_quiet(quiet, r.steps_done, deadline + quiet);
        if (!target_->alive() || all_ended(log.snapshot()) || clock::now() >= deadline)
            break;
    }
}

// 4a. v2.6 (§3.1, D57): once every request has its `end`, ask a target that knows `idle`; its
// answer ends the wait. Without it (a target without the feature, or no answer by the deadline)
// the caller waits for the D4 quiet window as before.
bool runner::wait_idle(scenario_run& r, clock::time_point deadline) {
    if (!opts_.idle || !target_->alive() || !unended(target_->events().snapshot()).empty())
        return false;
    auto const idle = target_->wait_idle(deadline);
    if (idle.status == protocol::idle_status::timed_out)
        r.warnings.push_back("no idle from the target by the deadline; waited for quiet instead");
    if (idle.status != protocol::idle_status::idle)
        return false;
    if (!unended(target_->events().snapshot()).empty())
        return false; // a request began after all: collect as before
    r.idle_at = idle.at;
    return true;
}

// 5. Close what the scenario left open, so the next scenario starts clean.
void runner::close_app(scenario_run& r) {
    if (r.driver)
        r.driver->close_connections();
    if ((r.driver && r.driver->closed()) || !target_->alive())
        return;
    auto const closed = target_->close(opts_.deadline);
    if (closed.status == protocol::close_status::timed_out)
        restart_next_time(r, "the target did not close the app: " + closed.detail);
}

// 6. Observations → expect + invariants (check::evaluate) → verdict, divergences included.
outcome runner::judge(scenario_run& r) {
    outcome out;
    std::vector<protocol::event> events;
    if (target_)
        events = target_->events().snapshot();
    auto const observations = r.driver ? observe(r.sc,
                                                 events,
                                                 r.driver->responses(),
                                                 r.raw_windows,
                                                 r.driver->close_events(),
                                                 r.refused)
                                       : observe(r.sc, events, {}, {}, {}, r.refused);
    if (target_ && !target_->alive() && !r.stopped && !r.facts.crash) {
        std::string how = target_->exit_status();
        if (!target_->log_file().empty())
            how += " (log: " + target_->log_file().string() + ")";
        r.facts.crash = how;
    }
    if (r.facts.crash)
        r.facts.target_stderr = target_stderr();
    if (!r.facts.crash)
        for (check::request_observation const& o : observations)
            if (hung(o) &&
                std::find(r.facts.hung_steps.begin(), r.facts.hung_steps.end(), o.req_id) ==
                    r.facts.hung_steps.end())
                r.facts.hung_steps.push_back(o.req_id);
    protocol::hello_info const h = hello();
    r.facts.target = h.target.empty() ? target_text_ : h.target;
    r.facts.target_version = h.version;
    r.facts.duration_ms =
        std::chrono::duration<double, std::milli>(clock::now() - r.started).count();
    r.facts.replay_command =
        "lifecheck run --target " + shell_quote(target_text_) + " " +
        shell_quote(r.sc.file.empty() ? "scenarios/" + r.sc.id + ".json" : r.sc.file);
    out.result = check::evaluate(r.sc, observations, r.facts, opts_.checks);
    if (r.idle_at)
        note_late_events(events, *r.idle_at, r.warnings);
    out.warnings = std::move(r.warnings);
    if (target_)
        for (std::string& w : target_->take_warnings())
            out.warnings.push_back(std::move(w));
    return out;
}

//----------------------------------------------------------------------------------------------
// The target process.

runner::runner(std::string target_text, target_factory make, options opts)
    : target_text_{std::move(target_text)}
    , make_{std::move(make)}
    , opts_{std::move(opts)} {}

runner::~runner() {
    stop();
}

protocol::hello_info runner::hello() const {
    return target_ ? target_->hello() : protocol::hello_info{};
}

result<protocol::hello_info> runner::ensure_started() {
    if (target_ && target_->alive())
        return target_->hello();
    if (target_)
        target_->stop();
    target_ = make_();
    auto started = target_->start(opts_.start_timeout);
    if (!started)
        target_->stop(); // a silent target must not look alive next time
    return started;
}

std::string runner::target_stderr() const {
    return target_ ? protocol::stderr_excerpt(target_->log_tail(8192)) : std::string{};
}

protocol::target* runner::target() {
    return ensure_started() ? target_.get() : nullptr;
}

void runner::stop() {
    if (target_)
        target_->stop();
}

void runner::restart_next_time(scenario_run& r, std::string const& why) {
    r.warnings.push_back(why + "; the target is restarted for the next scenario");
    r.stopped = true;
    if (target_)
        target_->stop();
}

//----------------------------------------------------------------------------------------------
// Helpers.

namespace {

int action_delay(scenario::action const& a);

int payload_delay(scenario::payload const& p) {
    int d = p.chunk_delay_ms * static_cast<int>(std::max<std::size_t>(p.chunks.size(), 1));
    if (p.body)
        d = std::max(d, payload_delay(*p.body));
    return d;
}

int action_delay(scenario::action const& a) {
    int d = a.delay_ms.value_or(0);
    if (a.body)
        d = std::max(d, payload_delay(*a.body));
    return d;
}

int hooks_delay(scenario::hook_map const& hooks) {
    int d = 0;
    for (auto const& [phase, actions] : hooks)
        for (scenario::action const& a : actions)
            d = std::max(d, action_delay(a));
    return d;
}

int scope_delay(scenario::scope const& s) {
    int d = hooks_delay(s.hooks);
    if (s.error_handler)
        d = std::max(d, action_delay(*s.error_handler));
    if (s.not_found_handler)
        d = std::max(d, action_delay(*s.not_found_handler));
    d = std::max(d, hooks_delay(s.not_found_hooks));
    if (s.not_found_error_handler)
        d = std::max(d, action_delay(*s.not_found_error_handler));
    for (scenario::route const& rt : s.routes)
        d = std::max({d,
                      action_delay(rt.handler),
                      hooks_delay(rt.hooks),
                      rt.error_handler ? action_delay(*rt.error_handler) : 0});
    for (scenario::scope const& p : s.plugins)
        d = std::max(d, scope_delay(p));
    if (s.late) {
        d = std::max(d, hooks_delay(s.late->hooks));
        if (s.late->error_handler)
            d = std::max(d, action_delay(*s.late->error_handler));
    }
    return d;
}

/// A log file name for a target: its text when that is short and plain, else a readable
/// prefix and a hash (two command-line targets must never share a log).
std::string log_name(std::string const& text) {
    std::string safe;
    bool plain = text.size() <= 40;
    for (char c : text) {
        bool const ok = std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '@' ||
                        c == '-' || c == '_';
        plain = plain && ok;
        safe += ok ? c : '_';
    }
    if (plain)
        return safe;
    char hash[20];
    std::snprintf(hash, sizeof hash, "%016zx", std::hash<std::string>{}(text));
    return safe.substr(0, 32) + "-" + hash;
}

} // namespace

milliseconds quiet_window(scenario::app const& a) {
    int d = scope_delay(a.root);
    for (scenario::middleware const& m : a.koa.chain) {
        if (m.before)
            d = std::max(d, action_delay(*m.before));
        if (m.after)
            d = std::max(d, action_delay(*m.after));
    }
    if (a.koa.on_error)
        d = std::max(d, action_delay(*a.koa.on_error));
    return milliseconds{std::min(100 + d, 3000)}; // decisions.md D4
}

target_factory process_factory(target_spec const& spec, options const& opts, int worker) {
    auto const log = opts.log_dir / (log_name(spec.text) + "-w" + std::to_string(worker) + ".log");
    auto first = std::make_shared<bool>(true);
    return [spec, opts, log, first] {
        protocol::process_options p;
        p.argv = spec.argv;
        p.name = spec.text;
        p.pass_stderr = opts.verbose;
        p.log_file = log;
        if (*first && !opts.verbose) {
            // One log per run and worker: the first start truncates what an earlier run left.
            std::error_code ec;
            std::filesystem::create_directories(log.parent_path(), ec);
            std::ofstream truncate{log, std::ios::trunc};
        }
        *first = false;
        return protocol::make_process_target(std::move(p));
    };
}

std::vector<outcome> run_all(std::vector<scenario::scenario> const& scenarios,
                             target_spec const& spec,
                             options const& opts,
                             int jobs,
                             progress_fn const& done,
                             start_fn const& started) {
    std::vector<outcome> out(scenarios.size());
    std::atomic<std::size_t> next{0};
    std::mutex done_mu;
    auto work = [&](int worker) {
        runner one{spec.text, process_factory(spec, opts, worker), opts};
        for (std::size_t i = next++; i < scenarios.size(); i = next++) {
            if (opts.stop && opts.stop->load())
                break;
            if (started) {
                std::lock_guard lock{done_mu};
                started(i);
            }
            out[i] = one.run(scenarios[i]);
            if (done) {
                std::lock_guard lock{done_mu};
                done(i, out[i]);
            }
        }
    };
    std::size_t const n = std::clamp<std::size_t>(
        static_cast<std::size_t>(std::max(jobs, 1)), 1, std::max<std::size_t>(scenarios.size(), 1));
    std::vector<std::thread> workers;
    for (std::size_t w = 1; w < n; ++w)
        workers.emplace_back(work, static_cast<int>(w));
    work(0);
    for (std::thread& t : workers)
        t.join();
    return out;
}

} // namespace lifecheck::run
