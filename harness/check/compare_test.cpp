// Tests of compare.hpp: the changes changelog and run --with-plugin report.
#include "harness/check/compare.hpp"

#include <gtest/gtest.h>

namespace lifecheck::check {
namespace {

step_record
step(std::string id, int status, std::vector<std::string> trace, std::string body = "") {
    step_record s;
    s.id = std::move(id);
    s.got_response = true;
    s.status = status;
    s.trace = std::move(trace);
    s.body = std::move(body);
    return s;
}

finding invariant(std::string step_id, std::string id, std::string message) {
    finding f;
    f.step_id = std::move(step_id);
    f.kind = finding_kind::invariant;
    f.invariant_id = std::move(id);
    f.message = std::move(message);
    return f;
}

scenario_result result(verdict v, std::vector<step_record> steps, std::vector<finding> found = {}) {
    scenario_result r;
    r.v = r.shown = v;
    r.steps = std::move(steps);
    r.findings = std::move(found);
    return r;
}

std::vector<std::string> described(std::vector<change> const& cs) {
    std::vector<std::string> out;
    for (change const& c : cs)
        out.push_back(describe(c));
    return out;
}

TEST(StepChanges, StatusTraceAndBodyWhenAsked) {
    auto const a = result(verdict::pass, {step("r1", 200, {"handler"}, "a")});
    auto const b = result(verdict::pass, {step("r1", 204, {"onRequest@root"}, "b")});
    EXPECT_EQ(described(step_changes(a, b, true)),
              (std::vector<std::string>{"step r1: status 200 -> 204",
                                        "step r1: trace [handler] -> [onRequest@root]",
                                        "step r1: body \"a\" -> \"b\""}));
    EXPECT_EQ(step_changes(a, b, false).size(), 2u);
    EXPECT_TRUE(step_changes(a, a, true).empty());
}

TEST(LifecycleVerdict, ExpectFindingsDoNotCountInvariantsDo) {
    finding status;
    status.kind = finding_kind::status;
    EXPECT_EQ(lifecycle_verdict(result(verdict::fail, {}, {status})), verdict::pass);
    EXPECT_EQ(lifecycle_verdict(result(verdict::fail, {}, {status, invariant("r1", "I6", "x")})),
              verdict::fail);
    EXPECT_EQ(lifecycle_verdict(result(verdict::crash, {})), verdict::crash);
    EXPECT_EQ(lifecycle_verdict(result(verdict::skip, {})), verdict::skip);
}

TEST(LifecycleChanges, AnExpectFailureWithoutThePluginIsNoChange) {
    finding headers;
    headers.kind = finding_kind::headers; // the run without the plugin checks expect
    auto const without = result(verdict::fail, {step("r1", 200, {"handler"})}, {headers});
    auto const with = result(verdict::pass, {step("r1", 200, {"handler"})});
    EXPECT_TRUE(lifecycle_changes(without, with).empty());
}

TEST(LifecycleChanges, AnInvariantBrokenWithThePluginOnlyBreaks) {
    auto const without = result(verdict::pass, {step("r1", 200, {"handler", "onResponse@root"})});
    auto const with = result(verdict::fail,
                             {step("r1", 200, {"handler", "onResponse@root", "onResponse@root"})},
                             {invariant("r1", "I2", "onResponse@root ran twice")});
    auto const cs = lifecycle_changes(without, with);
    ASSERT_EQ(cs.size(), 2u);
    EXPECT_EQ(cs[0].kind, change_kind::trace);
    EXPECT_FALSE(cs[0].breaks);
    EXPECT_EQ(cs[1].kind, change_kind::invariant);
    EXPECT_TRUE(cs[1].breaks);
    EXPECT_EQ(describe(cs[1]), "step r1: I2 breaks: onResponse@root ran twice");
    // The other way round it is a change, not a break.
    auto const back = lifecycle_changes(with, without);
    ASSERT_EQ(back.size(), 2u);
    EXPECT_FALSE(back[1].breaks);
    EXPECT_EQ(describe(back[1]), "step r1: I2 no longer breaks (was: onResponse@root ran twice)");
}

TEST(LifecycleChanges, ACrashWithThePluginBreaksAndI7IsNotRepeated) {
    auto const without = result(verdict::pass, {step("r1", 200, {"handler"})});
    auto const with = result(verdict::crash,
                             {step("r1", 200, {"handler"})},
                             {invariant("", "I7", "I7: the target process died: exit 1")});
    auto const cs = lifecycle_changes(without, with);
    ASSERT_EQ(cs.size(), 1u);
    EXPECT_EQ(describe(cs[0]), "result: pass -> crash");
    EXPECT_TRUE(cs[0].breaks);
    // Skipped both times (a koa scenario on Fastify): nothing to compare.
    EXPECT_TRUE(lifecycle_changes(result(verdict::skip, {}), result(verdict::skip, {})).empty());
}

} // namespace
} // namespace lifecheck::check
