// Tests of the in-process runner: it reports what the engine did, agrees with the model on plain
// cases, and tells a seeded fault apart (so the property built on it can fail).
#include "harness/property/in_process.hpp"

#include "harness/scenario/load.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace {

using namespace lifecheck;
using labels = std::vector<std::string>;

scenario::scenario load(std::string const& text) {
    auto r = scenario::parse(text, "in_process_test.json", "in_process_test");
    if (!r.has_value()) {
        std::string all;
        for (auto const& d : r.error())
            all += describe(d) + "\n";
        ADD_FAILURE() << all;
        return {};
    }
    return std::move(r).value();
}

std::string join(std::vector<std::string> const& lines) {
    std::string out;
    for (auto const& l : lines)
        out += l + "\n";
    return out;
}

// Two scopes, hooks in both: the ordering the child-hooks-before-parent fault breaks.
std::string const two_scopes = R"({"app":{"hooks":{"onRequest":[{}]},
    "plugins":[{"name":"c","prefix":"/c","hooks":{"onRequest":[{}]},
                "routes":[{"method":"GET","url":"/x","handler":{"payload":{"kind":"json","value":{"ok":true}}}}]}]},
    "steps":[{"id":"r1","request":{"method":"GET","url":"/c/x"}}]})";

TEST(InProcess, ReportsTraceStatusBodyAndEnd) {
    auto const sc = load(two_scopes);
    auto const out = property::run_in_process(sc);
    ASSERT_EQ(out.size(), 1u);
    EXPECT_EQ(out[0].step_id, "r1");
    EXPECT_EQ(out[0].trace, (labels{"onRequest@root", "onRequest@c", "handler"}));
    EXPECT_EQ(out[0].end_at, 3);
    EXPECT_EQ(out[0].status, 200);
    EXPECT_EQ(out[0].body, R"({"ok":true})");
    EXPECT_TRUE(out[0].complete);
    EXPECT_FALSE(out[0].aborted);
    EXPECT_TRUE(property::compare_with_model(sc, out).empty())
        << join(property::compare_with_model(sc, out));
    EXPECT_TRUE(property::check(sc, out).empty());
}

TEST(InProcess, SeededFaultDisagreesWithTheModel) {
    auto const sc = load(two_scopes);
    auto const out = property::run_in_process(
        sc, static_cast<engine::fault_set>(engine::fault::child_hooks_before_parent));
    ASSERT_EQ(out.size(), 1u);
    EXPECT_EQ(out[0].trace, (labels{"onRequest@c", "onRequest@root", "handler"}));
    auto const diffs = property::compare_with_model(sc, out);
    ASSERT_EQ(diffs.size(), 1u) << join(diffs);
    EXPECT_NE(diffs[0].find("step r1: trace"), std::string::npos) << diffs[0];
}

// A client that gives up while the handler waits: the end says aborted, onRequestAbort runs,
// the client got nothing; the model predicts the same.
TEST(InProcess, ClientAbortAfterMsOnTheVirtualClock) {
    auto const sc = load(R"({"app":{"hooks":{"onRequestAbort":[{}],"onResponse":[{}]},
        "routes":[{"method":"GET","url":"/","handler":{"delayMs":200,"payload":{"kind":"string","value":"late"}}}]},
        "steps":[{"id":"r1","request":{"method":"GET","url":"/"},"client":{"abortAfterMs":50}}]})");
    auto const out = property::run_in_process(sc);
    ASSERT_EQ(out.size(), 1u);
    EXPECT_TRUE(out[0].aborted);
    EXPECT_FALSE(out[0].got_response);
    EXPECT_EQ(out[0].trace, (labels{"handler", "onRequestAbort@root"}));
    EXPECT_TRUE(property::compare_with_model(sc, out).empty())
        << join(property::compare_with_model(sc, out));
    EXPECT_TRUE(property::check(sc, out).empty());
}

