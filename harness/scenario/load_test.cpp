// Tests of the scenario loader: bad-input diagnostics (table-driven), round trips, wire bytes, ids.
#include "harness/scenario/load.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

namespace lifecheck::scenario {
namespace {

namespace fs = std::filesystem;

fs::path const testdata = fs::path{LIFECHECK_SOURCE_DIR} / "harness/scenario/testdata";

std::string read_text(fs::path const& p) {
    std::ifstream in{p, std::ios::binary};
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
}

std::vector<fs::path> files_in(fs::path const& dir, std::string const& ext) {
    std::vector<fs::path> out;
    for (auto const& e : fs::directory_iterator{dir})
        if (e.path().extension() == ext)
            out.push_back(e.path());
    std::sort(out.begin(), out.end());
    return out;
}

std::string describe_all(diagnostics const& ds) {
    std::string out;
    for (auto const& d : ds)
        out += describe(d) + "\n";
    return out;
}

/// Loads a scenario from text, failing the test with every diagnostic if it does not load.
scenario load_ok(std::string const& text) {
    auto r = parse(text, "<test>", "test");
    if (!r.has_value()) {
        ADD_FAILURE() << describe_all(r.error());
        return {};
    }
    return std::move(r).value();
}

/// The diagnostics for text that must not load.
diagnostics load_bad(std::string const& text) {
    auto r = parse(text, "<test>", "test");
    if (r.has_value()) {
        ADD_FAILURE() << "loaded, but should not have:\n" << text;
        return {};
    }
    return r.error();
}

std::string with_app(std::string const& app, std::string const& steps = R"([{"sleepMs":0}])") {
    return R"({"description":"t","app":)" + app + R"(,"steps":)" + steps + "}";
}

//------------------------------------------------------------------------------------------------
// Bad inputs: each testdata/bad/NAME.json has NAME.expected, the lines describe() prints.
// LIFECHECK_UPDATE_GOLDEN=1 rewrites the .expected files (review the diff before committing).

TEST(LoadBad, EveryFixtureGivesExactlyItsExpectedDiagnostics) {
    auto const files = files_in(testdata / "bad", ".json");
    ASSERT_GE(files.size(), 15u);
    bool const update = std::getenv("LIFECHECK_UPDATE_GOLDEN") != nullptr;
    for (fs::path const& file : files) {
        SCOPED_TRACE(file.filename().string());
        std::string const shown_name = "bad/" + file.filename().string();
        auto const r = parse(read_text(file), shown_name, file.stem().string());
        ASSERT_FALSE(r.has_value()) << "a bad fixture loaded";
        std::string const actual = describe_all(r.error());
        fs::path expected_file = file;
        expected_file.replace_extension(".expected");
        if (update) {
            std::ofstream{expected_file, std::ios::binary} << actual;
            continue;
        }
        ASSERT_TRUE(fs::exists(expected_file)) << expected_file;
        EXPECT_EQ(read_text(expected_file), actual);
    }
}

TEST(LoadBad, EveryExpectedFileHasAFixture) {
    for (fs::path const& e : files_in(testdata / "bad", ".expected")) {
        fs::path json_file = e;
        json_file.replace_extension(".json");
        EXPECT_TRUE(fs::exists(json_file)) << e;
    }
}

TEST(LoadBad, SyntaxErrorNamesLineAndColumn) {
    auto const ds = load_bad("{\n  \"app\": {},\n  \"steps\": [1,,2]\n}");
    ASSERT_EQ(ds.size(), 1u);
    EXPECT_EQ(ds[0].json_path, "line 3, column 15");
    EXPECT_EQ(ds[0].expected, "valid JSON");
    EXPECT_NE(ds[0].got.find("unexpected ','"), std::string::npos) << ds[0].got;
}

TEST(LoadBad, EmptyTextIsASyntaxErrorAtLineOne) {
    auto const ds = load_bad("");
    ASSERT_EQ(ds.size(), 1u);
    EXPECT_EQ(ds[0].json_path, "line 1, column 1");
}

TEST(LoadBad, InvalidUtf8IsASyntaxError) {
    auto const ds = load_bad("{\"description\": \"\xff\"}");
    ASSERT_EQ(ds.size(), 1u);
    EXPECT_EQ(ds[0].expected, "valid JSON");
}

TEST(LoadBad, DeepNestingIsRejectedNotRecursedInto) {
    std::string deep(5000, '[');
    deep += std::string(5000, ']');
    std::string const text = with_app(
        R"({"routes":[{"url":"/","handler":{"payload":{"kind":"json","value":)" + deep + "}}}]}");
    auto const ds = load_bad(text);
    ASSERT_EQ(ds.size(), 1u);
    // Six levels open before `deep`; its 123rd bracket is the 129th level.
    std::size_t const column = text.find(deep) + 123;
    EXPECT_EQ(ds[0].json_path, "line 1, column " + std::to_string(column));
    EXPECT_EQ(ds[0].expected, "JSON nested at most 128 levels deep");
}

TEST(LoadBad, DeepNestingIsRejectedByFromJsonToo) {
    json deep = json::array();
    for (int i = 0; i < 200; ++i)
        deep = json::array({deep});
    json doc = json::parse(with_app("{}"));
    doc["tags"] = deep;
    auto const r = from_json(doc, "<load>", "x");
    ASSERT_FALSE(r.has_value());
    EXPECT_EQ(r.error()[0].json_path, "$");
    EXPECT_EQ(r.error()[0].expected, "JSON nested at most 128 levels deep");
}

TEST(LoadBad, BracketsInsideStringsDoNotCountAsNesting) {
    std::string const brackets(300, '[');
    scenario const s = load_ok(with_app(R"({"routes":[{"url":"/","handler":{"payload":)"
                                        R"({"kind":"string","value":"\\\")" +
                                        brackets + R"("}}}]})"));
    EXPECT_EQ(s.application.root.routes[0].handler.body->bytes, "\\\"" + brackets);
}

TEST(LoadBad, GotIsTruncatedAtACharacterBoundary) {
    std::string const long_value(200, 'x');
    auto const ds = load_bad(R"({"app":{},"steps":[{"sleepMs":0}],"description":")" + long_value +
                             R"(","dialect":"€€€€€€€€€€€€€€€€€€€€€€€€€€€€€€€€€€€€€€"})");
    ASSERT_EQ(ds.size(), 1u);
    EXPECT_EQ(ds[0].json_path, "$.dialect");
    EXPECT_LE(ds[0].got.size(), 60u);
    EXPECT_EQ(ds[0].got.substr(ds[0].got.size() - 3), "...");
    // Whole euro signs only (3 bytes each) between the quote and the ellipsis.
    EXPECT_EQ((ds[0].got.size() - 4) % 3, 0u) << ds[0].got;
}

TEST(LoadBad, MissingFileIsADiagnosticNotAnException) {
    auto const r = load_file(testdata / "does-not-exist.json");
    ASSERT_FALSE(r.has_value());
    ASSERT_EQ(r.error().size(), 1u);
    EXPECT_EQ(r.error()[0].expected, "a readable scenario file");
    EXPECT_EQ(r.error()[0].got, "No such file or directory");
}

