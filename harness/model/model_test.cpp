// Tests of the oracle against the behaviour fastify-lifecycle.md documents for Fastify 5.12.8.
#include "harness/model/model.hpp"

#include "harness/model/test_support.hpp"
#include "harness/scenario/load.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <iostream>
#include <map>
#include <string>
#include <vector>

namespace {

using namespace lifecheck;

scenario::scenario load(std::string const& text) {
    auto r = scenario::parse(text, "model_test.json", "model_test");
    if (!r.has_value()) {
        std::string all;
        for (auto const& d : r.error())
            all += d.json_path + ": expected " + d.expected + ", got " + d.got + "\n";
        ADD_FAILURE() << all;
        return {};
    }
    return std::move(r).value();
}

using labels = std::vector<std::string>;

/// Predicts `text` (a whole scenario) and returns the prediction of step `id`.
model::step_prediction predict_step(std::string const& text, std::string const& id) {
    auto const sc = load(text);
    for (auto const& p : model::predict(sc)) {
        if (p.step_id == id)
            return p;
    }
    ADD_FAILURE() << "no prediction for step " << id;
    return {};
}

/// A one-route GET app: `hooks` is the root's hook map, `handler` the route's ACTION.
std::string
get_app(std::string const& hooks, std::string const& handler, std::string const& extra = "") {
    return R"({"app":{"hooks":)" + hooks + extra +
           R"(,"routes":[{"method":"GET","url":"/","handler":)" + handler +
           R"(}]},"steps":[{"id":"r1","request":{"method":"GET","url":"/"}}]})";
}

std::string const json_ok = R"({"payload":{"kind":"json","value":{"ok":true}}})";

//------------------------------------------------------------------------------
// §2.2 phase order, §2.3 the hook runner

// fastify-lifecycle §2.2 phase table: every request phase once, in order (POST with a JSON body).
TEST(ModelPhases, EveryPhaseRunsOnceInOrder) {
    auto const p =
        predict_step(R"({"app":{"hooks":{"onRequest":[{}],"preParsing":[{}],"preValidation":[{}],
        "preHandler":[{}],"preSerialization":[{}],"onSend":[{}],"onResponse":[{}]},
        "routes":[{"method":"POST","url":"/","handler":{"payload":{"kind":"json","value":{"a":1}}}}]},
        "steps":[{"id":"r1","request":{"method":"POST","url":"/","headers":{"content-type":"application/json"},"body":"{\"x\":1}"}}]})",
                     "r1");
    EXPECT_TRUE(p.deterministic) << p.why;
    EXPECT_EQ(p.trace,
              (labels{"onRequest@root",
                      "preParsing@root",
                      "preValidation@root",
                      "preHandler@root",
                      "handler",
                      "preSerialization@root",
                      "onSend@root",
                      "onResponse@root"}));
    EXPECT_EQ(p.end_at, 8); // onResponse starts before the response closes (§2.8)
    EXPECT_EQ(p.status, 200);
    EXPECT_EQ(p.body_text, R"({"a":1})");
    EXPECT_EQ(p.content_type, "application/json; charset=utf-8");
}

// fastify-lifecycle §2.3 (b): a failing hook skips the rest of its phase; default handler answers
// (§4.5 row 1).
TEST(ModelPhases, FailingHookSkipsTheRestOfItsPhase) {
    auto const p = predict_step(
        get_app(R"({"preHandler":[{"do":"throw","error":{"message":"no","statusCode":403}},{}],
        "onError":[{}],"onSend":[{}],"onResponse":[{}]})",
                json_ok),
        "r1");
    EXPECT_EQ(p.trace,
              (labels{"preHandler@root#0", "onError@root", "onSend@root", "onResponse@root"}));
    EXPECT_EQ(p.status, 403);
    EXPECT_EQ(p.body_text, R"({"statusCode":403,"error":"Forbidden","message":"no"})");
    EXPECT_EQ(p.body, model::body_class::default_error_json);
}

// fastify-lifecycle §2.3 (b): callback style throws synchronously; with delayMs it calls done(err).
TEST(ModelPhases, CallbackHookThrowSyncAndFromTimer) {
    for (std::string const delay : {"", R"("delayMs":20,)"}) {
        auto const p = predict_step(get_app(R"({"onRequest":[{"style":"callback",)" + delay +
                                                R"("do":"throw"},{}],"onError":[{}]})",
                                            json_ok),
                                    "r1");
        EXPECT_EQ(p.trace, (labels{"onRequest@root#0", "onError@root"})) << delay;
        EXPECT_EQ(p.status, 500);
        EXPECT_TRUE(p.deterministic) << p.why;
    }
}

// fastify-lifecycle §2.3 (d) + §2.4 "async: return reply.send(x)": the chain waits, then stops.
TEST(ModelPhases, AsyncHookSendStopsTheChain) {
    auto const p = predict_step(
        get_app(
            R"({"onRequest":[{"do":"send","status":401,"payload":{"kind":"json","value":{"early":true}}},{}],
        "preHandler":[{}],"onSend":[{"delayMs":20}],"onResponse":[{}]})",
            json_ok),
        "r1");
    EXPECT_EQ(p.trace, (labels{"onRequest@root#0", "onSend@root", "onResponse@root"}));
    EXPECT_EQ(p.status, 401);
    EXPECT_EQ(p.body_text, R"({"early":true})");
}

// fastify-lifecycle §2.2: route-level hooks run after every scope hook of the phase (§3.1).
TEST(ModelPhases, RouteHooksRunAfterScopeHooks) {
    auto const p = predict_step(R"({"app":{"hooks":{"preHandler":[{}]},
        "routes":[{"method":"GET","url":"/","hooks":{"preHandler":[{},{}]},"handler":{}}],
        "plugins":[{"name":"c","hooks":{"preHandler":[{}]}}]},
        "steps":[{"id":"r1","request":{"method":"GET","url":"/"}}]})",
                                "r1");
    EXPECT_EQ(p.trace,
              (labels{"preHandler@root", "preHandler@route#0", "preHandler@route#1", "handler"}));
}

//------------------------------------------------------------------------------
// §2.4 replying from a hook

std::string guide_app(std::string const& on_send, std::string const& handler) {
    return R"({"app":{"hooks":{"onRequest":[{"style":"callback","do":"sendThenContinue","status":503,
        "headers":{"retry-after":"5000"},"payload":{"kind":"json","value":{"error":true}}}],
        "preParsing":[{}],"preValidation":[{}],"preHandler":[{}],"onSend":[)" +
           on_send +
           R"(],"onResponse":[{}],"onError":[{}]},"errorHandler":{"do":"send","payload":{"kind":"string","value":"late"}},
        "routes":[{"method":"GET","url":"/","handler":)" +
           handler + R"(}]},"steps":[{"id":"r1","request":{"method":"GET","url":"/"}}]})";
}

// fastify-lifecycle §2.4 row "callback: send, then done()", SYNC column: the rest is skipped
// silently.
TEST(ModelSendFromHook, SendThenDoneWithSyncReplyPathIsHarmless) {
    auto const p = predict_step(guide_app(R"({"style":"callback"})", json_ok), "r1");
    EXPECT_EQ(p.trace, (labels{"onRequest@root", "onSend@root", "onResponse@root"}));
    EXPECT_EQ(p.status, 503);
    EXPECT_EQ(p.body_text, R"({"error":true})");
    EXPECT_TRUE(p.deterministic) << p.why;
}

// fastify-lifecycle §2.4 e03: with an async onSend the lifecycle continues, onSend runs twice, and
// the second write fails into onError + the error handler after onResponse; the client keeps the
// 503.
TEST(ModelSendFromHook, SendThenDoneWithAsyncOnSendContinues) {
    auto const p = predict_step(guide_app(R"({"delayMs":100})", json_ok), "r1");
    EXPECT_EQ(p.trace,
              (labels{"onRequest@root",
                      "onSend@root",
                      "preParsing@root",
                      "preValidation@root",
                      "preHandler@root",
                      "handler",
                      "onSend@root",
                      "onResponse@root",
                      "onError@root",
                      "errorHandler@root"}));
    EXPECT_EQ(p.end_at, 8);
    EXPECT_EQ(p.status, 503);
    EXPECT_TRUE(p.deterministic) << p.why; // both onSend timers share one Node timer list
}

