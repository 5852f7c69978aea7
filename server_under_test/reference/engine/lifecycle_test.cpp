// Tests the engine in memory against what real Fastify 5.12.8 does (lifecycle doc sections cited).
#include "server_under_test/reference/engine/lifecycle.hpp"

#include "server_under_test/reference/engine/test_support.hpp"

#include <gtest/gtest.h>

namespace lifecheck::engine {

using namespace test_support;
using strings = std::vector<std::string>;

// fastify-lifecycle §2.2 (e01): every phase in order; onResponse after the write.
TEST(Lifecycle, AsyncHooksRunInPhaseOrder) {
    net::in_memory_server s{app_from(R"({
      "hooks": {"onRequest": [{}], "preParsing": [{}], "preValidation": [{}], "preHandler": [{}],
                "preSerialization": [{}], "onSend": [{}], "onResponse": [{}]},
      "routes": [{"method": "GET", "url": "/", "handler": {"payload": {"kind": "json", "value": {"a": 1}}}}]})")};
    auto c = s.connect();
    s.feed(c, get("r1", "/"));
    s.settle();
    EXPECT_EQ(trace(s.events(), "r1"),
              (strings{"onRequest@root",
                       "preParsing@root",
                       "preValidation@root",
                       "preHandler@root",
                       "handler",
                       "preSerialization@root",
                       "onSend@root",
                       "onResponse@root"}));
    EXPECT_EQ(status_of(s.output(c)), 200);
    EXPECT_NE(s.output(c).find("content-type: application/json; charset=utf-8\r\n"),
              std::string::npos);
    EXPECT_EQ(body_of(s.output(c)), R"({"a":1})");
    ASSERT_EQ(ends(s.events(), "r1").size(), 1u);
    EXPECT_FALSE(ends(s.events(), "r1")[0].aborted);
    EXPECT_FALSE(s.server_closed(c)); // keep-alive
}

// fastify-lifecycle §4.3/§4.5: a custom handler starts at status 200; its object passes
// preSerialization.
TEST(Lifecycle, ErrorHandlerSendingObjectRunsPreSerializationWithStatus200) {
    net::in_memory_server s{app_from(R"({
      "hooks": {"preSerialization": [{}], "onSend": [{}], "onError": [{}]},
      "errorHandler": {"do": "send", "payload": {"kind": "json", "value": {"handled": true}}},
      "routes": [{"method": "GET", "url": "/", "handler": {"do": "throw", "error": {"statusCode": 418}}}]})")};
    auto c = s.connect();
    s.feed(c, get("r1", "/"));
    s.settle();
    EXPECT_EQ(trace(s.events(), "r1"),
              (strings{"handler",
                       "onError@root",
                       "errorHandler@root",
                       "preSerialization@root",
                       "onSend@root"}));
    EXPECT_EQ(status_of(s.output(c)), 200);
    EXPECT_EQ(body_of(s.output(c)), R"({"handled":true})");
}

// fastify-lifecycle §4.4/§4.5: the default handler's JSON skips preSerialization but not onSend.
TEST(Lifecycle, RethrowThroughScopesEndsInDefaultJson) {
    net::in_memory_server s{app_from(R"({
      "hooks": {"preSerialization": [{}], "onSend": [{}]},
      "errorHandler": {"do": "rethrow"},
      "plugins": [{"name": "a", "errorHandler": {"do": "rethrow"},
        "plugins": [{"name": "b", "errorHandler": {"do": "rethrow"},
          "routes": [{"method": "GET", "url": "/x",
                      "handler": {"do": "throw", "error": {"message": "deep", "code": "E_DEEP"}}}]}]}]})")};
    auto c = s.connect();
    s.feed(c, get("r1", "/x"));
    s.settle();
    EXPECT_EQ(
        trace(s.events(), "r1"),
        (strings{
            "handler", "errorHandler@b", "errorHandler@a", "errorHandler@root", "onSend@root"}));
    EXPECT_EQ(status_of(s.output(c)), 500);
    EXPECT_EQ(
        body_of(s.output(c)),
        R"({"statusCode":500,"code":"E_DEEP","error":"Internal Server Error","message":"deep"})");
}

// fastify-lifecycle §10: default 404 body, key order exact, full pipeline with root hooks.
TEST(Lifecycle, DefaultNotFoundRunsRootHooks) {
    net::in_memory_server s{app_from(R"({
      "hooks": {"onRequest": [{}], "preHandler": [{}], "onSend": [{}]},
      "routes": [{"method": "GET", "url": "/", "handler": {}}]})")};
    auto c = s.connect();
    s.feed(c, get("r1", "/nope"));
    s.settle();
    EXPECT_EQ(trace(s.events(), "r1"),
              (strings{"onRequest@root", "preHandler@root", "onSend@root"}));
    EXPECT_EQ(status_of(s.output(c)), 404);
    EXPECT_EQ(body_of(s.output(c)),
              R"({"message":"Route GET:/nope not found","error":"Not Found","statusCode":404})");
}

// fastify-lifecycle §2.1 step 2: decodeURI refuses escapes whose octets are not UTF-8 (a lone lead
// octet, a continuation first, overlong forms, a surrogate, past U+10FFFF, a cut sequence): 400
// FST_ERR_BAD_URL, no hook; valid UTF-8 reaches the 404 route (fastify 5.12.8,
// scenarios/fastify/http/bad-url-invalid-utf8-400.json).
TEST(Lifecycle, EscapesThatAreNotUtf8AreBadUrls) {
    net::in_memory_server s{app_from(R"({
      "hooks": {"onRequest": [{}]},
      "routes": [{"method": "GET", "url": "/x", "handler": {}}]})")};
    int n = 0;
    for (std::string const url : {"/%c0",
                                  "/%80",
                                  "/x/%C0%80",
                                  "/%E0%80%80",
                                  "/%ED%A0%80",
                                  "/%F4%90%80%80",
                                  "/%F5%80%80%80",
                                  "/%C3A",
                                  "/%C3%25"}) {
        auto c = s.connect();
        std::string const id = "b" + std::to_string(++n);
        s.feed(c, get(id, url));
        s.settle();
        EXPECT_TRUE(trace(s.events(), id).empty()) << url;
        EXPECT_EQ(status_of(s.output(c)), 400) << url;
        EXPECT_EQ(body_of(s.output(c)),
                  R"({"error":"Bad Request","code":"FST_ERR_BAD_URL","message":"')" + url +
                      R"(' is not a valid url component","statusCode":400})");
    }
    for (std::string const url : {"/%C3%A9", "/%F0%9F%98%80", "/%EF%BF%BF", "/x%2F"}) {
        auto c = s.connect();
        std::string const id = "g" + std::to_string(++n);
        s.feed(c, get(id, url));
        s.settle();
        EXPECT_EQ(trace(s.events(), id), (strings{"onRequest@root"})) << url;
        EXPECT_EQ(status_of(s.output(c)), 404) << url;
    }
}

