// A property campaign: generated scenarios against the model on one target, with RapidCheck's
// shrinking, coverage figures and a counterexample written as an ordinary scenario file.
#pragma once

#include "harness/model/model.hpp"
#include "harness/property/generators.hpp"
#include "harness/run/runner.hpp"
#include "harness/scenario/scenario.hpp"
#include "server_under_test/reference/engine/faults.hpp"

#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace lifecheck::property {

/// The target name that runs cases on the engine in this process (no sockets).
constexpr char const* in_process_target = "in-process";

struct campaign_options {
    std::string target = in_process_target; // or a --target spec: reference, fastify, koa, CMD
    int cases = 100;                        // cases that must pass (discards not counted)
    std::optional<std::uint64_t> seed;      // nothing: a fresh random seed (reported)
    gen_options gen;
    engine::fault_set faults = 0; // seeded engine faults (in-process only)
    bool check_invariants = true; // also fail on I1–I6 findings
    bool shrink = true;
    std::filesystem::path counterexample_dir = "reports/counterexamples";
    bool write_counterexample = true;
    std::function<void(std::string const&)> progress; // a one-line status now and then, or null
    run::options runner;                              // socket targets: deadlines, log folder
    int jobs = 1; // socket targets: target processes judging cases at once (-j; D58)
};

/// How often the callbacks of one phase ran with each outcome, over all cases.
struct phase_coverage {
    long threw = 0;     // throw, rethrow
    long sent = 0;      // send, sendThenContinue, hijack, replacePayload
    long continued = 0; // continue
    long hung = 0;      // hang
};

struct campaign_result {
    bool passed = false;
    std::string error; // the campaign could not run (bad target, gave up); "" if it ran
    int cases = 0;     // cases judged (passed, plus the first failure)
    int discarded = 0; // cases skipped: a race, a hang or a crash the model predicts
    std::map<std::string, int> discard_reasons;
    int shrinks = 0; // accepted shrink steps
    std::uint64_t seed = 0;
    std::set<std::string> traces;                     // distinct per-request traces seen
    std::map<std::string, phase_coverage> coverage;   // by phase ("onSend", "handler", ...)
    std::optional<scenario::scenario> counterexample; // the shrunk failing case, expect filled
    std::vector<std::string> failure;                 // why it fails, one line each
    std::filesystem::path written;                    // the counterexample file, if written
    std::string replay_command;                       // lifecheck run ... FILE
    std::string reproduce_command;                    // lifecheck prop ... --seed S
    int workers = 0; // socket targets: the target processes that judged cases
};

/// Runs `opts.cases` generated cases on the target, comparing each step with model::predict:
/// in-process through run_in_process/compare_with_model/check; on a socket target through the
/// runner, with every deterministic step's `expect` filled from the model (so the verdict is
/// `pass` exactly when the target agrees with the model and I1–I7 hold). A failure is shrunk
/// by RapidCheck and, when asked, written to `counterexample_dir/prop-<target>-<seed>.json`.
campaign_result run_campaign(campaign_options const& opts);

/// `sc` with every step's `expect` set from the model's deterministic prediction: status,
/// body, complete, aborted, reached, trace and endAt (steps the model cannot decide keep none).
scenario::scenario with_expectations(scenario::scenario sc);

/// Why a case cannot be judged on this kind of target ("" when it can): a step the model
/// marks non-deterministic; over sockets also a predicted hang or Fastify crash.
std::string skip_reason(std::vector<model::step_prediction> const& predictions, bool in_process);

/// How many scopes and callbacks (ACTIONs: hooks, handlers, error and not-found handlers) an
/// app has, for the planted-bug test and reports.
int count_scopes(scenario::scope const& s);
int count_callbacks(scenario::scope const& s);

/// The fault names of a fault set, comma-separated ("" for none).
std::string fault_names(engine::fault_set f);

} // namespace lifecheck::property
