// Tests process_target against real child processes: the fake target and `sh -c printf` targets
// that die, hang, stay silent or print garbage. None of it may crash or hang the harness.
#include "harness/protocol/target.hpp"

#include <gtest/gtest.h>

#include <cerrno>
#include <chrono>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

namespace lifecheck::protocol {
namespace {

using namespace std::chrono_literals;

constexpr char const* hello_line =
    R"({"t":"hello","target":"sh","version":"0","dialects":["fastify"],"features":[]})";

std::unique_ptr<target> fake(std::string const& mode, std::filesystem::path log = {}) {
    process_options o;
    o.argv = {LIFECHECK_FAKE_TARGET, "--mode", mode};
    o.name = "fake-" + mode;
    o.log_file = std::move(log);
    return make_process_target(std::move(o));
}

std::unique_ptr<target> shell(std::string const& line, std::filesystem::path log = {}) {
    process_options o;
    o.argv = shell_command(line);
    o.name = "sh";
    o.log_file = std::move(log);
    return make_process_target(std::move(o));
}

/// Sends one request with a plain socket and returns what came back before the server stopped.
std::string http_get(int port, std::string const& id) {
    int const fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = htons(static_cast<std::uint16_t>(port));
    if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
        ::close(fd);
        return "";
    }
    std::string const req = "GET / HTTP/1.1\r\nhost: 127.0.0.1\r\nx-lifecheck-req: " + id +
                            "\r\nconnection: close\r\n\r\n";
    ::send(fd, req.data(), req.size(), MSG_NOSIGNAL);
    timeval tv{2, 0};
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    char buf[4096];
    ssize_t const n = ::recv(fd, buf, sizeof buf, 0);
    ::close(fd);
    return n > 0 ? std::string{buf, static_cast<std::size_t>(n)} : "";
}

bool has_end(std::vector<event> const& es, std::string const& req) {
    for (event const& e : es)
        if (e.type == event_type::end && e.req == req)
            return true;
    return false;
}

TEST(ProcessTarget, StartsLoadsServesAndCloses) {
    auto t = fake("ok");
    auto const hello = t->start(5s);
    ASSERT_TRUE(hello.has_value()) << describe(hello.error().front());
    EXPECT_EQ(hello->target, "fake");
    EXPECT_EQ(hello->version, "1.2.3");

    auto const loaded = t->load("x", scenario::json::object(), scenario::dialect::fastify, 5s);
    ASSERT_EQ(loaded.status, load_status::ready) << loaded.detail;
    ASSERT_GT(loaded.port, 0);

    std::string const response = http_get(loaded.port, "r1");
    EXPECT_NE(response.find("200 OK"), std::string::npos);
    ASSERT_TRUE(t->events().wait_until([](auto const& es) { return has_end(es, "r1"); },
                                       clock::now() + 5s));
    auto const es = t->events().snapshot();
    std::vector<std::string> labels;
    double last_at = -1;
    for (event const& e : es) {
        EXPECT_GE(e.at_ms, last_at) << "timestamps never go backwards";
        last_at = e.at_ms;
        if (e.type == event_type::cb && e.req == "r1")
            labels.push_back(e.label);
    }
    ASSERT_GE(labels.size(), 2u);
    EXPECT_EQ(labels[0], "onRequest@root");
    EXPECT_EQ(labels[1], "handler");

    auto const closed = t->close(5s);
    EXPECT_EQ(closed.status, close_status::closed);
    EXPECT_TRUE(t->alive());
    t->stop();
    EXPECT_FALSE(t->alive());
    EXPECT_EQ(t->exit_status(), "exited with status 0");
}

TEST(ProcessTarget, LoadResetsTheEventLog) {
    auto t = fake("ok");
    ASSERT_TRUE(t->start(5s).has_value());
    auto const first = t->load("a", scenario::json::object(), scenario::dialect::fastify, 5s);
    ASSERT_EQ(first.status, load_status::ready);
    http_get(first.port, "old");
    ASSERT_TRUE(t->events().wait_until([](auto const& es) { return has_end(es, "old"); },
                                       clock::now() + 5s));
    auto const second = t->load("b", scenario::json::object(), scenario::dialect::fastify, 5s);
    ASSERT_EQ(second.status, load_status::ready);
    EXPECT_FALSE(has_end(t->events().snapshot(), "old"));
}

TEST(ProcessTarget, TargetDyingMidScenarioIsACrashNotAHarnessCrash) {
    auto t = fake("die-on-request");
    ASSERT_TRUE(t->start(5s).has_value());
    auto const loaded = t->load("x", scenario::json::object(), scenario::dialect::fastify, 5s);
    ASSERT_EQ(loaded.status, load_status::ready);
    http_get(loaded.port, "r1");
    t->events().wait_until([](auto const&) { return false; }, clock::now() + 5s);
    EXPECT_FALSE(t->alive());
    EXPECT_EQ(t->exit_status(), "exited with status 3");
    // Commands to a dead target fail cleanly (EPIPE with SIGPIPE ignored).
    auto const again = t->load("y", scenario::json::object(), scenario::dialect::fastify, 1s);
    EXPECT_EQ(again.status, load_status::died);
    EXPECT_EQ(t->close(1s).status, close_status::died);
}

TEST(ProcessTarget, SignalDeathIsNamed) {
    auto t = fake("killed-on-load");
    ASSERT_TRUE(t->start(5s).has_value());
    auto const loaded = t->load("x", scenario::json::object(), scenario::dialect::fastify, 5s);
    EXPECT_EQ(loaded.status, load_status::died);
    EXPECT_EQ(loaded.detail, "killed by signal SIGKILL");
}

TEST(ProcessTarget, ATargetStartedAfterTheGroupsWereSignalledGetsTheSignalToo) {
    // `lifecheck run` on SIGINT: a signal that lands while the runner restarts a target (after it
    // chose the next scenario, before the new group is remembered) must end that target too, or
    // the scenario waits out its whole deadline.
    signal_target_groups(SIGTERM);
    auto late = fake("ok");
    auto const hello = late->start(5s);
    ASSERT_FALSE(hello.has_value());
    EXPECT_NE(hello.error().front().got.find("SIGTERM"), std::string::npos)
        << hello.error().front().got;
    clear_target_group_signal();
    auto next = fake("ok");
    EXPECT_TRUE(next->start(5s).has_value()) << "a new run's targets live";
    next->stop();
}

TEST(ProcessTarget, SilentTargetTimesOutAndIsStopped) {
    auto t = fake("silent-load");
    ASSERT_TRUE(t->start(5s).has_value());
    auto const started = clock::now();
    auto const loaded = t->load("x", scenario::json::object(), scenario::dialect::fastify, 300ms);
    EXPECT_EQ(loaded.status, load_status::timed_out);
    EXPECT_LT(clock::now() - started, 3s);
    EXPECT_TRUE(t->alive());
    t->stop();
    EXPECT_FALSE(t->alive());
}

TEST(ProcessTarget, NoHelloIsADiagnostic) {
    auto t = fake("no-hello");
    auto const started = clock::now();
    auto const hello = t->start(300ms);
    ASSERT_FALSE(hello.has_value());
    EXPECT_NE(hello.error().front().got.find("no hello within 300 ms"), std::string::npos);
    t->stop(); // the fake ignores stdin here: stop() must escalate to signals
    EXPECT_LT(clock::now() - started, 6s);
    EXPECT_FALSE(t->alive());
}

TEST(ProcessTarget, ExitBeforeHelloSaysHow) {
    auto t = shell("exit 9");
    auto const hello = t->start(5s);
    ASSERT_FALSE(hello.has_value());
    EXPECT_NE(hello.error().front().got.find("exited with status 9"), std::string::npos);
}

TEST(ProcessTarget, MissingProgramIsADiagnostic) {
    process_options o;
    o.argv = {"/nonexistent/lifecheck-target"};
    auto t = make_process_target(o);
    auto const hello = t->start(1s);
    ASSERT_FALSE(hello.has_value());
}

TEST(ProcessTarget, GarbageLinesAreWarnings) {
    auto t = fake("garbage");
    ASSERT_TRUE(t->start(5s).has_value());
    auto const loaded = t->load("x", scenario::json::object(), scenario::dialect::fastify, 5s);
    EXPECT_EQ(loaded.status, load_status::ready);
    auto const warnings = t->take_warnings();
    ASSERT_EQ(warnings.size(), 2u);
    EXPECT_NE(warnings[0].find("expected a JSON object"), std::string::npos) << warnings[0];
    EXPECT_NE(warnings[1].find("$.req"), std::string::npos) << warnings[1];
    EXPECT_TRUE(t->take_warnings().empty());
}

// Issue 19: a line before hello that is not hello ends start() at once (it waited out the
// whole start timeout before), quoting the line; the target's stderr stays in its log.
TEST(ProcessTarget, OutputBeforeHelloFailsTheStartAtOnce) {
    auto const log = std::filesystem::path{::testing::TempDir()} / "lifecheck-pt-banner.log";
    std::filesystem::remove(log);
    auto t = fake("banner", log);
    auto const started = clock::now();
    auto const hello = t->start(20s);
    ASSERT_FALSE(hello.has_value());
    EXPECT_LT(clock::now() - started, 3s);
    std::string const got = hello.error().front().got;
    EXPECT_NE(got.find("\"Server listening at http://127.0.0.1:3000\""), std::string::npos) << got;
    EXPECT_NE(got.find("before hello"), std::string::npos) << got;
    t->stop();
    EXPECT_NE(t->log_tail(4096).find("fake: listening, logger on stdout"), std::string::npos);
}

TEST(ProcessTarget, ShellTargetExitingAfterReadyIsDied) {
    auto t = shell(std::string{"printf '%s\\n' '"} + hello_line +
                   "'; read line; printf '{\"t\":\"ready\",\"port\":1}\\n'; read line; exit 5");
    ASSERT_TRUE(t->start(5s).has_value());
    auto const loaded = t->load("x", scenario::json::object(), scenario::dialect::fastify, 5s);
    ASSERT_EQ(loaded.status, load_status::ready);
    EXPECT_EQ(loaded.port, 1);
    auto const closed = t->close(5s);
    EXPECT_EQ(closed.status, close_status::died);
    EXPECT_EQ(closed.detail, "exited with status 5");
}

TEST(ProcessTarget, UnsupportedCarriesTheReason) {
    auto t = fake("unsupported");
    ASSERT_TRUE(t->start(5s).has_value());
    auto const loaded = t->load("x", scenario::json::object(), scenario::dialect::koa, 5s);
    EXPECT_EQ(loaded.status, load_status::unsupported);
    EXPECT_EQ(loaded.detail, "everything");
}

TEST(ProcessTarget, LoadErrorCarriesTheReasonAndTheTargetStaysUsable) {
    auto t = fake("load-error");
    ASSERT_TRUE(t->start(5s).has_value());
    auto const loaded = t->load("x", scenario::json::object(), scenario::dialect::fastify, 5s);
    EXPECT_EQ(loaded.status, load_status::load_error);
    EXPECT_EQ(loaded.detail, "npm plugin 'x' is not installed");
    EXPECT_TRUE(t->alive());
}

TEST(ProcessTarget, StderrGoesToTheLogFile) {
    auto const log = std::filesystem::path{::testing::TempDir()} / "lifecheck-pt-stderr.log";
    std::filesystem::remove(log);
    auto t = shell(std::string{"echo 'oops from the target' >&2; printf '%s\\n' '"} + hello_line +
                       "'; exit 1",
                   log);
    ASSERT_TRUE(t->start(5s).has_value());
    t->events().wait_until([](auto const&) { return false; }, clock::now() + 5s);
    EXPECT_FALSE(t->alive());
    EXPECT_EQ(t->log_file(), log);
    EXPECT_NE(t->log_tail(4096).find("oops from the target"), std::string::npos);
}

TEST(StderrExcerpt, KeepsTheFirstAndLastLinesAndCountsTheRest) {
    std::string log;
    for (int i = 1; i <= 30; ++i)
        log += "line " + std::to_string(i) + "\n";
    std::string const out = stderr_excerpt(log + "\n\n", 2, 3);
    EXPECT_EQ(out, "line 1\nline 2\n... (25 lines)\nline 28\nline 29\nline 30\n");
    EXPECT_EQ(stderr_excerpt("only\r\n"), "only\n");
    EXPECT_EQ(stderr_excerpt(std::string(400, 'x')), std::string(300, 'x') + "...\n");
    EXPECT_EQ(stderr_excerpt(""), "");
}

TEST(ProcessTarget, AppEventsOfCloseAreCollected) {
    auto t =
        shell(std::string{"printf '%s\\n' '"} + hello_line +
              "'; read line; printf '{\"t\":\"ready\",\"port\":1}\\n'; read line; "
              "printf '%s\\n' '{\"t\":\"cb\",\"req\":\"app\",\"label\":\"preClose@root\"}' "
              "'{\"t\":\"cb\",\"req\":\"app\",\"label\":\"onClose@root\"}' '{\"t\":\"closed\"}'; "
              "read line");
    ASSERT_TRUE(t->start(5s).has_value());
    ASSERT_EQ(t->load("x", scenario::json::object(), scenario::dialect::fastify, 5s).status,
              load_status::ready);
    auto const closed = t->close(5s);
    ASSERT_EQ(closed.status, close_status::closed);
    ASSERT_EQ(closed.app_events.size(), 2u);
    EXPECT_EQ(closed.app_events[0].label, "preClose@root");
    EXPECT_EQ(closed.app_events[1].label, "onClose@root");
}

// Issue 19: a shell that ignores SIGTERM and leaves a child behind; after stop() nothing of the
// target's process group may be left (before the fix only the leader was reaped, and the
// `sleep` lived on as an orphan after every run).
TEST(ProcessTarget, StopEndsTheWholeProcessGroup) {
    auto const pid_file = std::filesystem::path{::testing::TempDir()} / "lifecheck-pt-pgid";
    std::filesystem::remove(pid_file);
    auto t = shell("trap '' TERM; sleep 1000 & echo $$ > '" + pid_file.string() + "'; exec " +
                   LIFECHECK_FAKE_TARGET);
    ASSERT_TRUE(t->start(5s).has_value());
    pid_t pgid = 0;
    std::ifstream{pid_file} >> pgid;
    ASSERT_GT(pgid, 0);
    ASSERT_EQ(::kill(-pgid, 0), 0) << "the group is alive before stop()";
    t->stop();
    // An orphan killed by stop() is a zombie until init reaps it; give that a moment.
    auto const deadline = clock::now() + 3s;
    while (::kill(-pgid, 0) == 0 && clock::now() < deadline)
        std::this_thread::sleep_for(20ms);
    EXPECT_EQ(::kill(-pgid, 0), -1);
    EXPECT_EQ(errno, ESRCH) << "a process of the target's group outlived stop()";
    ::kill(-pgid, SIGKILL); // never leave the orphan behind, whatever the result
}

} // namespace
} // namespace lifecheck::protocol
