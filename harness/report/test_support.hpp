// Test helpers for the report writers: a fixed in-memory run, golden files and time normalizing.
#pragma once

#include "harness/check/invariants.hpp"
#include "harness/check/trace_diff.hpp"
#include "harness/check/verdict.hpp"
#include "harness/report/report.hpp"

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>
#include <string>

namespace lifecheck::report::test_support {

inline check::step_record
step(std::string const& id, int status, std::string body, std::vector<std::string> trace) {
    check::step_record s;
    s.id = id;
    s.got_response = true;
    s.status = status;
    s.headers = {{"content-type", "application/json; charset=utf-8"},
                 {"content-length", std::to_string(body.size())}};
    s.body = std::move(body);
    s.complete = true;
    s.connection = "kept";
    s.end_at = static_cast<int>(trace.size()) - 1;
    s.trace = std::move(trace);
    s.end_status = status;
    s.aborted = false;
    s.end_count = 1;
    return s;
}

inline check::scenario_result
result(std::string const& id, std::string const& target, check::verdict v, double ms) {
    check::scenario_result r;
    r.scenario_id = id;
    r.file = "scenarios/" + id + ".json";
    r.target = target;
    r.target_version = target == "fastify" ? "5.12.8" : "0.1.0";
    r.v = v;
    r.shown = v;
    r.duration_ms = ms;
    r.replay_command = "lifecheck run --target " + target + " " + r.file;
    return r;
}

/// The fixed run behind the golden files: one result of every verdict, on two targets.
inline run_report sample_run() {
    using check::verdict;
    run_report rep;
    rep.run.id = "golden-run";
    rep.run.command = "lifecheck run --target reference --target fastify scenarios/";
    rep.run.targets = {{"reference", "0.1.0"}, {"fastify", "5.12.8"}};
    rep.run.started = "2025-01-01T00:00:00Z";
    rep.run.duration_ms = 1234.5;
    rep.run.lifecheck_version = "0.0.0-test";

    auto pass = result("fastify/hooks/on-request-order", "reference", verdict::pass, 15.25);
    pass.steps.push_back(step("r1",
                              200,
                              R"({"ok":true})",
                              {"onRequest@root", "handler", "onSend@root", "onResponse@root"}));
    rep.results.push_back(pass);

    auto fail = result("fastify/errors/preserialization-throws", "reference", verdict::fail, 40);
    std::vector<std::string> const want{"onRequest@root",
                                        "handler",
                                        "preSerialization@root",
                                        "onError@root",
                                        "errorHandler@root",
                                        "onSend@root",
                                        "onResponse@root"};
    std::vector<std::string> const got{"onRequest@root",
                                       "handler",
                                       "preSerialization@root",
                                       "onError@root",
                                       "preSerialization@root",
                                       "onSend@root",
                                       "onResponse@root"};
    // A body with markup, a control character and a byte that is not UTF-8.
    fail.steps.push_back(step("r1", 200, "{\"message\":\"<boom> & \\\"q\\\"\x01\xff\"}", got));
    check::finding status;
    status.step_id = "r1";
    status.kind = check::finding_kind::status;
    status.message = "status: expected 500, got 200";
    status.expected = "500";
    status.actual = "200";
    check::finding trace;
    trace.step_id = "r1";
    trace.kind = check::finding_kind::trace;
    trace.divergence = check::first_divergence(want, got);
    trace.message = "trace differs at position 4: expected errorHandler@root, got "
                    "preSerialization@root";
    trace.detail = check::side_by_side(want, got);
    check::finding i5;
    i5.step_id = "r1";
    i5.kind = check::finding_kind::invariant;
    i5.invariant_id = "I5";
    i5.message = "I5: preSerialization@root (position 4) ran right after onError onError@root "
                 "(position 3), with no custom error handler: the default error reply must not "
                 "pass preSerialization";
    i5.expected = "no preSerialization for the default error reply";
    i5.actual = "preSerialization@root";
    fail.findings = {status, trace, i5};
    rep.results.push_back(fail);

    auto hang = result("fastify/aborts/handler-hangs", "reference", verdict::hang, 5000);
    hang.findings.push_back(check::step_hung("r1"));
    rep.results.push_back(hang);

    auto error = result("regressions/seed-001-client-bind", "reference", verdict::error, 1);
    error.harness_fault = true;
    error.findings.push_back(check::finding{"",
                                            check::finding_kind::harness,
                                            "",
                                            "lifecheck fault (not the target's): could not "
                                            "connect to 127.0.0.1:0",
                                            "",
                                            "",
                                            std::nullopt,
                                            ""});
    rep.results.push_back(error);

    auto crash = result("fastify/streams/locked-response-resend", "fastify", verdict::crash, 300);
    crash.findings.push_back(
        check::target_died("exit code 1 (uncaught FST_ERR_REP_READABLE_STREAM_LOCKED)"));
    crash.findings.back().detail = "target stderr:\n  Error: Response body object locked <&>\n"
                                   "      at onSendEnd (lib/reply.js:1)\n";
    rep.results.push_back(crash);

    auto skip = result("koa/middleware/next-twice", "fastify", verdict::skip, 0.5);
    skip.skip_reason = "target does not support: dialect koa";
    rep.results.push_back(skip);

    auto div = result("fastify/streams/deferred-done-locked", "fastify", verdict::divergence, 250);
    div.shown = verdict::crash;
    div.divergence_class = "framework-bug";
    div.divergence_note = "an async callback onSend meeting a locked stream crashes Fastify "
                          "5.12.8 (fastify-lifecycle.md §2.7)";
    div.findings.push_back(check::target_died("exit code 1 (uncaught ERR_HTTP_HEADERS_SENT)"));
    rep.results.push_back(div);
    return rep;
}

/// sample_run() as `lifecheck run --with-plugin @fastify/cors` writes it (D35): a delta with
/// one scenario that only changed and one that broke the lifecycle.
inline run_report sample_delta_run() {
    run_report rep = sample_run();
    plugin_delta d;
    d.plugins = {{"@fastify/cors", "11", "11.4.3", scenario::json{{"origin", "*"}}}};
    d.without = "fastify";
    d.with = "fastify+@fastify/cors";
    d.compared = 3;
    d.changed.push_back({"fastify/http/options",
                         "scenarios/fastify/http/options.json",
                         false,
                         {{check::change_kind::status, "r1", "404", "204", "", false}}});
    d.changed.push_back(
        {"fastify/aborts/during-handler",
         "scenarios/fastify/aborts/during-handler.json",
         true,
         {{check::change_kind::invariant, "r1", "", "onResponse ran <twice>", "I6", true}}});
    rep.delta = d;
    return rep;
}

/// Replaces run-to-run values (durations, timestamps) with fixed ones.
inline std::string normalize_xml(std::string s) {
    s = std::regex_replace(s, std::regex{R"(time="[0-9.]+")"}, R"(time="0.000")");
    return std::regex_replace(s, std::regex{R"(timestamp="[^"]*")"}, R"(timestamp="TIMESTAMP")");
}

inline std::string normalize_json(std::string s) {
    s = std::regex_replace(s, std::regex{R"("duration_ms": [0-9.eE+-]+)"}, R"("duration_ms": 0)");
    return std::regex_replace(s, std::regex{R"("started": "[^"]*")"}, R"("started": "STARTED")");
}

/// Compares `actual` with testdata/NAME; LIFECHECK_UPDATE_GOLDEN=1 rewrites the file instead.
inline void expect_golden(std::string const& name, std::string const& actual) {
    std::filesystem::path const file =
        std::filesystem::path{LIFECHECK_SOURCE_DIR} / "harness/report/testdata" / name;
    char const* update = std::getenv("LIFECHECK_UPDATE_GOLDEN");
    if (update && std::string{update} == "1") {
        std::ofstream out(file, std::ios::binary | std::ios::trunc);
        out << actual;
        ASSERT_TRUE(out.good()) << "could not rewrite " << file;
        return;
    }
    std::ifstream in(file, std::ios::binary);
    ASSERT_TRUE(in.good()) << file << " is missing; run with LIFECHECK_UPDATE_GOLDEN=1";
    std::stringstream buffer;
    buffer << in.rdbuf();
    EXPECT_EQ(buffer.str(), actual)
        << "golden " << file << " differs; if the change is intended, rerun with "
        << "LIFECHECK_UPDATE_GOLDEN=1 and review the diff";
}

} // namespace lifecheck::report::test_support
