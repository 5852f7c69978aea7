// A JavaScript-style event loop on a clock the caller steps: timers, nextTick and microtasks.
#pragma once

#include "server_under_test/reference/engine/small_function.hpp"

#include <cstddef>
#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <utility>

namespace lifecheck::engine {

/// Node's scheduling order, modelled so callback order matches real Fastify: after every
/// macrotask (a timer or an I/O event) the nextTick queue drains, then the microtask queue
/// (promise reactions), repeated until both are empty.
class loop {
public:
    using task = small_function<void()>; // queued continuations: no allocation for small captures
    using timer_id = std::uint64_t;

    /// Milliseconds on this loop's clock (virtual in-process, real time over sockets).
    double now() const { return now_; }

    /// `process.nextTick(fn)`.
    void next_tick(task fn) { ticks_.push_back(std::move(fn)); }

    /// A promise reaction (`queueMicrotask`).
    void microtask(task fn) { micro_.push_back(std::move(fn)); }

    /// `setTimeout(fn, ms)`; also used for I/O completions (ms = 0).
    timer_id set_timeout(double ms, task fn);

    void clear_timeout(timer_id id);

    /// Runs nextTicks and microtasks until both queues are empty.
    void drain();

    /// Runs every macrotask due at or before the current time, draining after each.
    void run_due();

    /// Moves the clock to `t` (never backwards), running timers in due order on the way.
    void advance_to(double t);

    /// Runs everything, moving the virtual clock, until no timer is left or `limit` is reached.
    void run_until_idle(double limit);

    /// When the next timer is due, or nothing.
    std::optional<double> next_due() const;

    bool idle() const { return ticks_.empty() && micro_.empty() && timers_.empty(); }

    /// Whether timer `id` is still to run.
    bool pending(timer_id id) const { return by_id_.count(id) != 0; }

    /// Nothing queued and no timer beyond `background` ones (the transport's socket timeouts,
    /// which Node does not count either: they are unref'd): the idle signal (v2.6, §3.1).
    bool idle_except(std::size_t background) const {
        return ticks_.empty() && micro_.empty() && timers_.size() <= background;
    }

private:
    using key = std::pair<double, std::uint64_t>; // (due, sequence): FIFO among equal times

    double now_ = 0;                // the clock
    std::uint64_t seq_ = 0;         // insertion counter, also the timer id
    std::deque<task> ticks_;        // process.nextTick queue
    std::deque<task> micro_;        // promise microtasks
    std::map<key, task> timers_;    // pending macrotasks by due time
    std::map<timer_id, key> by_id_; // for clear_timeout
};

} // namespace lifecheck::engine
