// Tests of the koa-dialect oracle (detail/koa.cpp) against Koa 2.16.4 + koa-compose
// (scenario-format §1.5).
#include "harness/model/detail/koa.hpp"
#include "harness/model/model.hpp"
#include "harness/model/test_support.hpp"
#include "harness/scenario/load.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <iostream>
#include <map>
#include <string>
#include <vector>

namespace {

using namespace lifecheck;
using labels = std::vector<std::string>;

/// Predicts step r1 of a one-request koa scenario with `app` (a JSON object) and `request`.
model::step_prediction koa_step(std::string const& app,
                                std::string const& request = R"({"method":"GET","url":"/"})",
                                std::string const& client = "") {
    std::string const text = R"({"dialect":"koa","app":)" + app +
                             R"(,"steps":[{"id":"r1","request":)" + request +
                             (client.empty() ? "" : R"(,"client":)" + client) + "}]}";
    auto r = scenario::parse(text, "koa_model_test.json", "koa_model_test");
    if (!r.has_value()) {
        ADD_FAILURE() << "scenario does not load: " << r.error().front().json_path << ": "
                      << r.error().front().expected;
        return {};
    }
    auto const preds = model::predict(r.value());
    if (preds.size() != 1) {
        ADD_FAILURE() << "expected one prediction, got " << preds.size();
        return {};
    }
    return preds.front();
}

std::string const json_ok =
    R"({"do":"send","status":200,"payload":{"kind":"json","value":{"ok":true}}})";

// koa-compose dispatch: every middleware's down half, then the up halves in reverse.
TEST(KoaModel, OnionOrderDownThenUp) {
    auto const p = koa_step(R"({"middleware":[{"label":"a"},{"label":"b"},{"label":"c","before":)" +
                            json_ok + "}]}");
    ASSERT_TRUE(p.deterministic) << p.why;
    EXPECT_EQ(p.trace, (labels{"a:down", "b:down", "c:down", "c:up", "b:up", "a:up"}));
    EXPECT_EQ(p.end_at, 6);
    EXPECT_EQ(p.status, 200);
    EXPECT_EQ(p.body_text, R"({"ok":true})");
    EXPECT_EQ(p.content_type, "application/json; charset=utf-8");
}

// application.js handleRequest: res.statusCode = 404; respond() with no body writes the status
// text.
TEST(KoaModel, NoBodyIsDefault404) {
    auto const p = koa_step(R"({"middleware":[{"label":"a"}]})");
    EXPECT_EQ(p.status, 404);
    EXPECT_EQ(p.body_text, "Not Found");
    EXPECT_EQ(p.content_type, "text/plain; charset=utf-8");
}

// next: never stops the chain; the middleware's own up half still runs.
TEST(KoaModel, NextNeverShortCircuits) {
    auto const p = koa_step(
        R"({"middleware":[{"label":"a"},{"label":"gate","next":"never","before":{"do":"send","status":401}},{"label":"h","before":)" +
        json_ok + "}]}");
    EXPECT_EQ(p.trace, (labels{"a:down", "gate:down", "gate:up", "a:up"}));
    EXPECT_EQ(p.status, 401);
    EXPECT_EQ(p.body_text, "Unauthorized");
}

// koa-compose: the second next() rejects "next() called multiple times"; no :up of that middleware.
TEST(KoaModel, NextTwiceRejectsWith500AndListenerSeesIt) {
    auto const p = koa_step(
        R"({"middleware":[{"label":"o"},{"label":"t","next":"twice"},{"label":"i","before":)" +
        json_ok + R"(}],"onError":{}})");
    EXPECT_EQ(p.trace, (labels{"o:down", "t:down", "i:down", "i:up", "onError"}));
    EXPECT_EQ(p.status, 500);
    EXPECT_EQ(p.body_text, "Internal Server Error");
}

// context.js onerror: err.status when statuses knows it, else 500; the message is never exposed.
TEST(KoaModel, ErrorStatusRules) {
    EXPECT_EQ(koa_step(R"({"middleware":[{"label":"a","before":{"do":"throw","status":418}}]})")
                  .body_text,
              "I'm a teapot");
    EXPECT_EQ(
        koa_step(R"({"middleware":[{"label":"a","before":{"do":"throw","status":599}}]})").status,
        500);
    auto const enoent = koa_step(
        R"({"middleware":[{"label":"a","before":{"do":"throw","error":{"code":"ENOENT","message":"x"}}}]})");
    EXPECT_EQ(enoent.status, 404);
    EXPECT_EQ(enoent.body_text, "Not Found");
}

// An error in the downstream skips the up halves of every awaiting middleware.
TEST(KoaModel, ErrorPropagatesThroughAwaitingMiddleware) {
    auto const p = koa_step(
        R"({"middleware":[{"label":"a","after":{"do":"send","status":200}},{"label":"b","before":{"delayMs":30,"do":"throw","status":503}}],"onError":{"label":"seen"}})");
    ASSERT_TRUE(p.deterministic) << p.why;
    EXPECT_EQ(p.trace, (labels{"a:down", "b:down", "seen"}));
    EXPECT_EQ(p.status, 503);
    EXPECT_EQ(p.end_at, 3);
}

// response.js body setter: null → 204, a string starting with '<' → text/html, a Buffer →
// octet-stream.
TEST(KoaModel, PayloadKinds) {
    auto send = [](std::string const& payload) {
        return koa_step(
            R"({"middleware":[{"label":"a","before":{"do":"send","status":200,"payload":)" +
            payload + "}}]}");
    };
    EXPECT_EQ(send(R"({"kind":"json","value":null})").status, 204);
    EXPECT_EQ(send(R"({"kind":"empty"})").status, 204);
    EXPECT_EQ(send(R"({"kind":"string","value":" <p>hi</p>"})").content_type,
              "text/html; charset=utf-8");
    EXPECT_EQ(send(R"({"kind":"buffer","base64":"AAE="})").content_type,
              "application/octet-stream");
    EXPECT_EQ(send(R"({"kind":"json","value":7})").body_text, "7");
    auto const stream = send(R"({"kind":"stream","chunks":["a","b"],"chunkDelayMs":5})");
    EXPECT_EQ(stream.body_text, "ab");
    EXPECT_TRUE(stream.complete);
}

// The upper half replaces what the downstream set (after next()); the content-type the JSON
// body set stays (response.js sets a string's type only when none is set).
TEST(KoaModel, UpHalfOverridesDownstreamBody) {
    auto const p = koa_step(
        R"({"middleware":[{"label":"a","after":{"do":"send","status":202,"payload":{"kind":"string","value":"late"}}},{"label":"b","before":)" +
        json_ok + "}]}");
    EXPECT_EQ(p.status, 202);
    EXPECT_EQ(p.body_text, "late");
    EXPECT_EQ(p.content_type, "application/json; charset=utf-8");
}

// A client abort while a middleware waits: end is aborted, the onion still unwinds after it.
TEST(KoaModel, ClientAbortWhileWaiting) {
    auto const p = koa_step(
        R"({"middleware":[{"label":"a"},{"label":"h","before":{"delayMs":150,"do":"send","status":200}}]})",
        R"({"method":"GET","url":"/"})",
        R"({"abortAfterMs":50})");
    ASSERT_TRUE(p.deterministic) << p.why;
    EXPECT_TRUE(p.aborted);
    EXPECT_EQ(p.end_at, 2);
    EXPECT_EQ(p.trace, (labels{"a:down", "h:down", "h:up", "a:up"}));
}

// An abort within the race margin of a middleware timer is not decided.
TEST(KoaModel, AbortNearATimerIsNotDeterministic) {
    auto const p = koa_step(
        R"({"middleware":[{"label":"h","before":{"delayMs":55,"do":"send","status":200}}]})",
        R"({"method":"GET","url":"/"})",
        R"({"abortAfterMs":50})");
    EXPECT_FALSE(p.deterministic);
}

// The adapter refuses what Koa has no equivalent for; the model says so instead of guessing.
TEST(KoaModel, RefusedAppIsNotDeterministic) {
    auto const p = koa_step(
        R"({"middleware":[{"label":"a","before":{"do":"send","payload":{"kind":"webStream","chunks":["x"]}}}]})");
    EXPECT_FALSE(p.deterministic);
    EXPECT_NE(p.why.find("unsupported"), std::string::npos);
}

TEST(KoaModel, StatusTextIsTheStatusesPackage) {
    EXPECT_EQ(model::detail::koa_status_text(425), "Unordered Collection");
    EXPECT_EQ(model::detail::koa_status_text(299), "");
}

/// Predicts every step of a koa scenario given as JSON text.
std::vector<model::step_prediction> koa_steps(std::string const& text) {
    auto r = scenario::parse(text, "koa_model_test.json", "koa_model_test");
    if (!r.has_value()) {
        ADD_FAILURE() << "scenario does not load: " << r.error().front().json_path << ": "
                      << r.error().front().expected;
        return {};
    }
    return model::predict(r.value());
}

// Node lib/_http_server.js parserOnIncoming: a pipelined request runs at once, its response
// waits in state.outgoing until the one before it finished
// (scenarios/koa/node/pipelined-two-streams-in-order.json).
TEST(KoaModel, PipelinedResponsesArriveInOrder) {
    auto const ps = koa_steps(
        R"({"dialect":"koa","app":{"middleware":[{"label":"s","before":{"do":"send","payload":{"kind":"stream","chunks":["a","b"],"chunkDelayMs":30}}}]},
            "steps":[{"parallel":[{"id":"p1","request":{"method":"GET","url":"/"},"connection":"c"},
                                  {"id":"p2","request":{"method":"GET","url":"/"},"connection":"c"}]}]})");
    ASSERT_EQ(ps.size(), 2U);
    for (auto const& p : ps) {
        ASSERT_TRUE(p.deterministic) << p.step_id << ": " << p.why;
        EXPECT_EQ(p.trace, (labels{"s:down", "s:up"}));
        EXPECT_EQ(p.body_text, "ab");
        EXPECT_TRUE(p.complete);
        EXPECT_FALSE(p.aborted);
    }
}

