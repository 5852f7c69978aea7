// Tests the Koa onion in memory against what real Koa 2.16.4 does (scenarios/koa/ were recorded
// from it).
#include "server_under_test/reference/engine/koa_onion.hpp"

#include "server_under_test/reference/engine/test_support.hpp"

#include <gtest/gtest.h>

namespace lifecheck::engine {

using namespace test_support;
using strings = std::vector<std::string>;

namespace {

/// An in-memory reference server running a koa app.
struct koa_fixture {
    explicit koa_fixture(std::string const& app_json)
        : s{koa_app(app_json), 0, {}, scenario::dialect::koa} {}

    net::in_memory_server s;
};

bool has(std::string const& out, std::string const& piece) {
    return out.find(piece) != std::string::npos;
}

/// Index of the first event of request `id` that is an `end`, counted in cb events before it.
std::size_t end_at(std::vector<event> const& events, std::string const& id) {
    std::size_t n = 0;
    for (auto const& e : events) {
        if (e.req != id)
            continue;
        if (e.what == event::kind::end)
            return n;
        ++n;
    }
    return n;
}

} // namespace

// koa-compose: down in registration order, up in reverse; the innermost body is JSON.
TEST(KoaOnion, MiddlewareRunDownThenUp) {
    koa_fixture f{R"({"middleware": [{"label": "a"}, {"label": "b"},
        {"label": "c", "before": {"do": "send", "payload": {"kind": "json", "value": {"ok": true}}}}]})"};
    auto c = f.s.connect();
    f.s.feed(c, get("r1", "/"));
    f.s.settle();
    EXPECT_EQ(trace(f.s.events(), "r1"),
              (strings{"a:down", "b:down", "c:down", "c:up", "b:up", "a:up"}));
    std::string const& out = f.s.output(c);
    EXPECT_EQ(status_of(out), 200);
    EXPECT_TRUE(
        has(out, "\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: 11\r\n"));
    EXPECT_EQ(body_of(out), R"({"ok":true})");
    ASSERT_EQ(ends(f.s.events(), "r1").size(), 1u);
    EXPECT_EQ(ends(f.s.events(), "r1")[0].status, 200);
    EXPECT_FALSE(ends(f.s.events(), "r1")[0].aborted);
    EXPECT_EQ(end_at(f.s.events(), "r1"), 6u);
    for (auto const& e : f.s.events())
        if (e.what == event::kind::cb) {
            EXPECT_EQ(e.phase, "middleware");
            EXPECT_EQ(e.scope, "root");
        }
}

// application.js: res.statusCode starts at 404; respond() writes the status text.
TEST(KoaOnion, NoBodyAnswersNotFoundText) {
    koa_fixture f{R"({"middleware": [{"label": "a"}]})"};
    auto c = f.s.connect();
    f.s.feed(c, get("r1", "/"));
    f.s.settle();
    std::string const& out = f.s.output(c);
    EXPECT_EQ(status_of(out), 404);
    EXPECT_TRUE(has(out, "\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: 9\r\n"));
    EXPECT_EQ(body_of(out), "Not Found");
    EXPECT_EQ(trace(f.s.events(), "r1"), (strings{"a:down", "a:up"}));
}

TEST(KoaOnion, StatusWithoutBodySendsStatusText) {
    koa_fixture f{
        R"({"middleware": [{"label": "auth", "before": {"do": "send", "status": 401}}]})"};
    auto c = f.s.connect();
    f.s.feed(c, get("r1", "/"));
    f.s.settle();
    EXPECT_EQ(status_of(f.s.output(c)), 401);
    EXPECT_EQ(body_of(f.s.output(c)), "Unauthorized");
}