// The client reads 2 body bytes of a chunked stream, then closes: body cut, not complete.
TEST(InProcess, ClientStopsReadingAfterResponseBodyBytes) {
    auto const sc = load(R"({"app":{"routes":[{"method":"GET","url":"/","handler":{
        "payload":{"kind":"stream","chunks":["aaaa","bbbb"],"chunkDelayMs":30}}}]},
        "steps":[{"id":"r1","request":{"method":"GET","url":"/"},"client":{"abortAfterResponseBodyBytes":6}}]})");
    auto const out = property::run_in_process(sc);
    ASSERT_EQ(out.size(), 1u);
    EXPECT_EQ(out[0].status, 200);
    EXPECT_FALSE(out[0].complete);
    EXPECT_TRUE(out[0].aborted);
    EXPECT_TRUE(property::compare_with_model(sc, out).empty())
        << join(property::compare_with_model(sc, out));
}

// Parallel requests pipelined on one connection answer in order; a keep-alive step reuses it.
TEST(InProcess, PipelinedParallelGroupAndKeepAlive) {
    auto const sc = load(R"({"app":{"routes":[
        {"method":"GET","url":"/a","handler":{"delayMs":30,"payload":{"kind":"string","value":"A"}}},
        {"method":"GET","url":"/b","handler":{"payload":{"kind":"string","value":"B"}}}]},
        "steps":[{"parallel":[{"id":"r1","connection":"c","request":{"method":"GET","url":"/a"}},
                              {"id":"r2","connection":"c","request":{"method":"GET","url":"/b"}}]},
                 {"id":"r3","connection":"c","request":{"method":"GET","url":"/b"}}]})");
    auto const out = property::run_in_process(sc);
    ASSERT_EQ(out.size(), 3u);
    EXPECT_EQ(out[0].body, "A");
    EXPECT_EQ(out[1].body, "B");
    EXPECT_EQ(out[2].body, "B");
    for (auto const& o : out)
        EXPECT_TRUE(o.complete) << o.step_id;
    EXPECT_TRUE(property::compare_with_model(sc, out).empty())
        << join(property::compare_with_model(sc, out));
}

// onReady callbacks belong to the first step; preClose/onClose to the close step.
TEST(InProcess, ApplicationHooksGoToFirstAndCloseSteps) {
    auto const sc = load(R"({"app":{"hooks":{"onReady":[{}],"preClose":[{}],"onClose":[{}]},
        "routes":[{"method":"GET","url":"/","handler":{}}]},
        "steps":[{"id":"r1","request":{"method":"GET","url":"/"}},{"close":true}]})");
    auto const out = property::run_in_process(sc);
    ASSERT_EQ(out.size(), 2u);
    EXPECT_EQ(out[0].trace, (labels{"onReady@root", "handler"}));
    EXPECT_EQ(out[0].end_at, 2);
    EXPECT_EQ(out[1].step_id, "close");
    EXPECT_EQ(out[1].trace, (labels{"preClose@root", "onClose@root"}));
    EXPECT_TRUE(property::compare_with_model(sc, out).empty())
        << join(property::compare_with_model(sc, out));
}

// decisions.md D25: a raw step owns the ids the target makes up during it (the runner's rule);
// a second request in its bytes is an outcome of its own, judged by invariants only.
TEST(InProcess, RawStepOwnsMadeUpIdsAsTheRunnerRules) {
    auto const sc = load(R"({"app":{"hooks":{"onRequest":[{}]},
        "routes":[{"method":"GET","url":"/","handler":{"payload":{"kind":"string","value":"ok"}}}]},
        "steps":[{"id":"r1","raw":"GET / HTTP/1.1\r\nhost: x\r\n\r\nGET / HTTP/1.1\r\nhost: x\r\n\r\n"},
                 {"id":"r2","raw":"HEAD / HTTP/1.1\r\nhost: x\r\n\r\n"}]})");
    auto const out = property::run_in_process(sc);
    ASSERT_EQ(out.size(), 3u);
    EXPECT_EQ(out[0].step_id, "r1");
    EXPECT_EQ(out[0].trace, (labels{"onRequest@root", "handler"}));
    EXPECT_EQ(out[0].body, "ok");
    EXPECT_EQ(out[1].step_id, "r2");
    EXPECT_TRUE(out[1].got_response);
    EXPECT_TRUE(out[1].complete); // a raw HEAD: the response has no body, whatever it says
    EXPECT_EQ(out[2].observed.step, nullptr);
    EXPECT_EQ(out[2].trace, (labels{"onRequest@root", "handler"}));
    EXPECT_TRUE(property::check(sc, out).empty());
}