// A raw step is parsed as Node's parser does; Koa never reads the body
// (scenarios/koa/node/raw-post-body-never-read.json).
TEST(KoaModel, RawStepReachesKoa) {
    auto const ps = koa_steps(
        R"({"dialect":"koa","app":{"middleware":[{"label":"h","before":{"do":"send","payload":{"kind":"string","value":"hi"}}}]},
            "steps":[{"id":"r1","raw":"POST /x HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\nabc"},
                     {"id":"r2","raw":"GET / HTTP/1.1\r\nHost: a\r\n"}]})");
    ASSERT_EQ(ps.size(), 2U);
    ASSERT_TRUE(ps[0].deterministic) << ps[0].why;
    EXPECT_EQ(ps[0].trace, (labels{"h:down", "h:up"}));
    EXPECT_EQ(ps[0].status, 200);
    EXPECT_EQ(ps[0].body_text, "hi");
    EXPECT_FALSE(ps[1].reached); // the head never ends
}

// The client stops reading after n body bytes of a slow stream and closes: end aborted, the
// body is what the first n wire bytes carried
// (scenarios/koa/node/abort-after-response-body-bytes-slow-stream.json).
TEST(KoaModel, ResponseReadLimitCutsAStream) {
    auto const p = koa_step(
        R"({"middleware":[{"label":"s","before":{"do":"send","payload":{"kind":"stream","chunks":["aaaa","bbbb"],"chunkDelayMs":200}}}]})",
        R"({"method":"GET","url":"/"})",
        R"({"abortAfterResponseBodyBytes":9})");
    ASSERT_TRUE(p.deterministic) << p.why;
    EXPECT_EQ(p.body_text, "aaaa");
    EXPECT_FALSE(p.complete);
    EXPECT_TRUE(p.aborted);
    EXPECT_EQ(p.end_at, 2);
}

