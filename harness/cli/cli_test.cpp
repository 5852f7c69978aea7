// Tests the lifecheck executable end to end (run, validate, record, serve) with the fake
// target, plus the --filter/--exclude glob.
#include "harness/cli/cli.hpp"

#include "harness/cli/options.hpp"
#include "harness/cli/test_shell.hpp"
#include "harness/cli/with_plugin.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
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
                    EXPECT_NE(sub.out.find("\n  " + label + " "), std::string::npos)
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
        EXPECT_NE(jobs.out.find("-j wants a number from 1 to 256"), std::string::npos) << jobs.out;
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
    auto const f = scenario("test/fail", R"(["onRequest@root", "preHandler@root"])");
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

// Issue 19: `--target koa` on Fastify scenarios skipped everything and exited 0.
TEST_F(CliRun, FailOnSkipTurnsAnAllSkippedRunIntoAFailure) {
    scenario("test/one", good_trace);
    std::string const args =
        "run --target " + fake_target("unsupported") + reports() + (dir_ / "scenarios").string();
    auto const lenient = run_cli(args);
    EXPECT_EQ(lenient.code, 0) << lenient.out;
    EXPECT_NE(lenient.out.find("SKIP  test/one"), std::string::npos) << lenient.out;
    auto const strict = run_cli(args + " --fail-on-skip");
    EXPECT_EQ(strict.code, 1) << strict.out;
    EXPECT_NE(strict.out.find("SKIP  test/one"), std::string::npos) << strict.out;
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
// the reports CI reads carry the same text.
TEST_F(CliRun, UnstartableTargetExplainsItselfInTheTerminalAndEveryReport) {
    auto const f = scenario("test/pass", good_trace);
    auto const r = run_cli("run --target " + fake_target("banner") + reports() + f.string());
    EXPECT_EQ(r.code, 2) << r.out;
    EXPECT_NE(r.out.find("\"Server listening at http://127.0.0.1:3000\" before hello"),
              std::string::npos)
        << r.out;
    EXPECT_NE(r.out.find("fake: listening, logger on stdout"), std::string::npos) << r.out;
    for (char const* file : {"junit.xml", "results.json", "index.html"}) {
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

/// Reads from `fd` until `want` appears or 5 s pass.
std::string read_until(int fd, std::string const& want, std::string& buffer) {
    auto const deadline = std::chrono::steady_clock::now() + std::chrono::seconds{5};
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

} // namespace
} // namespace lifecheck::cli
