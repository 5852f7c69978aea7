// Tests of default trace labels (scenario-format §2, decisions.md D1), through the loader and
// directly.
#include "harness/trace/label.hpp"

#include "harness/scenario/load.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace lifecheck::trace {
namespace {

using scenario::phase;

scenario::app load_app(std::string const& app, std::string const& dialect = "fastify") {
    std::string const doc =
        R"({"dialect":")" + dialect + R"(","app":)" + app + R"(,"steps":[{"sleepMs":0}]})";
    auto r = scenario::parse(doc, "<test>", "test");
    if (!r.has_value()) {
        std::string why;
        for (auto const& d : r.error())
            why += describe(d) + "\n";
        ADD_FAILURE() << why;
        return {};
    }
    return r.value().application;
}

std::vector<std::string> labels_of(std::vector<scenario::action> const& actions) {
    std::vector<std::string> out;
    for (auto const& a : actions)
        out.push_back(a.label);
    return out;
}

TEST(HookLabel, SingleHookHasNoIndex) {
    EXPECT_EQ(hook_label(phase::on_request, "root", 0, 1), "onRequest@root");
    EXPECT_EQ(hook_label(phase::on_request_abort, "v1", 0, 1), "onRequestAbort@v1");
}

TEST(HookLabel, SeveralHooksAreNumberedFromZero) {
    EXPECT_EQ(hook_label(phase::pre_handler, "v1", 0, 2), "preHandler@v1#0");
    EXPECT_EQ(hook_label(phase::pre_handler, "v1", 1, 2), "preHandler@v1#1");
    EXPECT_EQ(hook_label(phase::on_close, "root", 2, 3), "onClose@root#2");
}

TEST(AssignLabels, ScopeHooksUsePhaseAndScope) {
    auto const app = load_app(R"({"hooks":{"onRequest":[{}],"onSend":[{},{}]},
        "plugins":[{"name":"v1","hooks":{"onRequest":[{}],"onReady":[{}]}}]})");
    EXPECT_EQ(labels_of(app.root.hooks[0].second), (std::vector<std::string>{"onRequest@root"}));
    EXPECT_EQ(labels_of(app.root.hooks[1].second),
              (std::vector<std::string>{"onSend@root#0", "onSend@root#1"}));
    EXPECT_EQ(labels_of(app.root.plugins[0].hooks[0].second),
              (std::vector<std::string>{"onRequest@v1"}));
    EXPECT_EQ(labels_of(app.root.plugins[0].hooks[1].second),
              (std::vector<std::string>{"onReady@v1"}));
}

TEST(AssignLabels, LateHooksContinueTheScopeCount) {
    // D1: `hooks` first, then `late.hooks`; a single early hook gets #0 once late ones exist.
    auto const app = load_app(R"({"hooks":{"preHandler":[{}]},
        "late":{"hooks":{"preHandler":[{},{}],"onError":[{}]}}})");
    EXPECT_EQ(labels_of(app.root.hooks[0].second), (std::vector<std::string>{"preHandler@root#0"}));
    EXPECT_EQ(labels_of(app.root.late->hooks[0].second),
              (std::vector<std::string>{"preHandler@root#1", "preHandler@root#2"}));
    EXPECT_EQ(labels_of(app.root.late->hooks[1].second),
              (std::vector<std::string>{"onError@root"}));
}

TEST(AssignLabels, RouteHooksAreCountedPerRoute) {
    auto const app = load_app(R"({"hooks":{"preHandler":[{}]},"routes":[
        {"url":"/a","handler":{},"hooks":{"preHandler":[{},{}],"onSend":[{}]}},
        {"url":"/b","handler":{},"hooks":{"preHandler":[{}]}}]})");
    auto const& a = app.root.routes[0];
    EXPECT_EQ(labels_of(a.hooks[0].second),
              (std::vector<std::string>{"preHandler@route#0", "preHandler@route#1"}));
    EXPECT_EQ(labels_of(a.hooks[1].second), (std::vector<std::string>{"onSend@route"}));
    EXPECT_EQ(labels_of(app.root.routes[1].hooks[0].second),
              (std::vector<std::string>{"preHandler@route"}));
    // Route hooks do not count towards the scope's #N.
    EXPECT_EQ(labels_of(app.root.hooks[0].second), (std::vector<std::string>{"preHandler@root"}));
}

