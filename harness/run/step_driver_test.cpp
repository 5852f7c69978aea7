// Tests the one step walk: the order steps reach a driver, parallel groups, stops, raw windows.
#include "harness/run/step_driver.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace lifecheck::run {
namespace {

/// A driver that writes down what it was asked to do; each step "reports" one event.
struct recording_driver final : step_driver {
    std::vector<std::string> calls;
    std::size_t events = 0;
    int alive_for = 1000; // steps before the target "dies"

    void run_one(scenario::step const& s) override {
        calls.push_back("one " + s.id);
        ++events;
        --alive_for;
    }

    void run_together(std::vector<scenario::step const*> const& children) override {
        std::string c = "together";
        for (auto const* s : children)
            c += " " + s->id;
        calls.push_back(c);
        events += children.size();
        --alive_for;
    }

    void pause(std::chrono::milliseconds ms) override {
        calls.push_back("pause " + std::to_string(ms.count()));
    }

    std::size_t events_so_far() const override { return events; }

    bool alive() const override { return alive_for > 0; }
};

scenario::step step_of(scenario::step_kind k, std::string id) {
    scenario::step s;
    s.kind = k;
    s.id = std::move(id);
    return s;
}

TEST(StepDriver, WalksStepsInOrderWithParallelChildrenTogether) {
    scenario::scenario sc;
    scenario::step group = step_of(scenario::step_kind::parallel, "");
    group.children = {step_of(scenario::step_kind::request, "b"),
                      step_of(scenario::step_kind::raw, "c")};
    scenario::step sleep = step_of(scenario::step_kind::sleep, "");
    sleep.sleep_ms = 30;
    sc.steps = {step_of(scenario::step_kind::raw, "a"),
                group,
                sleep,
                step_of(scenario::step_kind::close, "z")};
    recording_driver d;
    auto const windows = drive_steps(sc, d);
    EXPECT_EQ(d.calls, (std::vector<std::string>{"one a", "together b c", "pause 30", "one z"}));
    ASSERT_EQ(windows.size(), 2u);
    EXPECT_EQ(windows[0].step->id, "a");
    EXPECT_EQ(windows[0].first_event, 0u);
    EXPECT_EQ(windows[1].step->id, "c");
    EXPECT_EQ(windows[1].first_event, 1u); // opened before the group starts
}

TEST(StepDriver, StopsOnceTheTargetIsGone) {
    scenario::scenario sc;
    sc.steps = {step_of(scenario::step_kind::request, "a"),
                step_of(scenario::step_kind::request, "b")};
    recording_driver d;
    d.alive_for = 1;
    drive_steps(sc, d);
    EXPECT_EQ(d.calls, (std::vector<std::string>{"one a"}));
}

} // namespace
} // namespace lifecheck::run
