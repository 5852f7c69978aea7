// Runs a scenario's steps on the reference engine in-process (virtual clock, no sockets) and
// compares what it did with the model's prediction and with invariants I1–I7.
#pragma once

#include "harness/check/observation.hpp"
#include "harness/check/verdict.hpp"
#include "harness/scenario/scenario.hpp"
#include "server_under_test/reference/engine/faults.hpp"

#include <optional>
#include <string>
#include <vector>

namespace lifecheck::property {

/// What one request (or raw) step did in-process: the same shape the model predicts
/// (model::step_prediction), so the two can be compared field by field.
struct step_outcome {
    std::string step_id;            // the step's id (parallel children flattened in order)
    std::vector<std::string> trace; // labels of the cb events for this id, in start order
    std::optional<int> end_at;      // cb events before `end`; nothing when no `end` came
    bool aborted = false;           // the `end` event reports a client abort
    bool got_response = false;      // a status line reached the client
    std::optional<int> status;      // its status (nothing without a response)
    scenario::header_list headers;  // response headers as written
    std::string body;               // de-chunked body bytes the client received
    bool complete = false;          // the body's framing finished
    std::optional<check::startup_refusal> refused; // step "startup" (v2.5): the app was refused
    check::request_observation observed;           // the same as the harness's runner would see it
                                                   // (observed.step points into the scenario)
};

/// Runs every request, raw, parallel, sleep and close step of `sc` (a valid, labelled
/// fastify-dialect scenario, e.g. from scenario::parse) on net::in_memory_server with the seeded
/// `faults` (engine/faults.hpp), through the one step walk and client plans the socket runner
/// uses (run::drive_steps, client::plan_of: abortAfterMs, abortAfterRequestBytes/BodyBytes,
/// abortAfterResponseBytes/ResponseBodyBytes, bytesPerWrite + writeDelayMs on the virtual clock).
/// Steps run in order; parallel children start together. Events are grouped per step as the
/// runner groups them (run::observe, decisions.md D25). Deterministic: the same input gives the
/// same outcome. Returns one outcome per request/raw/close step, in model::predict's order, then
/// one per request no step claims (step_id is its made-up id). Never throws for a valid
/// scenario.
std::vector<step_outcome> run_in_process(scenario::scenario const& sc,
                                         engine::fault_set faults = 0);

/// One way a step's outcome differs from the model's prediction.
struct model_disagreement {
    std::string step_id;
    std::string line; // "step r1: trace: model [...], engine [...]"
};

/// Compares `outcomes` (from run_in_process, or built from any target's observations) with
/// model::predict(sc): one entry per disagreement; empty when they agree. Steps the model marks
/// non-deterministic, and steps where it predicts a Fastify crash, are skipped.
std::vector<model_disagreement> disagreements_with_model(scenario::scenario const& sc,
                                                         std::vector<step_outcome> const& outcomes);

/// The lines of disagreements_with_model ("step r1: trace: model [...], engine [...]").
std::vector<std::string> compare_with_model(scenario::scenario const& sc,
                                            std::vector<step_outcome> const& outcomes);

/// Invariants I1–I6 (check::check_invariants) on every request outcome; the findings, empty
/// when all hold. A request with no `end` at all is a hang, not an I1 finding here (the runner
/// reports hangs apart too); compare_with_model says whether the model expected it.
std::vector<check::finding> check(scenario::scenario const& sc,
                                  std::vector<step_outcome> const& outcomes);

/// True when model::predict(sc) marks any step non-deterministic (a race the model cannot
/// decide); generators skip such scenarios.
bool has_race(scenario::scenario const& sc);

} // namespace lifecheck::property