// A 205 without a body goes out with no framing header (Koa strips Content-Length and
// Transfer-Encoding, Node frames only 204 and 304 as bodiless) and Node closes the connection
// after it: a request pipelined behind it is not decided
// (scenarios/koa/framing/status-205-without-body-unframed-closes.json).
TEST(KoaModel, Status205WithoutBodyClosesThePipeline) {
    auto const ps = koa_steps(
        R"({"dialect":"koa","app":{"middleware":[{"label":"r","before":{"do":"send","status":205}}]},
            "steps":[{"parallel":[{"id":"p1","request":{"method":"GET","url":"/"},"connection":"c"},
                                  {"id":"p2","request":{"method":"GET","url":"/"},"connection":"c"}]}]})");
    ASSERT_EQ(ps.size(), 2U);
    ASSERT_TRUE(ps[0].deterministic) << ps[0].why;
    EXPECT_EQ(ps[0].status, 205);
    EXPECT_FALSE(ps[1].deterministic);
    EXPECT_NE(ps[1].why.find("no framing"), std::string::npos) << ps[1].why;
}

/// Every koa scenario (recorded from real Koa 2.16.4; scenarios/koa/ and koa-suite/) is predicted
/// deterministically and agrees:
/// trace, endAt, status, body, aborted, complete, and the content-type when the file expects one.
TEST(ModelCorpus, AgreesWithEveryKoaScenario) {
    namespace fs = std::filesystem;
    fs::path const root = fs::path{LIFECHECK_SOURCE_DIR} / "scenarios";
    if (!fs::exists(root / "koa"))
        GTEST_SKIP() << "no scenarios/koa folder";
    std::string report;
    int scenarios = 0;
    int compared = 0;
    std::vector<std::filesystem::path> folders{root / "koa"};
    if (fs::exists(root / "koa-suite"))
        folders.push_back(root / "koa-suite"); // Koa's own tests, ported (docs/koa-suite.md)
    for (auto const& file : scenario::collect_files(folders)) {
        auto loaded = scenario::load_file(file, root);
        if (!loaded.has_value())
            continue; // the loader's own tests and `lifecheck validate` report invalid files
        scenario::scenario const& sc = loaded.value();
        if (sc.lang != scenario::dialect::koa)
            continue;
        ++scenarios;
        std::map<std::string, scenario::step const*> steps;
        model::test_support::collect_expected(sc.steps, steps);
        for (auto const& p : model::predict(sc)) {
            auto const it = steps.find(p.step_id);
            if (it == steps.end() || !it->second->expect)
                continue;
            if (!p.deterministic) {
                report += sc.id + " step " + p.step_id + ": not deterministic: " + p.why + "\n";
                continue;
            }
            ++compared;
            for (auto const& d : model::disagreements(p, *it->second->expect))
                report += sc.id + " step " + p.step_id + ": " + d + "\n";
            for (auto const& h : it->second->expect->headers) {
                if (h.name == "content-type" && h.value && p.content_type != h.value)
                    report += sc.id + " step " + p.step_id + ": content-type: expected " +
                              *h.value + ", model " + p.content_type.value_or("none") + "\n";
            }
        }
    }
    std::cout << "[ModelCorpus] " << scenarios << " koa scenarios, " << compared
              << " steps compared\n";
    EXPECT_GT(compared, 0);
    EXPECT_TRUE(report.empty()) << report;
}

} // namespace
