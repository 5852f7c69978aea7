// Tests for check_invariants: each of I1–I6 with a violating and a passing observation; I7's
// finding.
#include "harness/check/invariants.hpp"

#include "harness/check/detail/app_index.hpp"
#include "harness/check/test_support.hpp"

#include <gtest/gtest.h>

#include <optional>

namespace lifecheck::check {
namespace {

using scenario::payload_kind;
using scenario::phase;
using scenario::verb;
using test_support::act;
using test_support::add_hook;
using test_support::cb;
using test_support::end;
using test_support::observed;
using test_support::payload_of;

scenario::action sending(std::string const& label,
                         verb v,
                         payload_kind kind,
                         scenario::json value = scenario::json::object()) {
    scenario::action a = act(label, v);
    a.body = payload_of(kind, std::move(value));
    return a;
}

scenario::route route(std::string const& url, scenario::action handler) {
    scenario::route r;
    r.url = url;
    r.handler = std::move(handler);
    return r;
}

// root (hooks of every phase, error handler sends an object)
//   routes /json (handler: object), /text (handler: string; same label "handler"), /throw
//   v1 (/v1, error handler rethrows)  routes /x
//     helpers (encapsulate: false, error handler rethrows)
//   v2 (/v2, error handler sends a string)
scenario::app test_app() {
    scenario::app a;
    scenario::scope& root = a.root;
    add_hook(root.hooks, phase::on_request, act("onRequest@root"));
    add_hook(root.hooks,
             phase::on_request,
             sending("streaming", verb::send, payload_kind::stream, scenario::json::object()));
    add_hook(root.hooks,
             phase::on_request,
             sending("early", verb::send_then_continue, payload_kind::string));
    scenario::action twice = act("twice"); // v2 ops: done(); done() — the chain advances twice
    twice.how = scenario::style::callback;
    twice.ops = std::vector<scenario::op>(2);
    twice.ops->at(0).kind = scenario::op_kind::done;
    twice.ops->at(1).kind = scenario::op_kind::done;
    add_hook(root.hooks, phase::on_request, twice);
    scenario::action ops_sender = act("opsSender"); // v2 ops: reply.send({...}); return reply
    ops_sender.ops = std::vector<scenario::op>(2);
    ops_sender.ops->at(0).kind = scenario::op_kind::send;
    ops_sender.ops->at(0).body = payload_of(payload_kind::json_value, {{"from", "ops"}});
    ops_sender.ops->at(1).kind = scenario::op_kind::return_;
    ops_sender.ops->at(1).return_reply = true;
    add_hook(root.hooks, phase::pre_handler, ops_sender);
    add_hook(root.hooks, phase::pre_parsing, act("preParsing@root"));
    add_hook(root.hooks, phase::pre_handler, act("preHandler@root"));
    add_hook(root.hooks, phase::pre_serialization, act("preSerialization@root"));
    add_hook(root.hooks, phase::on_send, act("onSend@root"));
    add_hook(root.hooks, phase::on_response, act("onResponse@root"));
    add_hook(root.hooks, phase::on_error, act("onError@root"));
    add_hook(root.hooks, phase::on_request_abort, act("onRequestAbort@root"));
    root.error_handler =
        sending("errorHandler@root", verb::send, payload_kind::json_value, {{"error", true}});
    root.routes.push_back(
        route("/json", sending("handler", verb::continue_, payload_kind::json_value, {{"a", 1}})));
    root.routes.push_back(
        route("/text", sending("handler", verb::continue_, payload_kind::string)));
    root.routes.push_back(route("/throw", act("throwing", verb::throw_)));
    root.routes.push_back(
        route("/quoted", sending("quoted", verb::send, payload_kind::json_value, "already json")));
    scenario::action maybe = sending("maybe", verb::send, payload_kind::string);
    maybe.when = scenario::flag_condition{"ready", true};
    root.routes.push_back(route("/maybe", maybe));
    root.routes.push_back(
        route("/race", sending("racer", verb::send_then_continue, payload_kind::string)));
    scenario::action value_thrower = act("valueThrower"); // v2 ops: throw 42 (not an Error)
    value_thrower.ops = std::vector<scenario::op>(1);
    value_thrower.ops->at(0).kind = scenario::op_kind::throw_;
    value_thrower.ops->at(0).body = payload_of(payload_kind::json_value, 42);
    root.routes.push_back(route("/value", value_thrower));

    scenario::scope v1;
    v1.name = "v1";
    v1.prefix = "/v1";
    v1.error_handler = act("errorHandler@v1", verb::rethrow);
    v1.routes.push_back(route("/x", act("v1handler", verb::throw_)));
    scenario::scope helpers;
    helpers.name = "helpers";
    helpers.encapsulate = false;
    helpers.error_handler = act("errorHandler@helpers", verb::rethrow);
    v1.plugins.push_back(helpers);
    root.plugins.push_back(v1);

    scenario::scope v2;
    v2.name = "v2";
    v2.prefix = "/v2";
    v2.error_handler = sending("errorHandler@v2", verb::send, payload_kind::string);
    root.plugins.push_back(v2);
    return a;
}

scenario::step get(std::string const& url) {
    scenario::step s;
    s.id = "r1";
    s.request.url = url;
    return s;
}

/// Runs the invariants on request `url` of the test app with these events; the client got a
/// complete response unless `client` says otherwise.
std::vector<finding> run(std::string const& url,
                         std::vector<protocol::event> events,
                         std::optional<response_observation> client = std::nullopt) {
    static scenario::app const app = test_app();
    scenario::step const s = get(url);
    request_observation obs = observed("r1", std::move(events));
    if (client)
        obs.response = *client;
    obs.step = &s;
    return check_invariants(app, obs);
}

std::vector<std::string> ids(std::vector<finding> const& f) {
    std::vector<std::string> out;
    for (finding const& x : f)
        out.push_back(x.invariant_id);
    return out;
}

using ids_t = std::vector<std::string>;

response_observation client_view(bool complete, bool client_aborted = false) {
    response_observation r = observed("r1", {}).response;
    r.complete = complete;
    r.client_aborted = client_aborted;
    return r;
}

//----------------------------------------------------------------------------------------------

TEST(InvariantI1, OneEndPasses) {
    EXPECT_TRUE(run("/json",
                    {cb("onRequest@root", "onRequest"),
                     cb("handler", "handler"),
                     cb("preSerialization@root", "preSerialization"),
                     cb("onSend@root", "onSend"),
                     end(),
                     cb("onResponse@root", "onResponse")})
                    .empty());
}

TEST(InvariantI1, RequestThatNeverReachedIsExempt) {
    EXPECT_TRUE(run("/json", {}).empty());
}

TEST(InvariantI1, OnReadyOfARequestThatNeverReachedIsExempt) {
    // onReady callbacks (request id `app`) come with the first step even when its request
    // never reached the framework (lifecheck prop --target reference, seed 1).
    static scenario::app const app = test_app();
    scenario::step const s = get("/json");
    request_observation obs = observed("r1", {cb("onReady@root", "onReady")});
    obs.events[0].req = "app";
    obs.step = &s;
    EXPECT_TRUE(check_invariants(app, obs).empty());
    obs.events.push_back(cb("onRequest@root", "onRequest"));
    obs.events.back().req = "r1";
    EXPECT_EQ(ids(check_invariants(app, obs)), ids_t{"I1"});
}

TEST(InvariantI1, CallbacksWithoutEndBreakIt) {
    auto const f = run("/json", {cb("onRequest@root", "onRequest"), cb("handler", "handler")});
    ASSERT_EQ(ids(f), ids_t{"I1"});
    EXPECT_EQ(f[0].kind, finding_kind::invariant);
    EXPECT_EQ(f[0].step_id, "r1");
    EXPECT_EQ(f[0].message, "I1: 2 callback(s) ran but the target sent no end event");
}

TEST(InvariantI1, TwoEndsBreakIt) {
    auto const f = run("/json", {end(), end()});
    ASSERT_EQ(ids(f), ids_t{"I1"});
    EXPECT_EQ(f[0].actual, "2");
}

//----------------------------------------------------------------------------------------------

TEST(InvariantI2, ReplySideRepeatsAreAllowed) {
    // fastify-lifecycle.md §4.6: onSend throws every time, default handler.
    EXPECT_TRUE(run("/throw",
                    {cb("onRequest@root", "onRequest"),
                     cb("throwing", "handler"),
                     cb("onError@root", "onError"),
                     cb("errorHandler@root", "errorHandler"),
                     cb("preSerialization@root", "preSerialization"),
                     cb("onSend@root", "onSend"),
                     cb("onError@root", "onError"),
                     cb("onSend@root", "onSend"),
                     end(500)})
                    .empty());
}

TEST(InvariantI2, PhaseGoingBackBreaksIt) {
    auto const f = run("/json",
                       {cb("onRequest@root", "onRequest"),
                        cb("handler", "handler"),
                        cb("preHandler@root", "preHandler"),
                        end()});
    ASSERT_EQ(ids(f), ids_t{"I2"});
    EXPECT_NE(f[0].message.find("preHandler@root (position 2) (preHandler) started after handler"),
              std::string::npos);
}

TEST(InvariantI2, RequestSideCallbackTwiceBreaksIt) {
    auto const f = run("/json",
                       {cb("onRequest@root", "onRequest"),
                        cb("onRequest@root", "onRequest"),
                        cb("handler", "handler"),
                        end()});
    ASSERT_EQ(ids(f), ids_t{"I2"});
    EXPECT_NE(f[0].message.find("ran again"), std::string::npos);
}

TEST(InvariantI2, HookThatCallsDoneTwiceRunsTheRestTwice) {
    // Fastify 5.12.8 runs the rest of the lifecycle once per done() (fastify-lifecycle.md
    // §2.3 c): repeats and interleaved phases after such a hook are Fastify's design.
    EXPECT_TRUE(run("/json",
                    {cb("twice", "onRequest"),
                     cb("preHandler@root", "preHandler"),
                     cb("preHandler@root", "preHandler"),
                     cb("handler", "handler"),
                     cb("handler", "handler"),
                     end()})
                    .empty());
    // The same repeats without it are a finding.
    EXPECT_EQ(ids(run("/json",
                      {cb("onRequest@root", "onRequest"),
                       cb("preHandler@root", "preHandler"),
                       cb("preHandler@root", "preHandler"),
                       end()})),
              ids_t{"I2"});
}

TEST(InvariantI2, PhaseComesFromLabelWhenEventHasNone) {
    auto const f = run("/json", {cb("handler", ""), cb("preHandler@root", ""), end()});
    EXPECT_EQ(ids(f), ids_t{"I2"});
}

TEST(InvariantI2, CollidingLabelsMayEachRunOnce) {
    scenario::app a;
    add_hook(a.root.hooks, phase::on_request, act("auth"));
    add_hook(a.root.hooks, phase::on_request, act("auth"));
    auto o = observed("r1", {cb("auth", "onRequest"), cb("auth", "onRequest"), end()});
    EXPECT_TRUE(check_invariants(a, o).empty());
    o = observed(
        "r1", {cb("auth", "onRequest"), cb("auth", "onRequest"), cb("auth", "onRequest"), end()});
    EXPECT_EQ(ids(check_invariants(a, o)), ids_t{"I2"});
}

//----------------------------------------------------------------------------------------------

TEST(InvariantI3, RequestSideCallbackAfterFinishedResponseBreaksIt) {
    auto const f = run("/race",
                       {cb("onRequest@root", "onRequest"),
                        cb("onSend@root", "onSend"),
                        end(),
                        cb("preHandler@root", "preHandler")});
    ASSERT_EQ(ids(f), ids_t{"I3"});
    EXPECT_EQ(f[0].actual, "preHandler@root");
}

TEST(InvariantI3, ReplySideCallbacksAfterEndAreAllowed) {
    EXPECT_TRUE(run("/json",
                    {cb("handler", "handler"),
                     cb("onSend@root", "onSend"),
                     end(),
                     cb("onResponse@root", "onResponse")})
                    .empty());
}

TEST(InvariantI3, RequestSideAfterUnfinishedResponseIsAllowed) {
    // The client closed first: the response never finished, so later phases may still start.
    EXPECT_TRUE(run("/json",
                    {cb("onRequest@root", "onRequest"),
                     end(0, true),
                     cb("onRequestAbort@root", "onRequestAbort"),
                     cb("handler", "handler")},
                    client_view(false, true))
                    .empty());
}

//----------------------------------------------------------------------------------------------

TEST(InvariantI4, OutwardChainPasses) {
    EXPECT_TRUE(run("/v1/x",
                    {cb("v1handler", "handler", "v1"),
                     cb("onError@root", "onError"),
                     cb("errorHandler@helpers", "errorHandler", "helpers"),
                     cb("errorHandler@v1", "errorHandler", "v1"),
                     cb("errorHandler@root", "errorHandler", "root"),
                     cb("preSerialization@root", "preSerialization"),
                     cb("onSend@root", "onSend"),
                     end(200)})
                    .empty());
}

TEST(InvariantI4, InwardStepBreaksIt) {
    auto const f = run("/v1/x",
                       {cb("v1handler", "handler", "v1"),
                        cb("errorHandler@root", "errorHandler", "root"),
                        cb("errorHandler@v1", "errorHandler", "v1"),
                        cb("onSend@root", "onSend"),
                        end(500)});
    ASSERT_EQ(ids(f), ids_t{"I4"});
    EXPECT_EQ(f[0].expected, "a scope enclosing root");
    EXPECT_EQ(f[0].actual, "v1");
}

TEST(InvariantI4, SiblingScopeBreaksIt) {
    // The scope field is empty: the scope is taken from the label's ACTION.
    auto const f = run("/v1/x",
                       {cb("v1handler", "handler", "v1"),
                        cb("errorHandler@v1", "errorHandler", ""),
                        cb("errorHandler@v2", "errorHandler", ""),
                        cb("onSend@root", "onSend"),
                        end(200)});
    EXPECT_EQ(ids(f), ids_t{"I4"});
}

TEST(InvariantI4, SameHandlerTwiceBreaksIt) {
    auto const f = run("/throw",
                       {cb("throwing", "handler"),
                        cb("errorHandler@root", "errorHandler", "root"),
                        cb("errorHandler@root", "errorHandler", "root"),
                        cb("onSend@root", "onSend"),
                        end(200)});
    ASSERT_EQ(ids(f), ids_t{"I4"});
    EXPECT_NE(f[0].message.find("at most once"), std::string::npos);
}

//----------------------------------------------------------------------------------------------

TEST(InvariantI5, JsonObjectPassesPreSerialization) {
    EXPECT_TRUE(run("/json",
                    {cb("handler", "handler"),
                     cb("preSerialization@root", "preSerialization"),
                     cb("onSend@root", "onSend"),
                     end()})
                    .empty());
}

TEST(InvariantI5, StringPayloadMustNotPassPreSerialization) {
    // Same label "handler" as /json: the request's route decides which ACTION ran.
    auto const f = run("/text",
                       {cb("handler", "handler"),
                        cb("preSerialization@root", "preSerialization"),
                        cb("onSend@root", "onSend"),
                        end()});
    ASSERT_EQ(ids(f), ids_t{"I5"});
    EXPECT_NE(f[0].message.find("string payload of handler"), std::string::npos);
}

TEST(InvariantI5, JsonStringValueMustNotPassPreSerialization) {
    auto const f =
        run("/quoted",
            {cb("quoted", "handler"), cb("preSerialization@root", "preSerialization"), end()});
    ASSERT_EQ(ids(f), ids_t{"I5"});
    EXPECT_NE(f[0].message.find("json string value"), std::string::npos);
}

TEST(InvariantI5, ErrorHandlerStringMustNotPassPreSerialization) {
    auto const f = run("/v2/y",
                       {cb("onError@root", "onError"),
                        cb("errorHandler@v2", "errorHandler", "v2"),
                        cb("preSerialization@root", "preSerialization"),
                        cb("onSend@root", "onSend"),
                        end(200)});
    EXPECT_EQ(ids(f), ids_t{"I5"});
}

TEST(InvariantI5, ErrorHandlerObjectPassesPreSerialization) {
    EXPECT_TRUE(run("/throw",
                    {cb("throwing", "handler"),
                     cb("onError@root", "onError"),
                     cb("errorHandler@root", "errorHandler"),
                     cb("preSerialization@root", "preSerialization"),
                     cb("onSend@root", "onSend"),
                     end(200)})
                    .empty());
}

TEST(InvariantI5, DefaultErrorReplyRightAfterOnErrorBreaksIt) {
    auto const f = run("/unknown",
                       {cb("onRequest@root", "onRequest"),
                        cb("onError@root", "onError"),
                        cb("preSerialization@root", "preSerialization"),
                        cb("onSend@root", "onSend"),
                        end(500)});
    ASSERT_EQ(ids(f), ids_t{"I5"});
    EXPECT_NE(f[0].message.find("default error reply"), std::string::npos);
}

// Fastify's default error handler sends a thrown non-Error value as a payload: a number passes
// preSerialization right after onError (scenario fastify/values/handler-async-throws-number).
TEST(InvariantI5, DefaultErrorReplyOfANonErrorValuePassesPreSerialization) {
    EXPECT_TRUE(run("/value",
                    {cb("valueThrower", "handler"),
                     cb("onError@root", "onError"),
                     cb("preSerialization@root", "preSerialization"),
                     cb("onSend@root", "onSend"),
                     end(500)})
                    .empty());
}

TEST(InvariantI5, DefaultErrorReplyAfterThrowBreaksIt) {
    auto const f =
        run("/throw",
            {cb("throwing", "handler"), cb("preSerialization@root", "preSerialization"), end(500)});
    EXPECT_EQ(ids(f), ids_t{"I5"});
}

TEST(InvariantI5, UntracedDefaultNotFoundReplyIsNotAttributed) {
    // No route takes /unknown and no custom not-found handler ran: Fastify's default one (not
    // traced) may have sent its JSON 404 after an earlier reply left the chain running, so the
    // preSerialization run is not attributed to the failure before it (Fastify 5.12.8).
    EXPECT_TRUE(run("/unknown",
                    {cb("streaming", "onRequest"),
                     cb("onSend@root", "onSend"),
                     cb("preSerialization@root", "preSerialization"),
                     cb("onSend@root", "onSend"),
                     end(404)})
                    .empty());
    // The same trace on a routed request is still a finding.
    EXPECT_EQ(ids(run("/json",
                      {cb("streaming", "onRequest"),
                       cb("onSend@root", "onSend"),
                       cb("preSerialization@root", "preSerialization"),
                       end(200)})),
              ids_t{"I5"});
}

TEST(InvariantI5, ConditionalProducerIsNotFlagged) {
    EXPECT_TRUE(
        run("/maybe",
            {cb("maybe", "handler"), cb("preSerialization@root", "preSerialization"), end()})
            .empty());
}

TEST(InvariantI5, UnknownLabelIsNotFlagged) {
    EXPECT_TRUE(
        run("/json",
            {cb("mystery", "handler"), cb("preSerialization@root", "preSerialization"), end()})
            .empty());
}

TEST(InvariantI5, OverlappingSendsAreCountedNotAttributed) {
    // send-then-continue: the hook's string and the handler's object are both in flight; one
    // preSerialization run is the object's (Fastify 5.12.8, fastify-lifecycle.md §2.4).
    EXPECT_TRUE(run("/json",
                    {cb("early", "onRequest"),
                     cb("onSend@root", "onSend"),
                     cb("handler", "handler"),
                     cb("preSerialization@root", "preSerialization"),
                     cb("onSend@root", "onSend"),
                     end()})
                    .empty());
    // With only strings sent, no run of preSerialization can be right.
    auto const f = run("/text",
                       {cb("early", "onRequest"),
                        cb("handler", "handler"),
                        cb("preSerialization@root", "preSerialization"),
                        end()});
    ASSERT_EQ(ids(f), ids_t{"I5"});
    EXPECT_NE(f[0].message.find("only 0 callback(s) before it may have sent a JSON value"),
              std::string::npos);
}

TEST(InvariantI5, HandlerOfAChainAStreamDidNotStopMaySerializeAfterOnError) {
    // Lifecycle fuzzer artifact a27033c9 (trace of Fastify 5.12.8): a hook sends a stream to a
    // client that left, reply.sent stays false, the chain goes on to the handler; the stream's
    // own error path runs onError twice, then the handler's late object passes preSerialization
    // right after an onError hook. Not the default error reply: the handler's JSON.
    EXPECT_TRUE(run("/json",
                    {cb("streaming", "onRequest"),
                     cb("onSend@root", "onSend"),
                     cb("preHandler@root", "preHandler"),
                     cb("handler", "handler"),
                     cb("onError@root", "onError"),
                     cb("onSend@root", "onSend"),
                     cb("onError@root", "onError"),
                     cb("preSerialization@root", "preSerialization"),
                     cb("onError@root", "onError"),
                     end(0, true)},
                    client_view(false, true))
                    .empty());
}

TEST(InvariantI5, OpsHookThatSendsIsASender) {
    // A v2 ops hook that sends an object after a hook's stream let the chain go on: its send is
    // the JSON that passes preSerialization (the old reading skipped ops hooks as if they only
    // continued, and blamed the stream).
    EXPECT_TRUE(run("/json",
                    {cb("streaming", "onRequest"),
                     cb("onSend@root", "onSend"),
                     cb("opsSender", "preHandler"),
                     cb("preSerialization@root", "preSerialization"),
                     end()})
                    .empty());
}

/// I5 on request `/ops` of an app whose async ops handler sends nothing (`reply.send()`), then
/// `return reply` or not; onSend throws and the error handler returns an object (lifecycle
/// fuzzer 6090933b, e0797d54; trace from Fastify 5.12.8).
std::vector<std::string> i5_after_ops_handler_send(bool return_reply) {
    scenario::app a;
    add_hook(a.root.hooks, phase::on_send, act("onSend@root", verb::throw_));
    add_hook(a.root.hooks, phase::pre_serialization, act("preSerialization@root"));
    add_hook(a.root.hooks, phase::on_error, act("onError@root"));
    a.root.error_handler =
        sending("errorHandler@root", verb::continue_, payload_kind::json_value, {{"v", 1}});
    scenario::action h = act("handler");
    h.ops = std::vector<scenario::op>(return_reply ? 2 : 1);
    h.ops->at(0).kind = scenario::op_kind::send;
    if (return_reply) {
        h.ops->at(1).kind = scenario::op_kind::return_;
        h.ops->at(1).return_reply = true;
    }
    a.root.routes.push_back(route("/ops", h));
    scenario::step const s = get("/ops");
    request_observation obs = observed("r1",
                                       {cb("handler", "handler"),
                                        cb("onSend@root", "onSend"),
                                        cb("onSend@root", "onSend"),
                                        cb("onError@root", "onError"),
                                        cb("errorHandler@root", "errorHandler"),
                                        cb("onSend@root", "onSend"),
                                        cb("preSerialization@root", "preSerialization"),
                                        cb("onSend@root", "onSend"),
                                        end(500)});
    obs.step = &s;
    std::vector<std::string> out;
    for (finding const& f : check_invariants(a, obs))
        if (f.invariant_id == "I5")
            out.push_back(f.message);
    return out;
}

TEST(InvariantI5, AsyncOpsHandlerSendWithoutReturnReplyMaySendTwice) {
    // wrapThenable sends again what the handler's promise resolves to (undefined) while the
    // first send's onSend is pending: two sends overlap, the error handler's object is the JSON
    // that passes preSerialization, not the default error reply of the failed onSend.
    EXPECT_TRUE(i5_after_ops_handler_send(false).empty());
    // `return reply` waits for the reply: one send at a time, and the run right after a failed
    // onSend is the default error reply's.
    EXPECT_EQ(i5_after_ops_handler_send(true).size(), 1U);
}

TEST(InvariantI5, MoreRunsThanJsonSendersBreaksIt) {
    auto const f = run("/json",
                       {cb("streaming", "onRequest"),
                        cb("preHandler@root", "preHandler"),
                        cb("handler", "handler"),
                        cb("preSerialization@root", "preSerialization"),
                        cb("onSend@root", "onSend"),
                        cb("onError@root", "onError"),
                        cb("preSerialization@root", "preSerialization"),
                        end(500)});
    ASSERT_EQ(ids(f), ids_t{"I5"});
    EXPECT_NE(f[0].message.find("starts run 2 of preSerialization"), std::string::npos);
}

TEST(InvariantI5, LateRequestWithoutProducerIsNotFlagged) {
    // The built-in 404 sends an object through preSerialization: no traced producer.
    EXPECT_TRUE(run("/nowhere",
                    {cb("onRequest@root", "onRequest"),
                     cb("preSerialization@root", "preSerialization"),
                     cb("onSend@root", "onSend"),
                     end(404)})
                    .empty());
}

//----------------------------------------------------------------------------------------------

TEST(InvariantI6, AbortWithoutOnResponsePasses) {
    EXPECT_TRUE(run("/json",
                    {cb("handler", "handler"),
                     end(0, true),
                     cb("onRequestAbort@root", "onRequestAbort"),
                     cb("preSerialization@root", "preSerialization"),
                     cb("onSend@root", "onSend")},
                    client_view(false, true))
                    .empty());
}

TEST(InvariantI6, ServerSideCutMayRunOnRequestAbort) {
    // A stream failing midway: end says aborted: false, the client got a truncated body.
    EXPECT_TRUE(run("/json",
                    {cb("handler", "handler"),
                     cb("onSend@root", "onSend"),
                     cb("onRequestAbort@root", "onRequestAbort"),
                     end(200, false)},
                    client_view(false))
                    .empty());
}

TEST(InvariantI6, AbortAfterFinishedResponseBreaksIt) {
    auto const f = run("/json",
                       {cb("handler", "handler"),
                        cb("onSend@root", "onSend"),
                        end(),
                        cb("onRequestAbort@root", "onRequestAbort")});
    ASSERT_EQ(ids(f), ids_t{"I6"});
    EXPECT_NE(f[0].message.find("although the response finished"), std::string::npos);
}

TEST(InvariantI6, OnResponseAfterAbortBreaksIt) {
    auto const f = run("/json",
                       {cb("handler", "handler"),
                        end(0, true),
                        cb("onRequestAbort@root", "onRequestAbort"),
                        cb("onResponse@root", "onResponse")},
                       client_view(false, true));
    ASSERT_EQ(ids(f), ids_t{"I6"});
    EXPECT_EQ(f[0].actual, "onResponse@root");
}

TEST(InvariantI6, OnResponseForAbortedEndBreaksIt) {
    auto const f =
        run("/json",
            {cb("handler", "handler"), end(0, true), cb("onResponse@root", "onResponse")},
            client_view(false, true));
    EXPECT_EQ(ids(f), ids_t{"I6"});
}

TEST(InvariantI6, OnRequestAbortTwiceBreaksIt) {
    auto const f = run("/json",
                       {cb("handler", "handler"),
                        end(0, true),
                        cb("onRequestAbort@root", "onRequestAbort"),
                        cb("onRequestAbort@root", "onRequestAbort")},
                       client_view(false, true));
    ASSERT_EQ(ids(f), ids_t{"I6"});
    EXPECT_NE(f[0].message.find("at most once"), std::string::npos);
}

//----------------------------------------------------------------------------------------------

TEST(InvariantI7, TargetDiedFinding) {
    finding const f = target_died("exit code 1 (uncaught FST_ERR_REP_READABLE_STREAM_LOCKED)");
    EXPECT_EQ(f.invariant_id, "I7");
    EXPECT_EQ(f.kind, finding_kind::invariant);
    EXPECT_TRUE(f.step_id.empty());
    EXPECT_EQ(f.message,
              "I7: the target process died: exit code 1 (uncaught "
              "FST_ERR_REP_READABLE_STREAM_LOCKED)");
}

//----------------------------------------------------------------------------------------------

TEST(AppIndex, RouteMatching) {
    using detail::route_matches;
    EXPECT_TRUE(route_matches("GET", "/items/:id", "GET", "/items/7?x=1"));
    EXPECT_FALSE(route_matches("GET", "/items/:id", "GET", "/items/"));
    EXPECT_FALSE(route_matches("GET", "/items/:id", "POST", "/items/7"));
    EXPECT_TRUE(route_matches("GET", "/items/:id", "HEAD", "/items/7"));
    // A "/" route under /v1 is registered as "/v1" and "/v1/" (scenario::route_paths); a path
    // ending in '/' alone does not take the bare one (Fastify 5.12.8, ignoreTrailingSlash off).
    EXPECT_FALSE(route_matches("GET", "/v1/", "GET", "/v1"));
    EXPECT_TRUE(route_matches("GET", std::vector<std::string>{"/v1", "/v1/"}, "GET", "/v1"));
    EXPECT_TRUE(route_matches("GET", "/files/*", "GET", "/files/a/b"));
    EXPECT_FALSE(route_matches("GET", "/a", "GET", "/a/b"));
}

TEST(AppIndex, NonEncapsulatedPluginActsInItsParent) {
    scenario::app const app = test_app();
    detail::app_index const index{app};
    EXPECT_EQ(index.effective_scope("helpers"), "v1");
    EXPECT_EQ(index.effective_scope("v1"), "v1");
    EXPECT_FALSE(index.effective_scope("nope"));
    EXPECT_TRUE(index.encloses("root", "v1"));
    EXPECT_TRUE(index.encloses("v1", "v1"));
    EXPECT_FALSE(index.encloses("v1", "root"));
    EXPECT_FALSE(index.encloses("v2", "v1"));
    auto const found = index.find_for("handler", "GET", "/text");
    ASSERT_EQ(found.size(), 1u);
    EXPECT_EQ(found[0]->act->body->kind, payload_kind::string);
    EXPECT_EQ(index.find("handler").size(), 2u);
}

} // namespace
} // namespace lifecheck::check