TEST(LoadBad, FromJsonReportsLikeParse) {
    json doc = json::parse(with_app(R"({"hooks":{"onSend":[{"do":"sned"}]}})"));
    auto const r = from_json(doc, "<load>", "x");
    ASSERT_FALSE(r.has_value());
    ASSERT_EQ(r.error().size(), 1u);
    EXPECT_EQ(describe(r.error()[0]),
              "<load>: $.app.hooks.onSend[0].do: expected one of continue, throw, rethrow, send, "
              "sendThenContinue, hang, replacePayload, hijack, got \"sned\" (did you mean "
              "\"send\"?)");
}

//------------------------------------------------------------------------------------------------
// Good inputs.

TEST(LoadGood, EveryFixtureLoads) {
    auto const files = files_in(testdata / "good", ".json");
    ASSERT_GE(files.size(), 3u);
    for (fs::path const& file : files) {
        auto const r = load_file(file);
        EXPECT_TRUE(r.has_value()) << file << "\n" << (r ? "" : describe_all(r.error()));
    }
}

TEST(LoadGood, ToJsonThenParseGivesTheSameScenario) {
    for (fs::path const& file : files_in(testdata / "good", ".json")) {
        SCOPED_TRACE(file.filename().string());
        auto const first = load_file(file);
        ASSERT_TRUE(first.has_value());
        json const written = to_json(*first);
        auto const second = parse(written.dump(2), first->file, first->id);
        ASSERT_TRUE(second.has_value()) << describe_all(second.error()) << written.dump(2);
        EXPECT_EQ(to_json(*second), written);
        // to_json writes every field, so equal JSON means equal scenarios; spot-check anyway.
        EXPECT_EQ(second->steps.size(), first->steps.size());
        EXPECT_EQ(second->divergences.size(), first->divergences.size());
        EXPECT_EQ(app_to_json(second->application, second->lang),
                  app_to_json(first->application, first->lang));
    }
}

TEST(LoadGood, ParseReadsPackedRoutesAsFromJsonReadsObjects) {
    // parse() keeps each route packed until it is read (detail::packed_route, issue 19);
    // from_json() reads the objects. Both must give the same scenario, to the last number.
    std::vector<std::string> texts;
    for (fs::path const& file : files_in(testdata / "good", ".json"))
        texts.push_back(read_text(file));
    texts.push_back(with_app(R"({"routes": [{"method": "post", "url": "/a", "handler": {
        "do": "send", "payload": {"kind": "json", "value": {"z": 1.5e-7, "a": [-1, 18446744073709551615,
        "\u00e9\u20ac", null, {"b": true, "a": 0.1}]}}}, "hooks": {"preHandler": [{}]}}],
        "plugins": [{"name": "p", "prefix": "/p", "routes": [{"url": "/", "handler": {}}],
            "plugins": [{"name": "q", "routes": [{"url": "/q", "handler": {"label": "h"}}]}]}]})"));
    for (std::string const& text : texts) {
        auto const parsed = parse(text, "<t>", "t");
        auto const built = from_json(json::parse(text), "<t>", "t");
        ASSERT_TRUE(parsed.has_value()) << describe_all(parsed.error()) << text;
        ASSERT_TRUE(built.has_value()) << describe_all(built.error());
        EXPECT_EQ(to_json(*parsed).dump(), to_json(*built).dump());
        EXPECT_EQ(app_to_json(parsed->application, parsed->lang).dump(),
                  app_to_json(built->application, built->lang).dump());
    }
    // Diagnostics inside packed routes keep their paths, the first declaration's too.
    std::string const bad = with_app(R"({"routes": [{"url": "/x", "handler": {}},
        {"url": "/x", "handler": {"do": "sned"}, "hoks": {}}],
        "plugins": [{"name": "p", "routes": [{"url": "/", "handler": {}, "handler": {}}]}]})");
    auto const parsed = parse(bad, "<t>", "t");
    auto const built = from_json(json::parse(bad), "<t>", "t");
    ASSERT_FALSE(parsed.has_value());
    ASSERT_FALSE(built.has_value());
    EXPECT_EQ(describe_all(parsed.error()),
              "<t>: $.app.plugins[0].routes[0].handler: expected each key at most once in an "
              "object, got \"handler\"\n" +
                  describe_all(built.error()));
    EXPECT_NE(describe_all(built.error())
                  .find("<t>: $.app.routes[1]: expected a route not "
                        "declared before (GET /x is also at "
                        "$.app.routes[0])"),
              std::string::npos)
        << describe_all(built.error());
}