// fastify-lifecycle §2.4 "handler delay 100": the handler's value comes after the first response
// ended: only an ALREADY_SENT warning.
TEST(ModelSendFromHook, LateHandlerValueOnlyWarns) {
    auto const p = predict_step(
        guide_app(R"({"delayMs":20})", R"({"delayMs":150,"payload":{"kind":"json","value":{}}})"),
        "r1");
    EXPECT_EQ(p.trace,
              (labels{"onRequest@root",
                      "onSend@root",
                      "preParsing@root",
                      "preValidation@root",
                      "preHandler@root",
                      "handler",
                      "onResponse@root"}));
    EXPECT_EQ(p.status, 503);
    EXPECT_TRUE(p.deterministic) << p.why;
}

// fastify-lifecycle §1: "async onSend" without a delay still resolves a microtask later, so the
// hook after the callback one starts before the first response ends; then the chain stops (checked
// against fastify 5.12.8: onRequest, onSend, onRequest#1, onResponse).
TEST(ModelSendFromHook, ZeroDelayAsyncOnSendIsDecidedByMicrotaskOrder) {
    auto const p = predict_step(
        get_app(
            R"({"onRequest":[{"style":"callback","do":"sendThenContinue","payload":{"kind":"json","value":{}}},{}],
        "preParsing":[{}],"onSend":[{}],"onResponse":[{}]})",
            json_ok),
        "r1");
    EXPECT_EQ(p.trace,
              (labels{"onRequest@root#0", "onSend@root", "onRequest@root#1", "onResponse@root"}));
}

// fastify-lifecycle §2.4 "Process crash" (e29) / §2.7: a callback onSend calling done() from a
// timer meets ERR_HTTP_HEADERS_SENT of the second send: uncaught, Fastify dies.
TEST(ModelSendFromHook, DeferredCallbackOnSendCrashesOnTheSecondWrite) {
    auto const p = predict_step(guide_app(R"({"style":"callback","delayMs":20})", json_ok), "r1");
    EXPECT_TRUE(p.crash);
    EXPECT_EQ(p.status, 503); // the client got the first response before the process died
    EXPECT_NE(
        std::find(p.notes.begin(),
                  p.notes.end(),
                  "Fastify crashes: uncaught exception: ERR_HTTP_HEADERS_SENT Cannot write headers "
                  "after they are sent to the client"),
        p.notes.end());
}

// fastify-lifecycle §2.4: two sends whose writes race within the timer jitter are not decided.
TEST(ModelSendFromHook, CloseRacesAreNotDeterministic) {
    auto const p = predict_step(
        guide_app(R"({"delayMs":40})", R"({"delayMs":35,"payload":{"kind":"json","value":{}}})"),
        "r1");
    EXPECT_FALSE(p.deterministic);
    EXPECT_NE(p.why.find("closer than"), std::string::npos) << p.why;
}

//------------------------------------------------------------------------------
// §2.5 the handler

// fastify-lifecycle §2.5: an async handler resolving undefined gets an empty 200 (content-length
// 0).
TEST(ModelHandler, AsyncUndefinedSendsEmpty200) {
    auto const p = predict_step(get_app("{}", "{}"), "r1");
    EXPECT_EQ(p.status, 200);
    EXPECT_EQ(p.body, model::body_class::empty);
    EXPECT_EQ(p.body_text, "");
    EXPECT_FALSE(p.content_type.has_value());
}

// fastify-lifecycle §2.5: a sync handler returning undefined without sending hangs the request.
TEST(ModelHandler, CallbackHandlerThatNeverSendsHangs) {
    auto const p = predict_step(get_app("{}", R"({"style":"callback","do":"hang"})"), "r1");
    EXPECT_TRUE(p.hangs);
    EXPECT_FALSE(p.end_at.has_value());
    EXPECT_FALSE(p.status.has_value());
}

// fastify-lifecycle §2.5 + scenario-format §1.2: `when` false returns without answering — an async
// handler therefore gets the empty 200, a callback one hangs.
TEST(ModelHandler, WhenFalseDependsOnStyle) {
    auto const a = predict_step(
        get_app("{}", R"({"when":{"flag":"x","is":true},"payload":{"kind":"string","value":"x"}})"),
        "r1");
    EXPECT_EQ(a.status, 200);
    EXPECT_EQ(a.body_text, "");
    auto const c =
        predict_step(get_app("{}", R"({"style":"callback","when":{"flag":"x","is":true}})"), "r1");
    EXPECT_TRUE(c.hangs);
}

// fastify-lifecycle §2.5: `reply.send('first'); return 'second'` keeps the first (ALREADY_SENT).
TEST(ModelHandler, SendThenReturnKeepsTheFirstResponse) {
    auto const p =
        predict_step(get_app(R"({"onSend":[{}]})",
                             R"({"do":"send","payload":{"kind":"string","value":"first"}})"),
                     "r1");
    EXPECT_EQ(p.trace, (labels{"handler", "onSend@root"}));
    EXPECT_EQ(p.body_text, "first");
}

//------------------------------------------------------------------------------
// §2.6 / §5 payload kinds

struct payload_case {
    std::string payload;
    bool pre_serialization;
    std::string body;
    std::optional<std::string> content_type;
    model::body_class kind;
};

// fastify-lifecycle §5 table: which payloads pass preSerialization, their bodies and content types.
TEST(ModelPayloads, KindsFollowTheSendClassification) {
    std::vector<payload_case> const cases = {
        {R"({"kind":"json","value":{"b":2,"a":[1,2.0]}})",
         true,
         R"({"b":2,"a":[1,2]})",
         "application/json; charset=utf-8",
         model::body_class::json},
        {R"({"kind":"json","value":null})",
         true,
         "null",
         "application/json; charset=utf-8",
         model::body_class::json},
        {R"({"kind":"json","value":7})",
         true,
         "7",
         "application/json; charset=utf-8",
         model::body_class::json},
        {R"({"kind":"json","value":"already"})",
         false,
         "already",
         "text/plain; charset=utf-8",
         model::body_class::text},
        {R"({"kind":"string","value":"hi"})",
         false,
         "hi",
         "text/plain; charset=utf-8",
         model::body_class::text},
        {R"({"kind":"buffer","base64":"AAE="})",
         false,
         std::string("\x00\x01", 2),
         "application/octet-stream",
         model::body_class::binary},
        {R"({"kind":"empty"})", false, "", std::nullopt, model::body_class::empty},
        {R"({"kind":"stream","chunks":["a","b"]})",
         false,
         "ab",
         std::nullopt,
         model::body_class::stream},
        {R"({"kind":"webStream","chunks":["a","b"]})",
         false,
         "ab",
         std::nullopt,
         model::body_class::stream},
        {R"({"kind":"response","status":207,"body":{"kind":"string","value":"r"}})",
         false,
         "r",
         "text/plain;charset=UTF-8",
         model::body_class::stream},
    };
    for (auto const& c : cases) {
        auto const p = predict_step(get_app(R"({"preSerialization":[{}],"onSend":[{}]})",
                                            R"({"payload":)" + c.payload + "}"),
                                    "r1");
        SCOPED_TRACE(c.payload);
        labels want = {"handler"};
        if (c.pre_serialization)
            want.push_back("preSerialization@root");
        want.push_back("onSend@root");
        EXPECT_EQ(p.trace, want);
        EXPECT_EQ(p.body_text, c.body);
        EXPECT_EQ(p.content_type, c.content_type);
        EXPECT_EQ(p.body, c.kind);
        EXPECT_TRUE(p.deterministic) << p.why;
    }
}

// fastify-lifecycle §5: a string with a JSON content-type is sent verbatim (charset added), no
// preSerialization.
TEST(ModelPayloads, StringWithJsonContentType) {
    auto const p = predict_step(
        get_app(
            R"({"preSerialization":[{}]})",
            R"({"do":"send","headers":{"content-type":"application/json"},"payload":{"kind":"string","value":"{\"a\":1}"}})"),
        "r1");
    EXPECT_EQ(p.trace, (labels{"handler"}));
    EXPECT_EQ(p.content_type, "application/json; charset=utf-8");
    EXPECT_EQ(p.body_text, R"({"a":1})");
}

// fastify-lifecycle §5: an object with a non-JSON content-type fails at write time: 500 through
// onSend again.
TEST(ModelPayloads, ObjectWithTextContentTypeIs500) {
    auto const p = predict_step(
        get_app(
            R"({"preSerialization":[{}],"onSend":[{}],"onError":[{}]})",
            R"({"do":"send","headers":{"content-type":"text/plain"},"payload":{"kind":"json","value":{"a":1}}})"),
        "r1");
    EXPECT_EQ(p.trace, (labels{"handler", "onSend@root", "onError@root", "onSend@root"}));
    EXPECT_EQ(p.status, 500);
    EXPECT_EQ(
        p.body_text,
        R"({"statusCode":500,"code":"FST_ERR_REP_INVALID_PAYLOAD_TYPE","error":"Internal Server Error","message":"Attempted to send payload of invalid type 'object'. Expected a string or Buffer."})");
}