// scenario-format §1.5: next: never short-circuits; the upper half still runs and is traced.
TEST(KoaOnion, NextNeverSkipsDownstreamButRunsUpperHalf) {
    koa_fixture f{R"({"middleware": [
        {"label": "stop", "next": "never", "after": {"do": "send", "payload": {"kind": "string", "value": "up"}}},
        {"label": "unreached", "before": {"do": "send", "status": 500}}]})"};
    auto c = f.s.connect();
    f.s.feed(c, get("r1", "/"));
    f.s.settle();
    EXPECT_EQ(trace(f.s.events(), "r1"), (strings{"stop:down", "stop:up"}));
    EXPECT_EQ(status_of(f.s.output(c)), 200);
    EXPECT_EQ(body_of(f.s.output(c)), "up");
}

// koa-compose: the second next() rejects "next() called multiple times"; every outer await rejects.
TEST(KoaOnion, NextTwiceRejectsAfterTheDownstreamRanOnce) {
    koa_fixture f{R"({"middleware": [{"label": "outer"}, {"label": "twice", "next": "twice"},
        {"label": "inner", "before": {"do": "send", "status": 201, "headers": {"x-inner": "1"},
                                      "payload": {"kind": "json", "value": {"ok": true}}}}],
        "onError": {}})"};
    auto c = f.s.connect();
    f.s.feed(c, get("r1", "/"));
    f.s.settle();
    EXPECT_EQ(trace(f.s.events(), "r1"),
              (strings{"outer:down", "twice:down", "inner:down", "inner:up", "onError"}));
    std::string const& out = f.s.output(c);
    EXPECT_EQ(status_of(out), 500);
    EXPECT_FALSE(has(out, "x-inner")); // ctx.onerror unsets every header first
    EXPECT_EQ(body_of(out), "Internal Server Error");
    for (auto const& e : f.s.events())
        if (e.label == "onError") {
            EXPECT_EQ(e.phase, "onError");
        }
}

TEST(KoaOnion, NextTwiceInTheLastMiddlewareStillRejects) {
    koa_fixture f{
        R"({"middleware": [{"label": "twice", "next": "twice"}], "onError": {"label": "l"}})"};
    auto c = f.s.connect();
    f.s.feed(c, get("r1", "/"));
    f.s.settle();
    EXPECT_EQ(trace(f.s.events(), "r1"), (strings{"twice:down", "l"}));
    EXPECT_EQ(status_of(f.s.output(c)), 500);
}

// context.js onerror: err.status when statuses knows it, else 500; never the message.
TEST(KoaOnion, ErrorStatusAndTextComeFromTheStatusesTable) {
    struct probe {
        char const* error;
        int status;
        char const* body;
    };

    for (probe const& p :
         {probe{R"({"statusCode": 503, "message": "secret"})", 503, "Service Unavailable"},
          probe{R"({"statusCode": 418})", 418, "I'm a teapot"},
          probe{R"({"statusCode": 599})", 500, "Internal Server Error"},
          probe{R"({"message": "no status"})", 500, "Internal Server Error"},
          probe{R"({"statusCode": 400, "code": "ENOENT"})", 404, "Not Found"}}) {
        koa_fixture f{
            std::string{R"({"middleware": [{"label": "a", "before": {"do": "throw", "error": )"} +
            p.error + "}}]}"};
        auto c = f.s.connect();
        f.s.feed(c, get("r1", "/"));
        f.s.settle();
        EXPECT_EQ(status_of(f.s.output(c)), p.status) << p.error;
        EXPECT_EQ(body_of(f.s.output(c)), p.body) << p.error;
        EXPECT_TRUE(has(f.s.output(c), "Content-Type: text/plain; charset=utf-8\r\n")) << p.error;
        // No listener: Koa's own default only logs, nothing is traced.
        EXPECT_EQ(trace(f.s.events(), "r1"), (strings{"a:down"})) << p.error;
    }
}