TEST(LoadGood, RichFastifyFixtureReadsEveryField) {
    auto const r = load_file(testdata / "good/fastify-rich.json");
    ASSERT_TRUE(r.has_value()) << describe_all(r.error());
    scenario const& s = *r;
    EXPECT_EQ(s.id, "fastify-rich");
    EXPECT_EQ(s.lang, dialect::fastify);
    EXPECT_EQ(s.tags, (std::vector<std::string>{"loader", "rich"}));
    scope const& root = s.application.root;
    ASSERT_EQ(root.npm_plugins.size(), 2u);
    EXPECT_EQ(root.npm_plugins[0].name, "@fastify/cors");
    EXPECT_EQ(root.npm_plugins[0].version, "11");
    EXPECT_EQ(root.npm_plugins[0].options.dump(),
              R"({"origin":"*","maxAge":60,"methods":["GET"]})");
    EXPECT_EQ(root.npm_plugins[1].name, "/opt/my-plugin");
    EXPECT_FALSE(root.npm_plugins[1].version);
    EXPECT_TRUE(root.npm_plugins[1].options.empty());
    ASSERT_EQ(root.hooks.size(), 4u);
    EXPECT_EQ(root.hooks[0].first, phase::on_request);
    EXPECT_EQ(root.hooks[1].first, phase::on_send);
    EXPECT_EQ(root.hooks[2].first, phase::on_ready);
    EXPECT_EQ(root.hooks[0].second[1].how, style::callback);
    EXPECT_EQ(root.hooks[0].second[1].delay_ms, 5);
    EXPECT_EQ(root.hooks[1].second[0].what, verb::replace_payload);
    ASSERT_TRUE(root.hooks[2].second[0].set);
    EXPECT_EQ(root.hooks[2].second[0].set->flag, "ready");
    EXPECT_TRUE(root.hooks[2].second[0].set->value);
    // Header values may be numbers in the file; they are kept as their decimal text, in order.
    ASSERT_TRUE(root.error_handler);
    EXPECT_EQ(root.error_handler->headers, (header_list{{"x-err", "1"}, {"retry-after", "5"}}));
    ASSERT_EQ(root.routes.size(), 8u);
    EXPECT_EQ(root.routes[2].method, "GET"); // the default
    payload const& buf = *root.routes[1].handler.body;
    EXPECT_EQ(buf.kind, payload_kind::buffer);
    EXPECT_EQ(buf.bytes, std::string("\x00\x01\x02\xff", 4));
    payload const& stream = *root.routes[2].handler.body;
    EXPECT_EQ(stream.chunks, (std::vector<std::string>{"a", "b", "c"}));
    EXPECT_EQ(stream.chunk_delay_ms, 10);
    EXPECT_EQ(stream.fail_after_chunks, 2);
    payload const& resp = *root.routes[4].handler.body;
    EXPECT_EQ(resp.kind, payload_kind::response);
    EXPECT_EQ(resp.status, 201);
    EXPECT_EQ(resp.shared, "r");
    ASSERT_TRUE(resp.body);
    EXPECT_EQ(resp.body->kind, payload_kind::web_stream);
    EXPECT_TRUE(resp.body->locked);
    ASSERT_TRUE(root.routes[5].handler.body->body);
    EXPECT_EQ(root.routes[5].handler.body->body->bytes, "once");
    ASSERT_EQ(root.plugins.size(), 2u);
    scope const& v1 = root.plugins[0];
    EXPECT_EQ(v1.prefix, "/v1");
    EXPECT_TRUE(v1.await_register);
    ASSERT_EQ(v1.npm_plugins.size(), 1u);
    EXPECT_EQ(v1.npm_plugins[0].version, "1.0.0-rc.1");
    // Tree order: the root's entries, then each plugin's.
    auto const all = npm_plugins_in(root);
    ASSERT_EQ(all.size(), 3u);
    EXPECT_EQ(all[2]->name, "fastify-plugin-x");
    ASSERT_TRUE(v1.routes[0].handler.error);
    EXPECT_EQ(v1.routes[0].handler.error->status_code, 418);
    EXPECT_EQ(v1.routes[0].handler.error->code, "E_TEA");
    EXPECT_FALSE(v1.plugins[0].encapsulate);
    ASSERT_TRUE(v1.late);
    EXPECT_EQ(v1.late->hooks[0].second.size(), 2u);
    ASSERT_TRUE(v1.late->error_handler);
    EXPECT_EQ(s.application.options.connection_timeout_ms, 100);
    EXPECT_EQ(s.application.options.request_timeout_ms, 200);
    EXPECT_EQ(s.application.options.body_limit, 64);
    EXPECT_FALSE(s.application.options.return503_on_closing);
    ASSERT_EQ(s.divergences.size(), 2u);
    EXPECT_EQ(s.divergences[0].target, "fastify@5.12");
    EXPECT_EQ(s.divergences[0].cls, divergence_class::framework_bug);
    EXPECT_EQ(s.divergences[0].result, "crash");
    EXPECT_FALSE(s.divergences[1].result);
}

TEST(LoadGood, StepsFixtureReadsEveryStepKind) {
    auto const r = load_file(testdata / "good/steps.json");
    ASSERT_TRUE(r.has_value()) << describe_all(r.error());
    auto const& steps = r->steps;
    ASSERT_EQ(steps.size(), 6u);
    EXPECT_EQ(steps[0].kind, step_kind::request);
    EXPECT_EQ(steps[0].connection, "c1");
    EXPECT_EQ(steps[0].request.headers,
              (header_list{{"content-type", "application/json"}, {"x-n", "42"}, {"x-neg", "-1"}}));
    EXPECT_TRUE(steps[0].request.chunked);
    EXPECT_EQ(steps[0].client.bytes_per_write, 3);
    ASSERT_TRUE(steps[0].expect);
    expectation const& e = *steps[0].expect;
    EXPECT_EQ(e.status, 200);
    ASSERT_EQ(e.headers.size(), 3u);
    EXPECT_EQ(e.headers[0].value, "*");
    EXPECT_FALSE(e.headers[1].value); // null: must be absent
    EXPECT_EQ(e.headers[2].value, "7");
    ASSERT_TRUE(e.body);
    EXPECT_EQ(e.body->how, body_match::json_value);
    EXPECT_EQ(e.body->value, json::parse(R"({"a":1})"));
    EXPECT_EQ(e.connection, connection_fate::kept);
    EXPECT_EQ(e.end_at, 1);
    EXPECT_EQ(steps[0].json_path, "$.steps[0]");

    EXPECT_EQ(steps[1].kind, step_kind::parallel);
    ASSERT_EQ(steps[1].children.size(), 4u);
    EXPECT_EQ(steps[1].children[0].request.body, std::string("\xff\x00\x01", 3));
    EXPECT_EQ(steps[1].children[0].json_path, "$.steps[1].parallel[0]");
    EXPECT_EQ(steps[1].children[1].request.body, "");
    EXPECT_EQ(steps[1].children[2].kind, step_kind::raw);
    EXPECT_EQ(steps[1].children[2].raw, "GET / HTTP/1.1\r\nHost: x\r\n\r\n");
    EXPECT_EQ(steps[1].children[2].client.abort_after_request_bytes, 5);
    EXPECT_EQ(steps[1].children[3].id, ""); // raw steps may go without an id
    EXPECT_EQ(steps[2].kind, step_kind::sleep);
    EXPECT_EQ(steps[2].sleep_ms, 100);
    EXPECT_TRUE(steps[3].client.expect_no_response);
    EXPECT_EQ(steps[3].client.abort_after_ms, 50);
    EXPECT_EQ(steps[4].client.abort_after_response_bytes, 0);
    EXPECT_EQ(steps[5].kind, step_kind::close);
    ASSERT_TRUE(steps[5].expect && steps[5].expect->trace);
    EXPECT_EQ(steps[5].expect->trace->size(), 2u);
    ASSERT_EQ(r->divergences.size(), 1u);
    EXPECT_EQ(r->divergences[0].cls, divergence_class::doc_gap);
}

TEST(LoadGood, NonUtf8BodyIsWrittenBackAsBase64) {
    auto const r = load_file(testdata / "good/steps.json");
    ASSERT_TRUE(r.has_value());
    json const written = to_json(*r);
    json const& req = written["steps"][1]["parallel"][0]["request"];
    EXPECT_FALSE(req.contains("body"));
    EXPECT_EQ(req["bodyBase64"], "/wAB");
    EXPECT_EQ(written["steps"][0]["request"]["body"], "{\"a\":1}");
}

TEST(LoadGood, KoaFixtureReadsTheChain) {
    auto const r = load_file(testdata / "good/koa.json");
    ASSERT_TRUE(r.has_value()) << describe_all(r.error());
    EXPECT_EQ(r->lang, dialect::koa);
    auto const& chain = r->application.koa.chain;
    ASSERT_EQ(chain.size(), 4u);
    EXPECT_EQ(chain[0].label, "auth");
    ASSERT_TRUE(chain[0].before && chain[0].before->when);
    EXPECT_FALSE(chain[0].before->when->is);
    EXPECT_EQ(chain[0].next, next_mode::once);
    EXPECT_EQ(chain[1].next, next_mode::twice);
    EXPECT_EQ(chain[2].next, next_mode::never);
    ASSERT_TRUE(r->application.koa.on_error);
    EXPECT_EQ(r->application.koa.on_error->label, "listener");
}

