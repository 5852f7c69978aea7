// Tests for the SARIF writer: the published SARIF 2.1.0 schema (valijson), one result per
// failure with its rule, file and line; and the GitHub Actions annotations.
#include "harness/report/sarif.hpp"

#include "harness/common/json_schema_check.hpp"
#include "harness/report/github.hpp"
#include "harness/report/test_support.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include <unistd.h>

namespace lifecheck::report {
namespace {

namespace fs = std::filesystem;
using scenario::json;

/// The SARIF 2.1.0 schema as the SARIF SDK publishes it (npm @microsoft/sarif-multitool-linux,
/// installed by scripts/setup.sh into harness/report/testdata/sarif).
fs::path const schema_file =
    fs::path{LIFECHECK_SOURCE_DIR} /
    "harness/report/testdata/sarif/node_modules/@microsoft/sarif-multitool-linux/sarif-2.1.0.json";

std::string read_text(fs::path const& p) {
    std::ifstream in{p, std::ios::binary};
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
}

/// What the published schema says about `doc`: "" when it validates, else one line per error.
std::string schema_errors(json const& doc) {
    static test::json_schema const schema{schema_file};
    return schema.errors(nlohmann::json::parse(doc.dump()));
}

#define LIFECHECK_NEED_SARIF_SCHEMA()                                                              \
    if (!fs::exists(schema_file))                                                                  \
    GTEST_SKIP() << "SKIPPED: the published SARIF 2.1.0 schema is not installed (" << schema_file  \
                 << "); run scripts/setup.sh (npm ci in harness/report/testdata/sarif)"

/// A scenario file in a temporary source tree, and a failing result that points into it.
class SarifFile : public ::testing::Test {
protected:
    void SetUp() override {
        root_ = fs::path{::testing::TempDir()} / ("lifecheck-sarif-" + std::to_string(::getpid()));
        fs::create_directories(root_ / "scenarios/fastify/errors");
        file_ = root_ / "scenarios/fastify/errors/two steps.json";
        std::ofstream{file_} << R"({
  "description": "two steps",
  "app": {},
  "steps": [
    { "id": "r0", "request": {"url": "/"} },
    {
      "id": "r1",
      "request": {"url": "/"},
      "expect": {
        "status": 200,
        "trace": ["handler"]
      }
    }
  ]
})";
    }

    void TearDown() override { fs::remove_all(root_); }

    check::scenario_result failing(check::finding_kind kind, std::string const& json_path) const {
        auto r =
            test_support::result("fastify/errors/two steps", "reference", check::verdict::fail, 1);
        r.file = file_.string();
        check::finding f;
        f.step_id = "r1";
        f.kind = kind;
        f.message = "trace differs at position 0: expected handler, got onRequest@root";
        f.json_path = json_path;
        r.findings.push_back(f);
        return r;
    }

    fs::path root_;
    fs::path file_;
};

TEST(SarifReport, ValidatesAgainstThePublishedSchema) {
    LIFECHECK_NEED_SARIF_SCHEMA();
    json const doc = to_sarif(test_support::sample_run());
    EXPECT_EQ(schema_errors(doc), "");
    EXPECT_EQ(schema_errors(to_sarif(run_report{})), "") << "an empty run";
    auto interrupted = test_support::sample_run();
    interrupted.run.interrupted = "SIGINT";
    EXPECT_EQ(schema_errors(to_sarif(interrupted)), "");
}

TEST(SarifReport, TheSchemaCheckCanFail) {
    LIFECHECK_NEED_SARIF_SCHEMA();
    json doc = to_sarif(test_support::sample_run());
    doc["runs"][0]["results"][0]["level"] = "fatal";
    doc["runs"][0]["results"][1]["locations"][0]["physicalLocation"]["region"]["startLine"] = 0;
    doc["runs"][0]["tool"]["driver"].erase("name");
    std::string const errors = schema_errors(doc);
    EXPECT_NE(errors, "");
    EXPECT_NE(errors.find("level"), std::string::npos) << errors;
    EXPECT_NE(errors.find("startLine"), std::string::npos) << errors;
    EXPECT_NE(errors.find("name"), std::string::npos) << errors;
}