// fastify-lifecycle §5 onSend replacement rules: null -> empty body; 204 drops the body.
TEST(ModelPayloads, OnSendReplacementAnd204) {
    auto const n = predict_step(
        get_app(R"({"onSend":[{"do":"replacePayload","payload":{"kind":"json","value":null}}]})",
                json_ok),
        "r1");
    EXPECT_EQ(n.status, 200);
    EXPECT_EQ(n.body_text, "");
    auto const s = predict_step(
        get_app(R"({"preSerialization":[{}]})",
                R"({"do":"send","status":204,"payload":{"kind":"json","value":{"a":1}}})"),
        "r1");
    EXPECT_EQ(s.trace, (labels{"handler", "preSerialization@root"}));
    EXPECT_EQ(s.status, 204);
    EXPECT_EQ(s.body_text, "");
}

//------------------------------------------------------------------------------
// §2.7 / §6 streams, web streams, Response

// fastify-lifecycle §6 row 1: a locked web stream is a 500 through onError, with async onSend
// hooks, sync-callback ones and none; a callback onSend calling done() from a timer crashes (e27).
TEST(ModelStreams, LockedWebStream) {
    std::string const locked = R"({"payload":{"kind":"webStream","chunks":["a"],"locked":true}})";
    for (std::string const on_send : {R"([{}])", R"([{"style":"callback"}])", R"([])"}) {
        auto const p =
            predict_step(get_app(R"({"onError":[{}],"onSend":)" + on_send + "}", locked), "r1");
        SCOPED_TRACE(on_send);
        EXPECT_FALSE(p.crash);
        EXPECT_EQ(p.status, 500);
        EXPECT_NE(p.body_text->find("FST_ERR_REP_READABLE_STREAM_LOCKED"), std::string::npos);
        EXPECT_EQ(p.trace.at(1), on_send == "[]" ? "onError@root" : "onSend@root");
    }
    auto const crash =
        predict_step(get_app(R"({"onSend":[{"style":"callback","delayMs":10}]})", locked), "r1");
    EXPECT_TRUE(crash.crash);
}

// fastify-lifecycle §6: the same Response sent twice: 200 then 500 CONSUMED with the Response's
// headers leaking.
TEST(ModelStreams, SharedResponseIsConsumedByTheFirstSend) {
    auto const sc = load(
        R"({"app":{"hooks":{"onSend":[{}]},"routes":[{"method":"GET","url":"/","handler":{"payload":{"kind":"response",
        "status":201,"headers":{"x-from-response":"1"},"body":{"kind":"string","value":"hello"},"shared":"r"}}}]},
        "steps":[{"id":"a","request":{"method":"GET","url":"/"}},{"id":"b","request":{"method":"GET","url":"/"}}]})");
    auto const p = model::predict(sc);
    ASSERT_EQ(p.size(), 2u);
    EXPECT_EQ(p[0].status, 201);
    EXPECT_EQ(p[0].body_text, "hello");
    EXPECT_EQ(p[1].status, 500);
    EXPECT_EQ(p[1].trace, (labels{"handler", "onSend@root", "onSend@root"}));
    EXPECT_EQ(
        p[1].body_text,
        R"({"statusCode":500,"code":"FST_ERR_REP_RESPONSE_BODY_CONSUMED","error":"Internal Server Error","message":"Response.body is already consumed."})");
}

// fastify-lifecycle §6: a stream failing before its first byte takes the normal error path; after
// bytes went out the socket is destroyed: truncated body, onRequestAbort, no onResponse, end not
// aborted.
TEST(ModelStreams, FailureBeforeAndAfterTheFirstByte) {
    std::string const hooks =
        R"({"onSend":[{}],"onResponse":[{}],"onRequestAbort":[{}],"onError":[{}]})";
    auto const before = predict_step(
        get_app(
            hooks,
            R"({"payload":{"kind":"stream","chunks":["a"],"chunkDelayMs":30,"failAfterChunks":0}})"),
        "r1");
    EXPECT_EQ(before.trace,
              (labels{"handler", "onSend@root", "onError@root", "onSend@root", "onResponse@root"}));
    EXPECT_EQ(before.status, 500);
    auto const after = predict_step(
        get_app(
            hooks,
            R"({"payload":{"kind":"webStream","chunks":["a","b","c"],"chunkDelayMs":30,"failAfterChunks":2}})"),
        "r1");
    EXPECT_EQ(after.trace, (labels{"handler", "onSend@root", "onRequestAbort@root"}));
    EXPECT_EQ(after.end_at, 2);
    EXPECT_EQ(after.status, 200);
    EXPECT_FALSE(after.complete);
    EXPECT_EQ(after.body_text, "ab");
    EXPECT_FALSE(after.aborted);
}

//------------------------------------------------------------------------------
// §3 hook order across scopes, application hooks

// fastify-lifecycle §3.2 (e02): the order hooks were applied: R0, C0, F, G0, C1, R1, route#0,
// route#1.
TEST(ModelScopes, HooksRunInApplicationOrder) {
    std::string const app =
        R"({"app":{"hooks":{"onRequest":[{}]},"plugins":[{"name":"child","hooks":{"onRequest":[{}]},
        "plugins":[{"name":"f","encapsulate":false,"hooks":{"onRequest":[{}]}},
                   {"name":"grand","hooks":{"onRequest":[{}]},"routes":[{"method":"GET","url":"/g","hooks":{"onRequest":[{},{}]},"handler":{}}]}],
        "late":{"hooks":{"onRequest":[{}]}}}],"late":{"hooks":{"onRequest":[{}]}}},
        "steps":[{"id":"r1","request":{"method":"GET","url":"/g"}}]})";
    labels const want = {"onRequest@root#0",
                         "onRequest@child#0",
                         "onRequest@f",
                         "onRequest@grand",
                         "onRequest@child#1",
                         "onRequest@root#1",
                         "onRequest@route#0",
                         "onRequest@route#1",
                         "handler"};
    EXPECT_EQ(predict_step(app, "r1").trace, want);
    // `await register(child)`: R1 still reaches the already-loaded child, at the end.
    std::string awaited = app;
    awaited.replace(awaited.find(R"("name":"child")"), 14, R"("name":"child","await":true)");
    EXPECT_EQ(predict_step(awaited, "r1").trace, want);
}

// fastify-lifecycle §3.2 (e02 "E2d"): a fastify-plugin registered after an encapsulated sibling
// still adds its hooks to that sibling; §3.3: its prefix is ignored.
TEST(ModelScopes, FastifyPluginReachesExistingSiblingsAndIgnoresPrefix) {
    auto const sc = load(
        R"({"app":{"plugins":[{"name":"sib","hooks":{"onRequest":[{}]},"routes":[{"method":"GET","url":"/s","handler":{}}]},
        {"name":"f","encapsulate":false,"prefix":"/ignored","hooks":{"onRequest":[{}]},"routes":[{"method":"GET","url":"/f","handler":{}}]}]},
        "steps":[{"id":"s","request":{"method":"GET","url":"/s"}},{"id":"f","request":{"method":"GET","url":"/f"}}]})");
    auto const p = model::predict(sc);
    EXPECT_EQ(p[0].trace, (labels{"onRequest@sib", "onRequest@f", "handler"}));
    EXPECT_EQ(p[1].trace, (labels{"onRequest@f", "handler"}));
    EXPECT_EQ(p[1].status, 200);
}

// fastify-lifecycle §3.4: onReady parent first (belongs to the first step), preClose parent first,
// onClose LIFO; the close step's trace.
TEST(ModelScopes, ApplicationHooks) {
    auto const sc =
        load(R"({"app":{"hooks":{"onReady":[{},{"delayMs":20}],"preClose":[{}],"onClose":[{},{}]},
        "routes":[{"method":"GET","url":"/","handler":{}}],
        "plugins":[{"name":"c","hooks":{"onReady":[{}],"preClose":[{}],"onClose":[{}]}},
                   {"name":"f","encapsulate":false,"hooks":{"onClose":[{}],"preClose":[{}]}}],
        "late":{"hooks":{"onClose":[{}]}}},
        "steps":[{"id":"r1","request":{"method":"GET","url":"/"}},{"close":true}]})");
    auto const p = model::predict(sc);
    ASSERT_EQ(p.size(), 2u);
    EXPECT_EQ(p[0].trace, (labels{"onReady@root#0", "onReady@root#1", "onReady@c", "handler"}));
    EXPECT_EQ(p[0].end_at, 4);
    EXPECT_EQ(p[1].step_id, "close");
    EXPECT_EQ(p[1].trace,
              (labels{"preClose@root",
                      "preClose@f",
                      "preClose@c",
                      "onClose@f",
                      "onClose@c",
                      "onClose@root#2",
                      "onClose@root#1",
                      "onClose@root#0"}));
}