// v2.3 (scenario-format §1.7): koa ops and a middleware's catch are read and written back as
// they were given.
TEST(LoadGood, KoaOpsAndCatchRoundTrip) {
    std::string const app =
        R"({"middleware":[{"label":"errors","catch":{"ops":[{"ctx.status":"err"},)"
        R"({"ctx.body":"err.message"},{"ctx.app.emit":true},{"rethrow":true}]},)"
        R"("after":{"ops":[{"ctx.status":201},{"ctx.body":{"kind":"string","value":"x"}}]}},)"
        R"({"label":"db","before":{"ops":[{"set":{"flag":"f","value":true}},)"
        R"({"await":5},{"ctx.assert":{"value":true,"status":401}},)"
        R"({"ctx.throw":{"status":418,"message":"m","props":{"expose":false,"code":"E"}}}]},)"
        R"("next":"twice","catch":{}},)"
        R"({"label":"c","before":{"ops":[{"throw":{"kind":"json","value":null}}]}}]})";
    scenario const s =
        load_ok(R"({"dialect":"koa","app":)" + app + R"(,"steps":[{"id":"r1","request":{}}]})");
    auto const& chain = s.application.koa.chain;
    ASSERT_EQ(chain.size(), 3u);
    ASSERT_TRUE(chain[0].on_catch && chain[0].on_catch->ops);
    EXPECT_EQ(chain[0].on_catch->ops->size(), 4u);
    EXPECT_TRUE(chain[0].on_catch->ops->at(0).from_error);
    EXPECT_EQ(chain[0].on_catch->ops->at(3).kind, op_kind::rethrow);
    ASSERT_TRUE(chain[1].on_catch);
    EXPECT_FALSE(chain[1].on_catch->ops);
    op const& t = chain[1].before->ops->at(3);
    EXPECT_EQ(t.kind, op_kind::ctx_throw);
    EXPECT_EQ(t.status, 418);
    EXPECT_EQ(t.message, "m");
    EXPECT_EQ(to_json(s)["app"].dump(), json::parse(app).dump());
}

// v2.6 (scenario-format §1.12): callNotFound and hijack ops, a scope's notFoundOptions (labelled
// PHASE@notFound@SCOPE), read and written back as given.
TEST(LoadGood, NotFoundOptionsAndOpsRoundTrip) {
    std::string const app =
        R"({"notFoundHandler":{"style":"callback","ops":[{"callNotFound":true}]},)"
        R"("notFoundOptions":{"preValidation":[{},{}],"preHandler":[{"ops":[{"hijack":true}]}],)"
        R"("errorHandler":{"do":"rethrow"}},)"
        R"("routes":[{"method":"GET","url":"/","handler":{"ops":[{"callNotFound":true}]},)"
        R"("hooks":{"preHandler":[{"ops":[{"hijack":true},{"callNotFound":true}]}]}}]})";
    scenario const s = load_ok(R"({"app":)" + app + R"(,"steps":[{"id":"r1","request":{}}]})");
    auto const& nf = s.application.root.not_found_hooks;
    ASSERT_EQ(nf.size(), 2u);
    EXPECT_EQ(nf[0].second.at(1).label, "preValidation@notFound@root#1");
    EXPECT_EQ(nf[1].second.at(0).label, "preHandler@notFound@root");
    EXPECT_EQ(nf[1].second.at(0).ops->at(0).kind, op_kind::hijack);
    EXPECT_EQ(s.application.root.routes.at(0).handler.ops->at(0).kind, op_kind::call_not_found);
    ASSERT_TRUE(s.application.root.not_found_error_handler);
    EXPECT_EQ(s.application.root.not_found_error_handler->label, "errorHandler@notFound@root");
    EXPECT_EQ(to_json(s)["app"].dump(), json::parse(app).dump());
}

// v2.4 (scenario-format §1.7): Koa's response API; ctx.set/append keep the values as Koa
// stringifies them, and every op is written back as given.
TEST(LoadGood, KoaResponseOpsRoundTrip) {
    std::string const app =
        R"({"middleware":[{"label":"r","before":{"ops":[{"ctx.set":["x-a",["b",-3]]},)"
        R"({"ctx.append":["x-a",7]},{"ctx.remove":"x-b"},{"ctx.type":"json"},{"ctx.length":4},)"
        R"({"ctx.message":"fine"},{"ctx.redirect":"https://example.com"},)"
        R"({"ctx.attachment":"a/b.png"},{"ctx.attachment":null},{"ctx.flushHeaders":true},)"
        R"({"ctx.status":9999}]}}]})";
    scenario const s =
        load_ok(R"({"dialect":"koa","app":)" + app + R"(,"steps":[{"id":"r1","request":{}}]})");
    auto const& ops = *s.application.koa.chain.at(0).before->ops;
    ASSERT_EQ(ops.size(), 11u);
    EXPECT_EQ(ops[0].kind, op_kind::ctx_set);
    EXPECT_EQ(ops[0].name, "x-a");
    EXPECT_TRUE(ops[0].array);
    EXPECT_EQ(ops[0].values, (std::vector<std::string>{"b", "-3"}));
    EXPECT_EQ(ops[1].values, (std::vector<std::string>{"7"}));
    EXPECT_FALSE(ops[1].array);
    EXPECT_EQ(ops[4].code.get<int>(), 4);
    EXPECT_EQ(ops[10].code.get<int>(), 9999);
    EXPECT_EQ(to_json(s)["app"].dump(), json::parse(app).dump());
}

