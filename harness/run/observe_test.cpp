// Tests how target events are attributed to steps: ids, raw-step ownership, onReady, hangs.
#include "harness/run/observe.hpp"

#include <gtest/gtest.h>

namespace lifecheck::run {
namespace {

protocol::event cb(std::string req, std::string label, std::string phase = "") {
    protocol::event e;
    e.type = protocol::event_type::cb;
    e.req = std::move(req);
    e.label = std::move(label);
    e.phase = std::move(phase);
    return e;
}

protocol::event end(std::string req) {
    protocol::event e;
    e.type = protocol::event_type::end;
    e.req = std::move(req);
    e.status = 200;
    return e;
}

scenario::step request(std::string id) {
    scenario::step s;
    s.id = std::move(id);
    return s;
}

scenario::step raw(std::string id) {
    scenario::step s;
    s.kind = scenario::step_kind::raw;
    s.id = std::move(id);
    return s;
}

std::vector<std::string> labels(check::request_observation const& o) {
    return check::trace_of(o);
}

TEST(Observe, FlattensParallelGroupsInOrder) {
    scenario::scenario sc;
    scenario::step group;
    group.kind = scenario::step_kind::parallel;
    group.children = {request("b"), request("c")};
    sc.steps = {request("a"), group, request("d")};
    std::vector<std::string> ids;
    for (auto const* s : flatten(sc.steps))
        ids.push_back(s->id);
    EXPECT_EQ(ids, (std::vector<std::string>{"a", "b", "c", "d"}));
}

TEST(Observe, EventsGoToTheirStepAndOnReadyToTheFirst) {
    scenario::scenario sc;
    sc.steps = {request("r1"), request("r2")};
    std::vector<protocol::event> const events = {cb("app", "onReady@root", "onReady"),
                                                 cb("r2", "handler"),
                                                 cb("r1", "handler"),
                                                 end("r1"),
                                                 end("r2")};
    std::map<std::string, check::response_observation> responses{{"r1", {}}, {"r2", {}}};
    auto const obs = observe(sc, events, responses, {}, {});
    ASSERT_EQ(obs.size(), 2u);
    EXPECT_EQ(obs[0].req_id, "r1");
    EXPECT_EQ(labels(obs[0]), (std::vector<std::string>{"onReady@root", "handler"}));
    EXPECT_EQ(check::end_position(obs[0]), 2);
    EXPECT_EQ(labels(obs[1]), (std::vector<std::string>{"handler"}));
}

TEST(Observe, MadeUpIdsBelongToTheLatestRawStepStartedBefore) {
    scenario::scenario sc;
    sc.steps = {raw("x1"), request("r"), raw("x2")};
    std::vector<protocol::event> const events = {
        cb("t1", "onRequest@root"),
        end("t1"), // during x1
        cb("r", "handler"),
        end("r"), // r
        cb("t2", "onRequest@root"),
        end("t2"), // during x2
        cb("t3", "onRequest@root"),
        end("t3")}; // also x2 (pipelined): its own observation
    std::vector<raw_window> const windows = {{&sc.steps[0], 0}, {&sc.steps[2], 4}};
    std::map<std::string, check::response_observation> responses{{"x1", {}}, {"r", {}}, {"x2", {}}};
    auto const obs = observe(sc, events, responses, windows, {});
    ASSERT_EQ(obs.size(), 4u);
    EXPECT_EQ(obs[0].req_id, "x1");
    EXPECT_EQ(obs[0].events.size(), 2u);
    EXPECT_EQ(obs[0].events[0].req, "t1");
    EXPECT_EQ(obs[2].req_id, "x2");
    EXPECT_EQ(obs[2].events[0].req, "t2");
    EXPECT_EQ(obs[3].req_id, "t3");
    EXPECT_EQ(obs[3].step, nullptr);
}

TEST(Observe, UnclaimedIdsGetTheirOwnObservation) {
    scenario::scenario sc;
    sc.steps = {request("r")};
    std::vector<protocol::event> const events = {
        cb("stray", "onRequest@root"), cb("r", "handler"), end("r")};
    std::map<std::string, check::response_observation> responses{{"r", {}}};
    auto const obs = observe(sc, events, responses, {}, {});
    ASSERT_EQ(obs.size(), 2u);
    EXPECT_EQ(obs[1].req_id, "stray");
    EXPECT_EQ(obs[1].step, nullptr);
    EXPECT_TRUE(hung(obs[1])) << "callbacks and no end: a hang, step or not";
}

TEST(Observe, StepsThatNeverRanAreLeftOut) {
    scenario::scenario sc;
    sc.steps = {request("r1"), request("r2")};
    std::map<std::string, check::response_observation> responses{{"r1", {}}};
    auto const obs = observe(sc, {}, responses, {}, {});
    ASSERT_EQ(obs.size(), 1u);
    EXPECT_EQ(obs[0].req_id, "r1");
}

TEST(Observe, CloseStepCarriesAppEvents) {
    scenario::scenario sc;
    scenario::step close;
    close.kind = scenario::step_kind::close;
    sc.steps = {close};
    std::map<scenario::step const*, std::vector<protocol::event>> closes{
        {&sc.steps[0], {cb("app", "preClose@root"), cb("app", "onClose@root")}}};
    auto const obs = observe(sc, {}, {}, {}, closes);
    ASSERT_EQ(obs.size(), 1u);
    EXPECT_EQ(obs[0].req_id, "app");
    EXPECT_EQ(labels(obs[0]), (std::vector<std::string>{"preClose@root", "onClose@root"}));
}

TEST(Observe, HungMeansCallbacksWithoutEndOrAClientThatGaveUp) {
    scenario::step s = request("r");
    check::request_observation o;
    o.step = &s;
    o.req_id = "r";
    o.events = {cb("r", "handler")};
    EXPECT_TRUE(hung(o));
    o.events.push_back(end("r"));
    EXPECT_FALSE(hung(o));

    o.events.clear();
    o.response.client_error = "timeout: no complete response within 5000 ms";
    EXPECT_TRUE(hung(o));
    s.client.expect_no_response = true;
    EXPECT_FALSE(hung(o));
    s.client.expect_no_response = false;
    o.response.client_aborted = true;
    EXPECT_FALSE(hung(o));
    o.response.client_aborted = false;
    o.response.client_error = "connection reset by the target";
    EXPECT_FALSE(hung(o));
}

TEST(Observe, UnendedListsRequestsWithCallbacksButNoEnd) {
    std::vector<protocol::event> const events = {
        cb("a", "x"), cb("b", "x"), end("a"), cb("app", "onReady@root")};
    EXPECT_EQ(unended(events), (std::vector<std::string>{"b"}));
}

} // namespace
} // namespace lifecheck::run
