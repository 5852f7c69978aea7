// Tests decoding and encoding of target protocol messages, including lines that are not messages.
#include "harness/protocol/messages.hpp"

#include <gtest/gtest.h>

namespace lifecheck::protocol {
namespace {

TEST(Messages, ParsesCallbackEvent) {
    auto const e = parse_event(
        R"({"t":"cb","req":"r1","label":"onSend@root","phase":"onSend","scope":"root"})");
    ASSERT_TRUE(e.has_value());
    EXPECT_EQ(e->type, event_type::cb);
    EXPECT_EQ(e->req, "r1");
    EXPECT_EQ(e->label, "onSend@root");
    EXPECT_EQ(e->phase, "onSend");
    EXPECT_EQ(e->scope, "root");
}

TEST(Messages, ParsesEndReadyHelloUnsupportedClosed) {
    auto const end = parse_event(R"({"t":"end","req":"a","status":503,"aborted":true})");
    ASSERT_TRUE(end.has_value());
    EXPECT_EQ(end->type, event_type::end);
    EXPECT_EQ(end->status, 503);
    EXPECT_TRUE(end->aborted);

    auto const ready = parse_event(R"({"t":"ready","port":40123})");
    ASSERT_TRUE(ready.has_value());
    EXPECT_EQ(ready->port, 40123);

    auto const hello = parse_event(
        R"({"t":"hello","target":"fastify","version":"5.12.8","dialects":["fastify","koa"],"features":["x"]})");
    ASSERT_TRUE(hello.has_value());
    EXPECT_EQ(hello->target, "fastify");
    EXPECT_EQ(hello->version, "5.12.8");
    EXPECT_EQ(hello->dialects, (std::vector<std::string>{"fastify", "koa"}));

    auto const un = parse_event(R"({"t":"unsupported","what":"webStream"})");
    ASSERT_TRUE(un.has_value());
    EXPECT_EQ(un->type, event_type::unsupported);
    EXPECT_EQ(un->what, "webStream");

    auto const closed = parse_event(R"({"t":"closed"})");
    ASSERT_TRUE(closed.has_value());
    EXPECT_EQ(closed->type, event_type::closed);

    // scenario-format §3 (v2.2): the target cannot build the app where it runs.
    auto const load_error = parse_event(R"({"t":"loadError","what":"npm plugin 'x' is missing"})");
    ASSERT_TRUE(load_error.has_value());
    EXPECT_EQ(load_error->type, event_type::load_error);
    EXPECT_EQ(load_error->what, "npm plugin 'x' is missing");
    EXPECT_EQ(encode(*load_error), R"({"t":"loadError","what":"npm plugin 'x' is missing"})");
}

TEST(Messages, KeepsUnknownFieldsAndTypes) {
    auto const e = parse_event(R"({"t":"end","req":"r","status":200,"aborted":false,"ms":3})");
    ASSERT_TRUE(e.has_value());
    EXPECT_EQ(e->raw.at("ms"), 3);
    auto const other = parse_event(R"({"t":"log","msg":"hi"})");
    ASSERT_TRUE(other.has_value());
    EXPECT_EQ(other->type, event_type::other);
    EXPECT_EQ(other->raw.at("msg"), "hi");
}

TEST(Messages, AcceptsNumericRequestIdsAndMissingAborted) {
    auto const e = parse_event(R"({"t":"end","req":7,"status":200})");
    ASSERT_TRUE(e.has_value());
    EXPECT_EQ(e->req, "7");
    EXPECT_FALSE(e->aborted);
}

TEST(Messages, BadLinesBecomeDiagnosticsNamingThePath) {
    struct bad_case {
        char const* line;
        char const* path;
    };

    bad_case const cases[] = {
        {"not json", "$"},
        {"[1,2]", "$"},
        {R"({"x":1})", "$.t"},
        {R"({"t":"cb","label":"x"})", "$.req"},
        {R"({"t":"cb","req":"r"})", "$.label"},
        {R"({"t":"end","req":"r"})", "$.status"},
        {R"({"t":"end","req":"r","status":200,"aborted":"no"})", "$.aborted"},
        {R"({"t":"ready","port":0})", "$.port"},
        {R"({"t":"ready","port":70000})", "$.port"},
        {R"({"t":"ready"})", "$.port"},
    };
    for (auto const& c : cases) {
        SCOPED_TRACE(c.line);
        auto const e = parse_event(c.line);
        ASSERT_FALSE(e.has_value());
        ASSERT_EQ(e.error().size(), 1u);
        EXPECT_EQ(e.error()[0].file, "<target>");
        EXPECT_EQ(e.error()[0].json_path, c.path);
        EXPECT_FALSE(e.error()[0].expected.empty());
    }
}

TEST(Messages, EncodeRoundTrips) {
    event e;
    e.type = event_type::cb;
    e.req = "r1";
    e.label = "preHandler@v1#1";
    e.phase = "preHandler";
    e.scope = "v1";
    auto const back = parse_event(encode(e));
    ASSERT_TRUE(back.has_value());
    EXPECT_EQ(back->label, e.label);
    EXPECT_EQ(back->scope, "v1");

    event end;
    end.type = event_type::end;
    end.req = "r1";
    end.status = 418;
    end.aborted = true;
    EXPECT_EQ(encode(end), R"({"t":"end","req":"r1","status":418,"aborted":true})");
}

TEST(Messages, CommandsAreOneLineOfJson) {
    scenario::json const app = {{"routes", scenario::json::array()}};
    std::string const load = load_command("fastify/hooks/x", app, scenario::dialect::fastify);
    EXPECT_EQ(
        load,
        R"({"cmd":"load","scenario":"fastify/hooks/x","app":{"routes":[]},"dialect":"fastify"})");
    EXPECT_EQ(load.find('\n'), std::string::npos);
    EXPECT_EQ(load_command("k", app, scenario::dialect::koa).find(R"("dialect":"koa")") !=
                  std::string::npos,
              true);
    EXPECT_EQ(close_command(), R"({"cmd":"close"})");
    EXPECT_EQ(exit_command(), R"({"cmd":"exit"})");
}

} // namespace
} // namespace lifecheck::protocol
