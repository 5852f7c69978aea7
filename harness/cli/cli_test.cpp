// Tests the lifecheck executable end to end (run, validate, record, serve) with the fake
// target, plus the --filter/--exclude glob.
#include "harness/cli/cli.hpp"

#include "harness/cli/options.hpp"
#include "harness/cli/test_shell.hpp"
#include "harness/cli/with_plugin.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <pty.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

namespace lifecheck::cli {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::ordered_json;

TEST(GlobMatch, StarStaysInASegmentDoubleStarCrosses) {
    EXPECT_TRUE(glob_match("fastify/hooks/*", "fastify/hooks/x"));
    EXPECT_FALSE(glob_match("fastify/*", "fastify/hooks/x"));
    EXPECT_TRUE(glob_match("fastify/**", "fastify/hooks/x"));
    EXPECT_TRUE(glob_match("**/x", "fastify/hooks/x"));
    EXPECT_TRUE(glob_match("fastify/**/x", "fastify/x"));
    EXPECT_TRUE(glob_match("*/hooks/on*", "fastify/hooks/onsend-throws"));
    EXPECT_FALSE(glob_match("*/hooks/on*", "fastify/errors/onsend-throws"));
    EXPECT_TRUE(glob_match("fastify/hooks/x?", "fastify/hooks/xy"));
    EXPECT_FALSE(glob_match("fastify/hooks/x?", "fastify/hooks/x"));
}

TEST(GlobMatch, PlainPatternSelectsIdOrFolder) {
    EXPECT_TRUE(glob_match("fastify/hooks", "fastify/hooks/x"));
    EXPECT_TRUE(glob_match("fastify/hooks/", "fastify/hooks/x"));
    EXPECT_TRUE(glob_match("fastify/hooks/x", "fastify/hooks/x"));
    EXPECT_FALSE(glob_match("fastify/hook", "fastify/hooks/x"));
}

//----------------------------------------------------------------------------------------------
// The executable.

using test::ran;

ran run_cli(std::string const& args) {
    return test::shell(std::string{LIFECHECK_EXE} + " " + args);
}

std::string fake_target(std::string const& mode = "ok") {
    return "'" + std::string{LIFECHECK_FAKE_TARGET} + " --mode " + mode + "'";
}

std::string const app = R"("app": {
    "hooks": {"onRequest": [{"do": "continue"}], "onResponse": [{"do": "continue"}]},
    "routes": [{"method": "GET", "url": "/", "handler": {"do": "continue",
                "payload": {"kind": "json", "value": {"ok": true}}}}]})";

class CliRun : public ::testing::Test {
protected:
    void SetUp() override {
        dir_ = fs::path{::testing::TempDir()} /
               ("lifecheck-cli-" + std::to_string(::getpid()) + "-" +
                ::testing::UnitTest::GetInstance()->current_test_info()->name());
        fs::remove_all(dir_);
        fs::create_directories(dir_ / "scenarios" / "test");
    }

    void TearDown() override { fs::remove_all(dir_); }

    fs::path write(std::string const& id, std::string const& text) {
        fs::path const f = dir_ / "scenarios" / (id + ".json");
        fs::create_directories(f.parent_path());
        std::ofstream{f} << text;
        return f;
    }

    fs::path scenario(std::string const& id, std::string const& expect_trace) {
        return write(id,
                     R"({"description": "cli test", )" + app +
                         R"(, "steps": [{"id": "r1", "request": {"url": "/"},
                             "expect": {"status": 200, "trace": )" +
                         expect_trace + "}}]}");
    }

    std::string reports() const {
        return " --junit " + (dir_ / "out" / "junit.xml").string() + " --json " +
               (dir_ / "out" / "results.json").string() + " ";
    }

    /// `lifecheck ARGS` run from dir_ (reports go to dir_/reports), with `env` (VAR=value ...).
    ran run_here(std::string const& args, std::string const& env = "") const {
        return test::shell("cd '" + dir_.string() + "' && " + env + " " +
                           std::string{LIFECHECK_EXE} + " " + args);
    }

    std::string text_of(fs::path const& f) const {
        std::ifstream in{f.is_absolute() ? f : dir_ / f, std::ios::binary};
        std::stringstream s;
        s << in.rdbuf();
        return s.str();
    }

    json results(fs::path const& f = "reports/results.json") const {
        return json::parse(text_of(f), nullptr, false);
    }

    /// The entry of scenario `id` in a results.json document.
    static json entry_of(json const& doc, std::string const& id) {
        for (json const& s : doc.at("scenarios"))
            if (s.at("id") == id)
                return s;
        return nullptr;
    }

    fs::path dir_;
};

std::string const good_trace = R"(["onRequest@root", "handler", "onResponse@root"])";

TEST(PluginSpec, NameVersionAndOptions) {
    auto const cors = parse_plugin_spec(R"(@fastify/cors@11.4:{"origin":"*","maxAge":5})");
    ASSERT_TRUE(cors.has_value()) << describe(cors.error().front());
    EXPECT_EQ(cors->name, "@fastify/cors");
    EXPECT_EQ(cors->version, "11.4");
    EXPECT_EQ(cors->options.dump(), R"({"origin":"*","maxAge":5})");

    auto const bare = parse_plugin_spec("@fastify/helmet");
    ASSERT_TRUE(bare.has_value());
    EXPECT_EQ(bare->name, "@fastify/helmet");
    EXPECT_FALSE(bare->version);
    EXPECT_TRUE(bare->options.empty());

    // A relative path becomes absolute; an @ before the last / is part of the path.
    auto const local = parse_plugin_spec("./plugins/my@work/plugin@1");
    ASSERT_TRUE(local.has_value()) << describe(local.error().front());
    EXPECT_EQ(local->name, (fs::current_path() / "plugins/my@work/plugin").string());
    EXPECT_EQ(local->version, "1");
}

TEST(PluginSpec, ProblemsNameTheOptionAndUseTheScenarioRules) {
    auto const upper = parse_plugin_spec("Cors");
    ASSERT_FALSE(upper.has_value());
    EXPECT_EQ(describe(upper.error().front()),
              "--with-plugin 'Cors': name: expected an npm package name (lower case, optionally "
              "@scope/) or an absolute path, got \"Cors\"");
    auto const range = parse_plugin_spec("cors@^11");
    ASSERT_FALSE(range.has_value());
    EXPECT_NE(describe(range.error().front()).find("version: expected a version"),
              std::string::npos);
    auto const options = parse_plugin_spec("cors:[1]");
    ASSERT_FALSE(options.has_value());
    EXPECT_EQ(describe(options.error().front()),
              "--with-plugin 'cors:[1]': options: expected a JSON object after ':', got \"[1]\"");
}

