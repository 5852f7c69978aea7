// Renders the HTML report of a real `lifecheck run` (a pass, a failure, crashes and skips) in
// headless Chromium: asserts on the DOM after the page's script ran, on the console, and writes
// a screenshot of the failing scenario's diagram to <build>/reports/browser/.
#include "harness/cli/test_shell.hpp"

#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include <sys/wait.h>
#include <unistd.h>

namespace {

namespace fs = std::filesystem;

using lifecheck::cli::test::ran;
using lifecheck::cli::test::shell;

std::string slurp(fs::path const& f) {
    std::ifstream in{f, std::ios::binary};
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
}

/// Debian's chromium (or chromium-browser elsewhere); "" when it is not installed.
std::string find_chromium() {
    if (char const* env = std::getenv("LIFECHECK_CHROMIUM"); env && *env)
        return env;
    for (char const* name : {"chromium", "chromium-browser"}) {
        ran const r = shell(std::string{"command -v "} + name);
        if (r.code == 0 && !r.out.empty())
            return r.out.substr(0, r.out.find('\n'));
    }
    return "";
}

std::string quote(std::string const& s) {
    std::string out = "'";
    for (char c : s)
        out += c == '\'' ? std::string{"'\\''"} : std::string(1, c);
    return out + "'";
}

class HtmlInBrowser : public ::testing::Test {
protected:
    void SetUp() override {
        chromium_ = find_chromium();
        if (chromium_.empty())
            GTEST_SKIP() << "chromium is not installed (Debian: apt-get install chromium; "
                            "scripts/setup.sh installs it): the browser test is skipped";
        dir_ = fs::path{::testing::TempDir()} / ("lifecheck-browser-" + std::to_string(::getpid()));
        fs::remove_all(dir_);
        fs::create_directories(dir_ / "profile");
    }

    void TearDown() override {
        if (!dir_.empty())
            fs::remove_all(dir_);
    }

    /// chromium --headless with a fresh profile and no network chatter; stderr to `log`.
    ran chromium(std::string const& args, fs::path const& log) {
        fs::remove_all(dir_ / "profile");
        fs::create_directories(dir_ / "profile");
        return shell("timeout 90 " + quote(chromium_) +
                         " --headless --no-sandbox --disable-gpu --disable-quic --no-first-run "
                         "--disable-background-networking --disable-component-update "
                         "--disable-sync --disable-dev-shm-usage --hide-scrollbars "
                         "--enable-logging=stderr --v=0 --user-data-dir=" +
                         quote((dir_ / "profile").string()) + " " + args,
                     log);
    }

    void write(std::string const& id, std::string const& text) {
        fs::path const f = dir_ / "scenarios" / (id + ".json");
        fs::create_directories(f.parent_path());
        std::ofstream{f} << text;
    }

    std::string chromium_;
    fs::path dir_;
};

/// Console errors and CSP refusals in a chromium stderr log, one per line.
std::string console_errors(std::string const& log) {
    std::string out;
    std::istringstream in{log};
    for (std::string line; std::getline(in, line);) {
        bool const console = line.find("CONSOLE") != std::string::npos;
        if ((console && (line.find("Uncaught") != std::string::npos ||
                         line.find("Error") != std::string::npos)) ||
            line.find("Refused to") != std::string::npos)
            out += line + "\n";
    }
    return out;
}

// The scenarios: the fake target (harness/protocol/testdata/fake_target.cpp) answers every
// request with onRequest@root, handler, end, onResponse@root.
std::string const app = R"("app": {
    "hooks": {"onRequest": [{"do": "continue"}], "onResponse": [{"do": "continue"}]},
    "errorHandler": {"do": "send", "status": 500},
    "routes": [{"method": "GET", "url": "/", "handler": {"do": "continue",
                "payload": {"kind": "json", "value": {"ok": true}}}}],
    "plugins": [{"name": "v1", "prefix": "/v1", "errorHandler": {"do": "rethrow"},
                 "routes": [{"method": "GET", "url": "/x", "handler": {"do": "throw",
                             "error": {"statusCode": 503}}}]}]})";