// fastify-lifecycle §7: an abort never stops the handler; its value still passes
// preSerialization/onSend.
TEST(Lifecycle, AbortDuringDelayedHandler) {
    net::in_memory_server s{app_from(R"({
      "hooks": {"preSerialization": [{}], "onSend": [{}], "onResponse": [{}], "onRequestAbort": [{}]},
      "routes": [{"method": "GET", "url": "/", "handler": {"delayMs": 100,
                  "payload": {"kind": "json", "value": {"late": true}}}}]})")};
    auto c = s.connect();
    s.feed(c, get("r1", "/"));
    s.advance(50);
    s.client_close(c);
    s.settle();
    EXPECT_EQ(trace(s.events(), "r1"),
              (strings{"handler", "onRequestAbort@root", "preSerialization@root", "onSend@root"}));
    auto const e = ends(s.events(), "r1");
    ASSERT_EQ(e.size(), 1u);
    EXPECT_TRUE(e[0].aborted);
}

// fastify-lifecycle §6 (e09): a locked ReadableStream reaches the error path as a 500, never a
// crash.
TEST(Lifecycle, LockedWebStreamReachesErrorPath) {
    net::in_memory_server s{app_from(R"({
      "hooks": {"onSend": [{"style": "callback", "delayMs": 5}], "onError": [{}]},
      "routes": [{"method": "GET", "url": "/", "handler": {"do": "send",
                  "payload": {"kind": "webStream", "chunks": ["a"], "locked": true}}}]})")};
    auto c = s.connect();
    s.feed(c, get("r1", "/"));
    s.settle();
    EXPECT_EQ(trace(s.events(), "r1"),
              (strings{"handler", "onSend@root", "onError@root", "onSend@root"}));
    EXPECT_EQ(status_of(s.output(c)), 500);
    EXPECT_NE(body_of(s.output(c)).find("FST_ERR_REP_READABLE_STREAM_LOCKED"), std::string::npos);
}

