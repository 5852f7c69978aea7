// Whether real Fastify shares a fault a fuzz target found: the input replayed on `--target
// fastify` over sockets, and a verdict that says whom the finding is about.
//
// A fault report that only says "the reference broke I5" leaves the user to find out whether
// Fastify does the same (then the invariant, or the model, may be wrong about Fastify, or Fastify
// has a bug) or not (then the reference is wrong). The fuzz targets call these functions before
// they abort, so the report says it at once (fuzz/README.md, "Whom a fault is about").
#pragma once

#include "fuzz/decode.hpp"
#include "harness/check/verdict.hpp"
#include "harness/property/in_process.hpp"
#include "harness/scenario/scenario.hpp"

#include <string>
#include <vector>

namespace lifecheck::fuzz {

/// Real Fastify's run of a scenario.
struct fastify_run {
    bool ran = false;   // false: not replayed, `why` says why
    std::string why;    // "LIFECHECK_FUZZ_FASTIFY=off", "node is not on PATH", a start failure
    std::string target; // "fastify 5.12.8"
    check::scenario_result result;
};

/// Replays `sc` (labelled, fastify dialect) on real Fastify through the runner, unless
/// $LIFECHECK_FUZZ_FASTIFY is "off" (`lifecheck repro` sets it while it minimizes) or node is
/// not on PATH. $LIFECHECK_FUZZ_FASTIFY may name another target (fastify@5.11, a command line);
/// the default is `fastify`. Target logs go to $TMPDIR/lifecheck-fuzz-fastify/.
fastify_run run_on_fastify(scenario::scenario const& sc);

/// What the reference did wrong in a lifecycle fuzz input: where it and the model disagree, and
/// the invariants it broke.
struct lifecycle_fault {
    std::vector<property::model_disagreement> disagreements;
    std::vector<check::finding> invariants;
    std::vector<property::step_outcome> engine; // the reference engine's outcomes
};

/// The report's verdict on a lifecycle fault, given Fastify's run of `with_expectations(sc)`
/// (every deterministic step's expect from the model): one line
/// "lifecheck-fuzz: real Fastify (T): VERDICT: a finding about WHOM" and one line per step
/// problem. Pure: the unit tests feed it made-up runs.
std::string judge_lifecycle(lifecycle_fault const& fault, fastify_run const& fastify);

/// The same for an http_bytes fault: `broken` are the invariant ids the reference broke (I1–I6)
/// and `malformed_line` whether a malformed request line went unanswered by a 4xx and a close.
std::string judge_http(std::vector<std::string> const& broken,
                       bool malformed_line,
                       std::vector<std::string> const& notes,
                       fastify_run const& fastify);

/// Replays and judges: what the fuzz targets print before they abort.
std::string on_fastify_lifecycle(scenario::scenario const& sc, lifecycle_fault const& fault);
std::string
on_fastify_http(http_input const& in, std::vector<std::string> const& broken, bool malformed_line);

} // namespace lifecheck::fuzz
