// Tests for the HTML report: golden page, escaping, anchors, counts, diagram layout and size.
#include "harness/report/html.hpp"

#include "harness/report/test_support.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

namespace lifecheck::report {
namespace {

using check::verdict;

std::size_t occurrences(std::string const& text, std::string const& what) {
    std::size_t n = 0;
    for (auto at = text.find(what); at != std::string::npos; at = text.find(what, at + 1))
        ++n;
    return n;
}

/// The scopes and callbacks of an app root > v1 > v2 with hooks, a handler and error handlers.
void nested_app(check::scenario_result& r) {
    r.dialect = "fastify";
    r.scopes = {{"root", ""}, {"v1", "root"}, {"v2", "v1"}};
    r.callbacks = {
        {"onRequest@root", "onRequest", "root", "", "continue", ""},
        {"preSerialization@root", "preSerialization", "root", "", "continue", ""},
        {"onError@root", "onError", "root", "", "continue", ""},
        {"onSend@root", "onSend", "root", "", "continue", "callback style, delayMs 5"},
        {"onResponse@root", "onResponse", "root", "", "continue", ""},
        {"errorHandler@root", "errorHandler", "root", "", "send", "status 500"},
        {"errorHandler@v1", "errorHandler", "v1", "", "rethrow", ""},
        {"errorHandler@v2", "errorHandler", "v2", "", "rethrow", ""},
        {"handler", "handler", "v2", "GET /v1/v2/x", "throw", "error 503"},
        {"handler", "handler", "root", "GET /", "continue", "payload json"},
    };
}

/// sample_run() with what the HTML shows beyond JUnit/JSON: scopes, callbacks, tags, requests.
run_report html_run() {
    run_report rep = test_support::sample_run();
    for (check::scenario_result& r : rep.results) {
        nested_app(r);
        r.description = "the " + r.scenario_id + " case";
        r.tags = {r.scenario_id.substr(0, r.scenario_id.find('/')), "golden"};
        for (check::step_record& s : r.steps) {
            s.request = "GET /";
            s.request_text = "GET / HTTP/1.1\r\nhost: 127.0.0.1\r\nx-lifecheck-req: r1\r\n\r\n";
        }
    }
    check::scenario_result& fail = rep.results[1];
    fail.steps[0].expected_status = 500;
    fail.steps[0].expected_trace = std::vector<std::string>{"onRequest@root",
                                                            "handler",
                                                            "preSerialization@root",
                                                            "onError@root",
                                                            "errorHandler@root",
                                                            "onSend@root",
                                                            "onResponse@root"};
    // The same scenario on the second target, passing: a page with two columns side by side.
    check::scenario_result other = rep.results[0];
    other.target = "fastify";
    other.target_version = "5.12.8";
    rep.results.push_back(other);
    return rep;
}

TEST(HtmlReport, MatchesGolden) {
    test_support::expect_golden("run.golden.html", to_html(html_run()));
}

// Issue 19: a crashed target's stderr (the crash finding's detail) is on the page.
TEST(HtmlReport, ShowsACrashedTargetsStderr) {
    std::string const page = to_html(test_support::sample_run());
    EXPECT_NE(page.find("Error: Response body object locked &lt;&amp;&gt;"), std::string::npos);
}

TEST(HtmlReport, SummaryCountsAnchorsAndFilters) {
    std::string const page = to_html(html_run());
    EXPECT_NE(page.find(R"(id="n-pass">2<)"), std::string::npos);
    EXPECT_NE(page.find(R"(id="n-fail">1<)"), std::string::npos);
    EXPECT_NE(page.find(R"(id="n-crash">1<)"), std::string::npos);
    EXPECT_NE(page.find(R"(id="n-total">8<)"), std::string::npos);
    EXPECT_NE(page.find(R"(<section class="sc" id="s-fastify/errors/preserialization-throws")"),
              std::string::npos);
    EXPECT_NE(page.find(R"(href="#s-fastify/errors/preserialization-throws")"), std::string::npos);
    // Per-target table (two targets), by-tag table, the run's command and duration.
    EXPECT_NE(page.find("<h2>per target</h2>"), std::string::npos);
    EXPECT_NE(page.find(R"(data-tag="golden")"), std::string::npos);
    EXPECT_NE(page.find("lifecheck run --target reference --target fastify scenarios/"),
              std::string::npos);
    EXPECT_NE(page.find("duration 1.23 s"), std::string::npos);
    EXPECT_NE(page.find(R"(<option value="fastify">fastify</option>)"), std::string::npos);
    EXPECT_NE(page.find(R"(id="f-q")"), std::string::npos);
    // One section per scenario id: the id run on both targets has two columns, side by side.
    EXPECT_EQ(occurrences(page, R"(id="s-fastify/hooks/on-request-order")"), 1u);
    auto const at = page.find(R"(id="s-fastify/hooks/on-request-order")");
    auto const end = page.find("</section>", at);
    EXPECT_EQ(occurrences(page.substr(at, end - at), R"(<div class="tc")"), 2u);
}

TEST(HtmlReport, FailureShowsExpectedBesideActualWithTheDivergence) {
    std::string const page = to_html(html_run());
    auto const at = page.find(R"(id="s-fastify/errors/preserialization-throws")");
    std::string const sec = page.substr(at, page.find("</section>", at) - at);
    EXPECT_NE(sec.find("<details open>"), std::string::npos) << "failures start open";
    EXPECT_NE(sec.find("first divergence at position 4: expected <b>errorHandler@root</b>, "
                       "actual <b>preSerialization@root</b>"),
              std::string::npos);
    EXPECT_NE(sec.find("<figcaption>expected</figcaption>"), std::string::npos);
    EXPECT_NE(sec.find("<figcaption>actual</figcaption>"), std::string::npos);
    EXPECT_EQ(occurrences(sec, "<svg class=\"dg\""), 2u);
    EXPECT_EQ(occurrences(sec, " hl\" transform"), 2u) << "the diverging box, once per side";
    EXPECT_NE(
        sec.find(
            R"(<tr class="dv"><td>4</td><td>errorHandler@root</td><td>preSerialization@root</td></tr>)"),
        std::string::npos);
    EXPECT_NE(sec.find(R"(<span class="status off">200</span> <span class="exp">expected 500)"),
              std::string::npos);
    // Passing scenarios start closed.
    auto const pass = page.find(R"(id="s-fastify/hooks/on-request-order")");
    EXPECT_EQ(page.find("<details open>", pass),
              page.find("<details open>", page.find("handler-hangs")));
}

TEST(HtmlReport, EscapesEverythingTheScenarioSays) {
    run_report rep = html_run();
    check::scenario_result& r = rep.results[0];
    std::string const evil = "<script>alert(\"x\")</script>&'";
    r.scenario_id = "x/\"><img src=x onerror=alert(1)>";
    r.description = evil;
    r.tags = {evil};
    r.steps[0].headers.push_back({evil, evil});
    r.steps[0].body = evil;
    r.steps[0].trace.push_back(evil);
    r.findings.push_back(
        {"r1", check::finding_kind::status, "", evil, evil, evil, std::nullopt, ""});
    rep.run.command = evil;
    std::string const page = to_html(rep);
    EXPECT_EQ(occurrences(page, "<script"), 1u) << "only the page's own script";
    EXPECT_EQ(page.find("<img"), std::string::npos);
    EXPECT_NE(page.find("&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;&amp;"),
              std::string::npos);
    EXPECT_NE(page.find(R"(id="s-x/&quot;&gt;&lt;img src=x onerror=alert(1)&gt;")"),
              std::string::npos);
    // Nothing is fetched: no external address, no src attribute, a CSP that forbids it.
    std::string const plain = to_html(html_run());
    EXPECT_EQ(plain.find("http://"), std::string::npos);
    EXPECT_EQ(plain.find("https://"), std::string::npos);
    EXPECT_EQ(plain.find(" src="), std::string::npos);
    EXPECT_EQ(plain.find(" href=\"h"), std::string::npos);
    EXPECT_NE(plain.find("default-src 'none'"), std::string::npos);
}

TEST(HtmlReport, BodiesAreCutAndBadBytesShown) {
    run_report rep = html_run();
    rep.results[0].steps[0].body = std::string(html_body_limit + 100, 'a') + "\xff";
    std::string const page = to_html(rep);
    EXPECT_NE(page.find("(101 more bytes)"), std::string::npos);
    EXPECT_EQ(page.find(std::string(html_body_limit + 1, 'a')), std::string::npos);
    EXPECT_NE(to_html(html_run()).find("\\x01\\xFF"), std::string::npos) << "the golden body";
}

TEST(DiagramLayout, LanesFollowTheLifecycleAndBandsNest) {
    check::scenario_result r;
    nested_app(r);
    std::vector<std::string> const trace{"onRequest@root",
                                         "handler",
                                         "errorHandler@v2",
                                         "errorHandler@v1",
                                         "errorHandler@root",
                                         "onSend@root",
                                         "onResponse@root"};
    auto const d = detail::layout_trace(r, "GET /v1/v2/x", trace, {});
    EXPECT_EQ(
        d.lanes,
        (std::vector<std::string>{"onRequest", "handler", "errorHandler", "onSend", "onResponse"}));
    ASSERT_EQ(d.bands.size(), 3u);
    EXPECT_EQ(d.bands[0].name, "root");
    EXPECT_EQ(d.bands[0].last, 2) << "root's band encloses v1 and v2";
    EXPECT_EQ(d.bands[2].name, "v2");
    EXPECT_EQ(d.bands[2].depth, 2);
    ASSERT_EQ(d.boxes.size(), trace.size());
    // The handler of GET /v1/v2/x is v2's (it throws), not root's "handler" for GET /.
    EXPECT_EQ(d.boxes[1].scope, "v2");
    EXPECT_EQ(d.boxes[1].does, "throw");
    // Error handlers share a lane and climb the bands: v2 → v1 → root.
    EXPECT_EQ(d.boxes[2].x, d.boxes[3].x);
    EXPECT_GT(d.boxes[2].y, d.boxes[3].y);
    EXPECT_GT(d.boxes[3].y, d.boxes[4].y);
    EXPECT_LT(d.boxes[0].x, d.boxes[1].x);
    EXPECT_LT(d.boxes[4].x, d.boxes[5].x);
    for (auto const& b : d.boxes) {
        EXPECT_LE(b.x + 104, d.width);
        EXPECT_LE(b.y + 34, d.height);
    }
}

// Issue 15: a callback that runs `ops` shows its sequence in the box, all of it in the tooltip.
TEST(HtmlReport, OpsBoxShowsTheSequence) {
    run_report rep = html_run();
    for (check::callback_info& c : rep.results[1].callbacks)
        if (c.label == "handler" && c.scope == "root") {
            c.does = "ops";
            c.note = "code 201 \xE2\x86\x92 send json \xE2\x86\x92 throw error; callback style";
        }
    rep.results[1].steps[0].trace = std::vector<std::string>{"onRequest@root", "handler"};
    std::string const page = to_html(rep);
    EXPECT_NE(page.find("<g class=\"cb c-ops"), std::string::npos)
        << "an ops box of its own colour";
    EXPECT_NE(page.find("handler: ops (code 201 \xE2\x86\x92 send json \xE2\x86\x92 throw error; "
                        "callback style)"),
              std::string::npos)
        << "the tooltip has the whole sequence";
    EXPECT_NE(page.find(">code\xE2\x86\x92send\xE2\x86\x92throw</text>"), std::string::npos)
        << "the box has the operations' names";
    EXPECT_NE(page.find("<span class=\"sw c-ops\">"), std::string::npos) << "the legend says it";
}

TEST(DiagramLayout, RepeatsStackAndSideBySideDiagramsShareLanes) {
    check::scenario_result r;
    nested_app(r);
    std::vector<std::string> const want{"onRequest@root", "handler", "onSend@root"};
    std::vector<std::string> const got{"onRequest@root",
                                       "handler",
                                       "onSend@root",
                                       "onError@root",
                                       "onSend@root",
                                       "unknown@elsewhere"};
    auto const a = detail::layout_trace(r, "GET /", want, {want, got});
    auto const b = detail::layout_trace(r, "GET /", got, {want, got});
    EXPECT_EQ(a.lanes, b.lanes);
    EXPECT_EQ(a.lane_x, b.lane_x);
    EXPECT_EQ(a.width, b.width);
    EXPECT_EQ(b.boxes[2].y, b.boxes[4].y) << "onSend ran twice in the root band";
    EXPECT_LT(b.boxes[2].x, b.boxes[4].x) << "the second run stacks to the right";
    EXPECT_EQ(b.boxes[5].scope, "elsewhere") << "an unknown scope gets its own band";
    EXPECT_EQ(b.bands.back().name, "elsewhere");
}

TEST(DiagramLayout, KoaMiddlewareIsAnOnion) {
    check::scenario_result r;
    r.dialect = "koa";
    r.scopes = {{"app", ""}, {"auth", "app"}, {"body", "auth"}};
    r.callbacks = {{"auth:down", "down", "auth", "", "continue", ""},
                   {"auth:up", "up", "auth", "", "continue", ""},
                   {"body:down", "down", "body", "", "throw", ""},
                   {"body:up", "up", "body", "", "continue", ""},
                   {"onError", "onError", "app", "", "continue", ""}};
    auto const d =
        detail::layout_trace(r, "GET /", {"auth:down", "body:down", "auth:up", "onError"}, {});
    EXPECT_EQ(d.lanes, (std::vector<std::string>{"down", "up", "onError"}));
    EXPECT_EQ(d.bands[2].depth, 2);
    EXPECT_LT(d.boxes[0].y, d.boxes[1].y);
}

// A run heavier than the corpus (268 scenarios, 326 steps, 4.7 callbacks a step): 300 scenarios
// of 2 steps with 10 callbacks, every tenth a trace failure drawn twice.
TEST(HtmlReport, FullCorpusSizedRunStaysUnderFiveMegabytes) {
    run_report rep;
    rep.run.id = "size";
    rep.run.command = "lifecheck run scenarios/";
    for (int i = 0; i < 300; ++i) {
        auto r = test_support::result("fastify/x/case-" + std::to_string(i),
                                      "reference",
                                      i % 10 == 0 ? verdict::fail : verdict::pass,
                                      10);
        nested_app(r);
        r.tags = {"x", "size"};
        r.description = std::string(120, 'd');
        for (int k = 0; k < 2; ++k) { // the corpus averages 1.2 steps of 4.7 callbacks
            std::vector<std::string> trace{"onRequest@root",
                                           "handler",
                                           "preSerialization@root",
                                           "onError@root",
                                           "errorHandler@v2",
                                           "errorHandler@v1",
                                           "errorHandler@root",
                                           "onSend@root",
                                           "onSend@root",
                                           "onResponse@root"};
            auto s = test_support::step("r" + std::to_string(k), 200, std::string(600, 'b'), trace);
            s.request = "GET /";
            s.request_text = std::string(300, 'q');
            if (i % 10 == 0 && k == 0) {
                std::reverse(trace.begin(), trace.end());
                s.expected_trace = trace;
                check::finding f;
                f.step_id = s.id;
                f.kind = check::finding_kind::trace;
                f.divergence = check::first_divergence(trace, s.trace);
                r.findings.push_back(f);
            }
            r.steps.push_back(s);
        }
        rep.results.push_back(r);
    }
    std::size_t const size = to_html(rep).size();
    EXPECT_LT(size, 5u * 1024 * 1024) << size;
    RecordProperty("bytes", static_cast<int>(size));
}

} // namespace
} // namespace lifecheck::report
