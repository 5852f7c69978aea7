// The engine's event loop: Node's macrotask / nextTick / microtask order on a steppable clock.
#include "server_under_test/reference/engine/loop.hpp"

namespace lifecheck::engine {

loop::timer_id loop::set_timeout(double ms, task fn) {
    if (ms < 0)
        ms = 0;
    timer_id const id = ++seq_;
    key const k{now_ + ms, id};
    timers_.emplace(k, std::move(fn));
    by_id_.emplace(id, k);
    return id;
}

void loop::clear_timeout(timer_id id) {
    auto it = by_id_.find(id);
    if (it == by_id_.end())
        return;
    timers_.erase(it->second);
    by_id_.erase(it);
}

void loop::drain() {
    // Node's processTicksAndRejections: all nextTicks, then runMicrotasks(), which drains the
    // whole microtask queue (microtasks queued meanwhile included) before a nextTick queued by
    // a microtask runs; repeat until both are empty.
    while (!ticks_.empty() || !micro_.empty()) {
        while (!ticks_.empty()) {
            task fn = std::move(ticks_.front());
            ticks_.pop_front();
            fn();
        }
        while (!micro_.empty()) {
            task fn = std::move(micro_.front());
            micro_.pop_front();
            fn();
        }
    }
}

void loop::run_due() {
    drain();
    while (!timers_.empty() && timers_.begin()->first.first <= now_) {
        auto it = timers_.begin();
        task fn = std::move(it->second);
        by_id_.erase(it->first.second);
        timers_.erase(it);
        fn();
        drain();
    }
}

void loop::advance_to(double t) {
    run_due();
    while (!timers_.empty() && timers_.begin()->first.first <= t) {
        if (timers_.begin()->first.first > now_)
            now_ = timers_.begin()->first.first;
        run_due();
    }
    if (t > now_)
        now_ = t;
    run_due();
}

void loop::run_until_idle(double limit) {
    run_due();
    while (!timers_.empty() && timers_.begin()->first.first <= limit) {
        if (timers_.begin()->first.first > now_)
            now_ = timers_.begin()->first.first;
        run_due();
    }
}

std::optional<double> loop::next_due() const {
    if (timers_.empty())
        return std::nullopt;
    return timers_.begin()->first.first;
}

} // namespace lifecheck::engine
