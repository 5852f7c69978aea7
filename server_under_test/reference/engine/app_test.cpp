// Tests that the built app orders hooks and binds error handlers by application time (lifecycle
// §3.2, §4.3).
#include "server_under_test/reference/engine/app.hpp"

#include "server_under_test/reference/engine/lifecycle.hpp"
#include "server_under_test/reference/engine/test_support.hpp"

#include <gtest/gtest.h>

namespace lifecheck::engine {

namespace {

std::vector<std::string> labels(hook_list const& hooks) {
    std::vector<std::string> out;
    for (auto const& h : hooks)
        out.push_back(h.act->label);
    return out;
}

} // namespace

// scenario-format §1.1: real npm packages run on real Fastify only; the target says unsupported.
TEST(BuiltApp, NpmPluginsAnywhereAreUnsupported) {
    auto const a = test_support::app_from(R"({
      "npmPlugins": [{"name": "@fastify/cors"}],
      "plugins": [{"name": "v1", "npmPlugins": [{"name": "@fastify/helmet", "version": "13"}]}]})");
    auto const why = unsupported(a, scenario::dialect::fastify);
    ASSERT_TRUE(why.has_value());
    EXPECT_EQ(*why,
              "npmPlugins (@fastify/cors, @fastify/helmet): real npm packages run on real "
              "Fastify only");
    loop l;
    EXPECT_EQ(make_server(a, scenario::dialect::fastify, l, [](event const&) {}), nullptr);
    EXPECT_FALSE(unsupported(test_support::app_from(R"({"plugins": [{"name": "v1"}]})"),
                             scenario::dialect::fastify));
}

// fastify-lifecycle §3.2 (verified on fastify 5.12.8, probe e02): order follows application time.
TEST(BuiltApp, HookOrderFollowsApplicationTimeNotTreeDepth) {
    auto const a = test_support::app_from(R"({
      "hooks": {"onRequest": [{"label": "R0"}]},
      "plugins": [{"name": "child", "hooks": {"onRequest": [{"label": "C0"}]},
        "plugins": [
          {"name": "F", "encapsulate": false, "hooks": {"onRequest": [{"label": "F"}]}},
          {"name": "grand", "hooks": {"onRequest": [{"label": "G0"}]},
           "routes": [{"method": "GET", "url": "/g", "handler": {},
                       "hooks": {"onRequest": [{"label": "route#0"}, {"label": "route#1"}]}}]}],
        "late": {"hooks": {"onRequest": [{"label": "C1"}]}}}],
      "late": {"hooks": {"onRequest": [{"label": "R1"}]}}})");
    built_app const app{a};
    context const& ctx = app.route("GET", "/g");
    ASSERT_FALSE(ctx.is_not_found);
    EXPECT_EQ(labels(ctx.of(phase::on_request)),
              (std::vector<std::string>{"R0", "C0", "F", "G0", "C1", "R1", "route#0", "route#1"}));
}

// fastify-lifecycle §4.3 (e16): a root handler set after register(child) is the child's parent;
// after `await register(child)` it is not. (`await` loads everything queued before it too, so the
// awaited plugin comes first here.)
TEST(BuiltApp, ErrorHandlerChainIsBoundWhenSet) {
    auto const a = test_support::app_from(R"({
      "plugins": [
        {"name": "eager", "await": true, "errorHandler": {"do": "rethrow"},
         "routes": [{"method": "GET", "url": "/eager", "handler": {"do": "throw"}}]},
        {"name": "lazy", "errorHandler": {"do": "rethrow"},
         "routes": [{"method": "GET", "url": "/lazy", "handler": {"do": "throw"}}]}],
      "late": {"errorHandler": {"do": "send", "payload": {"kind": "string", "value": "root"}}}})");
    built_app const app{a};
    auto const* lazy = app.route("GET", "/lazy").error_handler;
    auto const* eager = app.route("GET", "/eager").error_handler;
    ASSERT_NE(lazy, nullptr);
    ASSERT_NE(eager, nullptr);
    EXPECT_EQ(lazy->scope, "lazy");
    ASSERT_NE(lazy->parent, nullptr);
    EXPECT_EQ(lazy->parent->scope, "root");
    ASSERT_NE(lazy->parent->act, nullptr); // the custom root handler
    ASSERT_NE(eager->parent, nullptr);
    EXPECT_EQ(eager->parent->act, nullptr); // straight to Fastify's default handler
}

