// Request data against what Node 20 and Fastify 5.12.8 give: fast-querystring's parse,
// find-my-way's params, Node's req.headers folding, and `x++` (scenario-format §1.13).
#include "server_under_test/reference/engine/request_data.hpp"

#include <gtest/gtest.h>

#include <string>

namespace lifecheck::engine {
namespace {

TEST(RequestData, QueryStringAsFastQuerystringParsesIt) {
    // require('fast-querystring').parse('b=1&a=x+y&a=%41%42&flag&bad=%zz&=e&c=d=e')
    EXPECT_EQ(js_stringify(query_object("b=1&a=x+y&a=%41%42&flag&bad=%zz&=e&c=d=e")),
              R"({"b":"1","a":["x y","AB"],"flag":"","bad":"%zz","":"e","c":"d=e"})");
    EXPECT_EQ(js_stringify(query_object("k=%E2%9C%93&bad=%C3")), R"({"k":"✓","bad":"%C3"})");
    EXPECT_EQ(query_string_of("/a?b=1#x"), "b=1#x");
    EXPECT_EQ(query_string_of("/a"), "");
}

TEST(RequestData, ParamsOfThePattern) {
    EXPECT_EQ(js_stringify(params_object("/v1/items/:id/:part", "/v1/items/42/a%20b")),
              R"({"id":"42","part":"a b"})");
    EXPECT_EQ(js_stringify(params_object("/files/*", "/files/a/b")), R"({"*":"a/b"})");
    EXPECT_EQ(js_stringify(params_object("/*", "/")), R"({"*":""})");
    EXPECT_EQ(js_stringify(params_object("/plain", "/plain")), "{}");
}

TEST(RequestData, HeadersFoldedAsNodeFoldsThem) {
    scenario::header_list const h{{"Host", "127.0.0.1"},
                                  {"X-A", "1"},
                                  {"x-a", "2"},
                                  {"Cookie", "a=1"},
                                  {"cookie", "b=2"},
                                  {"set-cookie", "s=1"},
                                  {"Set-Cookie", "s=2"},
                                  {"content-type", "text/plain"},
                                  {"Content-Type", "application/json"}};
    EXPECT_EQ(js_stringify(headers_object(h)),
              R"({"host":"127.0.0.1","x-a":"1, 2","cookie":"a=1; b=2",)"
              R"("set-cookie":["s=1","s=2"],"content-type":"text/plain"})");
}

TEST(RequestData, IncrementFollowsToNumber) {
    auto inc = [](value v) {
        return json_of(incremented(v));
    };
    EXPECT_EQ(inc(value{}), "null"); // NaN
    value null_v;
    null_v.k = value::kind::json;
    null_v.js = nullptr;
    EXPECT_EQ(inc(null_v), "1");
    value t;
    t.k = value::kind::json;
    t.js = true;
    EXPECT_EQ(inc(t), "2");
    value n;
    n.k = value::kind::json;
    n.js = 41.5;
    EXPECT_EQ(inc(n), "42.5");
    EXPECT_EQ(inc(value::of_string(" 41 ")), "42");
    EXPECT_EQ(inc(value::of_string("0x10")), "17");
    EXPECT_EQ(inc(value::of_string("")), "1");
    EXPECT_EQ(inc(value::of_string("4a")), "null");
    EXPECT_EQ(inc(value::of_string("1e3")), "1001");
}

} // namespace
} // namespace lifecheck::engine