// v2.6 (scenario-format §1.9, hooks.js onListenHookRunner): each child's runner starts without
// waiting, so a sync hook's sibling runs after it and an async hook's sibling before its next hook.
TEST(ModelScopes, SyncOnListenHooksHandOverAtOnce) {
    auto trace_of = [](std::string const& hook) {
        return predict_step(R"({"startup":{"expect":{"error":null}},"app":{"plugins":[
            {"name":"a","hooks":{"onListen":[)" +
                                hook + "," + hook + R"(]}},
            {"name":"b","hooks":{"onListen":[)" +
                                hook + R"(]}}]},"steps":[]})",
                            "startup")
            .trace;
    };
    EXPECT_EQ(trace_of(R"({"style":"sync"})"),
              (labels{"onListen@a#0", "onListen@a#1", "onListen@b"}));
    EXPECT_EQ(trace_of(R"({"style":"sync","do":"throw"})"),
              (labels{"onListen@a#0", "onListen@a#1", "onListen@b"}))
        << "a throw is logged and the next hook runs at once";
    EXPECT_EQ(trace_of("{}"), (labels{"onListen@a#0", "onListen@b", "onListen@a#1"}));
}

// v2.6 (scenario-format §1.9): onRoute at each route() (again for a GET's HEAD twin, not where a
// HEAD route exists), copied into plugins created later; onRegister when an encapsulated plugin
// is created, never for a fastify-plugin one. Recorded from Fastify 5.12.8 in
// scenarios/fastify/startup/onregister-onroute-order.json.
TEST(ModelScopes, RegistrationHooksInCallOrder) {
    auto const p = predict_step(R"({"startup":{"expect":{"error":null}},"app":{
        "hooks":{"onRoute":[{}],"onRegister":[{}]},
        "routes":[{"method":"HEAD","url":"/h","handler":{}},{"url":"/h","handler":{}}],
        "plugins":[{"name":"p","hooks":{"onRoute":[{}]},
                    "routes":[{"method":"POST","url":"/p","handler":{}}],
                    "plugins":[{"name":"q","routes":[{"method":"POST","url":"/q","handler":{}}]},
                               {"name":"f","encapsulate":false,
                                "routes":[{"method":"POST","url":"/f","handler":{}}]}]}]},
        "steps":[]})",
                                "startup");
    EXPECT_EQ(p.trace,
              (labels{"onRoute@root",
                      "onRoute@root",
                      "onRegister@root",
                      "onRoute@root",
                      "onRoute@p",
                      "onRegister@root",
                      "onRoute@root",
                      "onRoute@p",
                      "onRoute@root",
                      "onRoute@p"}));
}

//------------------------------------------------------------------------------
// §4 the error path

std::string
error_app(std::string const& hooks, std::string const& error_handler, std::string const& handler) {
    return R"({"app":{"hooks":)" + hooks + error_handler +
           R"(,"routes":[{"method":"GET","url":"/","handler":)" + handler +
           R"(}]},"steps":[{"id":"r1","request":{"method":"GET","url":"/"}}]})";
}

std::string const all_reply_hooks =
    R"({"preSerialization":[{}],"onSend":[{}],"onResponse":[{}],"onError":[{}]})";
std::string const send_object =
    R"(,"errorHandler":{"do":"send","payload":{"kind":"json","value":{"custom":true}}})";
std::string const send_string =
    R"(,"errorHandler":{"do":"send","payload":{"kind":"string","value":"custom"}})";

// fastify-lifecycle §4.5 row "handler": default / custom sends object / custom sends string.
TEST(ModelErrors, HandlerThrowsTableRow) {
    std::string const thrower = R"({"do":"throw"})";
    auto const d = predict_step(error_app(all_reply_hooks, "", thrower), "r1");
    EXPECT_EQ(d.trace, (labels{"handler", "onError@root", "onSend@root", "onResponse@root"}));
    EXPECT_EQ(d.status, 500);
    EXPECT_EQ(d.body_text,
              R"({"statusCode":500,"error":"Internal Server Error","message":"boom"})");
    auto const o = predict_step(error_app(all_reply_hooks, send_object, thrower), "r1");
    EXPECT_EQ(o.trace,
              (labels{"handler",
                      "onError@root",
                      "errorHandler@root",
                      "preSerialization@root",
                      "onSend@root",
                      "onResponse@root"}));
    EXPECT_EQ(o.status, 200); // §4.3: custom handlers start at 200; `send` sets status ?? 200
    auto const s = predict_step(error_app(all_reply_hooks, send_string, thrower), "r1");
    EXPECT_EQ(
        s.trace,
        (labels{"handler", "onError@root", "errorHandler@root", "onSend@root", "onResponse@root"}));
}

// fastify-lifecycle §4.5 rows "preSerialization (once)" and "onSend (once)", custom handler sends
// object.
TEST(ModelErrors, ReplySideHookFailsOnce) {
    std::string const once =
        R"({"when":{"flag":"failed","is":false},"set":{"flag":"failed","value":true},"do":"throw"})";
    auto const ps =
        predict_step(error_app(R"({"preSerialization":[)" + once +
                                   R"(],"onSend":[{}],"onResponse":[{}],"onError":[{}]})",
                               send_object,
                               json_ok),
                     "r1");
    EXPECT_EQ(ps.trace,
              (labels{"handler",
                      "preSerialization@root",
                      "onError@root",
                      "errorHandler@root",
                      "preSerialization@root",
                      "onSend@root",
                      "onResponse@root"}));
    auto const os = predict_step(error_app(R"({"preSerialization":[{}],"onSend":[)" + once +
                                               R"(],"onResponse":[{}],"onError":[{}]})",
                                           send_object,
                                           json_ok),
                                 "r1");
    EXPECT_EQ(os.trace,
              (labels{"handler",
                      "preSerialization@root",
                      "onSend@root",
                      "onError@root",
                      "errorHandler@root",
                      "preSerialization@root",
                      "onSend@root",
                      "onResponse@root"}));
}

// fastify-lifecycle §4.5 row "onResponse": an onResponse failure changes nothing.
TEST(ModelErrors, OnResponseFailureIsOnlyLogged) {
    auto const p =
        predict_step(get_app(R"({"onResponse":[{"do":"throw"}],"onError":[{}]})", json_ok), "r1");
    EXPECT_EQ(p.trace, (labels{"handler", "onResponse@root"}));
    EXPECT_EQ(p.status, 200);
}

// fastify-lifecycle §4.6: onSend always throws + custom object handler: onError twice, direct
// write.
TEST(ModelErrors, OnSendAlwaysThrowsLoopProtection) {
    auto const p = predict_step(
        error_app(
            R"({"preSerialization":[{}],"onSend":[{"do":"throw","error":{"message":"os"}}],"onResponse":[{}],"onError":[{}]})",
            send_object,
            json_ok),
        "r1");
    EXPECT_EQ(p.trace,
              (labels{"handler",
                      "preSerialization@root",
                      "onSend@root",
                      "onError@root",
                      "errorHandler@root",
                      "preSerialization@root",
                      "onSend@root",
                      "onSend@root",
                      "onError@root",
                      "onResponse@root"}));
    EXPECT_EQ(p.status, 500);
    EXPECT_EQ(p.body_text, R"({"statusCode":500,"error":"Internal Server Error","message":"os"})");
    // default handler only: onSend✗, onError, onSend✗, onError, onResponse
    auto const d =
        predict_step(get_app(R"({"onSend":[{"do":"throw"}],"onResponse":[{}],"onError":[{}]})",
                             R"({"payload":{"kind":"string","value":"x"}})"),
                     "r1");
    EXPECT_EQ(d.trace,
              (labels{"handler",
                      "onSend@root",
                      "onError@root",
                      "onSend@root",
                      "onError@root",
                      "onResponse@root"}));
}

// fastify-lifecycle §4.6: preSerialization always throws + custom handler sends object: default
// JSON of the preSerialization error, which skips preSerialization but not onSend.
TEST(ModelErrors, PreSerializationAlwaysThrows) {
    auto const p = predict_step(
        error_app(
            R"({"preSerialization":[{"do":"throw","error":{"message":"ps"}}],"onSend":[{}],"onResponse":[{}],"onError":[{}]})",
            send_object,
            json_ok),
        "r1");
    EXPECT_EQ(p.trace,
              (labels{"handler",
                      "preSerialization@root",
                      "onError@root",
                      "errorHandler@root",
                      "preSerialization@root",
                      "onSend@root",
                      "onResponse@root"}));
    EXPECT_EQ(p.body_text, R"({"statusCode":500,"error":"Internal Server Error","message":"ps"})");
}

// fastify-lifecycle §4.3: the chain climbs route scope -> parent -> root -> default, each once.
TEST(ModelErrors, RethrowClimbsTheChain) {
    auto const p = predict_step(
        R"({"app":{"errorHandler":{"do":"rethrow"},"plugins":[{"name":"child","errorHandler":{"do":"rethrow"},
        "plugins":[{"name":"grand","errorHandler":{"style":"callback","do":"rethrow"},
        "routes":[{"method":"GET","url":"/x","handler":{"do":"throw","error":{"message":"orig","statusCode":418,"code":"E_X"}}}]}]}]},
        "steps":[{"id":"r1","request":{"method":"GET","url":"/x"}}]})",
        "r1");
    EXPECT_EQ(p.trace,
              (labels{"handler", "errorHandler@grand", "errorHandler@child", "errorHandler@root"}));
    EXPECT_EQ(p.status, 418);
    EXPECT_EQ(p.body_text,
              R"({"statusCode":418,"code":"E_X","error":"I'm a Teapot","message":"orig"})");
}

