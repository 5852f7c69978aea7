// A one-line progress display on stderr while a run goes on, redrawn in place with \r.
#pragma once

#include "harness/check/verdict.hpp"

#include <array>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <functional>
#include <mutex>
#include <string>
#include <thread>

namespace lifecheck::cli {

/// "[12/267] 10 pass, 1 fail, 1 crash · 3.2 s · reference fastify/hooks/x", redrawn in place.
///
/// Off unless enabled (by default: when stderr is a terminal; `--progress` forces it on,
/// `--no-progress` off). On a terminal a ticker redraws it every 250 ms so the elapsed time
/// moves during a slow scenario; elsewhere it is redrawn only as scenarios start and finish.
/// All members may be called from any thread.
class progress_line {
public:
    /// @param total results expected (scenarios × targets)
    progress_line(bool enabled, std::size_t total, bool terminal);
    ~progress_line();
    progress_line(progress_line const&) = delete;
    progress_line& operator=(progress_line const&) = delete;

    /// True when stderr is a terminal.
    static bool stderr_is_terminal();

    void started(std::string const& target, std::string const& scenario_id);
    void finished(check::verdict v);

    /// Erases the line, runs `print` (which writes to stdout), then draws the line again.
    void around(std::function<void()> const& print);

    /// Erases the line for good and stops the ticker.
    void stop();

    /// The text of the line now (no \r), at most `width` columns.
    std::string text(std::size_t width) const;

private:
    void draw_locked();
    void erase_locked();

    bool enabled_;
    bool terminal_;
    std::size_t total_;
    std::chrono::steady_clock::time_point const started_at_ = std::chrono::steady_clock::now();
    mutable std::mutex mu_;
    std::condition_variable wake_;
    bool stopping_ = false;
    std::array<std::size_t, 7> counts_{}; // by report::all_verdicts() order
    std::size_t done_ = 0;
    std::string current_;
    std::size_t drawn_ = 0; // columns on screen now
    std::thread ticker_;
};

} // namespace lifecheck::cli
