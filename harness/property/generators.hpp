// RapidCheck generators of fastify-dialect scenarios: apps (scopes, hooks, handlers, payloads)
// and client steps, each a valid, labelled scenario that the strict loader accepts.
#pragma once

#include "harness/scenario/scenario.hpp"

#include <rapidcheck.h>

#include <iosfwd>

namespace lifecheck::property {

/// Bounds of the generated scenarios.
struct gen_options {
    int max_scopes = 4;    // 1..4: the root plus up to max_scopes-1 plugins
    int max_steps = 4;     // top-level steps (a parallel group counts once)
    bool app_hooks = true; // onReady/onListen/preClose/onClose/onRoute/onRegister hooks (any
                           // scope, sync style too: v2.6) and a final close step
    scenario::dialect dialect =
        scenario::dialect::fastify; // koa: koa_generators.hpp (max_steps kept)
};

/// A whole scenario (id "generated"): an app of 1..max_scopes nested scopes — prefixes,
/// encapsulate on/off, `await` register, 0–3 hooks per phase per scope (some `late`) with
/// every ACTION verb allowed there and both styles, error and not-found handlers, routes with
/// route hooks, every PAYLOAD kind — and 1..max_steps steps: requests to existing and missing
/// routes and wrong methods, bad JSON bodies, client aborts at byte offsets and times,
/// keep-alive connections, parallel groups (pipelined on one connection or not), flag
/// toggles through `when`/`set`, sleeps, and a close step. Delays are few and far apart
/// (0, 30, 80 ms) so most cases have one deterministic outcome; the rest are for the caller
/// to skip (model::predict marks them non-deterministic).
///
/// The value has been written with scenario::to_json and loaded back with scenario::from_json,
/// so it is labelled and valid; a generator bug that makes an invalid file throws
/// std::logic_error with the loader's diagnostics.
rc::Gen<scenario::scenario> scenario_gen(gen_options opts = {});

/// Loads a generated scenario file back (labels, validation: exactly what a file replays);
/// an invalid one is a bug of `generator` and throws std::logic_error with the diagnostics.
scenario::scenario load_generated(scenario::json const& file, char const* generator);

/// The scenario as pretty JSON (what a counterexample file holds).
std::string to_text(scenario::scenario const& sc);

} // namespace lifecheck::property

namespace lifecheck::scenario {

/// RapidCheck shows generated scenarios as their JSON (found by ADL).
void showValue(scenario const& sc, std::ostream& os);

} // namespace lifecheck::scenario