// A throw after next() replaces the body the downstream set.
TEST(KoaOnion, ThrowInUpperHalfReplacesTheDownstreamBody) {
    koa_fixture f{R"({"middleware": [{"label": "a", "after": {"do": "throw", "status": 502}},
        {"label": "c", "before": {"do": "send", "headers": {"x-c": "set"}, "payload": {"kind": "json", "value": [1]}}}],
        "onError": {}})"};
    auto c = f.s.connect();
    f.s.feed(c, get("r1", "/"));
    f.s.settle();
    EXPECT_EQ(trace(f.s.events(), "r1"), (strings{"a:down", "c:down", "c:up", "a:up", "onError"}));
    EXPECT_EQ(status_of(f.s.output(c)), 502);
    EXPECT_FALSE(has(f.s.output(c), "x-c"));
    EXPECT_EQ(body_of(f.s.output(c)), "Bad Gateway");
}

// The ordering conflict of scenario-format §1.5, with app flags: auth after the check never runs.
TEST(KoaOnion, MiddlewareOrderDecidesTheAuthCheck) {
    std::string const check =
        R"({"label": "check", "before": {"when": {"flag": "authed", "is": false}, "do": "throw", "status": 401}})";
    std::string const auth =
        R"({"label": "auth", "before": {"set": {"flag": "authed", "value": true}}})";
    std::string const handler =
        R"({"label": "handler", "before": {"do": "send", "payload": {"kind": "string", "value": "ok"}}})";
    {
        koa_fixture f{R"({"middleware": [)" + check + "," + auth + "," + handler +
                      R"(], "onError": {}})"};
        auto c = f.s.connect();
        f.s.feed(c, get("r1", "/"));
        f.s.feed(c, get("r2", "/"));
        f.s.settle();
        EXPECT_EQ(trace(f.s.events(), "r1"), (strings{"check:down", "onError"}));
        EXPECT_EQ(trace(f.s.events(), "r2"), (strings{"check:down", "onError"}));
        EXPECT_EQ(status_of(f.s.output(c)), 401);
    }
    {
        koa_fixture f{R"({"middleware": [)" + auth + "," + check + "," + handler +
                      R"(], "onError": {}})"};
        auto c = f.s.connect();
        f.s.feed(c, get("r1", "/"));
        f.s.settle();
        EXPECT_EQ(
            trace(f.s.events(), "r1"),
            (strings{
                "auth:down", "check:down", "handler:down", "handler:up", "check:up", "auth:up"}));
        EXPECT_EQ(status_of(f.s.output(c)), 200);
        EXPECT_EQ(body_of(f.s.output(c)), "ok");
    }
}

// delayMs is a timer on the loop's clock: nothing is answered before it fires.
TEST(KoaOnion, DelaysWaitOnTheClock) {
    koa_fixture f{R"({"middleware": [{"label": "slow", "after": {"delayMs": 50, "do": "send",
        "payload": {"kind": "string", "value": "late"}}}, {"label": "inner", "before": {"do": "send",
        "payload": {"kind": "string", "value": "inner"}}}]})"};
    auto c = f.s.connect();
    f.s.feed(c, get("r1", "/"));
    f.s.advance(49);
    EXPECT_EQ(f.s.output(c), "");
    EXPECT_EQ(trace(f.s.events(), "r1"),
              (strings{"slow:down", "inner:down", "inner:up", "slow:up"}));
    f.s.advance(1);
    f.s.settle();
    EXPECT_EQ(body_of(f.s.output(c)), "late");
    // The string replaced another string: Content-Type stays, Content-Length follows the new one.
    EXPECT_TRUE(
        has(f.s.output(c), "Content-Type: text/plain; charset=utf-8\r\nContent-Length: 4\r\n"));
}