TEST(AssignLabels, HandlersAndErrorHandlers) {
    auto const app = load_app(R"({"errorHandler":{},"notFoundHandler":{},
        "routes":[{"url":"/","handler":{}}],
        "plugins":[{"name":"v1","errorHandler":{"do":"rethrow"},"notFoundHandler":{},
                    "routes":[{"url":"/x","handler":{}}],"late":{"errorHandler":{}}}]})");
    EXPECT_EQ(app.root.error_handler->label, "errorHandler@root");
    EXPECT_EQ(app.root.not_found_handler->label, "notFound@root");
    EXPECT_EQ(app.root.routes[0].handler.label, "handler");
    auto const& v1 = app.root.plugins[0];
    EXPECT_EQ(v1.error_handler->label, "errorHandler@v1");
    EXPECT_EQ(v1.not_found_handler->label, "notFound@v1");
    EXPECT_EQ(v1.routes[0].handler.label, "handler");
    EXPECT_EQ(v1.late->error_handler->label, "errorHandler@v1");
}

TEST(AssignLabels, GivenLabelsAreKeptAndStillCount) {
    auto const app = load_app(R"({"hooks":{"onSend":[{"label":"first"},{}]},
        "routes":[{"url":"/","handler":{"label":"h"},"hooks":{"onRequest":[{"label":"r"}]}}],
        "errorHandler":{"label":"eh"}})");
    EXPECT_EQ(labels_of(app.root.hooks[0].second),
              (std::vector<std::string>{"first", "onSend@root#1"}));
    EXPECT_TRUE(app.root.hooks[0].second[0].label_given);
    EXPECT_FALSE(app.root.hooks[0].second[1].label_given);
    EXPECT_EQ(app.root.routes[0].handler.label, "h");
    EXPECT_EQ(app.root.routes[0].hooks[0].second[0].label, "r");
    EXPECT_EQ(app.root.error_handler->label, "eh");
}

TEST(AssignLabels, NonEncapsulatedPluginsUseTheirOwnName) {
    auto const app = load_app(R"({"plugins":[{"name":"shim","encapsulate":false,
        "hooks":{"onRequest":[{}]}}]})");
    EXPECT_EQ(app.root.plugins[0].hooks[0].second[0].label, "onRequest@shim");
}

TEST(AssignLabels, KoaLabelsOnlyTheErrorListener) {
    auto const app = load_app(R"({"middleware":[{"label":"auth","before":{},"after":{}}],
        "onError":{}})",
                              "koa");
    ASSERT_EQ(app.koa.chain.size(), 1u);
    EXPECT_EQ(app.koa.chain[0].label, "auth");
    EXPECT_EQ(app.koa.chain[0].before->label, "");
    EXPECT_EQ(app.koa.chain[0].after->label, "");
    EXPECT_EQ(app.koa.on_error->label, "onError");
}

TEST(AssignLabels, IsIdempotentAndRepeatsOnBuiltApps) {
    scenario::app app;
    scenario::action a;
    app.root.hooks.push_back({phase::on_request, {a, a}});
    app.root.late = scenario::late_entries{};
    app.root.late->hooks.push_back({phase::on_request, {a}});
    assign_labels(app, scenario::dialect::fastify);
    assign_labels(app, scenario::dialect::fastify);
    EXPECT_EQ(labels_of(app.root.hooks[0].second),
              (std::vector<std::string>{"onRequest@root#0", "onRequest@root#1"}));
    EXPECT_EQ(labels_of(app.root.late->hooks[0].second),
              (std::vector<std::string>{"onRequest@root#2"}));
}

} // namespace
} // namespace lifecheck::trace