// decisions.md D25, scenarios/regressions/fuzz-605ba8da-unknown-method-400.json: a raw step that
// never reaches the app does not take the request a later raw step makes.
TEST(InProcess, EarlierRawStepDoesNotTakeALaterOnesRequest) {
    auto const sc = load(R"({"app":{"hooks":{"onRequest":[{}],"onResponse":[{}]},
        "routes":[{"method":"GET","url":"/","handler":{"payload":{"kind":"json","value":{"ok":true}}}}]},
        "steps":[{"id":"unknown","raw":"OPST /up HTTP/1.1\r\nhost: x\r\n\r\n"},
                 {"id":"source","raw":"SOURCE / HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n"}]})");
    auto const out = property::run_in_process(sc);
    ASSERT_EQ(out.size(), 2u);
    EXPECT_EQ(out[0].step_id, "unknown");
    EXPECT_EQ(out[0].status, 400);
    EXPECT_TRUE(out[0].trace.empty());
    EXPECT_EQ(out[1].step_id, "source");
    EXPECT_EQ(out[1].status, 404);
    EXPECT_EQ(out[1].trace, (labels{"onRequest@root", "onResponse@root"}));
    EXPECT_EQ(out[1].end_at, 2);
}

// Fastify's test/reply-error.test.js "Should reply 400 on client error"
// (scenarios/fastify-suite/reply-error/client-error-400.json): llhttp refuses a method at the
// first byte no method it knows starts with, before the line is complete; Beast waited for more.
TEST(InProcess, ImpossibleMethodPrefixIs400BeforeTheLineEnds) {
    auto const sc = load(R"({"app":{"hooks":{"onRequest":[{}]},
        "routes":[{"method":"GET","url":"/","handler":{}}]},
        "steps":[{"id":"lower","raw":"oooops!"},{"id":"space","raw":"GE /"}]})");
    auto const out = property::run_in_process(sc);
    ASSERT_EQ(out.size(), 2u);
    for (auto const& o : out) {
        EXPECT_EQ(o.status, 400) << o.step_id;
        EXPECT_EQ(o.body, R"({"error":"Bad Request","message":"Client Error","statusCode":400})")
            << o.step_id;
        EXPECT_TRUE(o.trace.empty()) << o.step_id;
    }
    EXPECT_TRUE(property::compare_with_model(sc, out).empty())
        << join(property::compare_with_model(sc, out));
}

// Fastify's test/stream.5.test.js "request terminated should not crash fastify"
// (scenarios/fastify-suite/stream.5/request-terminated-should-not-crash.json): a reply header
// `transfer-encoding: chunked` set by the app makes Node frame the body itself; the reference
// wrote the chunks raw under that header, so the client decoded no body.
TEST(InProcess, AppSetChunkedTransferEncodingFramesTheBody) {
    auto const sc = load(R"({"app":{"routes":[{"method":"GET","url":"/","handler":{"do":"send",
        "headers":{"transfer-encoding":"chunked"},
        "payload":{"kind":"stream","chunks":["<h1>a</h1>","<h1>b</h1>"]}}}]},
        "steps":[{"id":"r1","request":{"method":"GET","url":"/"}}]})");
    auto const out = property::run_in_process(sc);
    ASSERT_EQ(out.size(), 1u);
    EXPECT_EQ(out[0].status, 200);
    EXPECT_EQ(out[0].body, "<h1>a</h1><h1>b</h1>");
    EXPECT_TRUE(out[0].complete);
    EXPECT_TRUE(property::compare_with_model(sc, out).empty())
        << join(property::compare_with_model(sc, out));
}

} // namespace