// check-then-act: `when` is read before the delay, `set` after it.
TEST(KoaOnion, ParallelRequestsBothPassACheckBeforeTheSet) {
    koa_fixture f{R"({"middleware": [{"label": "claim", "next": "never", "before": {
        "when": {"flag": "taken", "is": false}, "delayMs": 50, "set": {"flag": "taken", "value": true},
        "do": "send", "payload": {"kind": "string", "value": "mine"}}}]})"};
    auto a = f.s.connect();
    auto b = f.s.connect();
    f.s.feed(a, get("p1", "/"));
    f.s.feed(b, get("p2", "/"));
    f.s.settle();
    EXPECT_EQ(body_of(f.s.output(a)), "mine");
    EXPECT_EQ(body_of(f.s.output(b)), "mine");
    auto c = f.s.connect();
    f.s.feed(c, get("r3", "/"));
    f.s.settle();
    EXPECT_EQ(status_of(f.s.output(c)), 404);
}

// The body setter (lib/response.js) and respond().
TEST(KoaOnion, BodySetterDecidesStatusAndHeaders) {
    struct probe {
        char const* action;
        int status;
        char const* present; // a header line that must be there ("" for none)
        char const* absent;
        char const* body; // null: not checked
    };

    for (
        probe const& p : {
            probe{R"({"do": "send", "payload": {"kind": "empty"}})", 204, "", "Content-Type", ""},
            probe{R"({"do": "send", "payload": {"kind": "json", "value": null}})",
                  204,
                  "",
                  "Content-Type",
                  ""},
            probe{
                R"({"do": "send", "status": 204, "payload": {"kind": "json", "value": {"a": 1}}})",
                204,
                "",
                "Content-Length",
                ""},
            probe{R"({"do": "send", "payload": {"kind": "string", "value": " <p>x</p>"}})",
                  200,
                  "Content-Type: text/html; charset=utf-8\r\n",
                  "",
                  " <p>x</p>"},
            probe{R"({"do": "send", "payload": {"kind": "buffer", "base64": "AAEC"}})",
                  200,
                  "Content-Type: application/octet-stream\r\nContent-Length: 3\r\n",
                  "",
                  nullptr},
            probe{
                R"({"do": "send", "headers": {"content-type": "text/csv"}, "payload": {"kind": "string", "value": "a,b"}})",
                200,
                "content-type: text/csv\r\nContent-Length: 3\r\n",
                "",
                "a,b"},
            probe{
                R"({"do": "send", "headers": {"x-a": "1", "content-type": "text/x"}, "payload": {"kind": "json", "value": 42}})",
                200,
                "x-a: 1\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: 2\r\n",
                "text/x",
                "42"},
            probe{R"({"do": "send", "payload": {"kind": "json", "value": "text"}})",
                  200,
                  "Content-Type: text/plain; charset=utf-8\r\n",
                  "",
                  "text"},
        }) {
        koa_fixture f{std::string{R"({"middleware": [{"label": "a", "before": )"} + p.action +
                      "}]}"};
        auto c = f.s.connect();
        f.s.feed(c, get("r1", "/"));
        f.s.settle();
        std::string const& out = f.s.output(c);
        EXPECT_EQ(status_of(out), p.status) << p.action;
        if (*p.present) {
            EXPECT_TRUE(has(out, p.present)) << p.action << "\n" << out;
        }
        if (*p.absent) {
            EXPECT_FALSE(has(out, p.absent)) << p.action << "\n" << out;
        }
        if (p.body != nullptr) {
            EXPECT_EQ(body_of(out), p.body) << p.action;
        }
    }
}

// A string body after a JSON one keeps application/json (Koa only sets a type when none is set).
TEST(KoaOnion, OverridingJsonWithAStringKeepsTheJsonType) {
    koa_fixture f{R"({"middleware": [
        {"label": "wrap", "after": {"do": "send", "payload": {"kind": "string", "value": "wrapped"}}},
        {"label": "inner", "before": {"do": "send", "status": 201, "payload": {"kind": "json", "value": {"inner": 1}}}}]})"};
    auto c = f.s.connect();
    f.s.feed(c, get("r1", "/"));
    f.s.settle();
    EXPECT_EQ(status_of(f.s.output(c)), 200);
    EXPECT_TRUE(has(f.s.output(c),
                    "Content-Type: application/json; charset=utf-8\r\nContent-Length: 7\r\n"));
    EXPECT_EQ(body_of(f.s.output(c)), "wrapped");
}

