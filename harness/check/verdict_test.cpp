// Tests for evaluate, raw_verdict and the divergence rules of decisions.md D3.
#include "harness/check/verdict.hpp"

#include "harness/check/test_support.hpp"

#include <gtest/gtest.h>

namespace lifecheck::check {
namespace {

using test_support::cb;
using test_support::end;
using test_support::observed;

scenario::divergence documented(std::string const& target,
                                std::optional<std::string> result = std::nullopt) {
    scenario::divergence d;
    d.target = target;
    d.cls = scenario::divergence_class::framework_bug;
    d.note = "crashes on a locked stream";
    d.result = std::move(result);
    return d;
}

/// One request step r1 expecting 200 and a two-callback trace.
struct fixture {
    scenario::scenario sc;

    fixture() {
        sc.id = "fastify/streams/locked";
        sc.file = "scenarios/fastify/streams/locked.json";
        scenario::step s;
        s.id = "r1";
        scenario::expectation x;
        x.status = 200;
        x.trace = std::vector<std::string>{"handler", "onSend@root"};
        s.expect = x;
        sc.steps.push_back(s);
    }

    request_observation good() const {
        request_observation o =
            observed("r1", {cb("handler", "handler"), cb("onSend@root", "onSend"), end()});
        o.step = &sc.steps[0];
        return o;
    }

