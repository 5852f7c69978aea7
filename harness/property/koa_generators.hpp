// RapidCheck generators of koa-dialect scenarios (scenario-format §1.5): middleware chains with
// down/up ACTIONs, next() once/never/twice, flags, throws, bodies before/after next, the error
// listener.
#pragma once

#include "harness/scenario/scenario.hpp"

#include <rapidcheck.h>

namespace lifecheck::property {

/// Bounds of the generated koa scenarios.
struct koa_gen_options {
    int max_middleware = 6; // 1..6 middleware
    int max_steps = 4;      // top-level steps (a parallel group counts once)
    bool ops = true;        // v2.3 ops in half the ACTIONs and `catch` blocks (§1.7)
};

/// A whole koa scenario (id "generated"): 1..max_middleware middleware, each with an optional
/// `before` and `after` ACTION (continue, send with every PAYLOAD kind Koa takes — json, string,
/// buffer, empty, stream, some failing —, throw with and without a status, rarely hang; `when`
/// and `set` on two shared flags; delays of 0, 30 or 80 ms), `next` once, never or twice, and an
/// optional `onError` listener (some with `when`/`set`); with `ops`, half the middleware use v2.3
/// ops instead (ctx.status, ctx.body, ctx.throw, ctx.assert, throw of Errors and non-Errors,
/// set, await, hang) and a third of those with next() get a `catch` (adding err-reading
/// ctx.status/ctx.body, rethrow and ctx.app.emit); then 1..max_steps steps: GET, HEAD and
/// POST requests, client aborts after 40 or 150 ms, `abortAfterResponseBodyBytes` (not with a
/// 204/205 ACTION: the reference reports such a response incomplete, real Koa and the model
/// complete), parallel pairs, pipelined pairs, raw steps, sleeps and a keep-alive connection.
/// Written with scenario::to_json and loaded back, so it is labelled and valid; a generator bug
/// that makes an invalid file throws std::logic_error with the diagnostics.
rc::Gen<scenario::scenario> koa_scenario_gen(koa_gen_options opts = {});

} // namespace lifecheck::property