TEST(PluginSpec, GoesFirstAtTheRootOfFastifyScenariosOnly) {
    scenario::scenario sc;
    sc.application.root.npm_plugins.push_back({"own", std::nullopt, scenario::json::object()});
    scenario::npm_plugin const cors{"@fastify/cors", std::nullopt, scenario::json::object()};
    auto const with = with_root_plugins(sc, {cors});
    ASSERT_EQ(with.application.root.npm_plugins.size(), 2u);
    EXPECT_EQ(with.application.root.npm_plugins[0].name, "@fastify/cors");
    EXPECT_EQ(with.application.root.npm_plugins[1].name, "own");
    sc.lang = scenario::dialect::koa;
    EXPECT_EQ(with_root_plugins(sc, {cors}).application.root.npm_plugins.size(), 1u);
    EXPECT_EQ(with_plugins_name("fastify", {cors, cors}), "fastify+@fastify/cors+@fastify/cors");
}

TEST(Cli, VersionAndHelp) {
    auto const v = run_cli("--version");
    EXPECT_EQ(v.code, 0);
    EXPECT_EQ(v.out.rfind("lifecheck ", 0), 0u) << v.out;
    auto const h = run_cli("--help");
    EXPECT_EQ(h.code, 0);
    EXPECT_NE(h.out.find("commands:"), std::string::npos);
    for (char const* cmd : {"run", "validate", "serve", "record"}) {
        auto const sub = run_cli(std::string{cmd} + " --help");
        EXPECT_EQ(sub.code, 0) << cmd;
        EXPECT_NE(sub.out.find(std::string{"usage: lifecheck "} + cmd), std::string::npos)
            << sub.out;
    }
    EXPECT_EQ(run_cli("frobnicate").code, 2);
    EXPECT_EQ(run_cli("").code, 2);
    EXPECT_EQ(run_cli("run --no-such-option x").code, 2);
    EXPECT_EQ(run_cli("run").code, 2);
}

//----------------------------------------------------------------------------------------------
// The option table: one declaration per option, the same meaning in every command.

TEST(OptionTable, EveryOptionNamesKnownCommandsOnce) {
    for (option_spec const& o : option_table()) {
        EXPECT_FALSE(o.uses.empty()) << o.name;
        for (option_use const& u : o.uses) {
            int found = 0;
            for (command_spec const& c : command_table())
                found += c.name == u.command ? 1 : 0;
            EXPECT_EQ(found, 1) << o.name << " names " << u.command;
            int same = 0;
            for (option_use const& v : o.uses)
                same += v.command == u.command ? 1 : 0;
            EXPECT_EQ(same, 1) << o.name << " lists " << u.command << " twice";
        }
    }
}

TEST(OptionTable, ParsesValuesFormsAndRanges) {
    int exit = -1;
    auto const p = parse_args("run",
                              {"-j3",
                               "--seed=18446744073709551615",
                               "--filter",
                               "a/*",
                               "--filter=b",
                               "--no-progress",
                               "--progress",
                               "x"},
                              exit);
    ASSERT_TRUE(p.has_value());
    EXPECT_EQ(p->count("--jobs"), 3);
    EXPECT_EQ(p->seed("--seed"), 18446744073709551615ull);
    EXPECT_EQ(p->all("--filter"), (std::vector<std::string>{"a/*", "b"}));
    EXPECT_EQ(p->last_of("--progress", "--no-progress"), true);
    EXPECT_EQ(p->operands, std::vector<std::string>{"x"});
    EXPECT_FALSE(parse_args("run", {"-j", "0", "x"}, exit).has_value());
    EXPECT_EQ(exit, 2);
    EXPECT_FALSE(parse_args("run", {"-j999", "x"}, exit).has_value());
    EXPECT_FALSE(parse_args("run", {"--seed", "-1", "x"}, exit).has_value());
    EXPECT_FALSE(parse_args("run", {"x", "--deadline"}, exit).has_value());
    EXPECT_FALSE(parse_args("run", {"--verbose=yes", "x"}, exit).has_value());
    EXPECT_FALSE(parse_args("prop", {"stray"}, exit).has_value());
}

// Issue 19: -j auto (one worker per core) is run's default; every command accepts it.
TEST(OptionTable, JobsAutoIsTheNumberOfCoresAndRunsDefault) {
    int exit = -1;
    int const cores = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
    auto const given = parse_args("run", {"-j", "auto", "x"}, exit);
    ASSERT_TRUE(given.has_value());
    EXPECT_EQ(jobs_of(*given, 1), cores);
    auto const none = parse_args("run", {"x"}, exit);
    ASSERT_TRUE(none.has_value());
    EXPECT_EQ(jobs_of(*none, 0), cores);
    EXPECT_EQ(jobs_of(*none, 2), 2);
    auto const three = parse_args("sweep", {"-j3", "x"}, exit);
    ASSERT_TRUE(three.has_value());
    EXPECT_EQ(jobs_of(*three, 2), 3);
    EXPECT_FALSE(parse_args("run", {"-j", "many", "x"}, exit).has_value());
}

TEST(OptionTable, AnOptionalValueIsWrittenIntoTheOption) {
    int exit = -1;
    auto const bare = parse_args("run", {"--rerun-failed", "x"}, exit);
    ASSERT_TRUE(bare.has_value());
    EXPECT_TRUE(bare->has("--rerun-failed"));
    EXPECT_EQ(bare->text("--rerun-failed"), "");
    EXPECT_EQ(bare->operands, std::vector<std::string>{"x"}) << "x is a PATH, not the value";
    auto const given = parse_args("run", {"--rerun-failed=old.json"}, exit);
    ASSERT_TRUE(given.has_value());
    EXPECT_EQ(given->text("--rerun-failed"), "old.json");
    EXPECT_TRUE(given->operands.empty());
}

TEST(Cli, HelpListsEveryCommandAndEveryCommandHelpListsItsOptions) {
    auto const h = run_cli("--help");
    EXPECT_EQ(h.code, 0);
    auto const bare = run_cli("");
    EXPECT_EQ(bare.code, 2);
    for (command_spec const& c : command_table()) {
        std::string const name{c.name};
        EXPECT_NE(h.out.find("\n  " + name + " "), std::string::npos) << name;
        EXPECT_NE(bare.out.find("\n  " + name + " "), std::string::npos) << name;
        auto const sub = run_cli(name + " --help");
        EXPECT_EQ(sub.code, 0) << name;
        EXPECT_EQ(sub.out.rfind("usage: lifecheck " + name, 0), 0u) << sub.out;
        EXPECT_NE(sub.out.find("exit codes: 0 "), std::string::npos) << sub.out;
        EXPECT_NE(sub.out.find("examples:\n  lifecheck " + name), std::string::npos) << sub.out;
        for (option_spec const& o : option_table())
            for (option_use const& u : o.uses)
                if (u.command == c.name) {
                    std::string const label{o.alias.empty() ? o.name : o.alias};
                    std::string const after = o.kind == value_kind::optional          ? "[="
                                              : o.metavar.empty() && !o.alias.empty() ? ","
                                                                                      : " ";
                    EXPECT_NE(sub.out.find("\n  " + label + after), std::string::npos)
                        << name << " --help lacks " << o.name;
                }
    }
}