// v2.6 (scenario-format §1.10): ctx.throw's argument lists, ctx.set(object) and the values Koa
// stringifies, redirect back, raw control; every op is written back as given.
TEST(LoadGood, KoaV26OpsRoundTrip) {
    std::string const app =
        R"({"middleware":[{"label":"r","before":{"ops":[)"
        R"({"ctx.set":{"foo":"1","bar":{"kind":"undefined"},"baz":[true,null]}},)"
        R"({"ctx.status":"forbidden"},{"ctx.redirect":"back"},{"ctx.redirect":{"back":"/home"}},)"
        R"({"ctx.respond":false},{"ctx.res.statusCode":201},{"ctx.res.setHeader":["x-a","1"]},)"
        R"({"ctx.res.write":"a"},{"ctx.res.end":null},)"
        R"({"ctx.throw":{"args":[{"error":{"message":"m","status":-1}},422,"x",)"
        R"({"props":{"status":-1,"code":"E"}}]}}]}}]})";
    scenario const s = load_ok(R"({"dialect":"koa","app":)" + app +
                               R"(,"steps":[{"id":"r1","request":{"headers":)"
                               R"({"referer":"//evil.example/x/"}}}]})");
    auto const& ops = *s.application.koa.chain.at(0).before->ops;
    ASSERT_EQ(ops.size(), 10u);
    EXPECT_EQ(ops[0].headers,
              (header_list{{"foo", "1"}, {"bar", "undefined"}, {"baz", "true, null"}}));
    EXPECT_EQ(ops[1].code, json("forbidden"));
    EXPECT_EQ(ops[4].kind, op_kind::ctx_respond);
    EXPECT_EQ(ops[5].code.get<int>(), 201);
    EXPECT_EQ(ops[6].name, "x-a");
    EXPECT_EQ(ops[9].kind, op_kind::ctx_throw);
    EXPECT_EQ(ops[9].arg.size(), 4u);
    EXPECT_EQ(to_json(s)["app"].dump(), json::parse(app).dump());
}

TEST(LoadGood, ToJsonOmitsDefaultsAndKeepsGivenLabelsOnly) {
    scenario const s = load_ok(with_app(
        R"({"hooks":{"onRequest":[{"style":"async","do":"continue"},{"label":"mine"}]},
            "routes":[{"method":"GET","url":"/","handler":{}}],
            "options":{"bodyLimit":1048576}})"));
    json const app = to_json(s)["app"];
    EXPECT_EQ(app.dump(),
              R"({"hooks":{"onRequest":[{},{"label":"mine"}]},)"
              R"("routes":[{"method":"GET","url":"/","handler":{}}]})");
}

// v2.6 (scenario-format §1.9): `sync` in the three phases hooks.js runs, read and written back.
TEST(LoadGood, SyncStyleInApplicationHooksRoundTrips) {
    scenario const s = load_ok(with_app(
        R"({"hooks":{"onReady":[{"style":"sync"}],"onListen":[{"style":"sync","do":"throw"}],
            "preClose":[{"style":"sync","set":{"flag":"f","value":true}}]}})"));
    ASSERT_EQ(s.application.root.hooks.size(), 3u);
    for (auto const& [ph, list] : s.application.root.hooks)
        EXPECT_EQ(list.at(0).how, style::sync) << to_string(ph);
    json const app = to_json(s)["app"];
    EXPECT_EQ(
        app.dump(),
        R"({"hooks":{"onReady":[{"style":"sync"}],"onListen":[{"style":"sync","do":"throw"}],)"
        R"("preClose":[{"style":"sync","set":{"flag":"f","value":true}}]}})");
}

TEST(LoadGood, AppToJsonCarriesEveryLabelAndLoadsAgain) {
    auto const r = load_file(testdata / "good/fastify-rich.json");
    ASSERT_TRUE(r.has_value());
    json const app = app_to_json(r->application, r->lang);
    EXPECT_EQ(app["hooks"]["onRequest"][0]["label"], "onRequest@root#0");
    EXPECT_EQ(app["routes"][0]["handler"]["label"], "handler");
    EXPECT_EQ(app["notFoundHandler"]["label"], "custom404");
    EXPECT_EQ(app["plugins"][0]["late"]["errorHandler"]["label"], "errorHandler@v1");
    // npm plugins come first (registered first, §1.1 step 0), their options as written.
    EXPECT_EQ(app.begin().key(), "npmPlugins");
    EXPECT_EQ(app["npmPlugins"][0].dump(),
              R"({"name":"@fastify/cors","version":"11",)"
              R"("options":{"origin":"*","maxAge":60,"methods":["GET"]}})");
    EXPECT_EQ(app["npmPlugins"][1].dump(), R"({"name":"/opt/my-plugin"})");
    // What a target receives in `load` is itself a valid app (the reference re-reads it).
    json doc = {{"description", "x"}, {"app", app}, {"steps", json::array({{{"sleepMs", 0}}})}};
    auto const again = from_json(doc, "<load>", "x");
    ASSERT_TRUE(again.has_value()) << describe_all(again.error());
    EXPECT_EQ(app_to_json(again->application, again->lang), app);
}

TEST(LoadGood, KoaAppToJsonLabelsOnlyTheListener) {
    scenario const s = load_ok(
        R"({"dialect":"koa","app":{"middleware":[{"label":"m","before":{}}],"onError":{}},
            "steps":[{"sleepMs":0}]})");
    json const app = app_to_json(s.application, s.lang);
    EXPECT_EQ(app.dump(),
              R"({"middleware":[{"label":"m","before":{}}],"onError":{"label":"onError"}})");
}

TEST(LoadGood, DialectDefaultsToFastifyAndDescriptionIsOptional) {
    scenario const s = load_ok(R"({"app":{},"steps":[{"sleepMs":0}]})");
    EXPECT_EQ(s.lang, dialect::fastify);
    EXPECT_EQ(s.description, "");
    EXPECT_EQ(s.id, "test");
    EXPECT_EQ(s.file, "<test>");
}

TEST(LoadGood, RouteMethodsAreFastifysInAnyCaseAndReadInUpperCase) {
    // Fastify 5.12.8 upper-cases a route's method before it checks it (lib/route.js
    // normalizeAndValidateMethod): `get` routes GET, so the loader takes it too (decisions.md
    // D34) and stores it upper case, so parse(to_json(s)) == s still holds.
    scenario const s = load_ok(with_app(R"({"routes":[{"method":"get","url":"/a","handler":{}},
        {"method":"Query","url":"/b","handler":{}}, {"url":"/c","handler":{}}]})"));
    ASSERT_EQ(s.application.root.routes.size(), 3u);
    EXPECT_EQ(s.application.root.routes[0].method, "GET");
    EXPECT_EQ(s.application.root.routes[1].method, "QUERY");
    EXPECT_EQ(s.application.root.routes[2].method, "GET");
    EXPECT_EQ(to_json(s)["app"]["routes"][0]["method"], "GET");
    // `get /x` and `GET /x` are one route declared twice: Fastify refuses the second.
    auto const twice = load_bad(with_app(R"({"routes":[{"method":"get","url":"/x","handler":{}},
        {"method":"GET","url":"/x","handler":{}}]})"));
    ASSERT_EQ(twice.size(), 1u);
    EXPECT_EQ(twice[0].json_path, "$.app.routes[1]");
    // A request's method is any token: a client may send GETT or get (Node answers 400).
    load_ok(with_app("{}", R"([{"id":"a","request":{"method":"get","url":"*"}},
        {"id":"b","request":{"method":"GETT"}}])"));
}

TEST(LoadBad, RouteMethodFastifyRefusesAtStartIsNamedWithTheNearestMethod) {
    // Issue 19: `GETT` passed validate, then real Fastify refused the app at start (CRASH).
    auto const ds = load_bad(with_app(R"({"routes":[{"method":"GETT","url":"/","handler":{}}]})"));
    ASSERT_EQ(ds.size(), 1u);
    EXPECT_EQ(describe(ds[0]),
              "<test>: $.app.routes[0].method: expected a route method Fastify 5.12.8 accepts "
              "(any case): GET, HEAD, TRACE, DELETE, OPTIONS, PATCH, PUT, POST, QUERY, got "
              "\"GETT\" (did you mean \"GET\"?)");
    // WebDAV methods (Fastify 4 took them) and CONNECT are refused with no near name.
    for (char const* m : {"PROPFIND", "CONNECT", "SEARCH"}) {
        auto const far = load_bad(with_app(R"({"routes":[{"method":")" + std::string{m} +
                                           R"(","url":"/","handler":{}}]})"));
        ASSERT_EQ(far.size(), 1u) << m;
        EXPECT_EQ(far[0].json_path, "$.app.routes[0].method");
        EXPECT_EQ(far[0].got.find("did you mean"), std::string::npos) << far[0].got;
    }
}