    request_observation bad() const {
        request_observation o = observed("r1", {cb("handler", "handler"), end(500)}, 500);
        o.step = &sc.steps[0];
        return o;
    }
};

run_facts on(std::string const& target, std::string const& version = "1.0.0") {
    run_facts f;
    f.target = target;
    f.target_version = version;
    f.duration_ms = 12.5;
    return f;
}

TEST(Verdict, NamesRoundTrip) {
    for (verdict v : {verdict::pass,
                      verdict::fail,
                      verdict::crash,
                      verdict::hang,
                      verdict::skip,
                      verdict::error,
                      verdict::divergence})
        EXPECT_EQ(parse_verdict(to_string(v)), v);
    EXPECT_FALSE(parse_verdict("passed"));
}

TEST(Evaluate, PassWhenEverythingHolds) {
    fixture const fx;
    scenario_result const r = evaluate(fx.sc, {fx.good()}, on("reference"));
    EXPECT_EQ(r.v, verdict::pass);
    EXPECT_TRUE(r.findings.empty());
    ASSERT_EQ(r.steps.size(), 1u);
    EXPECT_EQ(r.steps[0].trace, (std::vector<std::string>{"handler", "onSend@root"}));
    EXPECT_EQ(r.steps[0].end_at, 2);
    EXPECT_EQ(r.steps[0].aborted, false);
    EXPECT_EQ(r.steps[0].connection, "kept");
    EXPECT_EQ(r.duration_ms, 12.5);
    EXPECT_EQ(r.replay_command,
              "lifecheck run --target reference scenarios/fastify/streams/locked.json");
}

TEST(Evaluate, FailNamesStepAndTraceDivergence) {
    fixture const fx;
    scenario_result const r = evaluate(fx.sc, {fx.bad()}, on("reference"));
    EXPECT_EQ(r.v, verdict::fail);
    ASSERT_EQ(r.findings.size(), 2u);
    EXPECT_EQ(r.findings[0].kind, finding_kind::status);
    EXPECT_EQ(r.findings[1].kind, finding_kind::trace);
    EXPECT_EQ(describe(r.findings[1]),
              "step r1: trace differs at position 1: expected onSend@root, got no more callbacks");
}

TEST(Evaluate, InvariantFindingFailsAStepWithoutExpect) {
    fixture fx;
    fx.sc.steps[0].expect.reset();
    request_observation o = observed("r1", {cb("handler", "handler")});
    o.step = &fx.sc.steps[0];
    scenario_result const r = evaluate(fx.sc, {o}, on("reference"));
    EXPECT_EQ(r.v, verdict::fail);
    ASSERT_EQ(r.findings.size(), 1u);
    EXPECT_EQ(r.findings[0].invariant_id, "I1");
}

TEST(Evaluate, InvariantsOnlyIgnoresExpectButNotInvariants) {
    // run --with-plugin (D35): the expect was recorded without the plugin.
    fixture fx;
    scenario_result const r = evaluate(fx.sc, {fx.bad()}, on("fastify"), checks::invariants_only);
    EXPECT_EQ(r.v, verdict::pass) << (r.findings.empty() ? "" : describe(r.findings[0]));
    ASSERT_EQ(r.steps.size(), 1u);
    EXPECT_EQ(r.steps[0].status, 500); // what was observed is still reported

    request_observation no_end = observed("r1", {cb("handler", "handler")});
    no_end.step = &fx.sc.steps[0];
    scenario_result const broken =
        evaluate(fx.sc, {no_end}, on("fastify"), checks::invariants_only);
    EXPECT_EQ(broken.v, verdict::fail);
    ASSERT_EQ(broken.findings.size(), 1u);
    EXPECT_EQ(broken.findings[0].invariant_id, "I1");
}

TEST(Evaluate, CrashComesFirstWithI7) {
    fixture const fx;
    run_facts f = on("fastify", "5.12.8");
    f.crash = "exit code 1";
    scenario_result const r = evaluate(fx.sc, {fx.bad()}, f);
    EXPECT_EQ(r.v, verdict::crash);
    ASSERT_FALSE(r.findings.empty());
    EXPECT_EQ(r.findings[0].invariant_id, "I7");
}

// Issue 19: CI annotations point at the line of what failed, found by its JSON path.
TEST(Evaluate, FindingsNameWhereTheyPointInTheFile) {
    fixture fx;
    fx.sc.steps[0].json_path = "$.steps[0]";
    run_facts f = on("reference");
    f.crash = "exit code 1";
    scenario_result const r = evaluate(fx.sc, {fx.bad()}, f);
    ASSERT_GE(r.findings.size(), 3u);
    EXPECT_EQ(r.findings[0].invariant_id, "I7");
    EXPECT_EQ(r.findings[0].json_path, "") << "the target's death names no step";
    bool status = false;
    bool trace = false;
    for (finding const& x : r.findings) {
        if (x.kind == finding_kind::status) {
            status = true;
            EXPECT_EQ(x.json_path, "$.steps[0].expect.status");
        }
        if (x.kind == finding_kind::trace) {
            trace = true;
            EXPECT_EQ(x.json_path, "$.steps[0].expect.trace");
        }
        if (x.kind == finding_kind::invariant && !x.step_id.empty()) {
            EXPECT_EQ(x.json_path, "$.steps[0]") << x.message;
        }
    }
    EXPECT_TRUE(status && trace);
}

TEST(Evaluate, HangReplacesTheI1Finding) {
    fixture fx;
    fx.sc.steps[0].expect.reset();
    request_observation o = observed("r1", {cb("handler", "handler")});
    o.step = &fx.sc.steps[0];
    run_facts f = on("reference");
    f.hung_steps = {"r1"};
    scenario_result const r = evaluate(fx.sc, {o}, f);
    EXPECT_EQ(r.v, verdict::hang);
    ASSERT_EQ(r.findings.size(), 1u);
    EXPECT_EQ(r.findings[0].kind, finding_kind::hang);
    EXPECT_EQ(r.findings[0].step_id, "r1");
}

TEST(Evaluate, UnsupportedIsSkipWithReason) {
    fixture const fx;
    run_facts f = on("koa");
    f.unsupported = "webStream payloads";
    scenario_result const r = evaluate(fx.sc, {}, f);
    EXPECT_EQ(r.v, verdict::skip);
    EXPECT_EQ(r.skip_reason, "target does not support: webStream payloads");
    EXPECT_TRUE(r.findings.empty());
}

TEST(Evaluate, LoadErrorIsErrorWithOneLoadFinding) {
    fixture const fx;
    run_facts f = on("fastify");
    f.load_error = "npm plugin '@fastify/cors' is not installed";
    scenario_result const r = evaluate(fx.sc, {fx.bad()}, f);
    EXPECT_EQ(r.v, verdict::error);
    EXPECT_FALSE(r.harness_fault);
    ASSERT_EQ(r.findings.size(), 1u); // nothing ran: no step is checked
    EXPECT_EQ(r.findings[0].kind, finding_kind::load);
    EXPECT_STREQ(to_string(finding_kind::load), "load");
    EXPECT_TRUE(r.steps.empty());
}

TEST(Evaluate, HarnessFaultIsErrorNotTheTargets) {
    fixture const fx;
    run_facts f = on("reference");
    f.harness_fault = "could not bind the client socket";
    f.crash = "exit code 1"; // even with a crash seen, a harness fault is never blamed on it
    scenario_result const r = evaluate(fx.sc, {fx.bad()}, f);
    EXPECT_EQ(r.v, verdict::error);
    EXPECT_TRUE(r.harness_fault);
    EXPECT_EQ(r.findings[0].kind, finding_kind::harness);
}

TEST(Evaluate, InvalidScenarioIsError) {
    fixture const fx;
    run_facts f = on("reference");
    f.invalid = "$.steps[0].expect.status: expected integer";
    scenario_result const r = evaluate(fx.sc, {}, f);
    EXPECT_EQ(r.v, verdict::error);
    EXPECT_FALSE(r.harness_fault);
}

TEST(Evaluate, DocumentedCrashIsDivergence) {
    fixture fx;
    fx.sc.divergences = {documented("fastify@5.12", "crash")};
    run_facts f = on("fastify", "5.12.8");
    f.crash = "exit code 1";
    scenario_result const r = evaluate(fx.sc, {fx.bad()}, f);
    EXPECT_EQ(r.v, verdict::divergence);
    EXPECT_EQ(r.shown, verdict::crash);
    EXPECT_EQ(r.divergence_class, "framework-bug");
    EXPECT_EQ(r.divergence_note, "crashes on a locked stream");
}

TEST(Evaluate, DivergenceOfAnotherClassIsReportedAsItIs) {
    fixture fx;
    fx.sc.divergences = {documented("fastify", "crash")};
    scenario_result const r = evaluate(fx.sc, {fx.bad()}, on("fastify", "5.12.8"));
    EXPECT_EQ(r.v, verdict::fail);
}

TEST(Evaluate, DivergenceOfAnotherTargetIsReportedAsItIs) {
    fixture fx;
    fx.sc.divergences = {documented("fastify")};
    EXPECT_EQ(evaluate(fx.sc, {fx.bad()}, on("reference")).v, verdict::fail);
}

TEST(Evaluate, MatchingTargetThatPassesIsPass) {
    fixture fx;
    fx.sc.divergences = {documented("fastify")};
    EXPECT_EQ(evaluate(fx.sc, {fx.good()}, on("fastify", "5.12.8")).v, verdict::pass);
}

TEST(Divergence, TargetNameAndVersionPrefix) {
    EXPECT_TRUE(divergence_matches(documented("fastify"), "fastify", "5.12.8"));
    EXPECT_TRUE(divergence_matches(documented("fastify@5.12"), "fastify", "5.12.8"));
    EXPECT_TRUE(divergence_matches(documented("fastify@5.12.8"), "fastify", "5.12.8"));
    EXPECT_TRUE(divergence_matches(documented("fastify@5"), "fastify", "5.2.0"));
    EXPECT_FALSE(divergence_matches(documented("fastify@5.1"), "fastify", "5.12.8"));
    EXPECT_FALSE(divergence_matches(documented("fastify@5.12"), "fastify", "5.2.0"));
    EXPECT_FALSE(divergence_matches(documented("fastify"), "reference", "0.1.0"));
    EXPECT_FALSE(divergence_matches(documented("fast"), "fastify", "5.12.8"));
}

TEST(Divergence, OnlyFailCrashHangCanBeDocumented) {
    std::vector<scenario::divergence> const entries{documented("reference", "hang"),
                                                    documented("fastify")};
    EXPECT_EQ(documented_divergence(entries, verdict::hang, "reference", "0.1"), 0u);
    EXPECT_FALSE(documented_divergence(entries, verdict::fail, "reference", "0.1"));
    EXPECT_EQ(documented_divergence(entries, verdict::fail, "fastify", "5.12.8"), 1u);
    EXPECT_FALSE(documented_divergence(entries, verdict::skip, "fastify", "5.12.8"));
    EXPECT_FALSE(documented_divergence(entries, verdict::pass, "fastify", "5.12.8"));
}

TEST(Evaluate, CloseStepIsExemptFromRequestInvariants) {
    fixture fx;
    scenario::step close;
    close.kind = scenario::step_kind::close;
    scenario::expectation x;
    x.trace = std::vector<std::string>{"preClose@root", "onClose@root"};
    close.expect = x;
    fx.sc.steps.push_back(close);
    request_observation o =
        observed("app", {cb("preClose@root", "preClose"), cb("onClose@root", "onClose")});
    o.step = &fx.sc.steps[1];
    EXPECT_EQ(evaluate(fx.sc, {fx.good(), o}, on("reference")).v, verdict::pass);
    o.events.pop_back();
    scenario_result const r = evaluate(fx.sc, {fx.good(), o}, on("reference"));
    ASSERT_EQ(r.findings.size(), 1u);
    EXPECT_EQ(r.findings[0].kind, finding_kind::trace);
}

} // namespace
} // namespace lifecheck::check
