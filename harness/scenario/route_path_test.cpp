// Tests the harness's route path rule against a table probed on real Fastify 5.12.8 (inject
// requests under nested register({prefix}) calls, default options).
#include "harness/scenario/route_path.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace lifecheck::scenario {

namespace {

using paths = std::vector<std::string>;

} // namespace

TEST(RoutePath, JoinPrefixPutsExactlyOneSlashBetween) {
    EXPECT_EQ(join_prefix("", "/v1"), "/v1");
    EXPECT_EQ(join_prefix("", "v1"), "/v1");
    EXPECT_EQ(join_prefix("", "/"), "/");
    EXPECT_EQ(join_prefix("/a", "/b"), "/a/b");
    EXPECT_EQ(join_prefix("/a/", "/b"), "/a/b");
    EXPECT_EQ(join_prefix("/a", "b/"), "/a/b/");
    EXPECT_EQ(join_prefix("/a/", "/b/"), "/a/b/");
    EXPECT_EQ(join_prefix("/a", "/"), "/a/");
    EXPECT_EQ(join_prefix("/a/", "/"), "/a/");
    EXPECT_EQ(join_prefix("/a", ""), "/a");
}

// Probe: GET requests answered 200 by a route declared under the prefix.
TEST(RoutePath, RoutePathsFollowFastifyRouteJs) {
    struct row {
        char const* prefix;
        char const* url;
        char const* method;
        paths want;
    };

    std::vector<row> const table{
        {"", "/", "GET", {"/"}},
        {"", "/x", "GET", {"/x"}},
        {"", "/x/", "GET", {"/x/"}},
        {"/v1", "/", "GET", {"/v1", "/v1/"}},
        {"/v1", "/", "POST", {"/v1", "/v1/"}},
        {"/v1", "/", "HEAD", {"/v1/"}},
        {"/v1", "/x", "GET", {"/v1/x"}},
        {"/v1", "/x/", "GET", {"/v1/x/"}},
        {"/v1", "", "GET", {"/v1"}},
        {"/v1/", "/", "GET", {"/v1/", "/v1//"}},
        {"/v1/", "/", "HEAD", {"/v1/"}},
        {"/v1/", "/x", "GET", {"/v1/x"}},
        {"/v1/", "/x/", "GET", {"/v1/x/"}},
        {"/v1/", "", "GET", {"/v1/"}},
        {"/", "/", "GET", {"/", "//"}},
        {"/", "/x", "GET", {"/x"}},
        {"/", "", "GET", {"/"}},
        {"/a/b/", "/", "GET", {"/a/b/", "/a/b//"}},
        {"/v1", "/:id", "GET", {"/v1/:id"}},
        {"/v1/", "/*", "GET", {"/v1/*"}},
    };
    for (row const& r : table) {
        SCOPED_TRACE(::testing::Message()
                     << r.method << " '" << r.url << "' under '" << r.prefix << "'");
        EXPECT_EQ(route_paths(r.prefix, r.url, r.method), r.want);
    }
}

// Probe: HEAD requests answered 200 by a GET route declared under the prefix.
TEST(RoutePath, HeadTwinOfGetRoute) {
    EXPECT_EQ(head_route_paths("", "/"), (paths{"/"}));
    EXPECT_EQ(head_route_paths("/v1", "/"), (paths{"/v1", "/v1/"}));
    EXPECT_EQ(head_route_paths("/v1/", "/"), (paths{"/v1/"})) << "no HEAD /v1//";
    EXPECT_EQ(head_route_paths("/", "/"), (paths{"/"})) << "no HEAD //";
    EXPECT_EQ(head_route_paths("/v1/", "/x"), (paths{"/v1/x"}));
    EXPECT_EQ(head_route_paths("/v1", ""), (paths{"/v1"}));
    EXPECT_EQ(head_route_paths("/v1/", ""), (paths{"/v1/"}));
    EXPECT_EQ(head_route_paths("/a/b/", "/"), (paths{"/a/b/"}));
}

// Probe: which of root's and the plugin's not-found handlers answers a GET request.
TEST(RoutePath, NotFoundPrefixOwnsItsSubtree) {
    EXPECT_EQ(not_found_prefix(""), "/");
    EXPECT_EQ(not_found_prefix("/v1/"), "/v1/");

    EXPECT_TRUE(not_found_matches("/", "/anything"));
    EXPECT_TRUE(not_found_matches("/v1", "/v1"));
    EXPECT_TRUE(not_found_matches("/v1", "/v1/"));
    EXPECT_TRUE(not_found_matches("/v1", "/v1//"));
    EXPECT_TRUE(not_found_matches("/v1", "/v1/x/y"));
    EXPECT_FALSE(not_found_matches("/v1", "/v1x"));
    EXPECT_FALSE(not_found_matches("/v1", "/"));

    EXPECT_FALSE(not_found_matches("/v1/", "/v1")) << "root's handler answers /v1";
    EXPECT_TRUE(not_found_matches("/v1/", "/v1/"));
    EXPECT_TRUE(not_found_matches("/v1/", "/v1//"));
    EXPECT_TRUE(not_found_matches("/v1/", "/v1/x"));
    EXPECT_TRUE(not_found_matches("/v1/", "/v1/x/y"));
    EXPECT_FALSE(not_found_matches("/v1/", "/v1x"));

    // nested /v1/ > /b/: /v1/b is still /v1/'s (the longest matching prefix wins elsewhere)
    EXPECT_FALSE(not_found_matches("/v1/b/", "/v1/b"));
    EXPECT_TRUE(not_found_matches("/v1/b/", "/v1/b/x"));
}

} // namespace lifecheck::scenario