TEST(LoadBad, HeadRouteAfterAGetRouteOfThePathIsRefusedAsFastifyDoes) {
    // Fastify 5.12.8 (exposeHeadRoutes) adds a HEAD route beside every GET route; a HEAD route
    // declared after it throws FST_ERR_DUPLICATED_ROUTE at start, one declared before is taken.
    auto const ds = load_bad(with_app(R"({"routes": [{"url": "/x", "handler": {}}],
        "plugins": [{"name": "v1", "prefix": "/v1", "routes": [{"url": "/", "handler": {}}]},
                    {"name": "p", "routes": [{"method": "HEAD", "url": "/x", "handler": {}},
                                             {"method": "HEAD", "url": "/v1", "handler": {}}]}]})"));
    ASSERT_EQ(ds.size(), 2u) << describe_all(ds);
    EXPECT_EQ(describe(ds[0]),
              "<test>: $.app.plugins[1].routes[0]: expected a route not declared before (HEAD /x "
              "is also at $.app.routes[0], the HEAD route Fastify adds for its GET), got "
              "\"HEAD /x\"");
    EXPECT_EQ(ds[1].json_path, "$.app.plugins[1].routes[1]");
    load_ok(with_app(R"({"routes": [{"method": "HEAD", "url": "/x", "handler": {}},
                                    {"url": "/x", "handler": {}}]})"));
}

/// One misspelled name and the name the diagnostic must suggest.
struct misspelling {
    std::string text;
    char const* path;
    char const* suggestion;
};

TEST(LoadBad, EveryMisspelledNameGetsADidYouMean) {
    std::vector<misspelling> const cases = {
        {R"({"description":"t","dialect":"koaa","app":{},"steps":[{"sleepMs":0}]})",
         "$.dialect",
         "koa"},
        {R"({"description":"t","app":{},"stesp":[{"sleepMs":0}],"steps":[{"sleepMs":0}]})",
         "$.stesp",
         "steps"},
        {with_app(R"({"hooks":{"onRequst":[]}})"), "$.app.hooks.onRequst", "onRequest"},
        {with_app(R"({"routes":[{"url":"/","handler":{},"hooks":{"preHandlr":[]}}]})"),
         "$.app.routes[0].hooks.preHandlr",
         "preHandler"},
        {with_app(R"({"hooks":{"onSend":[{"do":"sned"}]}})"), "$.app.hooks.onSend[0].do", "send"},
        {with_app(R"({"hooks":{"onSend":[{"dealyMs":1}]}})"),
         "$.app.hooks.onSend[0].dealyMs",
         "delayMs"},
        {with_app(R"({"errorHandler":{"style":"asyn"}})"), "$.app.errorHandler.style", "async"},
        {with_app(R"({"errorHandler":{"do":"send","payload":{"kind":"jsno"}}})"),
         "$.app.errorHandler.payload.kind",
         "json"},
        {with_app(R"({"options":{"bodylimit":1}})"), "$.app.options.bodylimit", "bodyLimit"},
        {with_app(R"({"routes":[{"url":"/","handler":{},"hoks":{}}]})"),
         "$.app.routes[0].hoks",
         "hooks"},
        {with_app("{}", R"([{"id":"a","requset":{}}])"), "$.steps[0]", "request"},
        {with_app("{}", R"([{"id":"a","request":{},"client":{"abortAfterMS":1}}])"),
         "$.steps[0].client.abortAfterMS",
         "abortAfterMs"},
        {with_app("{}", R"([{"id":"a","request":{},"expect":{"staus":200}}])"),
         "$.steps[0].expect.staus",
         "status"},
        {with_app("{}", R"([{"id":"a","request":{},"expect":{"connection":"kep"}}])"),
         "$.steps[0].expect.connection",
         "kept"},
        {R"({"dialect":"koa","app":{"middleware":[{"label":"a","next":"twise"}]},"steps":[{"sleepMs":0}]})",
         "$.app.middleware[0].next",
         "twice"},
        {R"({"app":{},"steps":[{"sleepMs":0}],"divergence":{"target":"fastify","class":"framework-bugs","note":"n"}})",
         "$.divergence.class",
         "framework-bug"},
        {R"({"app":{},"steps":[{"sleepMs":0}],"divergence":{"target":"fastify","class":"doc-gap","note":"n","result":"crsh"}})",
         "$.divergence.result",
         "crash"},
    };
    for (misspelling const& c : cases) {
        SCOPED_TRACE(c.path);
        auto const ds = load_bad(c.text);
        ASSERT_EQ(ds.size(), 1u) << describe_all(ds);
        EXPECT_EQ(ds[0].json_path, c.path);
        std::string const hint = std::string{" (did you mean \""} + c.suggestion + "\"?)";
        EXPECT_TRUE(describe(ds[0]).ends_with(hint)) << describe(ds[0]);
    }
}

//------------------------------------------------------------------------------------------------
// Trace labels an app cannot produce (scenario-format §2, decisions.md D34).

std::string const labelled_app = R"({
    "hooks": {"onRequest": [{}], "onSend": [{}, {"label": "audit"}], "onClose": [{}],
              "onReady": [{}]},
    "errorHandler": {},
    "routes": [{"url": "/", "handler": {}, "hooks": {"preHandler": [{}]}}],
    "plugins": [{"name": "v1", "prefix": "/v1", "notFoundHandler": {},
                 "hooks": {"preHandler": [{}]}, "late": {"hooks": {"preHandler": [{}]}}}]})";

TEST(LoadGood, EveryLabelTheAppHasMayBeExpected) {
    load_ok(with_app(labelled_app, R"([
        {"id": "a", "request": {"url": "/"}, "expect": {"trace": ["onReady@root",
            "onRequest@root", "preHandler@route", "handler", "onSend@root#0", "audit",
            "errorHandler@root"]}},
        {"parallel": [{"id": "b", "request": {"url": "/v1/x"},
            "expect": {"trace": ["preHandler@v1#0", "preHandler@v1#1", "notFound@v1"]}}]},
        {"close": true, "expect": {"trace": ["onClose@root"]}}])"));
    // onReady belongs to the first step of any kind but sleep (run::observe).
    load_ok(with_app(labelled_app,
                     R"([{"sleepMs": 1}, {"close": true, "expect": {"trace": ["onReady@root",
                         "onClose@root"]}}])"));
    load_ok(R"({"dialect": "koa", "app": {"middleware": [{"label": "auth"}], "onError": {}},
        "steps": [{"id": "a", "request": {}, "expect": {"trace": ["auth:down", "auth:up",
        "onError"]}}]})");
}

