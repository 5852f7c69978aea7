// The independent oracle: predicts, per request step, what real Fastify 5.12.8 does for a scenario.
#pragma once

#include "harness/scenario/scenario.hpp"

#include <optional>
#include <string>
#include <vector>

namespace lifecheck::model {

/// What kind of body the client receives.
enum class body_class {
    none,               // no response reached the client (abort, reset, hang, not reached)
    empty,              // a response with an empty body (send(), null after onSend, 204, HEAD)
    json,               // a serialized JSON payload (object, array, number, boolean, null)
    text,               // a string payload (text/plain unless the reply set another type)
    binary,             // a Buffer payload
    stream,             // a Node stream, web stream or Response body (chunked)
    default_error_json, // Fastify's default error JSON (fastify-lifecycle §4.4)
    fastify_raw, // written by Fastify outside the lifecycle: 503 on closing, 404/400 fallbacks
    hijacked,    // written by the user on reply.raw after reply.hijack()
};

/// Spelling used in reports ("default_error_json", ...).
char const* to_string(body_class b);

/// The model's prediction for one step (request, raw or close) of a scenario.
struct step_prediction {
    std::string step_id;            // the step's id; "close" for a close step without one
    bool reached = true;            // the request reached Fastify (scenario-format §1.4 `reached`)
    std::vector<std::string> trace; // callback labels in start order, incl. after `end`
    std::optional<int> end_at;      // callbacks before `end`; nothing when no `end` is known
    std::optional<int> status;      // status of the response the client received
    body_class body = body_class::none; // what the client received
    std::optional<std::string>
        body_text; // the body bytes the client got (all of them iff complete)
    std::optional<std::string> content_type; // the response's content-type, when known
    scenario::header_list headers;           // the head's headers the framework wrote (Node's own
                                             // date/connection/framing headers are not listed)
    bool complete = true;                    // false when the body was cut short
    bool aborted = false;                    // the target's `end` reports a client abort
    bool hangs = false;                      // no `end` ever comes (no reply and no abort)
    bool crash = false;                      // the Fastify process dies during this step (§2.7)
    // step "startup" (v2.5): ready()/listen() rejects with this error (code may be absent)
    bool refused = false;
    std::optional<std::string> refusal_code;
    std::string refusal_message;
    bool deterministic = true;      // false when the outcome depends on a race
    std::string why;                // why not deterministic / what is not modelled
    std::vector<std::string> notes; // modelling assumptions the prediction relies on
};

/// Predicts every request, raw and close step of `sc` in step order (parallel children are
/// flattened in document order), after a prediction with step_id "startup" when the scenario has
/// a `startup` object or Fastify refuses the app at start (then it is the only one: `refused`,
/// with the start-up hooks that ran as its trace). Flags, shared Responses and the closing state
/// evolve across steps as they do in a live app. Never throws; what the model cannot decide is
/// reported with `deterministic == false` and a reason in `why`.
std::vector<step_prediction> predict(scenario::scenario const& sc);

/// What a target was observed to do for one request, as far as `accepts` compares it.
struct observed_step {
    std::vector<std::string> trace;
    std::optional<int> end_at;
    std::optional<int> status;
    std::optional<std::string> body; // the received body bytes, when read completely
};

/// True when `seen` is consistent with `p`: always for a non-deterministic prediction;
/// otherwise the traces are equal and `end_at`, `status` and the body agree where both sides
/// know them.
bool accepts(step_prediction const& p, observed_step const& seen);

/// Compares a prediction with a step's `expect`; returns one line per disagreement (empty when
/// they agree or the prediction is not deterministic). Used by the corpus agreement test.
std::vector<std::string> disagreements(step_prediction const& p, scenario::expectation const& e);

} // namespace lifecheck::model
