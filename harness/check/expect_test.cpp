// Tests for check_expect: each expect field of scenario-format §1.4, matching and mismatching.
#include "harness/check/expect.hpp"

#include "harness/check/test_support.hpp"

#include <gtest/gtest.h>

namespace lifecheck::check {
namespace {

using scenario::expectation;
using scenario::json;
using test_support::cb;
using test_support::end;
using test_support::observed;

request_observation simple() {
    request_observation o = observed("r1",
                                     {cb("onRequest@root", "onRequest"),
                                      cb("handler", "handler"),
                                      cb("onSend@root", "onSend"),
                                      end(200),
                                      cb("onResponse@root", "onResponse")});
    o.response.headers = {{"Content-Type", "application/json; charset=utf-8"},
                          {"Set-Cookie", "a=1"},
                          {"set-cookie", "b=2"}};
    o.response.body = R"({"ok":true,"n":[1,2]})";
    return o;
}

std::vector<finding> check(expectation const& x, request_observation const& o) {
    return check_expect(x, o);
}

TEST(Expect, EmptyExpectationHasNoFindings) {
    EXPECT_TRUE(check({}, simple()).empty());
}

TEST(Expect, StatusMatchesAndMismatches) {
    expectation x;
    x.status = 200;
    EXPECT_TRUE(check(x, simple()).empty());
    x.status = 503;
    auto const f = check(x, simple());
    ASSERT_EQ(f.size(), 1u);
    EXPECT_EQ(f[0].kind, finding_kind::status);
    EXPECT_EQ(f[0].step_id, "r1");
    EXPECT_EQ(f[0].expected, "503");
    EXPECT_EQ(f[0].actual, "200");
    EXPECT_EQ(f[0].message, "status: expected 503, got 200");
}

TEST(Expect, StatusWithoutResponseIsMismatch) {
    auto o = simple();
    o.response.got_response = false;
    expectation x;
    x.status = 200;
    auto const f = check(x, o);
    ASSERT_EQ(f.size(), 1u);
    EXPECT_EQ(f[0].actual, "no response");
}

TEST(Expect, HeaderValueIsMatchedCaseInsensitivelyByName) {
    expectation x;
    x.headers = {{"content-TYPE", "application/json; charset=utf-8"}};
    EXPECT_TRUE(check(x, simple()).empty());
    x.headers = {{"content-type", "text/plain"}};
    auto const f = check(x, simple());
    ASSERT_EQ(f.size(), 1u);
    EXPECT_EQ(f[0].kind, finding_kind::headers);
    EXPECT_EQ(f[0].actual, "application/json; charset=utf-8");
}

TEST(Expect, HeaderValueComparesCaseSensitively) {
    expectation x;
    x.headers = {{"content-type", "APPLICATION/JSON; charset=utf-8"}};
    EXPECT_EQ(check(x, simple()).size(), 1u);
}

TEST(Expect, RepeatedHeaderMatchesAnyValueOrJoined) {
    expectation x;
    x.headers = {{"set-cookie", "b=2"}};
    EXPECT_TRUE(check(x, simple()).empty());
    x.headers = {{"set-cookie", "a=1, b=2"}};
    EXPECT_TRUE(check(x, simple()).empty());
    x.headers = {{"set-cookie", "c=3"}};
    EXPECT_EQ(check(x, simple()).size(), 1u);
}

TEST(Expect, StarHeaderNeedsPresence) {
    expectation x;
    x.headers = {{"Content-Type", "*"}};
    EXPECT_TRUE(check(x, simple()).empty());
    x.headers = {{"retry-after", "*"}};
    auto const f = check(x, simple());
    ASSERT_EQ(f.size(), 1u);
    EXPECT_EQ(f[0].actual, "absent");
}

TEST(Expect, NullHeaderMustBeAbsent) {
    expectation x;
    x.headers = {{"retry-after", std::nullopt}};
    EXPECT_TRUE(check(x, simple()).empty());
    x.headers = {{"CONTENT-type", std::nullopt}};
    auto const f = check(x, simple());
    ASSERT_EQ(f.size(), 1u);
    EXPECT_EQ(f[0].expected, "absent");
}

TEST(Expect, JsonBodyIsDeepEqualIgnoringKeyOrder) {
    expectation x;
    x.body = scenario::expected_body{
        scenario::body_match::json_value, json::parse(R"({"n":[1,2.0],"ok":true})"), ""};
    EXPECT_TRUE(check(x, simple()).empty());
    x.body->value = json::parse(R"({"n":[2,1],"ok":true})");
    auto const f = check(x, simple());
    ASSERT_EQ(f.size(), 1u);
    EXPECT_EQ(f[0].kind, finding_kind::body);
}

TEST(Expect, JsonBodyMissingKeyIsMismatch) {
    expectation x;
    x.body = scenario::expected_body{
        scenario::body_match::json_value, json::parse(R"({"ok":true})"), ""};
    EXPECT_EQ(check(x, simple()).size(), 1u);
}

TEST(Expect, JsonBodyThatDoesNotParseIsMismatch) {
    auto o = simple();
    o.response.body = "not json {";
    expectation x;
    x.body = scenario::expected_body{scenario::body_match::json_value, json("not json {"), ""};
    auto const f = check(x, o);
    ASSERT_EQ(f.size(), 1u);
    EXPECT_NE(f[0].message.find("not JSON"), std::string::npos);
}

TEST(Expect, TextBodyIsExact) {
    expectation x;
    x.body = scenario::expected_body{scenario::body_match::text, {}, R"({"ok":true,"n":[1,2]})"};
    EXPECT_TRUE(check(x, simple()).empty());
    x.body->text = R"({"ok":true,"n":[1,2]} )";
    EXPECT_EQ(check(x, simple()).size(), 1u);
}

TEST(Expect, ContainsBodyIsSubstring) {
    expectation x;
    x.body = scenario::expected_body{scenario::body_match::contains, {}, "\"ok\":true"};
    EXPECT_TRUE(check(x, simple()).empty());
    x.body->text = "false";
    EXPECT_EQ(check(x, simple()).size(), 1u);
}

TEST(Expect, CompleteMatchesAndMismatches) {
    expectation x;
    x.complete = true;
    EXPECT_TRUE(check(x, simple()).empty());
    x.complete = false;
    auto const f = check(x, simple());
    ASSERT_EQ(f.size(), 1u);
    EXPECT_EQ(f[0].kind, finding_kind::complete);
    EXPECT_EQ(f[0].actual, "true");
}

TEST(Expect, ConnectionFateMatchesAndMismatches) {
    expectation x;
    x.connection = scenario::connection_fate::kept;
    EXPECT_TRUE(check(x, simple()).empty());
    auto o = simple();
    o.response.connection = scenario::connection_fate::reset;
    o.response.client_error = "ECONNRESET";
    auto const f = check(x, o);
    ASSERT_EQ(f.size(), 1u);
    EXPECT_EQ(f[0].kind, finding_kind::connection);
    EXPECT_EQ(f[0].expected, "kept");
    EXPECT_EQ(f[0].actual, "reset");
    EXPECT_NE(f[0].message.find("ECONNRESET"), std::string::npos);
}

TEST(Expect, AbortedComesFromEndEvent) {
    expectation x;
    x.aborted = false;
    EXPECT_TRUE(check(x, simple()).empty());
    x.aborted = true;
    auto f = check(x, simple());
    ASSERT_EQ(f.size(), 1u);
    EXPECT_EQ(f[0].kind, finding_kind::aborted);
    auto o = observed("r1", {cb("handler", "handler")});
    f = check(x, o);
    ASSERT_EQ(f.size(), 1u);
    EXPECT_EQ(f[0].actual, "no end");
}

TEST(Expect, ReachedFalseNeedsNoEvents) {
    expectation x;
    x.reached = false;
    auto o = observed("r1", {}, 400);
    EXPECT_TRUE(check(x, o).empty());
    auto const f = check(x, simple());
    ASSERT_EQ(f.size(), 1u);
    EXPECT_EQ(f[0].kind, finding_kind::reached);
    o = observed("r1", {end(400)}, 400); // an end alone also means it reached the framework
    EXPECT_EQ(check(x, o).size(), 1u);
}

TEST(Expect, ReachedTrueNeedsAnEvent) {
    expectation x;
    x.reached = true;
    EXPECT_TRUE(check(x, simple()).empty());
    EXPECT_EQ(check(x, observed("r1", {}, 400)).size(), 1u);
}

TEST(Expect, TraceIncludesCallbacksAfterEnd) {
    expectation x;
    x.trace =
        std::vector<std::string>{"onRequest@root", "handler", "onSend@root", "onResponse@root"};
    EXPECT_TRUE(check(x, simple()).empty());
}

TEST(Expect, TraceMismatchNamesPositionAndRendersDiff) {
    expectation x;
    x.trace = std::vector<std::string>{
        "onRequest@root", "preHandler@root", "handler", "onSend@root", "onResponse@root"};
    auto const f = check(x, simple());
    ASSERT_EQ(f.size(), 1u);
    EXPECT_EQ(f[0].kind, finding_kind::trace);
    ASSERT_TRUE(f[0].divergence);
    EXPECT_EQ(f[0].divergence->position, 1u);
    EXPECT_EQ(f[0].message, "trace differs at position 1: expected preHandler@root, got handler");
    EXPECT_NE(f[0].detail.find(">> 1  preHandler@root | handler"), std::string::npos);
    EXPECT_EQ(f[0].actual, "[onRequest@root, handler, onSend@root, onResponse@root]");
}

TEST(Expect, EndAtCountsCallbacksBeforeEnd) {
    expectation x;
    x.end_at = 3;
    EXPECT_TRUE(check(x, simple()).empty());
    x.end_at = 4;
    auto f = check(x, simple());
    ASSERT_EQ(f.size(), 1u);
    EXPECT_EQ(f[0].kind, finding_kind::end_at);
    EXPECT_EQ(f[0].actual, "3");
    f = check(x, observed("r1", {cb("handler", "handler")}));
    ASSERT_EQ(f.size(), 1u);
    EXPECT_EQ(f[0].actual, "no end");
}

TEST(Expect, SeveralMismatchesAreAllReported) {
    expectation x;
    x.status = 500;
    x.complete = false;
    x.trace = std::vector<std::string>{};
    auto const f = check(x, simple());
    ASSERT_EQ(f.size(), 3u);
    EXPECT_EQ(f[0].kind, finding_kind::status);
    EXPECT_EQ(f[1].kind, finding_kind::complete);
    EXPECT_EQ(f[2].kind, finding_kind::trace);
}

TEST(Observation, TraceAndEndPosition) {
    auto const o = simple();
    EXPECT_EQ(
        trace_of(o),
        (std::vector<std::string>{"onRequest@root", "handler", "onSend@root", "onResponse@root"}));
    EXPECT_EQ(end_position(o), 3);
    EXPECT_FALSE(end_position(observed("r", {cb("a", "onRequest")})));
    EXPECT_EQ(end_position(observed("r", {end()})), 0);
}

} // namespace
} // namespace lifecheck::check
