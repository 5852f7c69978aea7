// Tests for the JSON writer: golden output, the report-v1 schema, truncation and odd bytes.
#include "harness/report/json.hpp"

#include "harness/report/test_support.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <set>
#include <string>
#include <vector>

namespace lifecheck::report {
namespace {

using scenario::json;

//----------------------------------------------------------------------------------------------
// A validator for the subset of JSON Schema 2020-12 that report-v1.schema.json uses. Any other
// keyword is reported, so the schema cannot grow a rule this test silently ignores.

class schema_validator {
public:
    explicit schema_validator(json schema)
        : root_(std::move(schema)) {} // NOTE: braces would make a one-element array

    /// Every violation as "PATH: what"; empty when `doc` conforms.
    std::vector<std::string> validate(json const& doc) {
        errors_.clear();
        check(root_, doc, "$");
        return errors_;
    }

private:
    json const& resolve(json const& schema) {
        if (!schema.contains("$ref"))
            return schema;
        std::string const ref = schema["$ref"].get<std::string>();
        std::string const prefix = "#/$defs/";
        if (ref.compare(0, prefix.size(), prefix) != 0 ||
            !root_["$defs"].contains(ref.substr(prefix.size()))) {
            errors_.push_back("schema: unresolvable $ref " + ref);
            static json const empty = json::object();
            return empty;
        }
        return root_["$defs"][ref.substr(prefix.size())];
    }

    static bool has_type(json const& v, std::string const& t) {
        if (t == "object")
            return v.is_object();
        if (t == "array")
            return v.is_array();
        if (t == "string")
            return v.is_string();
        if (t == "integer")
            return v.is_number_integer();
        if (t == "number")
            return v.is_number();
        if (t == "boolean")
            return v.is_boolean();
        if (t == "null")
            return v.is_null();
        return false;
    }

    void check(json const& schema_or_ref, json const& v, std::string const& path) {
        json const& schema = resolve(schema_or_ref);
        if (!schema.is_object()) {
            errors_.push_back("schema at " + path + " is not an object: " + schema.dump());
            return;
        }
        static std::set<std::string> const known{"$schema",
                                                 "$id",
                                                 "title",
                                                 "description",
                                                 "$defs",
                                                 "$ref",
                                                 "type",
                                                 "required",
                                                 "properties",
                                                 "additionalProperties",
                                                 "items",
                                                 "enum",
                                                 "allOf",
                                                 "minimum",
                                                 "minItems",
                                                 "maxItems"};
        for (auto it = schema.begin(); it != schema.end(); ++it)
            if (!known.count(it.key()))
                errors_.push_back("schema: keyword " + it.key() + " is not supported here");
        if (schema.contains("type")) {
            json const& t = schema["type"];
            bool ok = false;
            if (t.is_string())
                ok = has_type(v, t.get<std::string>());
            for (json const& one : t.is_array() ? t : json::array())
                ok = ok || has_type(v, one.get<std::string>());
            if (!ok) {
                errors_.push_back(path + ": expected type " + t.dump() + ", got " + v.dump());
                return;
            }
        }
        if (schema.contains("enum")) {
            bool found = false;
            for (json const& e : schema["enum"])
                found = found || e == v;
            if (!found)
                errors_.push_back(path + ": " + v.dump() + " is not one of " +
                                  schema["enum"].dump());
        }
        if (schema.contains("minimum") && v.is_number() &&
            v.get<double>() < schema["minimum"].get<double>())
            errors_.push_back(path + ": below minimum");
        if (schema.contains("allOf"))
            for (json const& sub : schema["allOf"])
                check(sub, v, path);
        if (v.is_object())
            check_object(schema, v, path);
        if (v.is_array())
            check_array(schema, v, path);
    }