TEST(KoaOnion, HeadSendsTheLengthButNoBody) {
    koa_fixture f{
        R"({"middleware": [{"label": "a", "before": {"do": "send", "payload": {"kind": "json", "value": {"a": 1}}}}]})"};
    auto c = f.s.connect();
    f.s.feed(c, get("h1", "/", "HEAD"));
    f.s.settle();
    std::string const& out = f.s.output(c);
    EXPECT_EQ(status_of(out), 200);
    EXPECT_TRUE(has(out, "Content-Type: application/json; charset=utf-8\r\nContent-Length: 7\r\n"));
    EXPECT_EQ(body_of(out), "");
}

// The client closes while a middleware hangs: `end` at once, aborted, status still 404.
TEST(KoaOnion, ClientAbortWhileHangingEndsAborted) {
    koa_fixture f{R"({"middleware": [{"label": "a", "after": {"do": "send", "status": 200}},
        {"label": "h", "before": {"do": "hang"}}], "onError": {}})"};
    auto c = f.s.connect();
    f.s.feed(c, get("r1", "/"));
    f.s.advance(50);
    EXPECT_TRUE(ends(f.s.events(), "r1").empty());
    f.s.client_close(c);
    f.s.settle();
    auto const e = ends(f.s.events(), "r1");
    ASSERT_EQ(e.size(), 1u);
    EXPECT_TRUE(e[0].aborted);
    EXPECT_EQ(e[0].status, 404);
    EXPECT_EQ(trace(f.s.events(), "r1"), (strings{"a:down", "h:down"}));
}

// After the abort the onion still unwinds; a later throw still reaches the listener, after `end`.
TEST(KoaOnion, CallbacksAfterAnAbortComeAfterEnd) {
    koa_fixture f{R"({"middleware": [{"label": "a"},
        {"label": "h", "before": {"delayMs": 150, "do": "throw", "status": 500}}], "onError": {}})"};
    auto c = f.s.connect();
    f.s.feed(c, get("r1", "/"));
    f.s.advance(50);
    f.s.client_close(c);
    f.s.settle();
    EXPECT_EQ(trace(f.s.events(), "r1"), (strings{"a:down", "h:down", "onError"}));
    EXPECT_EQ(end_at(f.s.events(), "r1"), 2u);
    EXPECT_TRUE(ends(f.s.events(), "r1")[0].aborted);
    EXPECT_EQ(f.s.output(c), "");
}

TEST(KoaOnion, StreamBodyIsPipedChunked) {
    koa_fixture f{
        R"({"middleware": [{"label": "s", "before": {"do": "send", "payload": {"kind": "stream",
        "chunks": ["one;", "two;"], "chunkDelayMs": 20}}}]})"};
    auto c = f.s.connect();
    f.s.feed(c, get("r1", "/"));
    f.s.settle();
    std::string const& out = f.s.output(c);
    EXPECT_TRUE(has(out, "Content-Type: application/octet-stream\r\n"));
    EXPECT_TRUE(has(out, "Transfer-Encoding: chunked\r\n"));
    EXPECT_TRUE(has(out, "\r\n\r\n4\r\none;\r\n4\r\ntwo;\r\n0\r\n\r\n"));
    ASSERT_EQ(ends(f.s.events(), "r1").size(), 1u);
    EXPECT_FALSE(ends(f.s.events(), "r1")[0].aborted);
}