// Seed 000 (fastify#5919): one Response sent again and again; the server stays up and every
// later send is FST_ERR_REP_RESPONSE_BODY_CONSUMED through the error path.
TEST(Regression, Seed000SharedResponseResentThousandTimes) {
    net::in_memory_server s{app_from(R"({
      "hooks": {"onSend": [{}]},
      "routes": [{"method": "GET", "url": "/", "handler": {"do": "send",
        "payload": {"kind": "response", "shared": "r", "status": 201,
                    "headers": {"x-from-response": "1"}, "body": {"kind": "string", "value": "hi"}}}}]})")};
    auto c = s.connect();
    s.feed(c, get("r0", "/"));
    s.settle();
    EXPECT_EQ(status_of(s.output(c)), 201);
    for (int i = 1; i <= 1000; ++i) {
        auto k = s.connect();
        std::string const id = "r" + std::to_string(i);
        s.feed(k, get(id, "/"));
        s.settle();
        ASSERT_EQ(status_of(s.output(k)), 500) << id;
        ASSERT_NE(s.output(k).find("FST_ERR_REP_RESPONSE_BODY_CONSUMED"), std::string::npos) << id;
        // fastify-lifecycle §6: the Response's headers leak into the 500.
        ASSERT_NE(s.output(k).find("x-from-response: 1"), std::string::npos) << id;
        ASSERT_EQ(ends(s.events(), id).size(), 1u) << id;
    }
}

// fastify-lifecycle §2.4 (e03): send-then-continue is harmless without async reply hooks.
TEST(Lifecycle, SendThenContinueWithSyncReplyStopsSilently) {
    net::in_memory_server s{app_from(R"({
      "hooks": {"onRequest": [{"style": "callback", "do": "sendThenContinue", "status": 503,
                               "headers": {"retry-after": "5000"},
                               "payload": {"kind": "json", "value": {"error": true, "retryInMs": 5000}}}],
                "preHandler": [{}]},
      "routes": [{"method": "GET", "url": "/", "handler": {}}]})")};
    auto c = s.connect();
    s.feed(c, get("r1", "/"));
    s.settle();
    EXPECT_EQ(trace(s.events(), "r1"), (strings{"onRequest@root"}));
    EXPECT_EQ(status_of(s.output(c)), 503);
    EXPECT_NE(s.output(c).find("retry-after: 5000"), std::string::npos);
    EXPECT_EQ(body_of(s.output(c)), R"({"error":true,"retryInMs":5000})");
}

// Malformed HTTP gets Fastify's client-error 400 and the server stays up for the next client.
TEST(Transport, MalformedRequestGets400AndServerStaysUp) {
    net::in_memory_server s{
        app_from(R"({"routes": [{"method": "GET", "url": "/", "handler": {}}]})")};
    auto bad = s.connect();
    s.feed(bad, "GARBAGE\r\n\r\n");
    s.settle();
    EXPECT_EQ(status_of(s.output(bad)), 400);
    EXPECT_NE(
        s.output(bad).find(R"({"error":"Bad Request","message":"Client Error","statusCode":400})"),
        std::string::npos);
    EXPECT_TRUE(s.server_closed(bad));
    auto good = s.connect();
    s.feed(good, get("ok", "/"));
    s.settle();
    EXPECT_EQ(status_of(s.output(good)), 200);
}

// Non-Error values thrown (issue 15, scenarios/fastify/values/, recorded from Fastify 5.12.8).
// An async hook's falsy rejection becomes FST_ERR_SEND_UNDEFINED_ERR (lib/hooks.js).
TEST(NonErrorThrows, AsyncHookRejectingNullAnswersUndefinedError) {
    net::in_memory_server s{app_from(R"({
      "hooks": {"onRequest": [{"ops": [{"throw": {"kind": "json", "value": null}}]}]},
      "routes": [{"method": "GET", "url": "/", "handler": {}}]})")};
    auto c = s.connect();
    s.feed(c, get("r1", "/"));
    s.settle();
    EXPECT_EQ(trace(s.events(), "r1"), (strings{"onRequest@root"}));
    EXPECT_EQ(status_of(s.output(c)), 500);
    EXPECT_EQ(body_of(s.output(c)),
              R"({"statusCode":500,"code":"FST_ERR_SEND_UNDEFINED_ERR",)"
              R"("error":"Internal Server Error","message":"Undefined error has occurred"})");
}

// A callback hook's synchronous `throw undefined` reaches a callback that tests err != null: the
// rest of the phase is skipped and the lifecycle goes on.
TEST(NonErrorThrows, CallbackHookThrowingUndefinedSkipsTheRestOfThePhase) {
    net::in_memory_server s{app_from(R"({
      "hooks": {"preHandler": [{"style": "callback", "ops": [{"throw": {"kind": "undefined"}}]},
                               {}]},
      "routes": [{"method": "GET", "url": "/", "handler": {"payload": {"kind": "json", "value": {"ok": true}}}}]})")};
    auto c = s.connect();
    s.feed(c, get("r1", "/"));
    s.settle();
    EXPECT_EQ(trace(s.events(), "r1"), (strings{"preHandler@root#0", "handler"}));
    EXPECT_EQ(status_of(s.output(c)), 200);
    EXPECT_EQ(body_of(s.output(c)), R"({"ok":true})");
}