TEST(LoadBad, TraceLabelsTheAppCannotProduceAreNamedWithTheNearestLabel) {
    auto const ds = load_bad(with_app(labelled_app, R"([
        {"id": "a", "request": {"url": "/"}, "expect": {"trace": ["onRequest@root", "handlr",
            "onSend@root#2", "onSend@root", "preHandler@v2"]}},
        {"parallel": [{"id": "b", "request": {}, "expect": {"trace": ["onClose@root",
            "onReady@root"]}}]},
        {"close": true, "expect": {"trace": ["handler"]}}])"));
    ASSERT_EQ(ds.size(), 7u) << describe_all(ds);
    EXPECT_EQ(describe(ds[0]),
              "<test>: $.steps[0].expect.trace[1]: expected a label of a request callback of "
              "the app, or of a start-up hook (onRoute, onRegister, onReady, onListen) in the "
              "first step (scenario-format §1.4, §2), got "
              "\"handlr\" (did you mean \"handler\"?)");
    EXPECT_EQ(ds[1].json_path, "$.steps[0].expect.trace[2]");
    EXPECT_TRUE(ds[1].got.ends_with("(did you mean \"onSend@root#0\"?)")) << ds[1].got;
    EXPECT_EQ(ds[2].json_path, "$.steps[0].expect.trace[3]") << "two onSend hooks: #N is needed";
    EXPECT_EQ(ds[3].json_path, "$.steps[0].expect.trace[4]");
    EXPECT_TRUE(ds[3].got.ends_with("(did you mean \"preHandler@v1#0\"?)")) << ds[3].got;
    EXPECT_EQ(ds[4].json_path, "$.steps[1].parallel[0].expect.trace[0]")
        << "application hooks are traced with request id app, never in a request's trace";
    EXPECT_EQ(ds[5].json_path, "$.steps[1].parallel[0].expect.trace[1]")
        << "onReady hooks are traced in the first step only";
    EXPECT_EQ(describe(ds[6]),
              "<test>: $.steps[2].expect.trace[0]: expected a label of a preClose or onClose hook "
              "of the app, or of a start-up hook (onRoute, onRegister, onReady, onListen) in the "
              "first step (scenario-format §1.4, §2), got \"handler\"");
    auto const koa = load_bad(R"({"dialect": "koa", "app": {"middleware": [{"label": "auth"}]},
        "steps": [{"id": "a", "request": {}, "expect": {"trace": ["auth:dwon", "onError"]}}]})");
    ASSERT_EQ(koa.size(), 2u) << describe_all(koa);
    EXPECT_TRUE(koa[0].got.ends_with("(did you mean \"auth:down\"?)")) << koa[0].got;
    EXPECT_EQ(koa[1].json_path, "$.steps[0].expect.trace[1]") << "no onError listener";
}

//------------------------------------------------------------------------------------------------
// Wire bytes, scenario-format §1.4.

TEST(WireBytes, GetWithoutBodyHasNoContentLength) {
    request_spec r;
    r.url = "/x?y=1";
    EXPECT_EQ(wire_bytes("r1", r),
              "GET /x?y=1 HTTP/1.1\r\nhost: 127.0.0.1\r\nx-lifecheck-req: r1\r\n\r\n");
}

TEST(WireBytes, PostWithoutBodyHasNoContentLength) {
    request_spec r;
    r.method = "POST";
    EXPECT_EQ(wire_bytes("p", r),
              "POST / HTTP/1.1\r\nhost: 127.0.0.1\r\nx-lifecheck-req: p\r\n\r\n");
}

TEST(WireBytes, BodyIsAnnouncedAfterTheStepHeadersInOrder) {
    request_spec r;
    r.method = "POST";
    r.url = "/echo";
    r.headers = {{"content-type", "application/json"}, {"X-B", "2"}, {"x-a", "1"}};
    r.body = "{\"a\":1}";
    EXPECT_EQ(wire_bytes("r2", r),
              "POST /echo HTTP/1.1\r\nhost: 127.0.0.1\r\nx-lifecheck-req: r2\r\n"
              "content-type: application/json\r\nX-B: 2\r\nx-a: 1\r\n"
              "content-length: 7\r\n\r\n{\"a\":1}");
}

TEST(WireBytes, EmptyBodyStillGetsContentLengthZero) {
    request_spec r;
    r.method = "PUT";
    r.body = "";
    EXPECT_EQ(
        wire_bytes("e", r),
        "PUT / HTTP/1.1\r\nhost: 127.0.0.1\r\nx-lifecheck-req: e\r\ncontent-length: 0\r\n\r\n");
}

TEST(WireBytes, ChunkedSendsTheBodyAsOneChunk) {
    request_spec r;
    r.method = "POST";
    r.body = std::string(26, 'z');
    r.chunked = true;
    EXPECT_EQ(wire_bytes("c", r),
              "POST / HTTP/1.1\r\nhost: 127.0.0.1\r\nx-lifecheck-req: c\r\n"
              "transfer-encoding: chunked\r\n\r\n1a\r\n" +
                  std::string(26, 'z') + "\r\n0\r\n\r\n");
}

TEST(WireBytes, ChunkedWithoutBodyIsOnlyTheLastChunk) {
    request_spec r;
    r.method = "POST";
    r.chunked = true;
    EXPECT_EQ(wire_bytes("c", r),
              "POST / HTTP/1.1\r\nhost: 127.0.0.1\r\nx-lifecheck-req: c\r\n"
              "transfer-encoding: chunked\r\n\r\n0\r\n\r\n");
}

TEST(WireBytes, UserFramingHeadersAreNotDuplicated) {
    request_spec r;
    r.method = "POST";
    r.headers = {{"Content-Length", "10"}};
    r.body = "abc";
    EXPECT_EQ(wire_bytes("u", r),
              "POST / HTTP/1.1\r\nhost: 127.0.0.1\r\nx-lifecheck-req: u\r\n"
              "Content-Length: 10\r\n\r\nabc");
    request_spec te;
    te.method = "POST";
    te.headers = {{"transfer-encoding", "gzip, chunked"}};
    te.body = "hi";
    te.chunked = true;
    EXPECT_EQ(wire_bytes("t", te),
              "POST / HTTP/1.1\r\nhost: 127.0.0.1\r\nx-lifecheck-req: t\r\n"
              "transfer-encoding: gzip, chunked\r\n\r\n2\r\nhi\r\n0\r\n\r\n");
}

TEST(WireBytes, BinaryBodyFromBase64IsSentAsIs) {
    scenario const s = load_ok(with_app(
        "{}", R"([{"id":"b","request":{"method":"POST","url":"/","bodyBase64":"AP8="}}])"));
    EXPECT_EQ(wire_bytes(s.steps[0].id, s.steps[0].request),
              "POST / HTTP/1.1\r\nhost: 127.0.0.1\r\nx-lifecheck-req: b\r\n"
              "content-length: 2\r\n\r\n" +
                  std::string("\x00\xff", 2));
}

//------------------------------------------------------------------------------------------------
// Enum spellings.

