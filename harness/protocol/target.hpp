// The runtime seam between the harness and a server under test: start, load, events, close, stop.
#pragma once

#include "harness/common/result.hpp"
#include "harness/protocol/messages.hpp"
#include "harness/scenario/scenario.hpp"

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <filesystem>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

namespace lifecheck::protocol {

using clock = std::chrono::steady_clock;
using milliseconds = std::chrono::milliseconds;

/// What a target said about itself in its first line (scenario-format §3 `hello`).
struct hello_info {
    std::string target;                // "reference", "fastify", ...
    std::string version;               // the framework's version for adapters
    std::vector<std::string> dialects; // "fastify", "koa"
    std::vector<std::string> features;
};

/// The events a target reported since the last `load`, each stamped (`at_ms`) with the time the
/// harness read it relative to that load. Thread-safe: a reader appends, the runner waits.
class event_log {
public:
    /// Forgets every event; `at_ms` of later events counts from `epoch`.
    void reset(clock::time_point epoch);

    /// Appends an event, stamping `at_ms`, and wakes every waiter.
    void push(event e);

    /// The target's output ended: every wait returns now.
    void mark_dead();

    bool dead() const;

    /// Wakes every waiter to check its predicate again (it reads state beyond the events).
    void notify() const;

    /// A copy of the events from index `from` on.
    std::vector<event> snapshot(std::size_t from = 0) const;

    std::size_t size() const;

    clock::time_point epoch() const;

    /// When the last event was read (the epoch when there is none).
    clock::time_point last_event_time() const;

    /// Waits until `pred` holds for the events so far, the target dies or `deadline` passes.
    /// @return whether `pred` held when the wait ended.
    bool wait_until(std::function<bool(std::vector<event> const&)> const& pred,
                    clock::time_point deadline) const;

    /// Waits until no event has arrived for `quiet` (counting from the later of `since` and the
    /// last event), the target dies or `deadline` passes. @return true when quiet was reached.
    bool wait_quiet(milliseconds quiet, clock::time_point since, clock::time_point deadline) const;

private:
    mutable std::mutex mu_;
    mutable std::condition_variable cv_;
    std::vector<event> events_; // since the last reset, in the order read
    clock::time_point epoch_ = clock::now();
    clock::time_point last_ = epoch_; // when the last event was read
    bool dead_ = false;               // the target's stdout ended
};

/// How a `load` ended: `ready` (with the port), `unsupported` (skip the scenario), `load_error`
/// (the target cannot build the app where it runs, e.g. an npm package it names is missing: an
/// error, not the target's fault), `died` (crash: `detail` is the exit status) or `timed_out`
/// (no answer within the deadline).
enum class load_status { ready, unsupported, load_error, startup_error, died, timed_out };

struct load_outcome {
    load_status status = load_status::timed_out;
    int port = 0;       // ready
    std::string detail; // unsupported, load_error: the target's `what`; died/timed_out: what
                        // happened; startup_error: the error's message
    std::optional<std::string> code; // startup_error: the error's code, when it has one
};

/// How a `close` ended; `app_events` are the cb events with request id `app` (preClose,
/// onClose) read between the command and `closed` (or the end of the wait).
enum class close_status { closed, died, timed_out };

struct close_outcome {
    close_status status = close_status::timed_out;
    std::vector<event> app_events;
    std::string detail;
};

/// How a wait for the target's idle signal ended (v2.6, scenario-format §3.1): `idle` (the event
/// is events()[at]), `unsupported` (the hello has no feature "idle": wait for quiet instead),
/// `died` or `timed_out` (no idle by the deadline).
enum class idle_status { idle, unsupported, died, timed_out };

struct idle_outcome {
    idle_status status = idle_status::unsupported;
    std::size_t at = 0; // idle: the index of the idle event in events()
};

/// A server under test. One instance serves many scenarios (load/close); a target that died
/// stays dead: the runner starts a new one. Every wait has a deadline.
class target {
public:
    virtual ~target() = default;

    /// Starts the target and reads its `hello`; a diagnostic when it dies first or stays silent.
    virtual result<hello_info> start(milliseconds timeout) = 0;

    /// The `hello` read by `start`.
    virtual hello_info const& hello() const = 0;

    /// Resets the event log, sends `load` and waits for `ready`, `unsupported` or `loadError`.
    virtual load_outcome load(std::string const& scenario_id,
                              scenario::json const& app,
                              scenario::dialect d,
                              milliseconds timeout) = 0;

    /// Sends `close` and waits for `closed`.
    virtual close_outcome close(milliseconds timeout) = 0;

    /// v2.6 (§3.1): sends `idle` and waits until the target answers that the app is idle (no
    /// request in flight, no timer its callbacks set, nothing queued). A target whose hello does
    /// not list the feature "idle" is not asked: `unsupported`.
    virtual idle_outcome wait_idle(clock::time_point deadline) {
        (void)deadline;
        return {};
    }

    /// Everything read since the last `load` (cb, end, ready, closed, ...).
    virtual event_log const& events() const = 0;

    /// False once the target's output ended or the process exited.
    virtual bool alive() const = 0;

    /// "exited with status 1", "killed by signal SIGKILL", "running".
    virtual std::string exit_status() const = 0;

    /// Lines the target wrote that are not protocol messages (each a `describe`d diagnostic),
    /// since the last call. They are warnings for the harness's user, never a crash.
    virtual std::vector<std::string> take_warnings() = 0;

    /// The last `max_bytes` of the target's log (its stderr), for crash reports; "" if none.
    virtual std::string log_tail(std::size_t max_bytes) const = 0;

    /// Where the target's stderr goes ("" when passed through or discarded).
    virtual std::filesystem::path log_file() const = 0;

    /// Sends `exit`, waits briefly, then terminates the process group. Idempotent.
    virtual void stop() = 0;
};

/// What to show of a target's stderr (its log tail) in a message or report: the first `head`
/// and last `tail` lines (the first often names the problem, the last end a stack trace), the
/// lines between counted, each line cut to 300 bytes; "" when the log holds no text.
std::string stderr_excerpt(std::string const& log, std::size_t head = 5, std::size_t tail = 15);

/// How to start a target process.
struct process_options {
    std::vector<std::string> argv;  // argv[0] is searched in PATH
    std::string name;               // for messages ("reference", "fastify@5.12.8")
    std::filesystem::path log_file; // stderr is appended here; empty = discarded
    bool pass_stderr = false;       // --verbose: stderr goes to the harness's stderr
};

/// argv that runs `line` through /bin/sh (a target given as a command line).
std::vector<std::string> shell_command(std::string const& line);

/// A target that is a child process speaking JSON lines on stdin/stdout (scenario-format §3). The
/// process gets its own process group; stdout is read by a thread; SIGPIPE is ignored in the
/// harness.
std::unique_ptr<target> make_process_target(process_options opts);

/// Ignores SIGPIPE for the whole harness (a dead target or peer must be an error code).
void ignore_sigpipe();

/// Sends `sig` to the process group of every target process started and not yet stopped. Only
/// atomics and kill(2): safe to call from a signal handler (`lifecheck run` on SIGINT/SIGTERM
/// ends its targets this way, then stops them as usual). A target started later, until
/// clear_target_group_signal(), is sent `sig` as soon as it is spawned: a signal that lands while
/// a target is being started ends that one too.
void signal_target_groups(int sig);

/// Forgets the signal of signal_target_groups: targets started from now on live (a new run in
/// the same process, e.g. a test).
void clear_target_group_signal();

} // namespace lifecheck::protocol