    void check_object(json const& schema, json const& v, std::string const& path) {
        if (schema.contains("required"))
            for (json const& key : schema["required"])
                if (!v.contains(key.get<std::string>()))
                    errors_.push_back(path + ": missing required key " + key.get<std::string>());
        json const props = schema.value("properties", json::object());
        for (auto it = v.begin(); it != v.end(); ++it) {
            std::string const sub = path + "." + it.key();
            if (props.contains(it.key())) {
                check(props[it.key()], it.value(), sub);
            } else if (schema.contains("additionalProperties")) {
                json const& extra = schema["additionalProperties"];
                if (extra.is_boolean() && !extra.get<bool>())
                    errors_.push_back(path + ": unexpected key " + it.key());
                else if (extra.is_object())
                    check(extra, it.value(), sub);
            }
        }
    }

    void check_array(json const& schema, json const& v, std::string const& path) {
        if (schema.contains("minItems") && v.size() < schema["minItems"].get<std::size_t>())
            errors_.push_back(path + ": too few items");
        if (schema.contains("maxItems") && v.size() > schema["maxItems"].get<std::size_t>())
            errors_.push_back(path + ": too many items");
        if (schema.contains("items"))
            for (std::size_t i = 0; i < v.size(); ++i)
                check(schema["items"], v[i], path + "[" + std::to_string(i) + "]");
    }

