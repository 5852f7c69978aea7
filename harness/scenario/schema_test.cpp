// Tests of docs/schema/scenario.schema.json and of the vocabulary table: every corpus file
// validates; the schema and the loader reject the same bad files, except the semantic errors a
// schema cannot express (listed below with the reason); the schema's enums and the lists in
// docs/scenario-format.md name exactly what vocabulary.hpp declares, in the same order.
#include "harness/common/json_schema_check.hpp"
#include "harness/scenario/load.hpp"
#include "harness/scenario/vocabulary.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

namespace lifecheck::scenario {
namespace {

namespace fs = std::filesystem;
using names = std::vector<std::string>;

fs::path const source_dir{LIFECHECK_SOURCE_DIR};
fs::path const schema_file = source_dir / "docs/schema/scenario.schema.json";
fs::path const bad_dir = source_dir / "harness/scenario/testdata/bad";

std::string read_text(fs::path const& p) {
    std::ifstream in{p, std::ios::binary};
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
}

/// The schema as written (key order kept, for comparing lists with the vocabulary).
json const& schema_doc() {
    static json const doc = json::parse(read_text(schema_file));
    return doc;
}

/// What the schema says about `doc`: "" when it validates, else one line per error.
std::string schema_errors(nlohmann::json const& doc) {
    static test::json_schema const schema{schema_file};
    return schema.errors(doc);
}

std::vector<fs::path> json_files_below(fs::path const& dir) {
    std::vector<fs::path> out;
    for (auto const& e : fs::recursive_directory_iterator{dir})
        if (e.is_regular_file() && e.path().extension() == ".json")
            out.push_back(e.path());
    std::sort(out.begin(), out.end());
    return out;
}

//------------------------------------------------------------------------------------------------
// The schema against the loader.

TEST(ScenarioSchema, EveryCorpusFileValidates) {
    auto const files = json_files_below(source_dir / "scenarios");
    ASSERT_GE(files.size(), 100u);
    for (fs::path const& file : files) {
        SCOPED_TRACE(file.lexically_relative(source_dir).string());
        EXPECT_EQ(schema_errors(nlohmann::json::parse(read_text(file))), "");
    }
}

TEST(ScenarioSchema, EveryGoodLoaderFixtureValidates) {
    for (fs::path const& file : json_files_below(source_dir / "harness/scenario/testdata/good")) {
        SCOPED_TRACE(file.filename().string());
        EXPECT_EQ(schema_errors(nlohmann::json::parse(read_text(file))), "");
    }
}

// Bad files whose only faults JSON Schema (draft 7) cannot express: the loader rejects them, the
// schema accepts them. Each must still pass the schema, so the list cannot go stale.
std::map<std::string, std::string> const semantic_only = {
    {"duplicate-key.json",
     "a key twice in one object: JSON parsers keep one value, so the schema sees no duplicate"},
    {"semantic-duplicate-step-id.json",
     "step ids unique across the scenario: uniqueness of a field across nested array items"},
    {"semantic-duplicate-plugin-name.json",
     "plugin names unique across the whole scope tree: a cross-reference between subtrees"},
    {"semantic-duplicate-route.json",
     "method + full path unique in the app: the path joins the prefixes of enclosing plugins"},
    {"semantic-two-close-steps.json", "at most one close step: draft 7 has no maxContains"},
    {"semantic-end-at-beyond-trace.json",
     "endAt at most the length of trace: a number compared with a sibling array's length"},
    {"semantic-fail-after-chunks.json",
     "failAfterChunks at most the number of chunks: the same kind of comparison"},
    {"semantic-impossible-trace-label.json",
     "expected trace labels name callbacks of the app: labels are derived from the whole app"},
    {"semantic-koa-duplicate-label.json",
     "koa middleware labels unique: uniqueness of a field across array items"},
    {"semantic-ops.json",
     "the ops rules of §1.6: which op a place allows (the phase is a key two levels up), nothing "
     "after return, done only in callback style, no throw after an await, error payloads only "
     "in ops: order inside an array and context from ancestors"},
};

// Files that are not JSON at all: there is no document for the schema to judge.
std::map<std::string, std::string> const not_json = {
    {"syntax-error.json",
     "a syntax error: the loader names line and column, the schema sees nothing"},
};

TEST(ScenarioSchema, AgreesWithTheLoaderOnEveryBadFile) {
    std::vector<fs::path> files;
    for (auto const& e : fs::directory_iterator{bad_dir})
        if (e.path().extension() == ".json")
            files.push_back(e.path());
    std::sort(files.begin(), files.end());
    ASSERT_GE(files.size(), 20u);
    for (fs::path const& file : files) {
        std::string const name = file.filename().string();
        SCOPED_TRACE(name);
        std::string const text = read_text(file);
        auto const loaded = parse(text, name, file.stem().string());
        EXPECT_FALSE(loaded.has_value()) << "the loader accepts a bad file";
        if (not_json.count(name) != 0) {
            EXPECT_TRUE(nlohmann::json::parse(text, nullptr, false).is_discarded())
                << "listed as not JSON, but parses";
            continue;
        }
        std::string const errors = schema_errors(nlohmann::json::parse(text));
        if (auto const it = semantic_only.find(name); it != semantic_only.end())
            EXPECT_EQ(errors, "") << "listed as semantic only (" << it->second
                                  << "), but the schema rejects it: drop it from the list";
        else
            EXPECT_NE(errors, "") << "the loader rejects this file, the schema accepts it";
    }
    for (auto const& [name, why] : semantic_only)
        EXPECT_TRUE(fs::exists(bad_dir / name)) << name << " is listed but missing";
}

// One fault per case, each a rule the schema can express: the loader reports exactly one problem
// and the schema rejects the file too. The bad files above mostly hold several faults each, so
// they alone would not notice a schema rule going missing.
struct single_fault {
    char const* name;
    std::string text;
};

std::string fastify_app(std::string const& app) {
    return R"({"app":)" + app + R"(,"steps":[{"sleepMs":0}]})";
}

std::string with_steps(std::string const& steps) {
    return R"({"app":{},"steps":)" + steps + "}";
}

std::string handler_payload(std::string const& payload) {
    return fastify_app(R"({"routes":[{"url":"/","handler":{"do":"send","payload":)" + payload +
                       "}}]}");
}

std::string koa_app(std::string const& app) {
    return R"({"dialect":"koa","app":)" + app + R"(,"steps":[{"sleepMs":0}]})";
}

std::string request_step(std::string const& step_members) {
    return with_steps(R"([{"id":"r1","request":{"url":"/"},)" + step_members + "}]");
}

std::vector<single_fault> const single_faults = {
    {"unknown top-level key", R"({"app":{},"steps":[{"sleepMs":0}],"stepz":1})"},
    {"$schema not a string", R"({"$schema":7,"app":{},"steps":[{"sleepMs":0}]})"},
    {"dialect unknown", R"({"dialect":"express","app":{},"steps":[{"sleepMs":0}]})"},
    {"description not a string", R"({"description":1,"app":{},"steps":[{"sleepMs":0}]})"},
    {"empty tag", R"({"tags":[""],"app":{},"steps":[{"sleepMs":0}]})"},
    {"no app", R"({"steps":[{"sleepMs":0}]})"},
    {"empty steps", with_steps("[]")},
    {"unknown app key", fastify_app(R"({"middleware":[]})")},
    {"unknown option", fastify_app(R"({"options":{"timeout":1}})")},
    {"negative bodyLimit", fastify_app(R"({"options":{"bodyLimit":-1}})")},
    {"negative handlerTimeoutMs", fastify_app(R"({"options":{"handlerTimeoutMs":-1}})")},
    {"route handlerTimeoutMs 0",
     fastify_app(R"({"routes":[{"url":"/","handler":{},"handlerTimeoutMs":0}]})")},
    {"hijack in a route errorHandler",
     fastify_app(R"({"routes":[{"url":"/","handler":{},"errorHandler":{"do":"hijack"}}]})")},
    {"unknown phase", fastify_app(R"({"hooks":{"onRequst":[]}})")},
    {"hooks not an array", fastify_app(R"({"hooks":{"onRequest":{}}})")},
    {"unknown ACTION key", fastify_app(R"({"hooks":{"onRequest":[{"dealyMs":1}]}})")},
    {"unknown verb", fastify_app(R"({"hooks":{"onRequest":[{"do":"sned"}]}})")},
    {"rethrow in a hook", fastify_app(R"({"hooks":{"onRequest":[{"do":"rethrow"}]}})")},
    {"replacePayload in onRequest",
     fastify_app(R"({"hooks":{"onRequest":[{"do":"replacePayload"}]}})")},
    {"send in onReady", fastify_app(R"({"hooks":{"onReady":[{"do":"send"}]}})")},
    {"hijack in an error handler", fastify_app(R"({"errorHandler":{"do":"hijack"}})")},
    {"sendThenContinue in a not-found handler",
     fastify_app(R"({"notFoundHandler":{"do":"sendThenContinue"}})")},
    {"replacePayload in a route handler",
     fastify_app(R"({"routes":[{"url":"/","handler":{"do":"replacePayload"}}]})")},
    {"application phase on a route",
     fastify_app(R"({"routes":[{"url":"/","handler":{},"hooks":{"onClose":[]}}]})")},
    {"style unknown", fastify_app(R"({"errorHandler":{"style":"sync"}})")},
    {"empty label", fastify_app(R"({"errorHandler":{"label":""}})")},
    {"negative delayMs", fastify_app(R"({"errorHandler":{"delayMs":-1}})")},
    {"fractional delayMs", fastify_app(R"({"errorHandler":{"delayMs":1.5}})")},
    {"delayMs beyond int32", fastify_app(R"({"errorHandler":{"delayMs":3000000000}})")},
    {"status 600", fastify_app(R"({"errorHandler":{"do":"send","status":600}})")},
    {"when without is", fastify_app(R"({"errorHandler":{"when":{"flag":"f"}}})")},
    {"set value not a boolean", fastify_app(R"({"errorHandler":{"set":{"flag":"f","value":1}}})")},
    {"unknown error key", fastify_app(R"({"errorHandler":{"error":{"msg":"x"}}})")},
    {"empty error code", fastify_app(R"({"errorHandler":{"error":{"code":""}}})")},
    {"header name not a token", fastify_app(R"({"errorHandler":{"headers":{"a b":"x"}}})")},
    {"header value with CR LF", fastify_app(R"({"errorHandler":{"headers":{"a":"x\r\ny"}}})")},
    {"header value a boolean", fastify_app(R"({"errorHandler":{"headers":{"a":true}}})")},
    {"route method Fastify refuses",
     fastify_app(R"({"routes":[{"method":"GETT","url":"/","handler":{}}]})")},
    {"route method of Fastify 4 only",
     fastify_app(R"({"routes":[{"method":"propfind","url":"/","handler":{}}]})")},
    {"route url without /", fastify_app(R"({"routes":[{"url":"x","handler":{}}]})")},
    {"route without handler", fastify_app(R"({"routes":[{"url":"/"}]})")},
    {"plugin without name", fastify_app(R"({"plugins":[{}]})")},
    {"plugin named root", fastify_app(R"({"plugins":[{"name":"root"}]})")},
    {"plugin name with a space", fastify_app(R"({"plugins":[{"name":"a b"}]})")},
    {"prefix without /", fastify_app(R"({"plugins":[{"name":"p","prefix":"v1"}]})")},
    {"options on a plugin", fastify_app(R"({"plugins":[{"name":"p","options":{}}]})")},
    {"unknown late key", fastify_app(R"({"late":{"routes":[]}})")},
    {"npmPlugins not an array", fastify_app(R"({"npmPlugins":{"name":"x"}})")},
    {"npm plugin without name", fastify_app(R"({"npmPlugins":[{"options":{}}]})")},
    {"npm plugin name in upper case", fastify_app(R"({"npmPlugins":[{"name":"Cors"}]})")},
    {"npm plugin name starting with a dot", fastify_app(R"({"npmPlugins":[{"name":".cors"}]})")},
    {"npm plugin scope without a name", fastify_app(R"({"npmPlugins":[{"name":"@fastify/"}]})")},
    {"npm plugin relative path", fastify_app(R"({"npmPlugins":[{"name":"./my-plugin"}]})")},
    {"npm plugin version a range", fastify_app(R"({"npmPlugins":[{"name":"x","version":"^11"}]})")},
    {"npm plugin version of four parts",
     fastify_app(R"({"npmPlugins":[{"name":"x","version":"1.2.3.4"}]})")},
    {"npm plugin options an array", fastify_app(R"({"npmPlugins":[{"name":"x","options":[]}]})")},
    {"unknown npm plugin key",
     fastify_app(R"({"plugins":[{"name":"p","npmPlugins":[{"name":"x","opts":{}}]}]})")},
    {"payload without kind", handler_payload(R"({"value":1})")},
    {"payload kind unknown", handler_payload(R"({"kind":"text","value":"x"})")},
    {"json payload without value", handler_payload(R"({"kind":"json"})")},
    {"string payload with a number", handler_payload(R"({"kind":"string","value":1})")},
    {"string payload with chunks", handler_payload(R"({"kind":"string","value":"x","chunks":[]})")},
    {"base64 not canonical", handler_payload(R"({"kind":"buffer","base64":"AB=="})")},
    {"base64 unpadded", handler_payload(R"({"kind":"buffer","base64":"AAE"})")},
    {"stream payload locked", handler_payload(R"({"kind":"stream","locked":true})")},
    {"stream chunk a number", handler_payload(R"({"kind":"stream","chunks":[1]})")},
    {"response body json",
     handler_payload(R"({"kind":"response","body":{"kind":"json","value":1}})")},
    {"empty shared name", handler_payload(R"({"kind":"response","shared":""})")},
    {"koa app with hooks", koa_app(R"({"hooks":{}})")},
    {"koa middleware without label", koa_app(R"({"middleware":[{}]})")},
    {"koa next thrice", koa_app(R"({"middleware":[{"label":"a","next":"thrice"}]})")},
    {"koa ACTION with a label",
     koa_app(R"({"middleware":[{"label":"a","before":{"label":"x"}}]})")},
    {"koa callback style",
     koa_app(R"({"middleware":[{"label":"a","after":{"style":"callback"}}]})")},
    {"hijack in koa middleware",
     koa_app(R"({"middleware":[{"label":"a","before":{"do":"hijack"}}]})")},
    {"send in koa's onError", koa_app(R"({"onError":{"do":"send"}})")},
    {"step of no kind", with_steps(R"([{"id":"r1"}])")},
    {"step of two kinds", with_steps(R"([{"id":"r1","request":{},"raw":"x"}])")},
    {"request step without id", with_steps(R"([{"request":{}}])")},
    {"step id app", with_steps(R"([{"id":"app","request":{}}])")},
    {"step id with a space", with_steps(R"([{"id":"a b","request":{}}])")},
    {"empty connection name", request_step(R"("connection":"")")},
    {"connection inside request", with_steps(R"([{"id":"r1","request":{"connection":"c"}}])")},
    {"request method not a token", with_steps(R"([{"id":"r1","request":{"method":"GET /"}}])")},
    {"request url with a space", with_steps(R"([{"id":"r1","request":{"url":"/a b"}}])")},
    {"body and bodyBase64",
     with_steps(R"([{"id":"r1","request":{"body":"x","bodyBase64":"eA=="}}])")},
    {"chunked not a boolean", with_steps(R"([{"id":"r1","request":{"chunked":1}}])")},
    {"two abort keys", request_step(R"("client":{"abortAfterMs":1,"abortAfterResponseBytes":2})")},
    {"bytesPerWrite alone", request_step(R"("client":{"bytesPerWrite":1})")},
    {"writeDelayMs alone", request_step(R"("client":{"writeDelayMs":1})")},
    {"bytesPerWrite 0", request_step(R"("client":{"bytesPerWrite":0,"writeDelayMs":1})")},
    {"abortAfterBodyBytes without a body", request_step(R"("client":{"abortAfterBodyBytes":1})")},
    {"expectNoResponse with a status",
     request_step(R"("client":{"expectNoResponse":true},"expect":{"status":200})")},
    {"unknown expect key", request_step(R"("expect":{"stauts":200})")},
    {"expect status 99", request_step(R"("expect":{"status":99})")},
    {"expect header value true", request_step(R"("expect":{"headers":{"a":true}})")},
    {"expect body with two keys", request_step(R"("expect":{"body":{"text":"a","json":1}})")},
    {"expect connection open", request_step(R"("expect":{"connection":"open"})")},
    {"expect trace not an array", request_step(R"("expect":{"trace":"handler"})")},
    {"expect empty trace label", request_step(R"("expect":{"trace":[""]})")},
    {"negative endAt", request_step(R"("expect":{"endAt":-1})")},
    {"empty raw", with_steps(R"([{"raw":""}])")},
    {"negative sleepMs", with_steps(R"([{"sleepMs":-1}])")},
    {"empty parallel", with_steps(R"([{"parallel":[]}])")},
    {"sleep inside parallel", with_steps(R"([{"parallel":[{"sleepMs":1}]}])")},
    {"close false", with_steps(R"([{"close":false}])")},
    {"close step expecting a status", with_steps(R"([{"close":true,"expect":{"status":200}}])")},
    {"divergence target with a space",
     R"({"app":{},"steps":[{"sleepMs":0}],"divergence":{"target":"fastify 5","class":"doc-gap","note":"n"}})"},
    {"divergence without note",
     R"({"app":{},"steps":[{"sleepMs":0}],"divergence":{"target":"fastify","class":"doc-gap"}})"},
    {"divergence class unknown",
     R"({"app":{},"steps":[{"sleepMs":0}],"divergence":{"target":"fastify","class":"bug","note":"n"}})"},
    {"divergence result pass",
     R"({"app":{},"steps":[{"sleepMs":0}],"divergence":{"target":"fastify","class":"doc-gap","note":"n","result":"pass"}})"},
    {"empty divergence array", R"({"app":{},"steps":[{"sleepMs":0}],"divergence":[]})"},
};

TEST(ScenarioSchema, RejectsEverySingleFaultTheLoaderRejects) {
    for (single_fault const& f : single_faults) {
        SCOPED_TRACE(f.name);
        auto const loaded = parse(f.text, "<single fault>", "single-fault");
        ASSERT_FALSE(loaded.has_value()) << f.text;
        EXPECT_EQ(loaded.error().size(), 1u) << "not a single fault: " << f.text;
        EXPECT_NE(schema_errors(nlohmann::json::parse(f.text)), "")
            << "the loader rejects this, the schema accepts it: " << f.text;
    }
}

//------------------------------------------------------------------------------------------------
// One table, many readers: the schema's lists against vocabulary.hpp.

template <typename Table, typename Keep, typename NameOf>
names table_names(Table const& table, Keep keep, NameOf name_of) {
    names out;
    for (auto const& row : table)
        if (keep(row))
            out.emplace_back(name_of(row));
    return out;
}

template <typename Table>
names table_names(Table const& table) {
    return table_names(
        table, [](auto const&) { return true; }, [](auto const& row) { return row.name; });
}

/// One text column of a table: `column(action_key_table, &action_key_entry::name)`.
template <typename Row, std::size_t N>
names column(Row const (&table)[N], char const* Row::*field) {
    return table_names(
        table, [](Row const&) { return true; }, [field](Row const& row) { return row.*field; });
}

names verbs_at(unsigned bits) {
    return table_names(
        verb_table,
        [bits](verb_entry const& v) { return (v.sites & bits) != 0; },
        [](verb_entry const& v) { return v.name; });
}

names keys_of(json const& obj) {
    names out;
    for (auto it = obj.begin(); it != obj.end(); ++it)
        out.push_back(it.key());
    return out;
}

names strings_of(json const& arr) {
    return arr.get<names>();
}

json const& def(std::string const& name) {
    return schema_doc().at("definitions").at(name);
}

/// The `do` enum of an ACTION definition: its own, or the one its allOf adds to `action`.
names do_enum(std::string const& definition) {
    json const& d = def(definition);
    if (d.contains("allOf"))
        return strings_of(d.at("allOf").at(1).at("properties").at("do").at("enum"));
    return strings_of(d.at("properties").at("do").at("enum"));
}

TEST(ScenarioSchema, VerbEnumsFollowTheVocabulary) {
    EXPECT_EQ(strings_of(def("verb").at("enum")), table_names(verb_table));
    EXPECT_EQ(do_enum("hookAction"), verbs_at(verb_site::hook));
    EXPECT_EQ(do_enum("onSendHookAction"), verbs_at(verb_site::hook | verb_site::on_send_hook));
    EXPECT_EQ(do_enum("appHookAction"), verbs_at(verb_site::app_hook));
    EXPECT_EQ(do_enum("handlerAction"), verbs_at(verb_site::handler));
    EXPECT_EQ(do_enum("errorHandlerAction"), verbs_at(verb_site::error_handler));
    EXPECT_EQ(do_enum("koaAction"), verbs_at(verb_site::koa_step));
    EXPECT_EQ(do_enum("koaOnErrorAction"), verbs_at(verb_site::koa_on_error));
}

// Each op definition lists exactly the ops op_table allows there: Fastify's in `op`, koa
// middleware's in `koaOp`, a koa catch block's in `koaCatchOp` (scenario-format §1.6, §1.7).
TEST(ScenarioSchema, OpDefinitionsFollowTheVocabulary) {
    auto const ops_at = [](unsigned bits) {
        return table_names(
            op_table,
            [bits](op_entry const& o) { return (o.sites & bits) != 0; },
            [](op_entry const& o) { return o.name; });
    };
    unsigned const fastify =
        verb_site::hook | verb_site::app_hook | verb_site::handler | verb_site::error_handler;
    EXPECT_EQ(keys_of(def("op").at("properties")), ops_at(fastify));
    EXPECT_EQ(keys_of(def("koaOp").at("properties")), ops_at(verb_site::koa_step));
    EXPECT_EQ(keys_of(def("koaCatchOp").at("properties")), ops_at(verb_site::koa_catch));
    EXPECT_EQ(keys_of(def("koaCatchAction").at("properties")),
              keys_of(def("koaAction").at("properties")));
}

TEST(ScenarioSchema, PhasesFollowTheVocabulary) {
    names const all = table_names(phase_table);
    names const request = table_names(
        phase_table,
        [](phase_entry const& p) { return !p.application; },
        [](phase_entry const& p) { return p.name; });
    EXPECT_EQ(keys_of(def("hooks").at("properties")), all);
    EXPECT_EQ(keys_of(def("routeHooks").at("properties")), request);
    // Which ACTION each phase takes: onSend adds replacePayload, application hooks are narrower.
    for (phase_entry const& p : phase_table) {
        std::string const expected = p.application               ? "#/definitions/appHookAction"
                                     : p.value == phase::on_send ? "#/definitions/onSendHookAction"
                                                                 : "#/definitions/hookAction";
        EXPECT_EQ(
            def("hooks").at("properties").at(p.name).at("items").at("$ref").get<std::string>(),
            expected)
            << p.name;
    }
}

TEST(ScenarioSchema, PayloadKindsStepKindsAndKeysFollowTheVocabulary) {
    EXPECT_EQ(strings_of(def("payload").at("properties").at("kind").at("enum")),
              table_names(payload_kind_table));
    names per_kind;
    for (json const& rule : def("payload").at("allOf"))
        per_kind.push_back(
            rule.at("if").at("properties").at("kind").at("const").get<std::string>());
    EXPECT_EQ(per_kind, table_names(payload_kind_table));

    names step_keys;
    for (json const& alternative : def("step").at("oneOf")) {
        std::string const ref = alternative.at("$ref").get<std::string>();
        step_keys.push_back(
            def(ref.substr(ref.rfind('/') + 1)).at("required").at(0).get<std::string>());
    }
    EXPECT_EQ(step_keys, column(step_kind_table, &step_kind_entry::key));

    EXPECT_EQ(keys_of(def("action").at("properties")),
              column(action_key_table, &action_key_entry::name));
    EXPECT_EQ(keys_of(def("koaAction").at("properties")),
              table_names(
                  action_key_table,
                  [](action_key_entry const& k) { return k.koa; },
                  [](action_key_entry const& k) { return k.name; }));
    EXPECT_EQ(strings_of(def("action").at("properties").at("style").at("enum")),
              table_names(style_table));
    EXPECT_EQ(strings_of(def("middleware").at("properties").at("next").at("enum")),
              table_names(next_mode_table));
}

TEST(ScenarioSchema, RouteMethodsFollowTheVocabularyInAnyCase) {
    // A route's method is one of route_method_table in any case (decisions.md D34): the pattern
    // spells each name with a [Xx] class per letter.
    std::string expected = "^(";
    for (char const* m : route_method_table) {
        if (expected.size() > 2)
            expected += '|';
        for (char const* c = m; *c != '\0'; ++c)
            expected += std::string{"["} + *c + static_cast<char>(*c - 'A' + 'a') + "]";
    }
    expected += ")$";
    EXPECT_EQ(def("route").at("properties").at("method").at("pattern").get<std::string>(),
              expected);
}

TEST(ScenarioSchema, ScopeKeysAndNpmPluginKeysFollowTheVocabulary) {
    auto const keys = [](bool root) {
        return table_names(
            scope_key_table,
            [root](scope_key_entry const& k) { return root ? k.root : k.plugin; },
            [](scope_key_entry const& k) { return k.name; });
    };
    EXPECT_EQ(keys_of(def("fastifyApp").at("properties")), keys(true));
    EXPECT_EQ(keys_of(def("plugin").at("properties")), keys(false));
    EXPECT_EQ(keys_of(def("npmPlugin").at("properties")),
              names(std::begin(npm_plugin_key_table), std::end(npm_plugin_key_table)));
}

TEST(ScenarioSchema, OptionNamesFollowTheVocabulary) {
    auto const name = [](client_option_entry const& o) {
        return o.name;
    };
    EXPECT_EQ(keys_of(def("client").at("properties")),
              column(client_option_table, &client_option_entry::name));
    names abort_keys;
    for (auto it = def("client").at("dependencies").begin();
         it != def("client").at("dependencies").end();
         ++it)
        if (it.value().is_object()) // an abort key excludes the others
            abort_keys.push_back(it.key());
    EXPECT_EQ(abort_keys,
              table_names(
                  client_option_table, [](client_option_entry const& o) { return o.abort; }, name));
    EXPECT_EQ(keys_of(def("options").at("properties")),
              names(std::begin(app_option_table), std::end(app_option_table)));
}

//------------------------------------------------------------------------------------------------
// The docs against vocabulary.hpp: docs/scenario-format.md lists the same names in the same order.

std::string const& format_doc() {
    static std::string const text = read_text(source_dir / "docs/scenario-format.md");
    return text;
}

/// The lines of the docs from the first that starts with `start` up to the next blank line.
std::vector<std::string> block(std::string const& start) {
    std::istringstream in{format_doc()};
    std::vector<std::string> out;
    std::string line;
    bool inside = false;
    while (std::getline(in, line)) {
        if (!inside && line.rfind(start, 0) == 0)
            inside = true;
        if (inside && line.empty())
            break;
        if (inside)
            out.push_back(line);
    }
    return out;
}

/// The lines of block(start) joined with spaces.
std::string paragraph(std::string const& start) {
    std::string text;
    for (std::string const& line : block(start))
        text += line + " ";
    return text;
}

/// Every `name` in backticks in `text`, in order.
names backticked(std::string const& text) {
    names out;
    for (std::size_t at = text.find('`'); at != std::string::npos; at = text.find('`', at + 1)) {
        std::size_t const end = text.find('`', at + 1);
        if (end == std::string::npos)
            break;
        out.push_back(text.substr(at + 1, end - at - 1));
        at = end;
    }
    return out;
}

/// The cells of a Markdown table row, trimmed: "| a | b |" gives {"a", "b"}.
names cells(std::string const& row) {
    names out;
    std::istringstream in{row};
    std::string cell;
    std::getline(in, cell, '|');
    while (std::getline(in, cell, '|')) {
        auto const first = cell.find_first_not_of(' ');
        auto const last = cell.find_last_not_of(' ');
        out.push_back(first == std::string::npos ? "" : cell.substr(first, last - first + 1));
    }
    if (!out.empty() && out.back().empty())
        out.pop_back();
    return out;
}

TEST(ScenarioDocs, VerbTableFollowsTheVocabulary) {
    // §1.2 "Verbs of `do`": | verb | hooks | handler | error handler |, "—" where not allowed.
    std::vector<std::string> const rows = block("| verb | hooks | handler | error handler |");
    ASSERT_GE(rows.size(), 3u);
    names verbs;
    for (std::size_t i = 2; i < rows.size(); ++i) {
        names const c = cells(rows[i]);
        ASSERT_EQ(c.size(), 4u) << rows[i];
        std::string const verb_name = backticked(c[0]).at(0);
        verbs.push_back(verb_name);
        auto const row = std::find_if(std::begin(verb_table),
                                      std::end(verb_table),
                                      [&](verb_entry const& v) { return verb_name == v.name; });
        ASSERT_NE(row, std::end(verb_table)) << verb_name;
        unsigned const hooks = verb_site::hook | verb_site::on_send_hook;
        EXPECT_EQ(c[1] != "—", (row->sites & hooks) != 0) << verb_name << " in hooks";
        EXPECT_EQ(c[2] != "—", (row->sites & verb_site::handler) != 0)
            << verb_name << " in handlers";
        EXPECT_EQ(c[3] != "—", (row->sites & verb_site::error_handler) != 0)
            << verb_name << " in error handlers";
    }
    EXPECT_EQ(verbs, table_names(verb_table));
}

TEST(ScenarioDocs, PhaseListFollowsTheVocabulary) {
    // §1.1: "Hook phases: `onRequest`, ...; application phases `onReady`, ...".
    std::string const text = paragraph("Hook phases:");
    std::size_t const split = text.find("application phases");
    ASSERT_NE(split, std::string::npos);
    names all = backticked(text.substr(0, split));
    names const application = backticked(text.substr(split));
    all.insert(all.end(), application.begin(), application.end());
    EXPECT_EQ(all, table_names(phase_table));
    EXPECT_EQ(application,
              table_names(
                  phase_table,
                  [](phase_entry const& p) { return p.application; },
                  [](phase_entry const& p) { return p.name; }));
}

TEST(ScenarioDocs, PayloadKindsActionKeysAndOptionsFollowTheVocabulary) {
    names kinds; // §1.3 table: | kind | fields | models |
    std::vector<std::string> const rows = block("| kind | fields | models |");
    for (std::size_t i = 2; i < rows.size(); ++i)
        kinds.push_back(backticked(cells(rows[i]).at(0)).at(0));
    EXPECT_EQ(kinds, table_names(payload_kind_table));

    names keys; // §1.2: the key table, then "Other ACTION keys: ..."
    std::vector<std::string> const key_rows = block("| key | meaning |");
    for (std::size_t i = 2; i < key_rows.size(); ++i)
        keys.push_back(backticked(cells(key_rows[i]).at(0)).at(0));
    std::string const other = paragraph("Other ACTION keys:");
    for (std::string const& k : backticked(other.substr(0, other.find('(', other.find("error")))))
        if (std::find(keys.begin(), keys.end(), k) == keys.end() &&
            k.find(' ') == std::string::npos)
            keys.push_back(k);
    EXPECT_EQ(keys, column(action_key_table, &action_key_entry::name));

    // §1.4: "`client` (at most one abort key): `abortAfterMs` ..."
    names options = backticked(paragraph("`client` (at most one abort key):"));
    options.erase(options.begin()); // `client` itself
    EXPECT_EQ(options, column(client_option_table, &client_option_entry::name));

    // §1.1: "`npmPlugins` entries have the keys `name`, `version` and `options`: ..."
    std::string const npm = paragraph("`npmPlugins` entries have the keys");
    names npm_keys = backticked(npm.substr(0, npm.find(':')));
    npm_keys.erase(npm_keys.begin()); // `npmPlugins` itself
    EXPECT_EQ(npm_keys, names(std::begin(npm_plugin_key_table), std::end(npm_plugin_key_table)));

    // §1.5: "`next` is `once` (default), `never` ... or `twice` ..."
    std::string const next = paragraph("`next` is");
    names modes = backticked(next.substr(0, next.find("). In")));
    modes.erase(modes.begin()); // `next` itself
    EXPECT_EQ(modes, table_names(next_mode_table));
}

} // namespace
} // namespace lifecheck::scenario