// The same package carries the SARIF SDK's validator, which also checks the rules the schema
// cannot express (rule ids and indexes, uriBaseIds, message strings).
TEST(SarifReport, TheSdkValidatorFindsNoError) {
    fs::path const tool = schema_file.parent_path() / "Sarif.Multitool";
    if (!fs::exists(tool))
        GTEST_SKIP() << "SKIPPED: the SARIF SDK's validator is not installed (" << tool
                     << "); run scripts/setup.sh";
    fs::path const dir =
        fs::path{::testing::TempDir()} / ("lifecheck-sarif-sdk-" + std::to_string(::getpid()));
    fs::create_directories(dir);
    ASSERT_TRUE(write_sarif(dir / "run.sarif", test_support::sample_run()));
    std::string const command =
        "'" + tool.string() + "' validate '" + (dir / "run.sarif").string() + "' -o '" +
        (dir / "out.sarif").string() + "' >'" + (dir / "log").string() + "' 2>&1";
    int const status = std::system(command.c_str());
    std::string const log = read_text(dir / "log");
    EXPECT_EQ(status, 0) << log;
    json const found = json::parse(read_text(dir / "out.sarif"), nullptr, false);
    ASSERT_FALSE(found.is_discarded()) << log;
    json const& run = found["runs"][0];
    for (json const& r : run.value("results", json::array())) {
        // A result without a level has its rule's default level (SARIF 3.27.10).
        std::string level = r.value("level", "");
        for (json const& rule : run["tool"]["driver"].value("rules", json::array()))
            if (level.empty() && rule.value("id", "") == r.value("ruleId", ""))
                level = rule.value("defaultConfiguration", json::object()).value("level", "");
        EXPECT_NE(level.empty() ? "warning" : level, "error") << r.dump(2);
    }
    fs::remove_all(dir);
}

TEST(SarifReport, OneResultPerFailureWithARulePerFindingKind) {
    run_report const rep = test_support::sample_run();
    json const doc = to_sarif(rep);
    EXPECT_EQ(doc["version"], "2.1.0");
    json const& run = doc["runs"][0];
    EXPECT_EQ(run["tool"]["driver"]["name"], "lifecheck");
    json const& rules = run["tool"]["driver"]["rules"];
    ASSERT_EQ(rules.size(), 16u) << "one rule per check::finding_kind";
    // fail, hang, error (harness fault), crash fail the run; pass, skip and divergence do not.
    json const& results = run["results"];
    ASSERT_EQ(results.size(), 4u) << results.dump(2);
    for (json const& r : results) {
        std::size_t const i = r["ruleIndex"];
        EXPECT_EQ(rules[i]["id"], r["ruleId"]);
        EXPECT_EQ(r["level"], "error");
    }
    EXPECT_EQ(results[0]["ruleId"], "status"); // the first finding of the failing scenario
    EXPECT_EQ(results[1]["ruleId"], "hang");
    EXPECT_EQ(results[2]["ruleId"], "harness");
    EXPECT_EQ(results[3]["ruleId"], "invariant"); // a dead target is I7
    EXPECT_EQ(results[3]["properties"]["invariant"], "I7");
    std::string const text = results[0]["message"]["text"];
    EXPECT_EQ(text.rfind("FAIL fastify/errors/preserialization-throws [reference]\n", 0), 0u)
        << text;
    EXPECT_NE(text.find("replay: lifecheck run --target reference"), std::string::npos) << text;
}