TEST_F(HtmlInBrowser, ReportOfARealRunRendersWithoutErrors) {
    write("browser/pass",
          R"({"description": "passes on the fake target", "tags": ["browser", "ok"], )" + app +
              R"(, "steps": [{"id": "r1", "request": {"url": "/"}, "expect": {"status": 200,
              "trace": ["onRequest@root", "handler", "onResponse@root"]}}]})");
    write(
        "browser/fail",
        R"({"description": "<b>error handlers</b> hop v1 → root", "tags": ["browser", "errors"], )" +
            app +
            R"(, "steps": [{"id": "r1", "request": {"url": "/v1/x"}, "expect": {"status": 503,
              "trace": ["onRequest@root", "handler", "errorHandler@v1", "errorHandler@root",
                        "onResponse@root"]}}]})");
    write("browser/skipped",
          R"({"description": "excluded", "tags": ["browser"], )" + app +
              R"(, "steps": [{"id": "r1", "request": {"url": "/"}}]})");

    fs::path const reports = fs::path{LIFECHECK_BINARY_DIR} / "reports" / "browser";
    fs::remove_all(reports);
    fs::path const html = reports / "index.html";
    // Two targets: the healthy fake (pass, fail, skip) and one that dies on a request (crash).
    std::string const ok = std::string{LIFECHECK_FAKE_TARGET} + " --mode ok";
    std::string const dies = std::string{LIFECHECK_FAKE_TARGET} + " --mode die-on-request";
    ran const run = shell(std::string{LIFECHECK_EXE} + " run --no-progress --target " + quote(ok) +
                          " --target " + quote(dies) +
                          " --exclude 'browser/skipped=excluded by the browser test'" +
                          " --junit " + quote((reports / "junit.xml").string()) + " --json " +
                          quote((reports / "results.json").string()) + " --html " +
                          quote(html.string()) + " " + quote((dir_ / "scenarios").string()));
    ASSERT_EQ(run.code, 1) << run.out;
    ASSERT_NE(run.out.find(html.string()), std::string::npos) << run.out;
    ASSERT_TRUE(fs::exists(html));

    // The DOM after the page's script ran.
    std::string const url = "file://" + fs::absolute(html).string();
    fs::path const log = dir_ / "dump.log";
    ran const dom = chromium("--dump-dom " + quote(url), log);
    ASSERT_EQ(dom.code, 0) << slurp(log);
    std::string const& d = dom.out;
    EXPECT_NE(d.find(R"(data-ready="1")"), std::string::npos) << "the script did not finish";
    EXPECT_NE(d.find("showing 3 of 3 scenarios"), std::string::npos);
    EXPECT_NE(d.find(R"(id="n-pass">1<)"), std::string::npos);
    EXPECT_NE(d.find(R"(id="n-fail">1<)"), std::string::npos);
    EXPECT_NE(d.find(R"(id="n-crash">2<)"), std::string::npos);
    EXPECT_NE(d.find(R"(id="n-skip">2<)"), std::string::npos);
    EXPECT_NE(d.find(R"(id="n-total">6<)"), std::string::npos);
    for (char const* id : {"browser/pass", "browser/fail", "browser/skipped"})
        EXPECT_NE(d.find(std::string{"id=\"s-"} + id + "\""), std::string::npos) << id;
    EXPECT_NE(d.find("first divergence at position 2: expected <b>errorHandler@v1</b>, actual "
                     "<b>onResponse@root</b>"),
              std::string::npos);
    EXPECT_NE(
        d.find(R"(<tr class="dv"><td>2</td><td>errorHandler@v1</td><td>onResponse@root</td></tr>)"),
        std::string::npos);
    EXPECT_NE(d.find("excluded by the browser test"), std::string::npos);
    EXPECT_NE(d.find("&lt;b&gt;error handlers&lt;/b&gt;"), std::string::npos) << "escaped";
    EXPECT_NE(d.find("exited with status 3"), std::string::npos) << "the crash's finding";
    std::string const errors = console_errors(slurp(log));
    EXPECT_TRUE(errors.empty()) << errors;

    // A filter from the URL runs in the page: only the failure is shown.
    ran const filtered = chromium("--dump-dom " + quote(url + "?v=fail"), log);
    EXPECT_NE(filtered.out.find("showing 1 of 3 scenarios"), std::string::npos);

    // The screenshot of the failing scenario alone (?only=ID): its diagrams, expected beside
    // actual, on each target.
    fs::path const png = reports / "failing-diagram.png";
    ran const shot = chromium("--screenshot=" + quote(png.string()) + " --window-size=1500,1000 " +
                                  quote(url + "?only=browser/fail"),
                              log);
    ASSERT_EQ(shot.code, 0) << slurp(log);
    std::string const image = slurp(png);
    ASSERT_GT(image.size(), 20000u) << png;
    EXPECT_EQ(image.substr(1, 3), "PNG");
    EXPECT_TRUE(console_errors(slurp(log)).empty()) << slurp(log);
}

TEST_F(HtmlInBrowser, ConsoleErrorsAreDetected) {
    // The detector above must be able to fail: a page whose script throws is caught.
    fs::path const page = dir_ / "broken.html";
    std::ofstream{page} << "<!DOCTYPE html><html><body><script>null.boom();</script></body></html>";
    fs::path const log = dir_ / "broken.log";
    ran const dom = chromium("--dump-dom " + quote("file://" + page.string()), log);
    EXPECT_EQ(dom.code, 0);
    EXPECT_NE(console_errors(slurp(log)).find("Uncaught"), std::string::npos) << slurp(log);
}

} // namespace
