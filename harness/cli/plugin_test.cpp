// Tests npm plugins end to end with the real targets (label node): scenarios with npmPlugins on
// the reference (skip) and on real Fastify (a missing package is an error, not a crash), and
// `lifecheck run --with-plugin` on a tiny corpus (the plugin delta, its reports, its exit codes).
#include "harness/cli/test_shell.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <filesystem>
#include <fstream>
#include <string>

#include <unistd.h>

namespace lifecheck::cli {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::ordered_json;
using test::ran;

fs::path const source{LIFECHECK_SOURCE_DIR};
fs::path const adapter = source / "server_under_test/fastify";
fs::path const test_plugin = adapter / "testdata/plugins/lifecheck-test-plugin";

std::string installed_version(std::string const& package) {
    std::ifstream in{adapter / "node_modules" / package / "package.json"};
    return in ? json::parse(in).value("version", "") : "";
}

class Plugins : public ::testing::Test {
protected:
    void SetUp() override {
        if (test::shell("command -v node").code != 0 || installed_version("@fastify/cors").empty())
            GTEST_SKIP() << "needs node and the Fastify adapter's node_modules (npm ci)";
        dir_ = fs::path{::testing::TempDir()} /
               ("lifecheck-plugins-" + std::to_string(::getpid()) + "-" +
                ::testing::UnitTest::GetInstance()->current_test_info()->name());
        fs::remove_all(dir_);
        fs::create_directories(dir_ / "scenarios" / "test");
    }

    void TearDown() override { fs::remove_all(dir_); }

    void write(std::string const& id, std::string const& text) {
        std::ofstream{dir_ / "scenarios" / (id + ".json")} << text;
    }

    ran lifecheck(std::string const& args) const {
        return test::shell(std::string{LIFECHECK_EXE} + " run --no-progress --junit " +
                           (dir_ / "out/junit.xml").string() + " --json " +
                           (dir_ / "out/results.json").string() + " " + args + " " +
                           (dir_ / "scenarios").string());
    }

    json results() const {
        std::ifstream in{dir_ / "out/results.json"};
        return json::parse(in);
    }

    std::string junit() const {
        std::ifstream in{dir_ / "out/junit.xml"};
        return {std::istreambuf_iterator<char>{in}, std::istreambuf_iterator<char>{}};
    }

    fs::path dir_;
};

// A GET whose trace no plugin here changes, and an OPTIONS preflight: 404 through the scenario's
// hooks without @fastify/cors, 204 from the plugin's own onRequest hook with it.
std::string const plain = R"({"description": "plain GET",
  "app": {"hooks": {"onRequest": [{}], "onSend": [{}], "onResponse": [{}]},
          "routes": [{"method": "GET", "url": "/items", "handler": {"payload": {"kind": "json", "value": [1]}}}]},
  "steps": [{"id": "r1", "request": {"url": "/items"},
             "expect": {"status": 200, "trace": ["onRequest@root", "handler", "onSend@root", "onResponse@root"]}}]})";

std::string const preflight = R"({"description": "a CORS preflight",
  "app": {"hooks": {"onRequest": [{}], "onSend": [{}], "onResponse": [{}]},
          "routes": [{"method": "GET", "url": "/items", "handler": {}}]},
  "steps": [{"id": "r1", "request": {"method": "OPTIONS", "url": "/items",
             "headers": {"origin": "http://example.test", "access-control-request-method": "GET"}},
             "expect": {"status": 404, "trace": ["onRequest@root", "onSend@root", "onResponse@root"]}}]})";

TEST_F(Plugins, TheReferenceSkipsAScenarioWithNpmPlugins) {
    write(
        "test/cors",
        R"({"app": {"npmPlugins": [{"name": "@fastify/cors"}], "routes": [{"url": "/", "handler": {}}]},
              "steps": [{"id": "r1", "request": {"url": "/"}, "expect": {"status": 200}}]})");
    ran const r = lifecheck("--target reference");
    EXPECT_EQ(r.code, 0) << r.out;
    EXPECT_NE(r.out.find("SKIP  test/cors"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("target does not support: npmPlugins (@fastify/cors): real npm packages "
                         "run on real Fastify only"),
              std::string::npos)
        << r.out;
}