// fastify-lifecycle §4.3 (e16): a late root setErrorHandler is seen by a plain child, not by an
// awaited one.
TEST(ModelErrors, ErrorHandlerIsBoundAtSetErrorHandlerTime) {
    std::string const tpl =
        R"({"app":{"plugins":[{"name":"c","await":AWAIT,"errorHandler":{"do":"rethrow"},
        "routes":[{"method":"GET","url":"/","handler":{"do":"throw"}}]}],
        "late":{"errorHandler":{"do":"send","payload":{"kind":"string","value":"late"}}}},
        "steps":[{"id":"r1","request":{"method":"GET","url":"/"}}]})";
    std::string plain = tpl;
    plain.replace(plain.find("AWAIT"), 5, "false");
    std::string awaited = tpl;
    awaited.replace(awaited.find("AWAIT"), 5, "true");
    EXPECT_EQ(predict_step(plain, "r1").trace,
              (labels{"handler", "errorHandler@c", "errorHandler@root"}));
    EXPECT_EQ(predict_step(plain, "r1").body_text, "late");
    EXPECT_EQ(predict_step(awaited, "r1").trace, (labels{"handler", "errorHandler@c"}));
    EXPECT_EQ(predict_step(awaited, "r1").status, 500);
}

// fastify-lifecycle §4.4: statusCode outside 400..599 is ignored (500).
TEST(ModelErrors, DefaultHandlerStatus) {
    EXPECT_EQ(
        predict_step(get_app("{}", R"({"do":"throw","error":{"statusCode":302}})"), "r1").status,
        500);
    EXPECT_EQ(
        predict_step(get_app("{}", R"({"do":"throw","error":{"statusCode":429}})"), "r1").status,
        429);
}

// fastify-lifecycle §4.2: the first failing onError hook ends the onError chain; send inside
// onError throws FST_ERR_SEND_INSIDE_ONERR (a failure of that hook) and the answer is unchanged.
TEST(ModelErrors, OnErrorFailuresAreSwallowed) {
    auto const p = predict_step(
        get_app(R"({"onError":[{"do":"send","payload":{"kind":"string","value":"no"}},{}]})",
                R"({"do":"throw","error":{"statusCode":409}})"),
        "r1");
    EXPECT_EQ(p.trace, (labels{"handler", "onError@root#0"}));
    EXPECT_EQ(p.status, 409);
    EXPECT_FALSE(p.crash);
}

//------------------------------------------------------------------------------
// §7 client aborts, §8 timeouts

std::string const abort_hooks =
    R"({"onRequest":[{}],"onRequestAbort":[{}],"preSerialization":[{}],"onSend":[{}],"onResponse":[{}],"onError":[{}]})";

// fastify-lifecycle §7 "while the handler is running": onRequestAbort at once (after `end`); the
// handler's value still passes preSerialization and onSend; no onResponse.
TEST(ModelAborts, AbortWhileTheHandlerRuns) {
    auto const p = predict_step(R"({"app":{"hooks":)" + abort_hooks +
                                    R"(,"routes":[{"method":"GET","url":"/","handler":
        {"delayMs":150,"payload":{"kind":"json","value":{"a":1}}}}]},"steps":[{"id":"r1","request":{"method":"GET","url":"/"},"client":{"abortAfterMs":50}}]})",
                                "r1");
    EXPECT_EQ(p.trace,
              (labels{"onRequest@root",
                      "handler",
                      "onRequestAbort@root",
                      "preSerialization@root",
                      "onSend@root"}));
    EXPECT_EQ(p.end_at, 2);
    EXPECT_TRUE(p.aborted);
    EXPECT_FALSE(p.status.has_value());
    EXPECT_TRUE(p.deterministic) << p.why;
}

// Node's req.aborted is false once the body was read to its end, so an abort after a POST body
// was parsed runs no onRequestAbort (checked against fastify 5.12.8 through the adapter).
TEST(ModelAborts, AbortAfterTheBodyWasReadRunsNoOnRequestAbort) {
    auto const p = predict_step(R"({"app":{"hooks":)" + abort_hooks +
                                    R"(,"routes":[{"method":"POST","url":"/","handler":
        {"delayMs":150,"payload":{"kind":"json","value":{"a":1}}}}]},"steps":[{"id":"r1","request":{"method":"POST","url":"/",
        "headers":{"content-type":"application/json"},"body":"{\"x\":1}"},"client":{"abortAfterMs":50}}]})",
                                "r1");
    EXPECT_EQ(p.trace,
              (labels{"onRequest@root", "handler", "preSerialization@root", "onSend@root"}));
    EXPECT_TRUE(p.aborted);
}

// fastify-lifecycle §7 "during body upload": onError(ECONNRESET) before onRequestAbort, then the
// error handler and onSend; the answer goes nowhere.
TEST(ModelAborts, AbortDuringUpload) {
    auto const p = predict_step(
        R"({"app":{"hooks":{"onRequest":[{}],"onRequestAbort":[{}],"onSend":[{}],"onResponse":[{}],"onError":[{}]},
        "errorHandler":{"do":"send","payload":{"kind":"string","value":"eh"}},
        "routes":[{"method":"POST","url":"/","handler":{}}]},"steps":[{"id":"r1","request":{"method":"POST","url":"/",
        "headers":{"content-type":"application/json"},"body":"{\"x\":1234567890}"},"client":{"abortAfterBodyBytes":4}}]})",
        "r1");
    EXPECT_EQ(p.trace,
              (labels{"onRequest@root",
                      "onError@root",
                      "onRequestAbort@root",
                      "errorHandler@root",
                      "onSend@root"}));
    EXPECT_EQ(p.end_at, 1);
    EXPECT_TRUE(p.aborted);
}

// scenario-format §1.4 `reached`: an abort inside the request head never reaches Fastify.
TEST(ModelAborts, AbortInsideTheHeadIsNotReached) {
    auto const p = predict_step(
        R"({"app":{"hooks":{"onRequest":[{}]},"routes":[{"method":"GET","url":"/","handler":{}}]},
        "steps":[{"id":"r1","request":{"method":"GET","url":"/"},"client":{"abortAfterRequestBytes":10}}]})",
        "r1");
    EXPECT_FALSE(p.reached);
    EXPECT_TRUE(p.trace.empty());
}

// fastify-lifecycle §7 "during a streamed response": the stream is destroyed, onRequestAbort, no
// onResponse.
TEST(ModelAborts, ClientStopsReadingAStream) {
    auto const p =
        predict_step(R"({"app":{"hooks":{"onSend":[{}],"onResponse":[{}],"onRequestAbort":[{}]},
        "routes":[{"method":"GET","url":"/","handler":{"payload":{"kind":"stream","chunks":["aaaa","bbbb","cccc"],"chunkDelayMs":60}}}]},
        "steps":[{"id":"r1","request":{"method":"GET","url":"/"},"client":{"abortAfterResponseBodyBytes":12}}]})",
                     "r1");
    EXPECT_EQ(p.trace, (labels{"handler", "onSend@root", "onRequestAbort@root"}));
    EXPECT_TRUE(p.aborted);
    EXPECT_FALSE(p.complete);
}