TEST(Spellings, EveryPhaseRoundTrips) {
    for (int i = 0; i <= static_cast<int>(phase::on_register); ++i) {
        auto const p = static_cast<phase>(i);
        EXPECT_EQ(parse_phase(to_string(p)), p) << to_string(p);
    }
    EXPECT_FALSE(parse_phase("onrequest"));
    EXPECT_TRUE(is_application_phase(phase::on_ready));
    EXPECT_TRUE(is_application_phase(phase::pre_close));
    EXPECT_TRUE(is_application_phase(phase::on_close));
    EXPECT_TRUE(is_application_phase(phase::on_route));
    EXPECT_TRUE(is_application_phase(phase::on_register));
    EXPECT_FALSE(is_application_phase(phase::on_request_abort));
}

TEST(Spellings, EveryVerbAndKindRoundTrips) {
    for (int i = 0; i <= static_cast<int>(verb::hijack); ++i) {
        auto const v = static_cast<verb>(i);
        EXPECT_EQ(parse_verb(to_string(v)), v) << to_string(v);
    }
    for (int i = 0; i <= static_cast<int>(payload_kind::response); ++i) {
        auto const k = static_cast<payload_kind>(i);
        EXPECT_EQ(parse_payload_kind(to_string(k)), k) << to_string(k);
    }
    EXPECT_STREQ(to_string(verb::send_then_continue), "sendThenContinue");
    EXPECT_STREQ(to_string(payload_kind::web_stream), "webStream");
    EXPECT_STREQ(to_string(divergence_class::framework_bug), "framework-bug");
    EXPECT_STREQ(to_string(connection_fate::reset), "reset");
}

//------------------------------------------------------------------------------------------------
// Files, roots and ids.

class ScenarioTree : public ::testing::Test {
protected:
    void SetUp() override {
        base_ = fs::temp_directory_path() /
                ("lifecheck-load-test-" +
                 std::to_string(::testing::UnitTest::GetInstance()->random_seed()) + "-" +
                 ::testing::UnitTest::GetInstance()->current_test_info()->name());
        fs::remove_all(base_);
        write("scenarios/fastify/errors/b.json");
        write("scenarios/fastify/errors/a.json");
        write("scenarios/fastify/README.md");
        write("scenarios/fastify/DIVERGENCES.md");
        write("scenarios/fastify/notes.txt");
        write("scenarios/koa/z.json");
        write("elsewhere/loose.json");
    }

    void TearDown() override { fs::remove_all(base_); }

    void write(std::string const& rel) {
        fs::create_directories((base_ / rel).parent_path());
        std::ofstream{base_ / rel} << R"({"app":{},"steps":[{"sleepMs":0}]})";
    }

    fs::path base_;
};

TEST_F(ScenarioTree, CollectFilesRecursesSortsAndSkipsNonScenarios) {
    auto const files = collect_files({base_ / "scenarios"});
    std::vector<std::string> rel;
    for (auto const& f : files)
        rel.push_back(f.lexically_relative(base_).generic_string());
    EXPECT_EQ(rel,
              (std::vector<std::string>{"scenarios/fastify/errors/a.json",
                                        "scenarios/fastify/errors/b.json",
                                        "scenarios/koa/z.json"}));
}

TEST_F(ScenarioTree, CollectFilesKeepsNamedFilesAndDropsDuplicates) {
    auto const files = collect_files({base_ / "elsewhere/loose.json",
                                      base_ / "scenarios/koa",
                                      base_ / "scenarios/koa/z.json",
                                      base_ / "missing.json"});
    ASSERT_EQ(files.size(), 3u);
    EXPECT_EQ(files[0], base_ / "elsewhere/loose.json");
    EXPECT_EQ(files[1], base_ / "scenarios/koa/z.json");
    EXPECT_EQ(files[2], base_ / "missing.json"); // load_file reports it
}

TEST_F(ScenarioTree, FindRootIsTheNearestScenariosFolder) {
    EXPECT_EQ(find_root(base_ / "scenarios/fastify/errors/a.json"), base_ / "scenarios");
    EXPECT_EQ(find_root(base_ / "elsewhere/loose.json"), fs::path{});
}

TEST_F(ScenarioTree, IdIsThePathBelowTheRootWithoutExtension) {
    auto const r = load_file(base_ / "scenarios/fastify/errors/a.json", base_ / "scenarios");
    ASSERT_TRUE(r.has_value());
    EXPECT_EQ(r->id, "fastify/errors/a");
    EXPECT_EQ(r->file, (base_ / "scenarios/fastify/errors/a.json").string());
    // Without a root, the scenarios/ folder above the file is found.
    EXPECT_EQ(load_file(base_ / "scenarios/koa/z.json")->id, "koa/z");
    // A file outside the root gets its stem.
    EXPECT_EQ(load_file(base_ / "elsewhere/loose.json", base_ / "scenarios")->id, "loose");
    EXPECT_EQ(scenario_id(base_ / "scenarios/koa/../koa/z.json", base_ / "scenarios"), "koa/z");
}

//----------------------------------------------------------------------------------------------
// line_of: where a JSON path starts in the text (for CI annotations).

std::string const lines_text = R"({
  "description": "a [tricky] \"one\", with {braces}",
  "app": {"routes": [{"url": "/"}], "x-y": {"a": 1}},
  "steps": [
    { "id": "r0", "request": {"url": "/"} },
    {
      "id": "r1",
      "request": {"url": "/"},
      "expect": {
        "status": 200,
        "trace": ["handler",
                  "onSend@root"]
      }
    },
    {"parallel": [
      {"id": "p1"},
      {"id": "p2",
       "expect": {"status": 404}}]}
  ]
})";

TEST(LineOf, FindsMembersAndElements) {
    EXPECT_EQ(line_of(lines_text, "$"), 1);
    EXPECT_EQ(line_of(lines_text, "$.steps"), 4);
    EXPECT_EQ(line_of(lines_text, "$.steps[0]"), 5);
    EXPECT_EQ(line_of(lines_text, "$.steps[1]"), 6);
    EXPECT_EQ(line_of(lines_text, "$.steps[1].expect"), 9);
    EXPECT_EQ(line_of(lines_text, "$.steps[1].expect.trace"), 11);
    EXPECT_EQ(line_of(lines_text, "$.steps[1].expect.trace[1]"), 12);
    EXPECT_EQ(line_of(lines_text, "$.steps[2].parallel[1].expect.status"), 18);
    EXPECT_EQ(line_of(lines_text, "$.app.routes[0].url"), 3);
    EXPECT_EQ(line_of(lines_text, R"($.app["x-y"].a)"), 3);
}

TEST(LineOf, AMissingPartGivesTheDeepestPartThatIsThere) {
    EXPECT_EQ(line_of(lines_text, "$.steps[1].expect.endAt"), 9);
    EXPECT_EQ(line_of(lines_text, "$.steps[0].expect.trace"), 5);
    EXPECT_EQ(line_of(lines_text, "$.steps[7]"), 4);
    EXPECT_EQ(line_of(lines_text, "$.nothing"), 1);
    EXPECT_EQ(line_of(lines_text, "not a path"), 1);
    EXPECT_EQ(line_of("{ not json", "$.steps[0]"), 1);
    EXPECT_EQ(line_of(lines_text, "line 7, column 3"), 7) << "a syntax error's place";
}

} // namespace
} // namespace lifecheck::scenario