// fastify-lifecycle §10: a prefixed plugin without its own not-found handler does not own its 404s.
TEST(BuiltApp, NotFoundBelongsToTheLongestPrefixThatSetAHandler) {
    auto const a = test_support::app_from(R"({
      "plugins": [
        {"name": "v1", "prefix": "/v1", "hooks": {"onRequest": [{"label": "v1"}]}},
        {"name": "v2", "prefix": "/v2", "hooks": {"onRequest": [{"label": "v2"}]},
         "notFoundHandler": {"do": "send", "status": 404}}]})");
    built_app const app{a};
    EXPECT_TRUE(labels(app.route("GET", "/v1/nope").of(phase::on_request)).empty());
    EXPECT_EQ(labels(app.route("GET", "/v2/nope").of(phase::on_request)),
              (std::vector<std::string>{"v2"}));
    EXPECT_TRUE(app.route("POST", "/v2").is_not_found);
}

// fastify-lifecycle §10, lib/four-oh-four.js: a not-found handler under a prefix ending in '/'
// owns "/v1/*" and "/v1/" (scenarios/fastify/scopes/not-found-under-slash-prefix.json).
TEST(BuiltApp, NotFoundUnderPrefixEndingInSlashOwnsItsSubtree) {
    auto const a = test_support::app_from(R"({
      "notFoundHandler": {"label": "nf@root"},
      "plugins": [
        {"name": "v1", "prefix": "/v1/", "notFoundHandler": {"label": "nf@v1"}}]})");
    built_app const app{a};
    EXPECT_EQ(app.route("GET", "/v1/nope").handler->label, "nf@v1");
    EXPECT_EQ(app.route("GET", "/v1/").handler->label, "nf@v1");
    EXPECT_EQ(app.route("GET", "/v1").handler->label, "nf@root");
    EXPECT_EQ(app.route("GET", "/v1x").handler->label, "nf@root");
}

// Fastify 5.12.8 probes (inject under nested register({prefix}), default options): the paths
// that answer 200 for a route, and for the HEAD twin of a GET route.
TEST(RoutePaths, FollowFastifyRouteJs) {
    using paths = std::vector<std::string>;
    EXPECT_EQ(join_prefix("", "/v1"), "/v1");
    EXPECT_EQ(join_prefix("", "v1"), "/v1");
    EXPECT_EQ(join_prefix("/a/", "/b"), "/a/b");
    EXPECT_EQ(join_prefix("/a", "b/"), "/a/b/");
    EXPECT_EQ(join_prefix("/a/", "/"), "/a/");
    EXPECT_EQ(join_prefix("/a", ""), "/a");

    EXPECT_EQ(route_paths("", "/", "GET"), (paths{"/"}));
    EXPECT_EQ(route_paths("", "/x/", "GET"), (paths{"/x/"}));
    EXPECT_EQ(route_paths("/v1", "/", "GET"), (paths{"/v1", "/v1/"}));
    EXPECT_EQ(route_paths("/v1", "/", "HEAD"), (paths{"/v1/"}));
    EXPECT_EQ(route_paths("/v1", "/x", "GET"), (paths{"/v1/x"}));
    EXPECT_EQ(route_paths("/v1", "", "GET"), (paths{"/v1"}));
    EXPECT_EQ(route_paths("/v1/", "/", "GET"), (paths{"/v1/", "/v1//"}));
    EXPECT_EQ(route_paths("/v1/", "/x", "GET"), (paths{"/v1/x"}));
    EXPECT_EQ(route_paths("/v1/", "", "GET"), (paths{"/v1/"}));
    EXPECT_EQ(route_paths("/", "/", "GET"), (paths{"/", "//"}));

    EXPECT_EQ(route_paths("/v1", "/", "GET", true), (paths{"/v1", "/v1/"}));
    EXPECT_EQ(route_paths("/v1/", "/", "GET", true), (paths{"/v1/"})) << "no HEAD /v1//";
    EXPECT_EQ(route_paths("/", "/", "GET", true), (paths{"/"}));
    EXPECT_EQ(route_paths("/v1/", "/x", "GET", true), (paths{"/v1/x"}));

    EXPECT_TRUE(not_found_matches("/", "/x"));
    EXPECT_TRUE(not_found_matches("/v1", "/v1"));
    EXPECT_TRUE(not_found_matches("/v1", "/v1/x"));
    EXPECT_FALSE(not_found_matches("/v1", "/v1x"));
    EXPECT_FALSE(not_found_matches("/v1/", "/v1"));
    EXPECT_TRUE(not_found_matches("/v1/", "/v1/"));
    EXPECT_TRUE(not_found_matches("/v1/", "/v1//"));
    EXPECT_TRUE(not_found_matches("/v1/", "/v1/x/y"));
}

TEST(PathMatch, ParamsWildcardsAndStatics) {
    EXPECT_TRUE(path_matches("/items/:id", "/items/42"));
    EXPECT_FALSE(path_matches("/items/:id", "/items/"));
    EXPECT_FALSE(path_matches("/items/:id", "/items/4/x"));
    EXPECT_TRUE(path_matches("/v1/*", "/v1/a/b"));
    EXPECT_TRUE(path_matches("/v1", "/v1"));
    EXPECT_FALSE(path_matches("/v1", "/v1/"));
}

} // namespace lifecheck::engine
