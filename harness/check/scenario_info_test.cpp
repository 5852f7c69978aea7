// Tests for describe_scenario and find_callback: scopes, callbacks and what each one does.
#include "harness/check/test_support.hpp"
#include "harness/check/verdict.hpp"

#include <gtest/gtest.h>

namespace lifecheck::check {
namespace {

using test_support::act;
using test_support::cb;
using test_support::end;
using test_support::observed;

/// root (onRequest, errorHandler, GET /) > v1 (/v1, rethrows, GET /x throws 503) > helpers
/// (encapsulate: false, a preHandler that acts in v1).
scenario::scenario nested() {
    scenario::scenario sc;
    sc.id = "fastify/errors/nested";
    sc.description = "nested scopes";
    sc.tags = {"errors", "scopes"};
    scenario::scope& root = sc.application.root;
    root.hooks.push_back({scenario::phase::on_request, {act("onRequest@root")}});
    root.error_handler = act("errorHandler@root", scenario::verb::send);
    scenario::route home;
    home.url = "/";
    home.handler = act("handler");
    root.routes.push_back(home);
    scenario::scope v1;
    v1.name = "v1";
    v1.prefix = "/v1";
    v1.error_handler = act("errorHandler@v1", scenario::verb::rethrow);
    scenario::route x;
    x.url = "/x";
    x.handler = act("handler", scenario::verb::throw_);
    x.handler.delay_ms = 20;
    x.handler.error = scenario::error_spec{std::nullopt, 503, std::nullopt};
    v1.routes.push_back(x);
    scenario::scope helpers;
    helpers.name = "helpers";
    helpers.encapsulate = false;
    helpers.hooks.push_back({scenario::phase::pre_handler, {act("preHandler@helpers")}});
    v1.plugins.push_back(helpers);
    root.plugins.push_back(v1);
    return sc;
}

TEST(DescribeScenario, ScopesNestAndNonEncapsulatedPluginsActInTheirParent) {
    scenario_result r;
    describe_scenario(nested(), r);
    EXPECT_EQ(r.description, "nested scopes");
    EXPECT_EQ(r.tags, (std::vector<std::string>{"errors", "scopes"}));
    EXPECT_EQ(r.dialect, "fastify");
    ASSERT_EQ(r.scopes.size(), 2u) << "helpers does not encapsulate";
    EXPECT_EQ(r.scopes[0].name, "root");
    EXPECT_EQ(r.scopes[0].parent, "");
    EXPECT_EQ(r.scopes[1].name, "v1");
    EXPECT_EQ(r.scopes[1].parent, "root");
    callback_info const* pre = find_callback(r, "preHandler@helpers", "GET /v1/x");
    ASSERT_NE(pre, nullptr);
    EXPECT_EQ(pre->phase, "preHandler");
    EXPECT_EQ(pre->scope, "v1");
    callback_info const* eh = find_callback(r, "errorHandler@v1", "GET /v1/x");
    ASSERT_NE(eh, nullptr);
    EXPECT_EQ(eh->does, "rethrow");
    EXPECT_EQ(find_callback(r, "nope", "GET /"), nullptr);
}

TEST(DescribeScenario, OpsSequenceIsTheNoteInOrder) {
    scenario::scenario sc = nested();
    scenario::action& h = sc.application.root.routes[0].handler;
    scenario::op code;
    code.kind = scenario::op_kind::code;
    code.code = 201;
    scenario::op header;
    header.kind = scenario::op_kind::header;
    header.headers = {{"x-a", "1"}};
    scenario::op send;
    send.kind = scenario::op_kind::send;
    send.body = scenario::payload{};
    send.body->kind = scenario::payload_kind::json_value;
    scenario::op thrown;
    thrown.kind = scenario::op_kind::throw_;
    thrown.body = scenario::payload{};
    thrown.body->kind = scenario::payload_kind::error;
    h.ops = std::vector<scenario::op>{code, header, send, thrown};
    h.how = scenario::style::callback;
    scenario_result r;
    describe_scenario(sc, r);
    callback_info const* c = find_callback(r, "handler", "GET /");
    ASSERT_NE(c, nullptr);
    EXPECT_EQ(c->does, "ops");
    EXPECT_EQ(c->note,
              "code 201 \xE2\x86\x92 header x-a \xE2\x86\x92 send json \xE2\x86\x92 throw "
              "error; callback style");
}

TEST(DescribeScenario, SharedHandlerLabelResolvesByTheRequestsRoute) {
    scenario_result r;
    describe_scenario(nested(), r);
    callback_info const* deep = find_callback(r, "handler", "GET /v1/x?y=1");
    ASSERT_NE(deep, nullptr);
    EXPECT_EQ(deep->scope, "v1");
    EXPECT_EQ(deep->route, "GET /v1/x");
    EXPECT_EQ(deep->does, "throw");
    EXPECT_EQ(deep->note, "delayMs 20, error 503");
    callback_info const* home = find_callback(r, "handler", "GET /");
    ASSERT_NE(home, nullptr);
    EXPECT_EQ(home->scope, "root");
    EXPECT_EQ(home->does, "continue");
}

TEST(DescribeScenario, KoaMiddlewareNestsAsAnOnion) {
    scenario::scenario sc;
    sc.lang = scenario::dialect::koa;
    scenario::middleware a;
    a.label = "a";
    a.before = act("a", scenario::verb::continue_);
    scenario::middleware b;
    b.label = "b";
    b.before = act("b", scenario::verb::throw_);
    b.next = scenario::next_mode::never;
    sc.application.koa.chain = {a, b};
    sc.application.koa.on_error = act("onError");
    scenario_result r;
    describe_scenario(sc, r);
    EXPECT_EQ(r.dialect, "koa");
    ASSERT_EQ(r.scopes.size(), 3u);
    EXPECT_EQ(r.scopes[2].name, "b");
    EXPECT_EQ(r.scopes[2].parent, "a");
    callback_info const* down = find_callback(r, "b:down", "GET /");
    ASSERT_NE(down, nullptr);
    EXPECT_EQ(down->phase, "down");
    EXPECT_EQ(down->does, "throw");
    EXPECT_EQ(down->note, "never calls next()");
    ASSERT_NE(find_callback(r, "onError", "GET /"), nullptr);
    EXPECT_EQ(find_callback(r, "onError", "GET /")->scope, "app");
}

TEST(DescribeScenario, EvaluateRecordsTheRequestAndWhatExpectWants) {
    scenario::scenario sc = nested();
    scenario::step s;
    s.id = "r1";
    s.request.url = "/v1/x";
    s.client.abort_after_ms = 50;
    scenario::expectation x;
    x.status = 503;
    x.trace = std::vector<std::string>{"onRequest@root", "handler"};
    s.expect = x;
    sc.steps.push_back(s);
    request_observation o = observed(
        "r1", {cb("onRequest@root", "onRequest"), cb("handler", "handler"), end(503)}, 503);
    o.step = &sc.steps[0];
    run_facts f;
    f.target = "reference";
    scenario_result const r = evaluate(sc, {o}, f);
    EXPECT_EQ(r.tags, sc.tags);
    EXPECT_EQ(r.callbacks.size(), 6u);
    ASSERT_EQ(r.steps.size(), 1u);
    EXPECT_EQ(r.steps[0].request, "GET /v1/x");
    EXPECT_EQ(r.steps[0].request_text.rfind("GET /v1/x HTTP/1.1\r\n", 0), 0u);
    EXPECT_EQ(r.steps[0].client, "abortAfterMs: 50");
    EXPECT_EQ(r.steps[0].expected_status, 503);
    EXPECT_EQ(r.steps[0].expected_trace, x.trace);
}

} // namespace
} // namespace lifecheck::check