    json root_;                       // the whole schema ($defs live here)
    std::vector<std::string> errors_; // found by the current validate()
};

json load_schema() {
    std::ifstream in(std::filesystem::path{LIFECHECK_SOURCE_DIR} /
                     "reports/schema/report-v1.schema.json");
    return json::parse(in);
}

std::string joined(std::vector<std::string> const& errors) {
    std::string out;
    for (std::string const& e : errors)
        out += e + "\n";
    return out;
}

//----------------------------------------------------------------------------------------------

TEST(JsonReport, MatchesGolden) {
    test_support::expect_golden(
        "run.golden.json", test_support::normalize_json(to_json_text(test_support::sample_run())));
}

TEST(JsonReport, ConformsToSchema) {
    schema_validator v{load_schema()};
    auto const errors = v.validate(to_json(test_support::sample_run()));
    EXPECT_TRUE(errors.empty()) << joined(errors);
}

TEST(JsonReport, AnInterruptedRunSaysSoAndConformsToSchema) {
    schema_validator v{load_schema()};
    run_report rep = test_support::sample_run();
    rep.run.interrupted = "SIGTERM";
    json const doc = to_json(rep);
    EXPECT_EQ(doc["run"]["interrupted"], "SIGTERM");
    auto const errors = v.validate(doc);
    EXPECT_TRUE(errors.empty()) << joined(errors);
    EXPECT_FALSE(to_json(test_support::sample_run())["run"].contains("interrupted"));
}

TEST(JsonReport, EmptyRunConformsToSchema) {
    schema_validator v{load_schema()};
    auto const errors = v.validate(to_json(run_report{}));
    EXPECT_TRUE(errors.empty()) << joined(errors);
}

TEST(JsonReport, SchemaCatchesMissingAndMistypedKeys) {
    schema_validator v{load_schema()};
    json doc = to_json(test_support::sample_run());
    doc["scenarios"][0].erase("replay");
    doc["scenarios"][1]["steps"][0]["status"] = "200";
    doc["scenarios"][2]["result"] = "passed";
    doc["summary"]["targets"]["reference"].erase("hang");
    doc["run"]["extra"] = 1;
    auto const errors = v.validate(doc);
    std::string const all = joined(errors);
    EXPECT_EQ(errors.size(), 5u) << all;
    EXPECT_NE(all.find("$.scenarios[0]: missing required key replay"), std::string::npos) << all;
    EXPECT_NE(all.find("$.scenarios[1].steps[0].status: expected type"), std::string::npos) << all;
    EXPECT_NE(all.find("$.scenarios[2].result: \"passed\" is not one of"), std::string::npos)
        << all;
    EXPECT_NE(all.find("$.summary.targets.reference: missing required key hang"), std::string::npos)
        << all;
    EXPECT_NE(all.find("$.run: unexpected key extra"), std::string::npos) << all;
}

TEST(JsonReport, PluginDeltaConformsToSchemaAndListsChanges) {
    json const doc = to_json(test_support::sample_delta_run());
    schema_validator v{load_schema()};
    auto const errors = v.validate(doc);
    EXPECT_TRUE(errors.empty()) << joined(errors);
    json const& d = doc["plugin_delta"];
    EXPECT_EQ(d["plugins"][0]["installed"], "11.4.3");
    EXPECT_EQ(d["plugins"][0]["options"], json({{"origin", "*"}}));
    EXPECT_EQ(d["compared"], 3);
    EXPECT_EQ(d["changed"], 2);
    EXPECT_EQ(d["broken"], 1);
    EXPECT_EQ(d["scenarios"][0]["changes"][0]["text"], "step r1: status 404 -> 204");
    EXPECT_EQ(d["scenarios"][1]["changes"][0]["invariant"], "I6");
    EXPECT_EQ(d["scenarios"][1]["changes"][0]["breaks"], true);
    // Without --with-plugin there is no such key: the report of a plain run is unchanged.
    EXPECT_FALSE(to_json(test_support::sample_run()).contains("plugin_delta"));
}

TEST(JsonReport, SummaryCountsPerVerdictAndTarget) {
    json const doc = to_json(test_support::sample_run());
    json const& s = doc["summary"];
    EXPECT_EQ(s["total"], 7);
    EXPECT_EQ(s["pass"], 1);
    EXPECT_EQ(s["fail"], 1);
    EXPECT_EQ(s["crash"], 1);
    EXPECT_EQ(s["hang"], 1);
    EXPECT_EQ(s["skip"], 1);
    EXPECT_EQ(s["error"], 1);
    EXPECT_EQ(s["divergence"], 1);
    EXPECT_EQ(s["targets"]["reference"]["total"], 4);
    EXPECT_EQ(s["targets"]["fastify"]["divergence"], 1);
    EXPECT_EQ(doc["lifecheck"], "0.0.0-test");
}

TEST(JsonReport, BodyIsCutAt4KiBOnACharacterBoundary) {
    run_report rep = test_support::sample_run();
    std::string body(body_limit - 1, 'a');
    body += "\xc3\xa9"; // 'é' straddles the limit
    body += std::string(100, 'b');
    rep.results[0].steps[0].body = body;
    json const step = to_json(rep)["scenarios"][0]["steps"][0];
    EXPECT_EQ(step["body"].get<std::string>(), std::string(body_limit - 1, 'a'));
    EXPECT_EQ(step["body_bytes"], body.size());
    EXPECT_EQ(step["body_truncated"], true);
    EXPECT_EQ(to_json(test_support::sample_run())["scenarios"][0]["steps"][0]["body_truncated"],
              false);
}

TEST(JsonReport, BytesThatAreNotUtf8AreReplaced) {
    std::string const text = to_json_text(test_support::sample_run()); // body has \x01 and \xff
    EXPECT_NE(text.find("\\u0001\xef\xbf\xbd"), std::string::npos);
    EXPECT_FALSE(json::parse(text, nullptr, false).is_discarded());
}

TEST(JsonReport, TraceDivergenceIsStructured) {
    json const f = to_json(test_support::sample_run())["scenarios"][1]["findings"][1];
    EXPECT_EQ(f["kind"], "trace");
    EXPECT_EQ(f["divergence"]["position"], 4);
    EXPECT_EQ(f["divergence"]["expected"], "errorHandler@root");
    EXPECT_EQ(f["divergence"]["actual"], "preSerialization@root");
    EXPECT_NE(f["detail"].get<std::string>().find(">> 4"), std::string::npos);
}

TEST(JsonReport, WritesFile) {
    auto const dir = std::filesystem::temp_directory_path() / "lifecheck-json-test";
    std::filesystem::remove_all(dir);
    auto const written = write_json(dir / "results.json", test_support::sample_run());
    ASSERT_TRUE(written.has_value());
    std::ifstream in(written.value());
    EXPECT_EQ(json::parse(in), json::parse(to_json_text(test_support::sample_run())));
    std::filesystem::remove_all(dir);
}

} // namespace
} // namespace lifecheck::report