// A web stream sent after the client left (sendWebStream on a closed res): from a microtask (an
// async hook after its delay) the first read settles before eos(res)'s tick, and onRead finds
// res.destroyed: it cancels the reader and writes nothing, so no head and reply.sent stays false.
// The chain goes on and the not-found handler's send writes its head without
// ERR_HTTP_HEADERS_SENT: no onError, no error handler (Findings 41, prop seeds 1, 3, 7, 8, 11,
// 14, 17, 18; checked on fastify 5.12.8).
TEST(ModelAborts, WebStreamSentAfterTheCloseWritesNothing) {
    auto const p = predict_step(
        R"({"app":{"hooks":{"onError":[{}],"onRequest":[{"delayMs":80,"do":"send",
        "payload":{"kind":"webStream","chunks":["a","b"]}}]},
        "notFoundHandler":{"do":"send","payload":{"kind":"json","value":{"ok":true}}},
        "errorHandler":{"do":"send"}},
        "steps":[{"id":"r1","request":{"method":"GET","url":"/missing"},"client":{"abortAfterMs":40}}]})",
        "r1");
    EXPECT_EQ(p.trace, (labels{"onRequest@root", "notFound@root"}));
    EXPECT_EQ(p.end_at, 1);
    EXPECT_TRUE(p.aborted);
    EXPECT_TRUE(p.deterministic) << p.why;
}

// The same send from a timer (a callback hook with delayMs): eos(res)'s tick comes before the
// microtask in which the new stream's first read would settle, so reader.cancel() settles it with
// done and onRead calls res.end(): reply.sent is true and the chain stops at the next phase
// (Findings 41; checked on fastify 5.12.8).
TEST(ModelAborts, WebStreamSentFromATimerAfterTheCloseEndsTheReply) {
    auto const p = predict_step(
        R"({"app":{"hooks":{"onRequest":[{"label":"a","style":"callback","delayMs":80,
        "do":"sendThenContinue","payload":{"kind":"webStream","chunks":["a"]}},{"label":"b","delayMs":30}]},
        "notFoundHandler":{"do":"send","payload":{"kind":"json","value":{"ok":true}}},
        "errorHandler":{"do":"send"}},
        "steps":[{"id":"r1","request":{"method":"GET","url":"/missing"},"client":{"abortAfterMs":40}}]})",
        "r1");
    EXPECT_EQ(p.trace, (labels{"a", "b"}));
    EXPECT_TRUE(p.deterministic) << p.why;
}

// fastify-lifecycle §8 connectionTimeout: onTimeout (reply not sent), onRequestAbort; no response;
// the handler's value still reaches onSend; `end` is a server cut (not aborted).
TEST(ModelTimeouts, ConnectionTimeoutWhileTheHandlerRuns) {
    auto const p = predict_step(
        R"({"app":{"options":{"connectionTimeoutMs":100},"hooks":{"onTimeout":[{}],"onSend":[{}],
        "onResponse":[{}],"onRequestAbort":[{}]},"routes":[{"method":"GET","url":"/","handler":{"delayMs":250,"payload":{"kind":"string","value":"late"}}},
        {"method":"GET","url":"/u","handler":{"delayMs":250}}]},
        "steps":[{"id":"r1","request":{"method":"GET","url":"/"},"client":{"expectNoResponse":true}},
                 {"id":"r2","request":{"method":"GET","url":"/u"},"client":{"expectNoResponse":true}}]})",
        "r1");
    EXPECT_EQ(p.trace, (labels{"handler", "onTimeout@root", "onRequestAbort@root", "onSend@root"}));
    EXPECT_EQ(p.end_at, 2);
    EXPECT_FALSE(p.aborted);
    EXPECT_FALSE(p.status.has_value());
}

// fastify-lifecycle §2.5 / §7: a handler resolving undefined after the socket died sends nothing
// (wrap-thenable's socket guard, PR #6013).
TEST(ModelTimeouts, UndefinedAfterTheSocketDiedSendsNothing) {
    auto const p = predict_step(
        R"({"app":{"options":{"connectionTimeoutMs":100},"hooks":{"onTimeout":[{}],"onSend":[{}]},
        "routes":[{"method":"GET","url":"/","handler":{"delayMs":250}}]},
        "steps":[{"id":"r1","request":{"method":"GET","url":"/"}}]})",
        "r1");
    EXPECT_EQ(p.trace, (labels{"handler", "onTimeout@root"}));
}

// fastify-lifecycle §8 "during a stalled upload": onTimeout, onError(ECONNRESET), onRequestAbort,
// onSend.
TEST(ModelTimeouts, ConnectionTimeoutDuringAStalledUpload) {
    auto const p = predict_step(
        R"({"app":{"options":{"connectionTimeoutMs":100},"hooks":{"onRequest":[{}],"onTimeout":[{}],
        "onSend":[{}],"onResponse":[{}],"onRequestAbort":[{}],"onError":[{}]},"routes":[{"method":"POST","url":"/","handler":{}}]},
        "steps":[{"id":"r1","request":{"method":"POST","url":"/","headers":{"content-type":"application/json"},
        "body":"{\"x\":1234567890}"},"client":{"bytesPerWrite":115,"writeDelayMs":300}}]})",
        "r1");
    EXPECT_EQ(p.trace,
              (labels{"onRequest@root",
                      "onTimeout@root",
                      "onError@root",
                      "onRequestAbort@root",
                      "onSend@root"}));
    EXPECT_TRUE(p.deterministic) << p.why;
}

//------------------------------------------------------------------------------
// §2.1 before any hook, §9 closing, §10 not found

// fastify-lifecycle §2.1 steps 1–2: a malformed request never reaches Fastify; a bad % escape is a
// 400 with no hooks.
TEST(ModelHttp, ClientErrorsAndBadUrls) {
    auto const sc = load(
        R"({"app":{"hooks":{"onRequest":[{}]},"routes":[{"method":"GET","url":"/","handler":{}}]},
        "steps":[{"id":"m","raw":"GARBAGE\r\n\r\n"},{"id":"u","request":{"method":"GET","url":"/%zz"}}]})");
    auto const p = model::predict(sc);
    ASSERT_EQ(p.size(), 2u);
    EXPECT_FALSE(p[0].reached);
    EXPECT_EQ(p[0].status, 400);
    EXPECT_EQ(p[0].body_text,
              R"({"error":"Bad Request","message":"Client Error","statusCode":400})");
    EXPECT_TRUE(p[1].reached);
    EXPECT_TRUE(p[1].trace.empty());
    EXPECT_EQ(p[1].status, 400);
    EXPECT_EQ(
        p[1].body_text,
        R"({"error":"Bad Request","code":"FST_ERR_BAD_URL","message":"'/%zz' is not a valid url component","statusCode":400})");
}

// llhttp refuses a method at the first byte that no method it knows continues with, before the
// head is complete (Node 20: "oooops!", "GEX", "GE /" get 400 at once; "G", "DESCRIB" and
// "DESCRIBE /" wait). Fastify's test/reply-error.test.js "Should reply 400 on client error".
TEST(ModelHttp, ImpossibleMethodPrefixIsAClientError) {
    auto const sc = load(
        R"({"app":{"routes":[{"method":"GET","url":"/","handler":{}}]},
        "steps":[{"id":"a","raw":"oooops!"},{"id":"b","raw":"GEX"},{"id":"c","raw":"GE /"},
                 {"id":"d","raw":"G"},{"id":"e","raw":"DESCRIBE /"}]})");
    auto const p = model::predict(sc);
    ASSERT_EQ(p.size(), 5u);
    for (int i = 0; i < 3; ++i) {
        EXPECT_FALSE(p[i].reached) << p[i].step_id;
        EXPECT_EQ(p[i].status, 400) << p[i].step_id;
    }
    for (int i = 3; i < 5; ++i) {
        EXPECT_FALSE(p[i].reached) << p[i].step_id;
        EXPECT_FALSE(p[i].status.has_value()) << p[i].step_id;
    }
}