TEST_F(Plugins, AMissingPackageIsAnErrorNamingTheInstallCommandNotACrash) {
    write(
        "test/missing",
        R"({"app": {"npmPlugins": [{"name": "@lifecheck/not-installed"}], "routes": [{"url": "/", "handler": {}}]},
              "steps": [{"id": "r1", "request": {"url": "/"}}]})");
    write("test/plain", plain);
    ran const r = lifecheck("--target fastify");
    EXPECT_EQ(r.code, 2) << r.out; // an environment problem, like an invalid file
    EXPECT_NE(r.out.find("ERROR test/missing"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("the target cannot build the app: npm plugin '@lifecheck/not-installed' "
                         "is not installed"),
              std::string::npos)
        << r.out;
    EXPECT_NE(r.out.find("npm install @lifecheck/not-installed"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("PASS  test/plain"), std::string::npos) << r.out; // the target lives on
    EXPECT_EQ(r.out.find("CRASH"), std::string::npos) << r.out;
}

TEST_F(Plugins, WithPluginReportsTheScenariosWhoseTraceOrStatusChanged) {
    write("test/plain", plain);
    write("test/preflight", preflight);
    ran const r =
        lifecheck(R"(--target fastify -j 2 --with-plugin '@fastify/cors:{"origin":"*"}')");
    std::string const cors = installed_version("@fastify/cors");
    EXPECT_EQ(r.code, 0) << r.out; // a changed status alone is informational (D35)
    EXPECT_NE(r.out.find("with plugin @fastify/cors " + cors + R"( {"origin":"*"})"),
              std::string::npos)
        << r.out;
    EXPECT_NE(r.out.find("PASS  test/preflight  "), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("[fastify+@fastify/cors]"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("CHANGED  test/preflight\n         step r1: status 404 -> 204\n"),
              std::string::npos)
        << r.out;
    EXPECT_EQ(r.out.find("CHANGED  test/plain"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("1 of 2 scenarios changed with the plugin: 0 broke the lifecycle"),
              std::string::npos)
        << r.out;

    json const doc = results();
    json const& delta = doc.at("plugin_delta");
    EXPECT_EQ(delta["plugins"][0]["installed"], cors);
    EXPECT_EQ(delta["without"], "fastify");
    EXPECT_EQ(delta["with"], "fastify+@fastify/cors");
    EXPECT_EQ(delta["compared"], 2);
    ASSERT_EQ(delta["scenarios"].size(), 1u);
    EXPECT_EQ(delta["scenarios"][0]["id"], "test/preflight");
    EXPECT_EQ(delta["scenarios"][0]["changes"][0]["text"], "step r1: status 404 -> 204");
    EXPECT_EQ(doc["summary"]["targets"]["fastify+@fastify/cors"]["pass"], 2);
    // Both runs replay with the plugin.
    EXPECT_NE(
        doc["scenarios"][3]["replay"].get<std::string>().find(
            "lifecheck run --target fastify --with-plugin '@fastify/cors:{\"origin\":\"*\"}'"),
        std::string::npos)
        << doc["scenarios"][3]["replay"];
    EXPECT_NE(junit().find("<testsuite name=\"plugin delta: @fastify/cors\" tests=\"1\" "
                           "failures=\"0\""),
              std::string::npos)
        << junit();
}

TEST_F(Plugins, WithPluginFailsTheRunWhenThePluginBreaksTheLifecycle) {
    // The test plugin's onResponse hook throws from a timer: Fastify's process dies after the
    // reply (I7), with the plugin only.
    write("test/plain", plain);
    ran const r = lifecheck("--target fastify --with-plugin '" + test_plugin.string() +
                            R"(@0.1:{"throwAfterResponse":true}')");
    EXPECT_EQ(r.code, 1) << r.out;
    EXPECT_NE(r.out.find("PASS  test/plain  "), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("CRASH test/plain  "), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("lifecheck-test-plugin: thrown after the response"), std::string::npos)
        << r.out; // the target's stderr, in the crash report
    EXPECT_NE(r.out.find("BROKEN   test/plain\n         result: pass -> crash\n"),
              std::string::npos)
        << r.out;
    EXPECT_NE(r.out.find("1 of 1 scenarios changed with the plugin: 1 broke the lifecycle"),
              std::string::npos)
        << r.out;
    EXPECT_EQ(results()["plugin_delta"]["broken"], 1);
    EXPECT_NE(junit().find("<failure message=\"result: pass -&gt; crash\" type=\"plugin-delta\">"),
              std::string::npos)
        << junit();
}

TEST_F(Plugins, WithPluginRefusesWhatCannotRunBeforeRunningAnything) {
    write("test/plain", plain);
    ran const version = lifecheck("--target fastify --with-plugin @fastify/cors@10");
    EXPECT_EQ(version.code, 2) << version.out;
    EXPECT_NE(version.out.find("lifecheck run: --with-plugin: npm plugin '@fastify/cors' is "
                               "installed at " +
                               installed_version("@fastify/cors")),
              std::string::npos)
        << version.out;
    EXPECT_EQ(version.out.find("PASS"), std::string::npos) << version.out;

    ran const missing = lifecheck("--target fastify --with-plugin @lifecheck/not-installed");
    EXPECT_EQ(missing.code, 2) << missing.out;
    EXPECT_NE(missing.out.find("npm install @lifecheck/not-installed"), std::string::npos)
        << missing.out;

    // Options the plugin refuses: Fastify does not start the app.
    ran const refused =
        lifecheck(R"(--target fastify --with-plugin '@fastify/compress:{"encodings":["nope"]}')");
    EXPECT_EQ(refused.code, 2) << refused.out;
    EXPECT_NE(refused.out.find("could not start an app with @fastify/compress"), std::string::npos)
        << refused.out;

    ran const reference = lifecheck("--target reference --with-plugin @fastify/cors");
    EXPECT_EQ(reference.code, 2) << reference.out;
    EXPECT_NE(reference.out.find("target reference cannot register npm plugins"), std::string::npos)
        << reference.out;

    ran const two = lifecheck("--target fastify --target reference --with-plugin @fastify/cors");
    EXPECT_EQ(two.code, 2) << two.out;
    EXPECT_NE(two.out.find("--with-plugin takes one --target"), std::string::npos) << two.out;

    ran const bad = lifecheck("--target fastify --with-plugin 'Cors'");
    EXPECT_EQ(bad.code, 2) << bad.out;
    EXPECT_NE(bad.out.find("--with-plugin 'Cors': name: expected an npm package name"),
              std::string::npos)
        << bad.out;
}

} // namespace
} // namespace lifecheck::cli
