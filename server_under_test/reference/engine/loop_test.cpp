// Tests the engine loop's Node ordering: nextTick before microtasks, timers by due time.
#include "server_under_test/reference/engine/loop.hpp"

#include <gtest/gtest.h>

#include <string>

namespace lifecheck::engine {

TEST(Loop, NextTicksRunBeforeMicrotasks) {
    loop l;
    std::string order;
    l.set_timeout(0, [&] {
        l.microtask([&] { order += "m1 "; });
        l.next_tick([&] { order += "t1 "; });
        l.microtask([&] {
            order += "m2 ";
            l.next_tick([&] { order += "t2 "; });
        });
        l.microtask([&] { order += "m3 "; });
    });
    l.run_due();
    // runMicrotasks() drains the whole microtask queue before a tick queued by a microtask
    // runs: node 20 prints "t1 m1 m2 m3 t2" for the same code (setTimeout, Promise.then,
    // process.nextTick).
    EXPECT_EQ(order, "t1 m1 m2 m3 t2 ");
}

TEST(Loop, TimersRunInDueOrderOnTheVirtualClock) {
    loop l;
    std::string order;
    l.set_timeout(20, [&] { order += "b"; });
    l.set_timeout(10, [&] { order += "a"; });
    auto id = l.set_timeout(15, [&] { order += "x"; });
    l.clear_timeout(id);
    l.advance_to(12);
    EXPECT_EQ(order, "a");
    EXPECT_DOUBLE_EQ(l.now(), 12);
    l.advance_to(30);
    EXPECT_EQ(order, "ab");
    EXPECT_TRUE(l.idle());
}

TEST(Loop, EqualDueTimesKeepInsertionOrder) {
    loop l;
    std::string order;
    for (char c : std::string{"abc"})
        l.set_timeout(5, [&order, c] { order += c; });
    l.run_until_idle(100);
    EXPECT_EQ(order, "abc");
}

} // namespace lifecheck::engine
