// SIGINT/SIGTERM during `lifecheck run`: stop cleanly (targets ended, reports written) instead of
// dying with the targets left behind (issue 19).
#pragma once

#include <atomic>
#include <string>

namespace lifecheck::cli {

/// While one lives, SIGINT and SIGTERM do not kill lifecheck: the first one sets stop() (no
/// further scenario starts), sends SIGTERM to every target's process group (the scenarios
/// running end at once) and says so on stderr; the command then writes its reports and exits
/// with exit_code(). A second signal ends lifecheck at once (targets SIGKILLed, exit 128+N).
/// The destructor puts the previous handlers back. One at a time.
class interrupt_guard {
public:
    interrupt_guard();
    ~interrupt_guard();
    interrupt_guard(interrupt_guard const&) = delete;
    interrupt_guard& operator=(interrupt_guard const&) = delete;

    /// Set by a signal, or by request_stop(); for run::options::stop.
    std::atomic<bool> const& stop() const;

    /// Stops the run without a signal (--fail-fast).
    void request_stop();

    /// The signal that arrived (SIGINT, SIGTERM), or 0.
    int signal() const;

    /// "SIGINT", "SIGTERM", or "" when no signal arrived.
    std::string signal_name() const;

    /// 128 + the signal (130 for SIGINT, 143 for SIGTERM), as a shell reports a process it
    /// killed; 0 when no signal arrived.
    int exit_code() const;
};

} // namespace lifecheck::cli