// Issue 19: a crashed target's stderr (the finding's detail) is in the SARIF message and the
// GitHub annotation, as in the terminal, JUnit, results.json and index.html.
TEST(SarifReport, CrashCarriesTheTargetsStderr) {
    run_report const rep = test_support::sample_run();
    json const doc = to_sarif(rep);
    json const& results = doc["runs"][0]["results"];
    ASSERT_EQ(results.size(), 4u) << results.dump(2);
    std::string const text = results[3]["message"]["text"];
    EXPECT_NE(text.find("\n    target stderr:\n      Error: Response body object locked <&>\n"),
              std::string::npos)
        << text;
    EXPECT_NE(text.find("\nreplay: "), std::string::npos) << text;
}

TEST(GithubAnnotation, CrashCarriesTheTargetsStderr) {
    run_report const rep = test_support::sample_run();
    std::string annotations;
    for (check::scenario_result const& r : rep.results)
        if (r.v == check::verdict::crash)
            annotations += github_annotation(r, "/");
    EXPECT_NE(
        annotations.find("%0A    target stderr:%0A      Error: Response body object locked <&>"),
        std::string::npos)
        << annotations;
}

TEST_F(SarifFile, LocationIsTheRepoRelativeFileAndTheLineOfTheFailingField) {
    run_report rep;
    rep.run.source_root = root_;
    rep.results.push_back(failing(check::finding_kind::trace, "$.steps[1].expect.trace"));
    json const loc = to_sarif(rep)["runs"][0]["results"][0]["locations"][0]["physicalLocation"];
    EXPECT_EQ(loc["artifactLocation"]["uri"], "scenarios/fastify/errors/two%20steps.json");
    EXPECT_EQ(loc["artifactLocation"]["uriBaseId"], "SRCROOT");
    EXPECT_EQ(loc["region"]["startLine"], 11); // "trace": ["handler"]
    json const base = to_sarif(rep)["runs"][0]["originalUriBaseIds"]["SRCROOT"]["uri"];
    EXPECT_EQ(base, "file://" + root_.string() + "/");

    rep.results[0] = failing(check::finding_kind::invariant, "$.steps[1]");
    EXPECT_EQ(to_sarif(rep)["runs"][0]["results"][0]["locations"][0]["physicalLocation"]["region"]
                           ["startLine"],
              6); // the step's opening brace
}

TEST_F(SarifFile, AFileOutsideTheRootIsAnAbsoluteUri) {
    run_report rep;
    rep.run.source_root = root_ / "elsewhere";
    rep.results.push_back(failing(check::finding_kind::trace, "$.steps[1].expect.trace"));
    json const uri = to_sarif(
        rep)["runs"][0]["results"][0]["locations"][0]["physicalLocation"]["artifactLocation"];
    EXPECT_EQ(uri["uri"],
              "file://" + root_.string() + "/scenarios/fastify/errors/two%20steps.json");
    EXPECT_FALSE(uri.contains("uriBaseId"));
}

TEST_F(SarifFile, GithubAnnotationNamesFileLineAndReplay) {
    auto r = failing(check::finding_kind::trace, "$.steps[1].expect.trace");
    EXPECT_EQ(
        github_annotation(r, root_),
        "::error file=scenarios/fastify/errors/two steps.json,line=11,title=lifecheck%3A FAIL "
        "fastify/errors/two steps [reference]::step r1: trace differs at position 0: "
        "expected handler, got onRequest@root%0Areplay: lifecheck run --target reference "
        "scenarios/fastify/errors/two steps.json\n");
    r.v = check::verdict::pass;
    EXPECT_EQ(github_annotation(r, root_), "");
    r.v = check::verdict::divergence;
    EXPECT_EQ(github_annotation(r, root_), "");
}

TEST(GithubAnnotation, EscapesWhatWorkflowCommandsReserve) {
    EXPECT_EQ(github_escape("a%b\r\nc:d,e", false), "a%25b%0D%0Ac:d,e");
    EXPECT_EQ(github_escape("a%b\r\nc:d,e", true), "a%25b%0D%0Ac%3Ad%2Ce");
}

} // namespace
} // namespace lifecheck::report
