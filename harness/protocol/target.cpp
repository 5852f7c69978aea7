// The event log shared by every target: stamped events, waits with deadlines, quiet detection.
#include "harness/protocol/target.hpp"

#include <algorithm>
#include <cstddef>
#include <utility>

namespace lifecheck::protocol {

void event_log::reset(clock::time_point epoch) {
    std::lock_guard lock{mu_};
    events_.clear();
    epoch_ = epoch;
    last_ = epoch;
}

void event_log::push(event e) {
    auto const now = clock::now();
    {
        std::lock_guard lock{mu_};
        e.at_ms = std::chrono::duration<double, std::milli>(now - epoch_).count();
        events_.push_back(std::move(e));
        last_ = now;
    }
    cv_.notify_all();
}

void event_log::mark_dead() {
    {
        std::lock_guard lock{mu_};
        dead_ = true;
    }
    cv_.notify_all();
}

void event_log::notify() const {
    std::lock_guard lock{mu_}; // a waiter between its check and its wait must not miss this
    cv_.notify_all();
}

std::string stderr_excerpt(std::string const& log, std::size_t head, std::size_t tail) {
    std::vector<std::string> lines;
    std::size_t start = 0;
    while (start < log.size()) {
        std::size_t end = log.find('\n', start);
        if (end == std::string::npos)
            end = log.size();
        std::string line = log.substr(start, end - start);
        if (!line.empty() && line.back() == '\r')
            line.pop_back();
        if (line.size() > 300)
            line = line.substr(0, 300) + "...";
        lines.push_back(std::move(line));
        start = end + 1;
    }
    while (!lines.empty() && lines.back().find_first_not_of(" \t") == std::string::npos)
        lines.pop_back();
    std::string out;
    for (std::size_t i = 0; i < lines.size(); ++i) {
        if (i == head && lines.size() > head + tail + 1) { // never "(1 lines)" for one line
            out += "... (" + std::to_string(lines.size() - head - tail) + " lines)\n";
            i = lines.size() - tail;
        }
        out += lines[i] + '\n';
    }
    return out;
}

bool event_log::dead() const {
    std::lock_guard lock{mu_};
    return dead_;
}

std::vector<event> event_log::snapshot(std::size_t from) const {
    std::lock_guard lock{mu_};
    if (from >= events_.size())
        return {};
    return {events_.begin() + static_cast<std::ptrdiff_t>(from), events_.end()};
}

std::size_t event_log::size() const {
    std::lock_guard lock{mu_};
    return events_.size();
}

clock::time_point event_log::epoch() const {
    std::lock_guard lock{mu_};
    return epoch_;
}

clock::time_point event_log::last_event_time() const {
    std::lock_guard lock{mu_};
    return last_;
}

bool event_log::wait_until(std::function<bool(std::vector<event> const&)> const& pred,
                           clock::time_point deadline) const {
    std::unique_lock lock{mu_};
    for (;;) {
        if (pred(events_))
            return true;
        if (dead_ || clock::now() >= deadline)
            return false;
        cv_.wait_until(lock, deadline);
    }
}

bool event_log::wait_quiet(milliseconds quiet,
                           clock::time_point since,
                           clock::time_point deadline) const {
    std::unique_lock lock{mu_};
    for (;;) {
        auto const quiet_at = std::max(since, last_) + quiet;
        auto const now = clock::now();
        if (now >= quiet_at)
            return true;
        if (dead_ || now >= deadline)
            return false;
        cv_.wait_until(lock, std::min(quiet_at, deadline));
    }
}

} // namespace lifecheck::protocol