// The default error handler reads statusCode off a plain object and sends it as a payload.
TEST(NonErrorThrows, HandlerThrowingAPlainObjectIsSentWithItsStatus) {
    net::in_memory_server s{app_from(R"({
      "hooks": {"preSerialization": [{}]},
      "routes": [{"method": "GET", "url": "/", "handler": {"ops": [{"throw": {"kind": "json",
        "value": {"statusCode": 418, "message": "teapot"}}}]}}]})")};
    auto c = s.connect();
    s.feed(c, get("r1", "/"));
    s.settle();
    EXPECT_EQ(trace(s.events(), "r1"), (strings{"handler", "preSerialization@root"}));
    EXPECT_EQ(status_of(s.output(c)), 418);
    EXPECT_EQ(body_of(s.output(c)), R"({"statusCode":418,"message":"teapot"})");
}

// A callback error handler's synchronous throw of a string: handleError's catch sends it as a
// payload, with the reply's status (200).
TEST(NonErrorThrows, CallbackErrorHandlerThrowingAStringSendsIt) {
    net::in_memory_server s{app_from(R"({
      "errorHandler": {"style": "callback", "ops": [{"throw": {"kind": "string", "value": "oops"}}]},
      "routes": [{"method": "GET", "url": "/", "handler": {"do": "throw"}}]})")};
    auto c = s.connect();
    s.feed(c, get("r1", "/"));
    s.settle();
    EXPECT_EQ(status_of(s.output(c)), 200);
    EXPECT_EQ(body_of(s.output(c)), "oops");
}

TEST(NonErrorThrows, OnlyValuesTheReferenceFollowsAreRefused) {
    auto with = [](std::string const& value) {
        return app_from(
            R"({"routes": [{"method": "GET", "url": "/", "handler": {"ops": [{"throw": )" + value +
            "}]}}]}");
    };
    EXPECT_FALSE(
        unsupported(with(R"({"kind": "json", "value": [1]})"), scenario::dialect::fastify));
    EXPECT_FALSE(unsupported(with(R"({"kind": "undefined"})"), scenario::dialect::fastify));
    EXPECT_TRUE(
        unsupported(with(R"({"kind": "buffer", "base64": "AA=="})"), scenario::dialect::fastify));
    EXPECT_TRUE(unsupported(with(R"({"kind": "json", "value": {"statusCode": "418"}})"),
                            scenario::dialect::fastify));
}

// scenario-format §1.11 (v2.6): handlerTimeout's timer answers through the error path — onError,
// the route's errorHandler (which rethrows to the default) — with FST_ERR_HANDLER_TIMEOUT; the
// handler's late value is dropped; a route without its own timeout takes the server's.
TEST(Lifecycle, HandlerTimeoutAnswersThroughTheRouteErrorHandler) {
    net::in_memory_server s{app_from(R"({
      "options": {"handlerTimeoutMs": 500},
      "hooks": {"onError": [{}], "onSend": [{}]},
      "routes": [{"method": "GET", "url": "/", "handlerTimeoutMs": 50, "errorHandler": {"do": "rethrow"},
                  "handler": {"delayMs": 200, "payload": {"kind": "string", "value": "late"}}},
                 {"method": "GET", "url": "/fast", "handler": {"delayMs": 100}}]})")};
    auto c = s.connect();
    s.feed(c, get("r1", "/"));
    s.settle();
    EXPECT_EQ(trace(s.events(), "r1"),
              (strings{"handler", "onError@root", "errorHandler@route", "onSend@root"}));
    EXPECT_EQ(status_of(s.output(c)), 503);
    EXPECT_EQ(body_of(s.output(c)),
              R"({"statusCode":503,"code":"FST_ERR_HANDLER_TIMEOUT","error":"Service Unavailable",)"
              R"("message":"Request timed out after 50 ms on route '/'"})");
    auto c2 = s.connect();
    s.feed(c2, get("r2", "/fast"));
    s.settle();
    EXPECT_EQ(trace(s.events(), "r2"), (strings{"handler", "onSend@root"}));
    EXPECT_EQ(status_of(s.output(c2)), 200);
}

} // namespace lifecheck::engine
