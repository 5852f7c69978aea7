// Tests for the fault reports' verdicts on real Fastify (judge_lifecycle, judge_http): made-up
// runs of Fastify for each way a fault can fall (about the reference, the checker, Fastify).
#include "fuzz/fastify_replay.hpp"

#include "harness/check/invariants.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace lifecheck::fuzz {
namespace {

using check::finding;
using check::finding_kind;

finding invariant(std::string const& step, std::string const& id) {
    finding f;
    f.step_id = step;
    f.kind = finding_kind::invariant;
    f.invariant_id = id;
    f.message = id + ": broken";
    return f;
}

finding expect_finding(std::string const& step, finding_kind k) {
    finding f;
    f.step_id = step;
    f.kind = k;
    f.message = "differs";
    return f;
}

check::step_record
record(std::string const& id, std::vector<std::string> trace, int status = 200, int end_at = 2) {
    check::step_record r;
    r.id = id;
    r.got_response = true;
    r.status = status;
    r.trace = std::move(trace);
    r.end_at = end_at;
    r.connection = "kept";
    return r;
}

property::step_outcome engine_step(std::string const& id,
                                   std::vector<std::string> trace,
                                   int status = 200,
                                   int end_at = 2) {
    property::step_outcome o;
    o.step_id = id;
    o.trace = std::move(trace);
    o.status = status;
    o.end_at = end_at;
    o.got_response = true;
    return o;
}

fastify_run ran(std::vector<check::step_record> steps, std::vector<finding> findings = {}) {
    fastify_run f;
    f.ran = true;
    f.target = "fastify 5.12.8";
    f.result.steps = std::move(steps);
    f.result.findings = std::move(findings);
    return f;
}

bool has(std::string const& text, std::string const& part) {
    return text.find(part) != std::string::npos;
}

lifecycle_fault trace_fault() {
    lifecycle_fault fault;
    fault.disagreements.push_back(
        {"r1", "step r1: trace: model [handler], engine [handler, onSend@root]"});
    fault.disagreements.push_back({"r1", "step r1: endAt: model 1, engine 2"});
    fault.engine.push_back(engine_step("r1", {"handler", "onSend@root"}));
    return fault;
}

TEST(JudgeLifecycle, FastifyDoingWhatTheModelPredictsBlamesTheReference) {
    std::string const text = judge_lifecycle(trace_fault(), ran({record("r1", {"handler"})}));
    EXPECT_TRUE(has(text,
                    "lifecheck-fuzz: real Fastify (fastify 5.12.8, replayed over sockets): does "
                    "not share the fault: a finding about the reference"))
        << text;
    EXPECT_TRUE(has(text,
                    "  step r1: the reference differs from the model; Fastify does what "
                    "the model predicts\n"))
        << text;
    // One line per step, however many fields of it differ.
    EXPECT_EQ(text.find("step r1", text.find("step r1") + 1), std::string::npos) << text;
}

TEST(JudgeLifecycle, FastifyDoingWhatTheReferenceDoesBlamesTheModel) {
    std::string const text = judge_lifecycle(trace_fault(),
                                             ran({record("r1", {"handler", "onSend@root"})},
                                                 {expect_finding("r1", finding_kind::trace),
                                                  expect_finding("r1", finding_kind::end_at)}));
    EXPECT_TRUE(has(text,
                    "does what the reference does, not what the model predicts: a finding "
                    "about the checker (the model)"))
        << text;
}

TEST(JudgeLifecycle, FastifyDifferingFromBothIsLeftToJudge) {
    std::string const text = judge_lifecycle(
        trace_fault(),
        ran({record("r1", {"onRequest@root"})}, {expect_finding("r1", finding_kind::trace)}));
    EXPECT_TRUE(has(text, "shares part of the fault: judge each step below")) << text;
    EXPECT_TRUE(has(text, "Fastify differs from both (its trace: [onRequest@root])")) << text;
}

TEST(JudgeLifecycle, SharedInvariantIsAboutFastifyOrTheChecker) {
    lifecycle_fault fault;
    fault.invariants.push_back(invariant("r1", "I5"));
    std::string const text =
        judge_lifecycle(fault, ran({record("r1", {"handler"})}, {invariant("r1", "I5")}));
    EXPECT_TRUE(
        has(text, "SHARES the fault: a finding about Fastify (a bug), or about the checker"))
        << text;
    EXPECT_TRUE(has(text, "  step r1: I5: Fastify breaks it too\n")) << text;
}

TEST(JudgeLifecycle, InvariantFastifyKeepsIsAboutTheReference) {
    lifecycle_fault fault;
    fault.invariants.push_back(invariant("r1", "I5"));
    std::string const text =
        judge_lifecycle(fault, ran({record("r1", {"handler"})}, {invariant("r1", "I2")}));
    EXPECT_TRUE(has(text, "does not share the fault: a finding about the reference")) << text;
    EXPECT_TRUE(has(text, "step r1: I5: Fastify keeps it (it breaks I2)")) << text;
}

TEST(JudgeLifecycle, CrashOfFastifyIsAFindingAboutFastify) {
    finding died = check::target_died("exited with status 1");
    std::string const text = judge_lifecycle(trace_fault(), ran({}, {died}));
    EXPECT_TRUE(has(text,
                    "CRASHES (I7: the target process died: exited with status 1): a "
                    "finding about Fastify (I7)"))
        << text;
    EXPECT_TRUE(has(text,
                    "step r1: the reference differs from the model; Fastify did not run "
                    "the step"))
        << text;
}

TEST(JudgeLifecycle, NotReplayedSaysWhy) {
    fastify_run off;
    off.why = "not replayed: LIFECHECK_FUZZ_FASTIFY=off";
    EXPECT_EQ(judge_lifecycle(trace_fault(), off),
              "lifecheck-fuzz: real Fastify: not replayed: LIFECHECK_FUZZ_FASTIFY=off\n");
}

TEST(JudgeHttp, InvariantsAndTheMalformedLine) {
    std::string const shared = judge_http({"I1", "I1"}, false, {}, ran({}, {invariant("", "I1")}));
    EXPECT_TRUE(has(shared, "SHARES the fault")) << shared;
    EXPECT_TRUE(has(shared, "  I1: Fastify breaks it too (on some request)\n")) << shared;

    check::step_record answered = record("r1", {}, 400);
    answered.connection = "closed";
    std::string const reference = judge_http({}, true, {"pauses dropped"}, ran({answered}));
    EXPECT_TRUE(has(reference, "does not share the fault: a finding about the reference"))
        << reference;
    EXPECT_TRUE(has(reference, "Fastify answers it with 400 and closes")) << reference;
    EXPECT_TRUE(has(reference, "  note: pauses dropped\n")) << reference;

    std::string const kept = judge_http({}, true, {}, ran({record("r1", {"onRequest@root"})}));
    EXPECT_TRUE(has(kept, "Fastify does not answer it with a 4xx and a close either")) << kept;
}

} // namespace
} // namespace lifecheck::fuzz