// Koa 2 only emits a body stream's error once the head is out: the response stays open.
TEST(KoaOnion, FailingStreamLeavesTheResponseOpen) {
    koa_fixture f{
        R"({"middleware": [{"label": "s", "before": {"do": "send", "payload": {"kind": "stream",
        "chunks": ["one;", "two;", "three;"], "chunkDelayMs": 20, "failAfterChunks": 2}}}], "onError": {}})"};
    auto c = f.s.connect();
    f.s.feed(c, get("r1", "/"));
    f.s.settle();
    std::string const& out = f.s.output(c);
    EXPECT_TRUE(has(out, "4\r\none;\r\n4\r\ntwo;\r\n"));
    EXPECT_FALSE(has(out, "0\r\n\r\n"));
    EXPECT_FALSE(has(out, "three"));
    EXPECT_FALSE(f.s.server_closed(c));
    EXPECT_TRUE(ends(f.s.events(), "r1").empty());
    EXPECT_EQ(trace(f.s.events(), "r1"), (strings{"s:down", "s:up", "onError"}));
    f.s.client_close(c);
    f.s.settle();
    ASSERT_EQ(ends(f.s.events(), "r1").size(), 1u);
    EXPECT_TRUE(ends(f.s.events(), "r1")[0].aborted);
}

TEST(KoaOnion, KeepAliveConnectionRunsTheOnionPerRequest) {
    koa_fixture f{
        R"({"middleware": [{"label": "a", "before": {"do": "send", "payload": {"kind": "string", "value": "x"}}}]})"};
    auto c = f.s.connect();
    f.s.feed(c, get("k1", "/"));
    f.s.settle();
    f.s.feed(c, "GET / HTTP/1.1\r\nhost: 127.0.0.1\r\n\r\n");
    f.s.settle();
    EXPECT_EQ(trace(f.s.events(), "k1"), (strings{"a:down", "a:up"}));
    EXPECT_EQ(trace(f.s.events(), "auto-1"), (strings{"a:down", "a:up"}));
    EXPECT_FALSE(f.s.server_closed(c));
}

TEST(KoaOnion, ListenerSetsAFlagTheNextRequestSees) {
    koa_fixture f{R"({"middleware": [
        {"label": "fragile", "before": {"when": {"flag": "failed", "is": false}, "do": "throw"}},
        {"label": "handler", "before": {"do": "send", "payload": {"kind": "string", "value": "ok"}}}],
        "onError": {"set": {"flag": "failed", "value": true}}})"};
    auto c1 = f.s.connect();
    f.s.feed(c1, get("r1", "/"));
    f.s.settle();
    EXPECT_EQ(status_of(f.s.output(c1)), 500);
    auto c2 = f.s.connect();
    f.s.feed(c2, get("r2", "/"));
    f.s.settle();
    EXPECT_EQ(status_of(f.s.output(c2)), 200);
    EXPECT_EQ(trace(f.s.events(), "r2"),
              (strings{"fragile:down", "handler:down", "handler:up", "fragile:up"}));
}

TEST(KoaOnion, WebStreamAndResponsePayloadsAreUnsupported) {
    auto const a = koa_app(R"({"middleware": [{"label": "w", "before": {"do": "send",
        "payload": {"kind": "webStream", "chunks": ["x"]}}}]})");
    auto const why = koa_unsupported(a);
    ASSERT_TRUE(why.has_value());
    EXPECT_NE(why->find("webStream"), std::string::npos);
    loop l;
    EXPECT_EQ(make_koa_server(a, l, [](event const&) {}), nullptr);
    EXPECT_FALSE(koa_unsupported(koa_app(R"({"middleware": [{"label": "m"}]})")).has_value());
}

TEST(KoaOnion, StatusTextIsKoasTable) {
    EXPECT_EQ(koa_status_text(418), "I'm a teapot");
    EXPECT_EQ(koa_status_text(425), "Unordered Collection");
    EXPECT_EQ(koa_status_text(404), "Not Found");
    EXPECT_FALSE(koa_status_text(599).has_value());
}

} // namespace lifecheck::engine