TEST(Cli, EveryCommandAcceptsJobsAndNamesAnUnknownOption) {
    for (command_spec const& c : command_table()) {
        std::string const name{c.name};
        auto const help = run_cli(name + " -j 2 --help");
        EXPECT_EQ(help.code, 0) << name << ": " << help.out;
        auto const bad = run_cli(name + " -j 2 --no-such-option x");
        EXPECT_EQ(bad.code, 2) << name;
        EXPECT_NE(bad.out.find("lifecheck " + name + ": unknown option --no-such-option"),
                  std::string::npos)
            << bad.out;
        auto const jobs = run_cli(name + " -j 0 x");
        EXPECT_EQ(jobs.code, 2) << name;
        EXPECT_NE(jobs.out.find("-j wants auto or a number from 1 to 256"), std::string::npos)
            << jobs.out;
        auto const cores = run_cli(name + " -j auto --help");
        EXPECT_EQ(cores.code, 0) << name << ": " << cores.out;
    }
}

TEST_F(CliRun, ValidatePrintsDiagnosticsAndExits2) {
    auto const good = scenario("test/good", good_trace);
    auto const bad =
        write("test/bad", R"({"description": "x", "app": {}, "steps": [], "bogus": 1})");
    EXPECT_EQ(run_cli("validate " + good.string()).code, 0);
    auto const r = run_cli("validate " + (dir_ / "scenarios").string());
    EXPECT_EQ(r.code, 2) << r.out;
    EXPECT_NE(r.out.find(bad.string() + ": $.bogus: expected"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("2 files, 1 invalid"), std::string::npos) << r.out;
}

TEST_F(CliRun, PassingRunPrintsLinesSummaryAndReports) {
    scenario("test/pass", good_trace);
    auto const r =
        run_cli("run --target " + fake_target() + reports() + (dir_ / "scenarios").string());
    EXPECT_EQ(r.code, 0) << r.out;
    EXPECT_EQ(r.out.rfind("lifecheck ", 0), 0u) << r.out;
    std::string const first = r.out.substr(0, r.out.find('\n'));
    EXPECT_NE(first.find(" \u2014 target(s): "), std::string::npos) << first;
    EXPECT_NE(first.find(" \u2014 run "), std::string::npos) << first;
    EXPECT_NE(first.find(" seed "), std::string::npos) << first;
    EXPECT_NE(r.out.find("\nPASS  test/pass  "), std::string::npos) << r.out;
    EXPECT_NE(
        r.out.find("1 passed, 0 failed, 0 crashed, 0 hung, 0 skipped, 0 errors, 0 divergences"),
        std::string::npos)
        << r.out;
    ASSERT_TRUE(fs::exists(dir_ / "out" / "junit.xml"));
    std::ifstream in{dir_ / "out" / "results.json"};
    json const results = json::parse(in, nullptr, false);
    ASSERT_FALSE(results.is_discarded());
    EXPECT_NE(results.dump().find("test/pass"), std::string::npos);
    EXPECT_TRUE(fs::exists(dir_ / "out" / "logs"));
}

TEST_F(CliRun, FailureShowsFindingsDiffAndReplay) {
    auto const f = scenario("test/fail", R"(["onRequest@root", "onResponse@root"])");
    auto const r = run_cli("run --target " + fake_target() + reports() + f.string());
    EXPECT_EQ(r.code, 1) << r.out;
    EXPECT_NE(r.out.find("FAIL  test/fail"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find(">>"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("replay: lifecheck run --target"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("0 passed, 1 failed"), std::string::npos) << r.out;
}

TEST_F(CliRun, CrashingTargetIsReportedAndExits1) {
    auto const f = scenario("test/crash", good_trace);
    auto const r =
        run_cli("run --target " + fake_target("die-on-request") + reports() + f.string());
    EXPECT_EQ(r.code, 1) << r.out;
    EXPECT_NE(r.out.find("CRASH test/crash"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("exited with status 3"), std::string::npos) << r.out;
}

// Issue 17: a scenario file is a crash report to write up: the app as a plain Fastify program,
// the steps as curl commands, expected vs actual (the target's crash), in one Markdown file.
TEST_F(CliRun, ReproOfAScenarioFileWritesProgramCurlExpectedAndActual) {
    if (test::shell("command -v node >/dev/null").code != 0)
        GTEST_SKIP() << "node is not installed: the program generator is a node script";
    auto const f = scenario("test/crash-report", good_trace);
    fs::path const out = dir_ / "repro";
    auto const r = run_cli("repro " + f.string() + " --target " + fake_target("die-on-request") +
                           " --out " + out.string());
    EXPECT_EQ(r.code, 1) << r.out;
    EXPECT_NE(r.out.find("report:   " + (out / "crash-report.md").string()), std::string::npos)
        << r.out;
    std::string const md = text_of(out / "crash-report.md");
    auto const at = [&](std::string const& what) {
        return md.find(what);
    };
    EXPECT_EQ(at("# crash-report: crash on "), 0u) << md;
    EXPECT_NE(at("\ncli test\n"), std::string::npos) << md;
    // The program uses the Fastify API directly, in the adapter's registration order.
    std::string const program = R"(```js
'use strict'
const fastify = require('fastify')()

fastify.addHook('onRequest', async (request, reply) => {})
fastify.addHook('onResponse', async (request, reply) => {})
fastify.get('/', async (request, reply) => {
  return { ok: true }
})
)";
    EXPECT_NE(at(program), std::string::npos) << md;
    EXPECT_NE(at("```sh\n# r1: GET /\ncurl -sS -i 'http://127.0.0.1:3000/'\n```"),
              std::string::npos)
        << md;
    // Expected (the scenario's expect) before actual (the target died, with its exit status).
    ASSERT_NE(at("## Expected"), std::string::npos) << md;
    EXPECT_NE(md.find("\"status\": 200", at("## Expected")), std::string::npos) << md;
    ASSERT_NE(at("## Actual: "), std::string::npos) << md;
    EXPECT_LT(at("## Expected"), at("## Actual: "));
    EXPECT_NE(md.find("crash", at("## Actual: ")), std::string::npos) << md;
    EXPECT_NE(md.find("exited with status 3", at("## Actual: ")), std::string::npos) << md;
    // The program and the commands are written beside the report, and the program parses.
    EXPECT_EQ(text_of(out / "crash-report.js").rfind(program.substr(6), 0), 0u)
        << "the .js file is the program of the report";
    EXPECT_EQ(test::shell("node --check '" + (out / "crash-report.js").string() + "'").code, 0);
    EXPECT_NE(text_of(out / "crash-report.requests.sh").find("\"$PORT\""), std::string::npos);
}

TEST_F(CliRun, ReproSaysWhatItCouldNotGenerate) {
    if (test::shell("command -v node >/dev/null").code != 0)
        GTEST_SKIP() << "node is not installed: the program generator is a node script";
    auto const f =
        write("test/keep-alive",
              R"({"description": "two requests on one connection", )" + app + R"(, "steps": [
        {"id": "r1", "connection": "c1", "request": {"url": "/"}},
        {"id": "r2", "connection": "c1", "request": {"url": "/"}}]})");
    fs::path const out = dir_ / "repro";
    auto const r =
        run_cli("repro " + f.string() + " --target " + fake_target() + " --out " + out.string());
    EXPECT_EQ(r.code, 0) << r.out;
    std::string const md = text_of(out / "keep-alive.md");
    EXPECT_NE(md.find("Not generated"), std::string::npos) << md;
    EXPECT_NE(md.find("- step r1: connection \"c1\" (each command opens its own connection)"),
              std::string::npos)
        << md;
    // Fuzz-artifact options are refused for a scenario file, --table for an artifact.
    EXPECT_EQ(run_cli("repro " + f.string() + " --no-minimize").code, 2);
    EXPECT_EQ(run_cli("repro " + (dir_ / "crash-abc").string() + " --table").code, 2);
}

TEST_F(CliRun, FilterAndExclude) {
    scenario("test/a/one", good_trace);
    scenario("test/a/two", good_trace);
    scenario("test/b/three", good_trace);
    auto const r = run_cli("run --target " + fake_target() + reports() +
                           "--filter 'test/a/*' --exclude 'test/a/two=flaky on purpose' " +
                           (dir_ / "scenarios").string());
    EXPECT_EQ(r.code, 0) << r.out;
    EXPECT_NE(r.out.find("PASS  test/a/one"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("SKIP  test/a/two"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("flaky on purpose"), std::string::npos) << r.out;
    EXPECT_EQ(r.out.find("test/b/three"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("1 passed, 0 failed, 0 crashed, 0 hung, 1 skipped"), std::string::npos);
}

// Issue 19: `--target koa` on Fastify scenarios skipped everything and exited 0. A target that
// runs none of the selection, every scenario `unsupported`, tested nothing: exit 2, saying so
// (decisions.md D40), also beside a target that runs them.
TEST_F(CliRun, ATargetThatRunsNothingIsAUsageErrorAndSaysSo) {
    scenario("test/one", good_trace);
    scenario("test/two", good_trace);
    std::string const dir = (dir_ / "scenarios").string();
    auto const alone = run_cli("run --target " + fake_target("unsupported") + reports() + dir);
    EXPECT_EQ(alone.code, 2) << alone.out;
    EXPECT_NE(alone.out.find("SKIP  test/one"), std::string::npos) << alone.out;
    EXPECT_NE(alone.out.find("ran none of the 2 selected scenarios (target does not support: "
                             "everything): nothing was tested"),
              std::string::npos)
        << alone.out;
    auto const beside = run_cli("run --target " + fake_target() + " --target " +
                                fake_target("unsupported") + reports() + dir);
    EXPECT_EQ(beside.code, 2) << beside.out;
    EXPECT_NE(beside.out.find("ran none of the 2"), std::string::npos) << beside.out;
    // Skipped by the user's own --exclude: a choice, not a mismatch.
    auto const excluded =
        run_cli("run --target " + fake_target() + " --exclude '**' " + reports() + dir);
    EXPECT_EQ(excluded.code, 0) << excluded.out;
    EXPECT_EQ(excluded.out.find("ran none"), std::string::npos) << excluded.out;
}

TEST_F(CliRun, FailOnSkipTurnsAnySkipIntoAFailure) {
    scenario("test/one", good_trace);
    scenario("test/two", good_trace);
    std::string const args = "run --target " + fake_target() + " --exclude test/two" + reports() +
                             (dir_ / "scenarios").string();
    auto const lenient = run_cli(args);
    EXPECT_EQ(lenient.code, 0) << lenient.out;
    EXPECT_NE(lenient.out.find("SKIP  test/two"), std::string::npos) << lenient.out;
    auto const strict = run_cli(args + " --fail-on-skip");
    EXPECT_EQ(strict.code, 1) << strict.out;
    EXPECT_NE(strict.out.find("PASS  test/one"), std::string::npos) << strict.out;
}

TEST_F(CliRun, InvalidScenarioIsAnErrorAndExits2) {
    scenario("test/ok", good_trace);
    write("test/broken", R"({"description": "x", "app": {}, "steps": [{"sleepMs": "soon"}]})");
    auto const r =
        run_cli("run --target " + fake_target() + reports() + (dir_ / "scenarios").string());
    EXPECT_EQ(r.code, 2) << r.out;
    EXPECT_NE(r.out.find("ERROR test/broken"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("PASS  test/ok"), std::string::npos) << r.out;
}

TEST_F(CliRun, TwoTargetsPrintATable) {
    scenario("test/pass", good_trace);
    auto const r = run_cli("run -j 2 --target " + fake_target() + " --target " +
                           fake_target("garbage") + reports() + (dir_ / "scenarios").string());
    EXPECT_EQ(r.code, 0) << r.out;
    EXPECT_NE(r.out.find("traces agree"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("yes"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("2 passed"), std::string::npos) << r.out;
}

TEST_F(CliRun, UnstartableTargetIsAUsageError) {
    auto const f = scenario("test/pass", good_trace);
    auto const r = run_cli("run --target 'exit 4'" + reports() + f.string());
    EXPECT_EQ(r.code, 2) << r.out;
    EXPECT_NE(r.out.find("cannot start target"), std::string::npos) << r.out;
}

// Issue 19: a target that cannot start says why at once (the line it printed, its stderr), and
// the reports CI reads carry the same text, as does the GitHub annotation.
TEST_F(CliRun, UnstartableTargetExplainsItselfInTheTerminalAndEveryReport) {
    auto const f = scenario("test/pass", good_trace);
    auto const r =
        run_cli("run --format github --target " + fake_target("banner") + reports() + f.string());
    EXPECT_EQ(r.code, 2) << r.out;
    auto const at = r.out.find("::error file=");
    ASSERT_NE(at, std::string::npos) << r.out;
    std::string const annotation = r.out.substr(at, r.out.find('\n', at) - at);
    EXPECT_NE(annotation.find("title=lifecheck%3A CRASH test/pass"), std::string::npos)
        << annotation;
    EXPECT_NE(annotation.find("target stderr:%0A"), std::string::npos) << annotation;
    EXPECT_NE(annotation.find("fake: listening, logger on stdout"), std::string::npos)
        << annotation;
    EXPECT_NE(r.out.find("\"Server listening at http://127.0.0.1:3000\" before hello"),
              std::string::npos)
        << r.out;
    EXPECT_NE(r.out.find("fake: listening, logger on stdout"), std::string::npos) << r.out;
    for (char const* file : {"junit.xml", "results.json", "index.html", "results.sarif"}) {
        std::ifstream in{dir_ / "out" / file};
        std::stringstream text;
        text << in.rdbuf();
        EXPECT_NE(text.str().find("fake: listening, logger on stdout"), std::string::npos) << file;
        EXPECT_NE(text.str().find("Server listening at http://127.0.0.1:3000"), std::string::npos)
            << file;
    }
}

TEST_F(CliRun, HtmlReportBesideJsonAndProgressLineOnlyWhenAsked) {
    scenario("test/pass", good_trace);
    std::string const run = "run --target " + fake_target() + reports();
    std::string const dir = (dir_ / "scenarios").string();
    // stderr is a pipe here, as in CI: no progress line by default.
    auto const quiet = run_cli(run + dir);
    EXPECT_EQ(quiet.code, 0) << quiet.out;
    EXPECT_EQ(quiet.out.find('\r'), std::string::npos) << quiet.out;
    fs::path const html = dir_ / "out" / "index.html";
    ASSERT_TRUE(fs::exists(html)) << quiet.out;
    EXPECT_NE(quiet.out.find(html.string()), std::string::npos) << quiet.out;
    std::ifstream in{html};
    std::stringstream page;
    page << in.rdbuf();
    EXPECT_NE(page.str().find(R"(id="s-test/pass")"), std::string::npos);

    auto const loud =
        run_cli(run + "--progress --html " + (dir_ / "custom.html").string() + " " + dir);
    EXPECT_EQ(loud.code, 0) << loud.out;
    EXPECT_NE(loud.out.find("\r[1/1] 1 pass, 0 fail \xC2\xB7 "), std::string::npos) << loud.out;
    EXPECT_TRUE(fs::exists(dir_ / "custom.html"));

    auto const off = run_cli(run + "--progress --no-progress " + dir);
    EXPECT_EQ(off.out.find('\r'), std::string::npos) << off.out;
}

TEST_F(CliRun, RecordWritesObservedExpectations) {
    auto const f = write("test/rec",
                         R"({"description": "recorded by the test", )" + app +
                             R"(, "steps": [{"id": "r1", "request": {"url": "/"}}]})");
    auto const r = run_cli("record --target " + fake_target() + " " + f.string());
    EXPECT_EQ(r.code, 0) << r.out;
    EXPECT_NE(r.out.find("recorded "), std::string::npos) << r.out;
    std::ifstream in{f};
    json const doc = json::parse(in);
    EXPECT_EQ(doc.at("description"), "recorded by the test");
    EXPECT_EQ(doc.begin().key(), "description") << "key order kept";
    json const& expect = doc.at("steps").at(0).at("expect");
    EXPECT_EQ(expect.at("status"), 200);
    EXPECT_EQ(expect.at("body"), (json{{"json", {{"ok", true}}}}));
    EXPECT_EQ(expect.at("headers").at("content-type"), "application/json; charset=utf-8");
    EXPECT_EQ(expect.at("trace"), json::parse(good_trace));
    EXPECT_EQ(expect.at("endAt"), 2);
    EXPECT_EQ(expect.at("aborted"), false);
    EXPECT_EQ(expect.at("complete"), true);
    EXPECT_EQ(expect.at("connection"), "kept");
    auto const again = run_cli("run --target " + fake_target() + reports() + f.string());
    EXPECT_EQ(again.code, 0) << again.out;
}

TEST_F(CliRun, RecordChangesOnlyTheExpectPartsThatChanged) {
    // Issue 19: record used to write the whole file back through dump(2).
    std::string const before = R"({ "description": "unusual but valid formatting",
  "app": {"hooks": {"onRequest": [{"do": "continue"}], "onResponse": [{"do": "continue"}]},
          "routes": [{"method": "GET", "url": "/", "handler": {"do": "continue",
                      "payload": {"kind": "json", "value": {"ok": true}}}}]},
  "steps": [ { "id": "r1", "request": {"url": "/"},
               "expect": { "status": 200, "headers": {"content-type": "application/json; charset=utf-8"},
                           "body": {"json": {"ok": true}}, "complete": true, "connection": "kept",
                           "trace": ["onRequest@root", "handler", "onResponse@root"],
                           "endAt": 1, "aborted": false } },
             { "id": "r2", "request": {"url": "/"} } ] }
)";
    auto const f = write("test/unusual", before);
    auto const r = run_cli("record --target " + fake_target() + " " + f.string());
    ASSERT_EQ(r.code, 0) << r.out;
    std::ifstream in{f};
    std::stringstream after;
    after << in.rdbuf();
    std::string expected = before;
    expected.replace(expected.find("\"endAt\": 1"), 10, "\"endAt\": 2");
    expected.replace(expected.find(R"("request": {"url": "/"} } ])"),
                     27,
                     R"("request": {"url": "/"}, "expect": {"status": 200, "headers": )"
                     R"({"content-type": "application/json; charset=utf-8"}, "body": {"json": )"
                     R"({"ok": true}}, "complete": true, "connection": "kept", "aborted": )"
                     R"(false, "trace": ["onRequest@root", "handler", "onResponse@root"], )"
                     R"("endAt": 2} } ])");
    EXPECT_EQ(after.str(), expected);
}

TEST_F(CliRun, RecordRefusesACrash) {
    auto const f = write("test/rec",
                         R"({"description": "d", )" + app +
                             R"(, "steps": [{"id": "r1", "request": {"url": "/"}}]})");
    std::string const before = [&] {
        std::ifstream in{f};
        std::stringstream s;
        s << in.rdbuf();
        return s.str();
    }();
    auto const r = run_cli("record --target " + fake_target("die-on-request") + " " + f.string());
    EXPECT_EQ(r.code, 1) << r.out;
    EXPECT_NE(r.out.find("not recorded"), std::string::npos) << r.out;
    std::ifstream in{f};
    std::stringstream after;
    after << in.rdbuf();
    EXPECT_EQ(after.str(), before);
}

// Issue 19: a route method real Fastify refuses at start. It used to pass validate; then
// Fastify refused the app and the run reported a CRASH of the target.
std::string const gett_scenario = R"({"description": "GETT",
    "app": {"routes": [{"method": "GETT", "url": "/", "handler": {}}]},
    "steps": [{"id": "r1", "request": {"url": "/"}}]})";

TEST_F(CliRun, ScenarioErrorIsAnErrorOnRealFastifyNotACrash) {
    auto const f = write("test/gett", gett_scenario);
    auto const v = run_cli("validate " + f.string());
    EXPECT_EQ(v.code, 2) << v.out;
    EXPECT_NE(v.out.find(f.string() + ": $.app.routes[0].method: expected a route method "
                                      "Fastify 5.12.8 accepts"),
              std::string::npos)
        << v.out;
    EXPECT_NE(v.out.find("got \"GETT\" (did you mean \"GET\"?)"), std::string::npos) << v.out;
    auto const r = run_cli("run --target fastify" + reports() + f.string());
    EXPECT_EQ(r.code, 2) << r.out;
    EXPECT_NE(r.out.find("ERROR test/gett"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("$.app.routes[0].method"), std::string::npos) << r.out;
    EXPECT_EQ(r.out.find("CRASH"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("0 crashed, 0 hung, 0 skipped, 1 errors"), std::string::npos) << r.out;
}

TEST_F(CliRun, RecordValidatesBeforeStartingTheTarget) {
    auto const f = write("test/gett", gett_scenario);
    fs::path const started = dir_ / "target-started";
    std::string const target = "'touch " + started.string() + "; exec " +
                               std::string{LIFECHECK_FAKE_TARGET} + " --mode ok'";
    auto const r = run_cli("record --target " + target + " " + f.string());
    EXPECT_EQ(r.code, 2) << r.out;
    EXPECT_NE(r.out.find("$.app.routes[0].method"), std::string::npos) << r.out;
    EXPECT_FALSE(fs::exists(started)) << "a target was started for a file that cannot run";
    std::ifstream in{f};
    std::stringstream after;
    after << in.rdbuf();
    EXPECT_EQ(after.str(), gett_scenario);
}

/// Reads from `fd` until `want` appears, the pipe closes or `limit` passes.
std::string read_until(int fd,
                       std::string const& want,
                       std::string& buffer,
                       std::chrono::seconds limit = std::chrono::seconds{5}) {
    auto const deadline = std::chrono::steady_clock::now() + limit;
    while (buffer.find(want) == std::string::npos && std::chrono::steady_clock::now() < deadline) {
        pollfd p{fd, POLLIN, 0};
        if (::poll(&p, 1, 100) <= 0)
            continue;
        char buf[4096];
        ssize_t const n = ::read(fd, buf, sizeof buf);
        if (n <= 0)
            break;
        buffer.append(buf, static_cast<std::size_t>(n));
    }
    return buffer;
}

TEST_F(CliRun, ServePrintsListeningAndEventsUntilInterrupted) {
    auto const f = scenario("test/serve", good_trace);
    int out[2];
    ASSERT_EQ(::pipe(out), 0);
    pid_t const pid = ::fork();
    if (pid == 0) {
        ::dup2(out[1], 1);
        ::close(out[0]);
        std::string const target = std::string{LIFECHECK_FAKE_TARGET} + " --mode ok";
        ::execl(LIFECHECK_EXE,
                LIFECHECK_EXE,
                "serve",
                f.c_str(),
                "--target",
                target.c_str(),
                static_cast<char*>(nullptr));
        ::_exit(127);
    }
    ::close(out[1]);
    std::string buffer;
    read_until(out[0], "\n", buffer);
    auto const at = buffer.find("listening on http://127.0.0.1:");
    ASSERT_NE(at, std::string::npos) << buffer;
    int const port = std::stoi(buffer.substr(at + 30));

    int const s = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = htons(static_cast<std::uint16_t>(port));
    ASSERT_EQ(::connect(s, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
    std::string const req = "GET / HTTP/1.1\r\nhost: x\r\nx-lifecheck-req: curl1\r\n\r\n";
    ::send(s, req.data(), req.size(), 0);
    read_until(out[0], R"("t":"end","req":"curl1")", buffer);
    EXPECT_NE(buffer.find(R"({"t":"cb","req":"curl1","label":"onRequest@root")"), std::string::npos)
        << buffer;
    ::close(s);

    ::kill(pid, SIGINT);
    read_until(out[0], R"({"t":"closed"})", buffer);
    int status = 0;
    ::waitpid(pid, &status, 0);
    ::close(out[0]);
    EXPECT_TRUE(WIFEXITED(status));
    EXPECT_EQ(WEXITSTATUS(status), 0);
    EXPECT_NE(buffer.find(R"({"t":"closed"})"), std::string::npos) << buffer;
}

//----------------------------------------------------------------------------------------------
// Issue 19: lifecheck in other people's CI.

// SIGINT (Ctrl-C) or SIGTERM (a cancelled CI job) in the middle of a slow scenario: the targets
// are stopped at once, the finished scenarios and the unrun ones (skipped, "interrupted") are in
// every report, and the exit code says which signal it was.
class CliInterrupt : public CliRun {
protected:
    void interrupted_run(int sig, int want_code) {
        scenario("test/a-fast", good_trace);
        write("test/b-slow",
              R"({"description": "never answered", )" + app +
                  R"(, "steps": [{"id": "r1", "request": {"url": "/slow"}}]})");
        scenario("test/c-fast", good_trace);
        // Every target start records its process group (exec keeps the shell's pid: the leader).
        std::ofstream{dir_ / "t.sh"} << "echo $$ >> pids\nexec " << LIFECHECK_FAKE_TARGET
                                     << " --mode hang-slow\n";
        int out[2];
        ASSERT_EQ(::pipe(out), 0);
        pid_t const pid = ::fork();
        if (pid == 0) {
            ::dup2(out[1], 1);
            ::dup2(out[1], 2);
            ::close(out[0]);
            if (::chdir(dir_.c_str()) != 0)
                ::_exit(126);
            ::execl(LIFECHECK_EXE,
                    LIFECHECK_EXE,
                    "run",
                    "-j",
                    "1",
                    "--deadline",
                    "60000",
                    "--progress",
                    "--target",
                    "exec sh t.sh",
                    "scenarios",
                    static_cast<char*>(nullptr));
            ::_exit(127);
        }
        ::close(out[1]);
        std::string buffer; // the progress line says when the slow scenario started
        read_until(out[0], "exec sh t.sh test/b-slow", buffer, std::chrono::seconds{30});
        EXPECT_NE(buffer.find("PASS  test/a-fast"), std::string::npos) << buffer;
        EXPECT_NE(buffer.find("exec sh t.sh test/b-slow"), std::string::npos) << buffer;
        auto const signalled = std::chrono::steady_clock::now();
        ::kill(pid, sig);
        read_until(out[0], "\x04 never printed", buffer, std::chrono::seconds{60}); // to EOF
        int status = 0;
        ::waitpid(pid, &status, 0);
        ::close(out[0]);
        auto const took = std::chrono::steady_clock::now() - signalled;

        ASSERT_TRUE(WIFEXITED(status)) << "killed by the signal instead of stopping cleanly\n"
                                       << buffer;
        EXPECT_EQ(WEXITSTATUS(status), want_code) << buffer;
        EXPECT_LT(took, std::chrono::seconds{20}) << "the slow scenario was not cut short\n"
                                                  << buffer;
        std::string const name = sig == SIGINT ? "SIGINT" : "SIGTERM";
        EXPECT_NE(buffer.find("interrupted by " + name + ": 2 not run"), std::string::npos)
            << buffer;

        json const doc = results();
        ASSERT_FALSE(doc.is_discarded()) << buffer;
        EXPECT_EQ(doc["run"]["interrupted"], name);
        EXPECT_EQ(entry_of(doc, "test/a-fast")["result"], "pass");
        for (char const* id : {"test/b-slow", "test/c-fast"}) {
            json const e = entry_of(doc, id);
            EXPECT_EQ(e["result"], "skip") << id;
            EXPECT_EQ(e["skip_reason"], "not run: interrupted by " + name) << id;
        }
        EXPECT_NE(text_of("reports/junit.xml").find(R"(name="a-fast")"), std::string::npos);
        EXPECT_NE(text_of("reports/index.html").find("interrupted by " + name), std::string::npos);
        json const sarif = json::parse(text_of("reports/results.sarif"), nullptr, false);
        ASSERT_FALSE(sarif.is_discarded());
        EXPECT_EQ(sarif["runs"][0]["invocations"][0]["executionSuccessful"], false);

        // No target process is left: every group a start recorded is gone.
        std::istringstream groups{text_of("pids")};
        int recorded = 0;
        for (pid_t g = 0; groups >> g; ++recorded) {
            errno = 0;
            EXPECT_EQ(::kill(-g, 0), -1) << "process group " << g << " is still there";
            EXPECT_EQ(errno, ESRCH) << "process group " << g;
        }
        EXPECT_GE(recorded, 2) << "the probe and the worker's target";
    }
};

TEST_F(CliInterrupt, SigintStopsTargetsWritesReportsAndExits130) {
    interrupted_run(SIGINT, 130);
}

TEST_F(CliInterrupt, SigtermExits143) {
    interrupted_run(SIGTERM, 143);
}

std::string const tagged_app = R"("app": {"routes": [{"method": "GET", "url": "/", "handler":
    {"do": "continue", "payload": {"kind": "json", "value": {"ok": true}}}}]})";

TEST_F(CliRun, ListPrintsIdsAndTagsAndStartsNoTarget) {
    write("test/a",
          R"({"description": "first", "tags": ["errors", "slow"], )" + tagged_app +
              R"(, "steps": [{"id": "r1", "request": {"url": "/"}}]})");
    write("test/b",
          R"({"description": "second", )" + tagged_app +
              R"(, "steps": [{"id": "r1", "request": {"url": "/"}}]})");
    auto const r = run_cli("run --list --target 'exit 4' " + (dir_ / "scenarios").string());
    EXPECT_EQ(r.code, 0) << r.out;
    EXPECT_EQ(r.out, "test/a\terrors,slow\ntest/b\t\n");
}

TEST_F(CliRun, KeywordMatchesIdOrDescriptionAndTagSelects) {
    write("test/abort-early",
          R"({"description": "plain", "tags": ["aborts"], )" + tagged_app +
              R"(, "steps": [{"id": "r1", "request": {"url": "/"}}]})");
    write("test/other",
          R"({"description": "the client ABORTS here", )" + tagged_app +
              R"(, "steps": [{"id": "r1", "request": {"url": "/"}}]})");
    write("test/third",
          R"({"description": "nothing", "tags": ["slow"], )" + tagged_app +
              R"(, "steps": [{"id": "r1", "request": {"url": "/"}}]})");
    std::string const dir = " " + (dir_ / "scenarios").string();
    EXPECT_EQ(run_cli("run --list -k abort" + dir).out, "test/abort-early\taborts\ntest/other\t\n");
    EXPECT_EQ(run_cli("run --list -k 'ab*early'" + dir).out, "test/abort-early\taborts\n");
    EXPECT_EQ(run_cli("run --list --tag slow" + dir).out, "test/third\tslow\n");
    EXPECT_EQ(run_cli("run --list --tag slow --tag aborts" + dir).out,
              "test/abort-early\taborts\ntest/third\tslow\n");
    EXPECT_EQ(run_cli("run --list --tag aborts -k other" + dir).code, 2) << "nothing left";
    auto const real = run_cli("run --target " + fake_target() + reports() + "--tag slow" + dir);
    EXPECT_EQ(real.code, 0) << real.out;
    EXPECT_NE(real.out.find("1 passed, 0 failed"), std::string::npos) << real.out;
}

TEST_F(CliRun, FailFastStopsAfterTheFirstFailureAndReportsTheRestNotRun) {
    scenario("test/a", good_trace);
    scenario("test/b", R"(["onRequest@root"])");
    scenario("test/c", good_trace);
    auto const r = run_cli("run -j 1 --fail-fast --target " + fake_target() + reports() +
                           (dir_ / "scenarios").string());
    EXPECT_EQ(r.code, 1) << r.out;
    EXPECT_NE(r.out.find("PASS  test/a"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("FAIL  test/b"), std::string::npos) << r.out;
    EXPECT_EQ(r.out.find("test/c"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("--fail-fast: stopped after test/b: 1 not run"), std::string::npos)
        << r.out;
    json const c = entry_of(results("out/results.json"), "test/c");
    EXPECT_EQ(c["result"], "skip");
    EXPECT_EQ(c["skip_reason"], "not run: --fail-fast stopped the run after test/b");
}

TEST_F(CliRun, RerunFailedRunsWhatFailedInTheLastReport) {
    scenario("test/a", good_trace);
    scenario("test/b", R"(["onRequest@root"])");
    std::string const target = " --target " + fake_target() + " ";
    auto const first = run_here("run" + target + "scenarios");
    EXPECT_EQ(first.code, 1) << first.out;
    auto const again = run_here("run --rerun-failed" + target); // no PATH: the report's files
    EXPECT_EQ(again.code, 1) << again.out;
    EXPECT_NE(again.out.find("FAIL  test/b"), std::string::npos) << again.out;
    EXPECT_EQ(again.out.find("test/a"), std::string::npos) << again.out;
    EXPECT_NE(again.out.find("0 passed, 1 failed"), std::string::npos) << again.out;
    fs::rename(dir_ / "reports/results.json", dir_ / "old.json");
    auto const named = run_here("run --rerun-failed=old.json" + target + "scenarios");
    EXPECT_NE(named.out.find("0 passed, 1 failed"), std::string::npos) << named.out;
    auto const missing = run_here("run --rerun-failed=nothing.json" + target);
    EXPECT_EQ(missing.code, 2) << missing.out;
    EXPECT_NE(missing.out.find("cannot read nothing.json"), std::string::npos) << missing.out;
}

TEST_F(CliRun, RerunFailedWithNothingFailedRunsNothing) {
    scenario("test/a", good_trace);
    std::string const target = " --target " + fake_target() + " ";
    EXPECT_EQ(run_here("run" + target + "scenarios").code, 0);
    auto const again = run_here("run --rerun-failed" + target);
    EXPECT_EQ(again.code, 0) << again.out;
    EXPECT_NE(again.out.find("nothing to rerun"), std::string::npos) << again.out;
}

TEST_F(CliRun, JobsDefaultsToOneWorkerPerCore) {
    if (std::thread::hardware_concurrency() < 2)
        GTEST_SKIP() << "SKIPPED: one core, so -j auto is -j 1";
    scenario("test/a", good_trace);
    scenario("test/b", good_trace);
    scenario("test/c", good_trace);
    auto const r =
        run_cli("run --target " + fake_target() + reports() + (dir_ / "scenarios").string());
    EXPECT_EQ(r.code, 0) << r.out;
    bool second_worker = false; // each worker's target logs to logs/NAME-wN.log
    for (auto const& e : fs::directory_iterator{dir_ / "out" / "logs"})
        second_worker =
            second_worker || e.path().filename().string().find("-w1.log") != std::string::npos;
    EXPECT_TRUE(second_worker);
    auto const a = r.out.find("PASS  test/a");
    auto const b = r.out.find("PASS  test/b");
    auto const c = r.out.find("PASS  test/c");
    EXPECT_TRUE(a < b && b < c && c != std::string::npos) << "file order\n" << r.out;
}

TEST_F(CliRun, QuietPrintsOnlyFailuresAndTheSummary) {
    scenario("test/pass", good_trace);
    scenario("test/fail", R"(["onRequest@root"])");
    auto const r =
        run_cli("run -q --target " + fake_target() + reports() + (dir_ / "scenarios").string());
    EXPECT_EQ(r.code, 1) << r.out;
    EXPECT_EQ(r.out.find("test/pass"), std::string::npos) << r.out;
    EXPECT_EQ(r.out.find("target(s):"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("FAIL  test/fail"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("1 passed, 1 failed"), std::string::npos) << r.out;
}

/// `lifecheck ARGS` on a pseudo-terminal, with NO_COLOR set to `no_color` (unset: nullptr).
std::string on_terminal(std::string const& args, char const* no_color) {
    int master = -1;
    pid_t const pid = ::forkpty(&master, nullptr, nullptr, nullptr);
    if (pid == 0) {
        if (no_color)
            ::setenv("NO_COLOR", no_color, 1);
        else
            ::unsetenv("NO_COLOR");
        ::setenv("TERM", "xterm", 1);
        ::execl("/bin/sh", "sh", "-c", (std::string{LIFECHECK_EXE} + " " + args).c_str(), nullptr);
        ::_exit(127);
    }
    std::string out;
    char buf[4096];
    for (;;) {
        ssize_t const n = ::read(master, buf, sizeof buf);
        if (n <= 0)
            break; // EIO once the terminal's other side is closed
        out.append(buf, static_cast<std::size_t>(n));
    }
    ::close(master);
    ::waitpid(pid, nullptr, 0);
    return out;
}

TEST_F(CliRun, VerdictsAreColouredOnATerminalUnlessNoColor) {
    scenario("test/pass", good_trace);
    std::string const args =
        "run --no-progress --target " + fake_target() + reports() + (dir_ / "scenarios").string();
    EXPECT_NE(on_terminal(args, nullptr).find("\033[32mPASS\033[0m  test/pass"), std::string::npos);
    EXPECT_NE(on_terminal(args, "").find("\033[32mPASS"), std::string::npos)
        << "an empty NO_COLOR does not count (no-color.org)";
    std::string const plain = on_terminal(args, "1");
    EXPECT_EQ(plain.find('\033'), std::string::npos) << plain;
    EXPECT_NE(plain.find("PASS  test/pass"), std::string::npos) << plain;
    auto const piped = run_cli(args); // stdout is a pipe: no colour either
    EXPECT_EQ(piped.out.find('\033'), std::string::npos) << piped.out;
}

/// The 1-based line of the first `needle` in `text`.
int line_with(std::string const& text, std::string const& needle) {
    auto const at = text.find(needle);
    return at == std::string::npos
               ? 0
               : 1 + static_cast<int>(std::count(text.begin(), text.begin() + at, '\n'));
}

TEST_F(CliRun, FormatGithubAnnotatesTheFailingStepsLine) {
    auto const f = scenario("test/fail", R"(["onRequest@root"])");
    scenario("test/pass", good_trace);
    int const line = line_with(text_of(f), R"("trace")");
    ASSERT_GT(line, 1);
    std::string const run = "run --target " + fake_target() + " scenarios";
    auto const r = run_here(run + " --format github");
    EXPECT_EQ(r.code, 1) << r.out;
    std::string const want = "::error file=scenarios/test/fail.json,line=" + std::to_string(line) +
                             ",title=lifecheck%3A FAIL test/fail [";
    EXPECT_NE(r.out.find(want), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("%0Areplay: lifecheck run --target"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("FAIL  test/fail"), std::string::npos) << "the text stays\n" << r.out;
    EXPECT_EQ(r.out.find("::error file=scenarios/test/pass.json"), std::string::npos) << r.out;

    auto const on_github = run_here(run, "GITHUB_ACTIONS=true");
    EXPECT_NE(on_github.out.find(want), std::string::npos) << on_github.out;
    auto const asked_text = run_here(run + " --format text", "GITHUB_ACTIONS=true");
    EXPECT_EQ(asked_text.out.find("::error"), std::string::npos) << asked_text.out;
    auto const plain = run_here(run);
    EXPECT_EQ(plain.out.find("::error"), std::string::npos) << plain.out;
    EXPECT_EQ(run_here(run + " --format xml").code, 2);
}

TEST_F(CliRun, FilesAreShownRelativeToTheCurrentFolderInEveryReport) {
    scenario("test/fail", R"(["onRequest@root"])");
    // An absolute PATH, as CI scripts often pass: nothing shows it.
    auto const r = run_here("run --format github --target " + fake_target() + " " +
                                (dir_ / "scenarios").string(),
                            "GITHUB_WORKSPACE='" + dir_.string() + "'");
    EXPECT_EQ(r.code, 1) << r.out;
    EXPECT_NE(r.out.find("replay: lifecheck run --target "), std::string::npos) << r.out;
    EXPECT_NE(r.out.find(" scenarios/test/fail.json\n"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("::error file=scenarios/test/fail.json,"), std::string::npos) << r.out;
    std::string const absolute = (dir_ / "scenarios/test/fail.json").string();
    EXPECT_EQ(r.out.find(absolute), std::string::npos) << r.out;
    for (char const* report : {"reports/junit.xml", "reports/results.json", "reports/index.html"}) {
        std::string const text = text_of(report);
        EXPECT_NE(text.find("scenarios/test/fail.json"), std::string::npos) << report;
        EXPECT_EQ(text.find(absolute), std::string::npos) << report;
    }
    EXPECT_EQ(entry_of(results(), "test/fail")["file"], "scenarios/test/fail.json");
    json const sarif = json::parse(text_of("reports/results.sarif"));
    EXPECT_EQ(sarif["runs"][0]["results"][0]["locations"][0]["physicalLocation"]["artifactLocation"]
                   ["uri"],
              "scenarios/test/fail.json");
}

TEST_F(CliRun, SarifIsWrittenBesideTheJsonReportOrWhereAsked) {
    scenario("test/fail", R"(["onRequest@root"])");
    auto const r =
        run_cli("run --target " + fake_target() + reports() + (dir_ / "scenarios").string());
    EXPECT_EQ(r.code, 1) << r.out;
    json const doc = json::parse(text_of("out/results.sarif"), nullptr, false);
    ASSERT_FALSE(doc.is_discarded()) << r.out;
    EXPECT_EQ(doc["version"], "2.1.0");
    ASSERT_EQ(doc["runs"][0]["results"].size(), 1u);
    EXPECT_EQ(doc["runs"][0]["results"][0]["ruleId"], "trace");
    EXPECT_NE(r.out.find((dir_ / "out" / "results.sarif").string()), std::string::npos) << r.out;
    auto const custom = run_cli("run --target " + fake_target() + reports() + "--sarif " +
                                (dir_ / "x.sarif").string() + " " + (dir_ / "scenarios").string());
    EXPECT_TRUE(fs::exists(dir_ / "x.sarif")) << custom.out;
}

} // namespace
} // namespace lifecheck::cli