// fastify-lifecycle §2.1 step 2: escapes must decode to UTF-8 as decodeURI reads it (RFC 3629):
// overlong forms, surrogates and code points past U+10FFFF are bad URLs too (fastify 5.12.8,
// scenarios/fastify/http/bad-url-invalid-utf8-400.json).
TEST(ModelHttp, EscapesThatAreNotUtf8AreBadUrls) {
    auto const sc = load(
        R"({"app":{"routes":[{"method":"GET","url":"/x","handler":{}}]},
        "steps":[{"id":"a","request":{"method":"GET","url":"/%C0%80"}},
                 {"id":"b","request":{"method":"GET","url":"/%E0%80%80"}},
                 {"id":"c","request":{"method":"GET","url":"/%ED%A0%80"}},
                 {"id":"d","request":{"method":"GET","url":"/%F4%90%80%80"}},
                 {"id":"e","request":{"method":"GET","url":"/%c0"}},
                 {"id":"f","request":{"method":"GET","url":"/%F0%9F%98%80"}},
                 {"id":"g","request":{"method":"GET","url":"/%EF%BF%BF"}}]})");
    auto const p = model::predict(sc);
    ASSERT_EQ(p.size(), 7u);
    for (std::size_t i = 0; i < 5; ++i)
        EXPECT_EQ(p[i].status, 400) << p[i].step_id;
    EXPECT_EQ(p[5].status, 404);
    EXPECT_EQ(p[6].status, 404);
}

// fastify-lifecycle §4.5 parser notes: 415 for an unknown content-type, 400 for bad JSON, 413 over
// bodyLimit.
TEST(ModelHttp, ContentTypeParsing) {
    std::string const tpl =
        R"({"app":{"options":{"bodyLimit":10},"hooks":{"preValidation":[{}],"onError":[{}]},"routes":[{"method":"POST","url":"/","handler":{}}]},
        "steps":[{"id":"r1","request":{"method":"POST","url":"/","headers":{"content-type":"CT"},"body":"BODY"}}]})";
    auto make = [&](std::string const& ct, std::string const& body) {
        std::string s = tpl;
        s.replace(s.find("CT"), 2, ct);
        s.replace(s.find("BODY"), 4, body);
        return predict_step(s, "r1");
    };
    auto const u = make("application/xml", "<a/>");
    EXPECT_EQ(u.status, 415);
    EXPECT_EQ(u.trace, (labels{"onError@root"}));
    auto const j = make("application/json", "{bad");
    EXPECT_EQ(j.status, 400);
    EXPECT_NE(j.body_text->find("FST_ERR_CTP_INVALID_JSON_BODY"), std::string::npos);
    auto const l = make("application/json", R"({\"long\":1234})");
    EXPECT_EQ(l.status, 413);
    auto const ok = make("text/plain", "hi");
    EXPECT_EQ(ok.trace, (labels{"preValidation@root", "handler"}));
}

// fastify-lifecycle §10: not found runs the full pipeline with the hooks of the scope that set the
// handler for the longest prefix; a prefixed plugin without one does not own its 404s; no 405.
TEST(ModelHttp, NotFound) {
    auto const sc = load(
        R"({"app":{"hooks":{"onRequest":[{}],"preSerialization":[{}]},"routes":[{"method":"GET","url":"/","handler":{}}],
        "plugins":[{"name":"v1","prefix":"/v1","hooks":{"onRequest":[{}]},"routes":[{"method":"GET","url":"/a","handler":{}}]},
                   {"name":"v2","prefix":"/v2","hooks":{"onRequest":[{}]},"notFoundHandler":{"do":"send","status":404,"payload":{"kind":"string","value":"v2"}}}]},
        "steps":[{"id":"a","request":{"method":"GET","url":"/nope"}},{"id":"b","request":{"method":"GET","url":"/v1/nope"}},
                 {"id":"c","request":{"method":"GET","url":"/v2/x"}},{"id":"d","request":{"method":"DELETE","url":"/"}}]})");
    auto const p = model::predict(sc);
    ASSERT_EQ(p.size(), 4u);
    EXPECT_EQ(p[0].trace, (labels{"onRequest@root", "preSerialization@root"}));
    EXPECT_EQ(p[0].body_text,
              R"({"message":"Route GET:/nope not found","error":"Not Found","statusCode":404})");
    EXPECT_EQ(p[1].trace, (labels{"onRequest@root", "preSerialization@root"}));
    EXPECT_EQ(p[2].trace, (labels{"onRequest@root", "onRequest@v2", "notFound@v2"}));
    EXPECT_EQ(p[2].body_text, "v2");
    EXPECT_EQ(p[3].status, 404);
}

// fastify-lifecycle §10 HEAD: a GET route answers HEAD with the same hooks and no body.
TEST(ModelHttp, HeadOnAGetRoute) {
    auto const sc = load(
        R"({"app":{"hooks":{"preSerialization":[{}],"onSend":[{}]},"routes":[{"method":"GET","url":"/","handler":{"payload":{"kind":"json","value":{"a":1}}}}]},
        "steps":[{"id":"h","request":{"method":"HEAD","url":"/"}}]})");
    auto const p = model::predict(sc);
    EXPECT_EQ(p[0].trace, (labels{"handler", "preSerialization@root", "onSend@root"}));
    EXPECT_EQ(p[0].status, 200);
    EXPECT_EQ(p[0].body_text, "");
}

// fastify-lifecycle §9 / §2.1 step 4: a request arriving on an open connection while close() runs
// gets the raw 503 with no hooks (checked against fastify 5.12.8: the head is written slowly so
// that it arrives during a 300 ms preClose hook).
TEST(ModelHttp, ServiceUnavailableWhileClosing) {
    auto const sc =
        load(R"({"app":{"hooks":{"preClose":[{"delayMs":300}],"onRequest":[{}],"onClose":[{}]},
        "routes":[{"method":"GET","url":"/","handler":{}}]},
        "steps":[{"id":"r0","connection":"c1","request":{"method":"GET","url":"/"}},
        {"parallel":[{"close":true},{"id":"r1","connection":"c1","request":{"method":"GET","url":"/"},"client":{"bytesPerWrite":20,"writeDelayMs":30}}]}]})");
    auto const p = model::predict(sc);
    ASSERT_EQ(p.size(), 3u);
    EXPECT_EQ(p[1].trace, (labels{"preClose@root", "onClose@root"}));
    EXPECT_EQ(p[2].step_id, "r1");
    EXPECT_TRUE(p[2].trace.empty());
    EXPECT_EQ(p[2].status, 503);
    EXPECT_EQ(p[2].end_at, 0);
    EXPECT_EQ(
        p[2].body_text,
        R"({"error":"Service Unavailable","message":"Service Unavailable","statusCode":503})");
    EXPECT_TRUE(p[2].deterministic) << p[2].why;
}

// scenario-format §1.4: a request racing the start of close() is not decided.
TEST(ModelHttp, RequestRacingCloseIsNotDeterministic) {
    auto const sc = load(R"({"app":{"routes":[{"method":"GET","url":"/","handler":{}}]},
        "steps":[{"parallel":[{"close":true},{"id":"r1","request":{"method":"GET","url":"/"}}]}]})");
    auto const p = model::predict(sc);
    ASSERT_EQ(p.size(), 2u);
    EXPECT_FALSE(p[1].deterministic);
}

// Node answers pipelined requests in order; both run at once (checked with plain Node 20).
TEST(ModelHttp, PipelinedRequestsRunConcurrently) {
    auto const sc = load(
        R"({"app":{"hooks":{"onRequest":[{}],"onResponse":[{}]},"routes":[{"method":"GET","url":"/slow","handler":{"delayMs":100}},
        {"method":"GET","url":"/fast","handler":{}}]},
        "steps":[{"parallel":[{"id":"p1","connection":"c1","request":{"method":"GET","url":"/slow"}},
                              {"id":"p2","connection":"c1","request":{"method":"GET","url":"/fast"}}]}]})");
    for (auto const& p : model::predict(sc)) {
        EXPECT_EQ(p.trace, (labels{"onRequest@root", "handler", "onResponse@root"})) << p.step_id;
        EXPECT_TRUE(p.deterministic) << p.why;
    }
}

//------------------------------------------------------------------------------
// shared state across parallel steps, hijack, accepts()

// scenario-format §4: flags written and read by parallel requests close together are a race.
TEST(ModelShared, FlagRaceBetweenParallelRequests) {
    auto const sc = load(
        R"({"app":{"routes":[{"method":"GET","url":"/r","handler":{"when":{"flag":"f","is":true},"payload":{"kind":"string","value":"yes"}}},
        {"method":"GET","url":"/w","handler":{"set":{"flag":"f","value":true}}}]},
        "steps":[{"parallel":[{"id":"r","request":{"method":"GET","url":"/r"}},{"id":"w","request":{"method":"GET","url":"/w"}}]},
                 {"id":"later","request":{"method":"GET","url":"/r"}}]})");
    auto const p = model::predict(sc);
    ASSERT_EQ(p.size(), 3u);
    EXPECT_FALSE(p[0].deterministic);
    EXPECT_FALSE(p[1].deterministic);
    EXPECT_TRUE(p[2].deterministic) << p[2].why;
    EXPECT_EQ(p[2].body_text, "yes");
}

