// Runs scenarios against a target: load → start target → steps → collect events → check → verdict.
#pragma once

#include "harness/check/verdict.hpp"
#include "harness/protocol/target.hpp"
#include "harness/run/targets.hpp"
#include "harness/scenario/scenario.hpp"

#include <atomic>
#include <chrono>
#include <cstddef>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace lifecheck::run {

using milliseconds = std::chrono::milliseconds;

/// The default time a request has to get its `end` (scenario-format §4 hang; --deadline).
constexpr auto default_deadline = milliseconds{5000};

/// Runner settings.
struct options {
    milliseconds deadline = default_deadline;       // per request: no `end` by then = hang
    milliseconds start_timeout{20000};              // spawn → hello (node adapters start slowly)
    milliseconds load_timeout{10000};               // load → ready | unsupported
    std::filesystem::path log_dir = "reports/logs"; // where target stderr logs go
    bool verbose = false;                           // target stderr passes through instead
    bool raw_only = false; // every request step through raw_client (record)
    bool idle = true;      // v2.6: ask a target that knows `idle` (D57); false: the D4 quiet window
    std::atomic<bool> const* stop = nullptr; // once set, run_all starts no further scenario
                                             // (--fail-fast, SIGINT/SIGTERM)
    check::checks checks = check::checks::expect_and_invariants; // run --with-plugin: invariants
};

/// What one scenario run produced.
struct outcome {
    check::scenario_result result;
    std::vector<std::string> warnings; // target lines that were not messages, harness notes
};

/// Makes a (not yet started) target; called again after a target died.
using target_factory = std::function<std::unique_ptr<protocol::target>()>;

/// A factory for process targets; each start appends to LOG_DIR/<name>-w<worker>.log.
target_factory process_factory(target_spec const& spec, options const& opts, int worker);

using clock = std::chrono::steady_clock;

/// Quiet window of decisions.md D4: 100 ms plus the app's largest delayMs or
/// chunkDelayMs × chunks, capped at 3 s.
milliseconds quiet_window(scenario::app const& a);

/// A request's `cb` or `end` that came after the target's idle event at `idle_at` (v2.6, D57):
/// the event still counts in the trace; each is also a warning ("late event after idle: ..."),
/// so a target whose idle came too early shows.
void note_late_events(std::vector<protocol::event> const& events,
                      std::size_t idle_at,
                      std::vector<std::string>& warnings);

/// Runs scenarios one at a time on one target process, reused across scenarios (load/close)
/// and restarted after it died or stopped answering.
class runner {
public:
    /// @param target_text the target as the user named it (replay commands print it)
    runner(std::string target_text, target_factory make, options opts);
    ~runner();
    runner(runner const&) = delete;
    runner& operator=(runner const&) = delete;

    /// Runs one (valid, labelled) scenario. Never throws: a fault of lifecheck itself becomes
    /// verdict `error` with harness_fault set; a target that dies becomes `crash`.
    outcome run(scenario::scenario const& sc);

    /// The hello of the current target process (empty before the first start).
    protocol::hello_info hello() const;

    /// Starts the target if it is not running; a diagnostic when it cannot start.
    result<protocol::hello_info> ensure_started();

    /// An excerpt of what the current target process wrote to stderr (protocol::stderr_excerpt
    /// of its log), e.g. after ensure_started failed; "" when there is none or it passed through.
    std::string target_stderr() const;

    /// The live target (started on demand), for `lifecheck serve`; null when it cannot start.
    protocol::target* target();

    /// Stops the target process.
    void stop();

private:
    struct scenario_run;

    bool start_target(scenario_run& r);
    bool load_app(scenario_run& r);
    void run_steps(scenario_run& r);
    void collect_events(scenario_run& r);
    bool wait_idle(scenario_run& r, clock::time_point deadline);
    void close_app(scenario_run& r);
    outcome judge(scenario_run& r);
    void restart_next_time(scenario_run& r, std::string const& why);

    std::string target_text_;
    target_factory make_;
    options opts_;
    std::unique_ptr<protocol::target> target_;
};

/// Called as each scenario finishes: its index in the input and its outcome.
using progress_fn = std::function<void(std::size_t, outcome const&)>;

/// Called as a scenario starts: its index in the input.
using start_fn = std::function<void(std::size_t)>;

/// Runs every scenario on one target with `jobs` workers, each with its own target process.
/// Outcomes come back in input order; `done` is called (one call at a time) as each finishes,
/// `started` (under the same lock) as each starts. Once `*opts.stop` is set no further scenario
/// starts (those running finish): the outcome of one never started stays empty (no `done` call,
/// an empty scenario_id).
std::vector<outcome> run_all(std::vector<scenario::scenario> const& scenarios,
                             target_spec const& spec,
                             options const& opts,
                             int jobs,
                             progress_fn const& done = {},
                             start_fn const& started = {});

} // namespace lifecheck::run