// scenario-format §1.2 hijack: raw write, onResponse still runs (fastify-lifecycle §2.8, e15).
TEST(ModelShared, HijackWritesRawAndOnResponseRuns) {
    auto const p = predict_step(
        get_app(R"({"onRequest":[{}],"onSend":[{}],"onResponse":[{}]})",
                R"({"do":"hijack","status":201,"payload":{"kind":"string","value":"raw"}})"),
        "r1");
    EXPECT_EQ(p.trace, (labels{"onRequest@root", "handler", "onResponse@root"}));
    EXPECT_EQ(p.status, 201);
    EXPECT_EQ(p.body, model::body_class::hijacked);
    EXPECT_EQ(p.body_text, "raw");
}

TEST(ModelAccepts, ComparesDeterministicPredictionsOnly) {
    model::step_prediction p;
    p.trace = {"handler"};
    p.status = 200;
    p.end_at = 1;
    EXPECT_TRUE(model::accepts(p, {{"handler"}, 1, 200, std::nullopt}));
    EXPECT_FALSE(model::accepts(p, {{"handler", "onSend@root"}, 1, 200, std::nullopt}));
    EXPECT_FALSE(model::accepts(p, {{"handler"}, 1, 500, std::nullopt}));
    p.deterministic = false;
    EXPECT_TRUE(model::accepts(p, {{"anything"}, 0, 500, std::nullopt}));
}

TEST(ModelAccepts, DisagreementsNameEachField) {
    model::step_prediction p;
    p.trace = {"handler"};
    p.status = 200;
    p.end_at = 1;
    p.body_text = R"({"a":1})";
    scenario::expectation e;
    e.trace = labels{"handler", "onSend@root"};
    e.status = 500;
    e.body = scenario::expected_body{
        scenario::body_match::json_value, scenario::json::parse(R"({"a": 1})"), ""};
    auto const d = model::disagreements(p, e);
    ASSERT_EQ(d.size(), 2u);
    EXPECT_EQ(d[0], "trace: expected [handler, onSend@root], model [handler]");
    EXPECT_EQ(d[1], "status: expected 500, model 200");
}

// The koa dialect goes to detail/koa.cpp (its own tests: koa_model_test.cpp): an app without
// middleware answers Koa's default 404.
TEST(ModelDialects, KoaIsModelledByTheKoaModel) {
    scenario::scenario sc;
    sc.lang = scenario::dialect::koa;
    scenario::step s;
    s.id = "k";
    sc.steps.push_back(s);
    auto const p = model::predict(sc);
    ASSERT_EQ(p.size(), 1u);
    EXPECT_TRUE(p[0].deterministic) << p[0].why;
    EXPECT_EQ(p[0].status, 404);
    EXPECT_EQ(p[0].body_text, "Not Found");
}

//------------------------------------------------------------------------------
// The corpus hook: every deterministic prediction must agree with the scenario's `expect`.

/// True when a divergence entry names fastify 5.12.8 (decisions.md D3: `fastify`, or
/// `fastify@PREFIX` with 5.12.8 starting with PREFIX).
bool names_fastify_5_12_8(scenario::divergence const& d) {
    if (d.target == "fastify")
        return true;
    std::string const prefix = "fastify@";
    if (d.target.compare(0, prefix.size(), prefix) != 0)
        return false;
    std::string const version = d.target.substr(prefix.size());
    return std::string{"5.12.8"}.compare(0, version.size(), version) == 0;
}

TEST(ModelCorpus, AgreesWithEveryScenario) {
    namespace fs = std::filesystem;
    fs::path const root = fs::path{LIFECHECK_SOURCE_DIR} / "scenarios";
    if (!fs::exists(root))
        GTEST_SKIP() << "no scenarios folder";
    std::string report;
    int scenarios = 0;
    int compared = 0;
    int nondeterministic = 0;
    int skipped_divergence = 0;
    for (auto const& file : scenario::collect_files({root})) {
        auto loaded = scenario::load_file(file, root);
        if (!loaded.has_value())
            continue; // the loader's own tests and `lifecheck validate` report invalid files
        scenario::scenario const& sc = loaded.value();
        if (sc.lang != scenario::dialect::fastify)
            continue;
        ++scenarios;
        bool crash_documented = false;
        bool other_divergence = false;
        for (auto const& d : sc.divergences) {
            if (!names_fastify_5_12_8(d))
                continue;
            if (d.result && *d.result == "crash")
                crash_documented = true;
            else
                other_divergence = true;
        }
        std::map<std::string, scenario::step const*> steps;
        model::test_support::collect_expected(sc.steps, steps);
        if (sc.startup) // v2.5/v2.6: the start-up trace and refusal are compared too
            steps["startup"] = &*sc.startup;
        bool predicted_crash = false;
        for (auto const& p : model::predict(sc)) {
            predicted_crash = predicted_crash || p.crash;
            auto const it = steps.find(p.step_id);
            if (it == steps.end() || !it->second->expect)
                continue;
            if (!p.deterministic) {
                ++nondeterministic;
                continue;
            }
            if (p.crash || crash_documented || other_divergence) {
                ++skipped_divergence; // the expectation describes the other targets
                continue;
            }
            ++compared;
            for (auto const& d : model::disagreements(p, *it->second->expect))
                report += sc.id + " step " + p.step_id + ": " + d + "\n";
        }
        if (predicted_crash && !crash_documented)
            report += sc.id + ": the model predicts a Fastify crash; the scenario documents none\n";
        if (!predicted_crash && crash_documented)
            report += sc.id + ": the scenario documents a Fastify crash; the model predicts none\n";
    }
    std::cout << "[ModelCorpus] " << scenarios << " scenarios, " << compared << " steps compared, "
              << nondeterministic << " not deterministic, " << skipped_divergence
              << " skipped (documented divergence)\n";
    EXPECT_TRUE(report.empty()) << report;
}

} // namespace

// v2.6 (scenario-format §1.11) handlerTimeout: route.js arms a timer before onRequest; when it
// fires with no reply sent, reply.send(FST_ERR_HANDLER_TIMEOUT) takes the error path: onError
// hooks, then the route's errorHandler, whose rethrow reaches the scope's (the default).
TEST(ModelHandlerTimeout, TimeoutReachesTheRouteErrorHandler) {
    auto const p = predict_step(
        R"({"app":{"hooks":{"onError":[{}],"onSend":[{}]},
        "routes":[{"method":"GET","url":"/","handlerTimeoutMs":50,
        "errorHandler":{"do":"rethrow"},"handler":{"delayMs":200}}]},
        "steps":[{"id":"r1","request":{"method":"GET","url":"/"}}]})",
        "r1");
    EXPECT_TRUE(p.deterministic) << p.why;
    EXPECT_EQ(p.status, 503);
    EXPECT_EQ(p.trace, (labels{"handler", "onError@root", "errorHandler@route", "onSend@root"}));
    ASSERT_TRUE(p.body_text.has_value());
    EXPECT_NE(p.body_text->find("Request timed out after 50 ms on route '/'"), std::string::npos)
        << *p.body_text;
}

// The server's handlerTimeout applies to routes without their own; a reply sent first clears it.
TEST(ModelHandlerTimeout, ServerTimeoutAndAFastReply) {
    std::string const app =
        R"({"app":{"options":{"handlerTimeoutMs":100},"hooks":{"onError":[{}]},
        "routes":[{"method":"GET","url":"/slow","handler":{"do":"hang"}},
                  {"method":"GET","url":"/fast","handler":{"delayMs":30}}]},
        "steps":[{"id":"slow","request":{"method":"GET","url":"/slow"}},
                 {"id":"fast","request":{"method":"GET","url":"/fast"}},{"sleepMs":150}]})";
    auto const slow = predict_step(app, "slow");
    EXPECT_EQ(slow.status, 503);
    EXPECT_EQ(slow.trace, (labels{"handler", "onError@root"}));
    auto const fast = predict_step(app, "fast");
    EXPECT_EQ(fast.status, 200);
    EXPECT_EQ(fast.trace, (labels{"handler"}));
}
