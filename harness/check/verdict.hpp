// Scenario results: the verdict classes of scenario-format §4, findings, and how a verdict is
// decided (D3).
#pragma once

#include "harness/check/observation.hpp"
#include "harness/check/trace_diff.hpp"
#include "harness/scenario/scenario.hpp"

#include <cstddef>
#include <optional>
#include <string>
#include <vector>

namespace lifecheck::check {

/// A scenario's result class, scenario-format §4 (`divergence`: differs exactly as documented, D3).
enum class verdict { pass, fail, crash, hang, skip, error, divergence };

/// The spelling used in reports and in a divergence entry's `result` ("pass", "crash", ...).
char const* to_string(verdict v);

/// Parses a verdict name; nothing for an unknown name.
std::optional<verdict> parse_verdict(std::string const& name);

/// What a finding compared: an expect field (scenario-format §1.4), an invariant (I1–I7), or
/// what the runner saw (`harness`: a fault of lifecheck itself; `invalid`: the scenario; `load`:
/// the target cannot build the app where it runs, e.g. a missing npm package).
enum class finding_kind {
    status,
    headers,
    body,
    complete,
    connection,
    aborted,
    reached,
    trace,
    end_at,
    invariant,
    crash,
    hang,
    harness,
    invalid,
    load,
    startup, // v2.5: how start-up ended differs from `startup.expect.error`
};

/// The spelling reports print: "status", ..., "endAt" for `end_at`, "invariant", "hang", ...
char const* to_string(finding_kind k);

/// One thing that went wrong, attributed to a step where it can be.
///
/// `kind` names what was compared; for finding_kind::invariant, `invariant_id` is "I1".."I7".
struct finding {
    std::string step_id; // "" when it concerns the whole scenario (a crash)
    finding_kind kind = finding_kind::harness;
    std::string invariant_id; // "I1".."I7" for kind "invariant", else ""
    std::string message;      // one readable sentence
    std::string expected;     // what the scenario or the invariant wanted ("" when n/a)
    std::string actual;       // what was observed ("" when n/a)
    std::optional<trace_divergence> divergence; // kind "trace": first diverging position
    std::string detail;         // multi-line extra text (the side-by-side trace diff), or ""
    std::string json_path = {}; // where it points in the scenario file: the expect field it
                                // compared ($.steps[1].expect.trace), else its step; "" for none
};

/// "step r1: trace: ..." — one line naming the step, the kind and the message.
std::string describe(finding const& f);

/// What a report keeps of one request step (a copy: a report outlives the scenario).
struct step_record {
    std::string id;
    bool got_response = false;
    int status = 0;
    scenario::header_list headers;
    std::string body;
    bool complete = false;
    std::string connection; // "kept", "closed", "reset"
    bool client_aborted = false;
    std::string client_error;
    std::vector<std::string> trace; // cb labels in order, including those after `end`
    std::optional<int> end_at;      // cb events before `end`; nothing without `end`
    std::optional<int> end_status;  // the `end` event's status
    std::optional<bool> aborted;    // the `end` event's `aborted`
    int end_count = 0;              // how many `end` events arrived
    // What the scenario asked for (reports show it; empty for a step without a scenario step).
    std::string request;      // "GET /v1/x", "raw", "close"
    std::string request_text; // the bytes the client wrote (request line, headers, body)
    std::string client;       // client options, e.g. "abortAfterMs: 50", or ""
    std::optional<std::vector<std::string>> expected_trace; // expect.trace
    std::optional<int> expected_status;                     // expect.status
    // step "startup" (v2.5): the target refused the app with this error
    bool refused = false;
    std::optional<std::string> refusal_code;
    std::string refusal_message;
};

/// One user callback (ACTION) of the app, for reports: where it runs and what it does.
struct callback_info {
    std::string label;
    std::string phase; // "onSend", "handler", "errorHandler", "notFound"; koa "down", "up"
    std::string scope; // the scope it acts in (scenario-format §1.1; koa: the middleware's label)
    std::string route; // handlers and route-level hooks: "GET /v1/x" (the method and each full
                       // path: "/" under /v1 is "GET /v1 /v1/"), else ""
    std::string does;  // the verb: "continue", "throw", "send", ... (koa next "never": "stop")
    std::string note;  // the rest of the ACTION, e.g. "callback, delayMs 20, when ready=false"
};

/// A scope of the app (koa: a middleware) and the scope that encloses it ("" for the outermost).
struct scope_info {
    std::string name;
    std::string parent;
};

/// Copies what a report needs out of an observation.
step_record summarize(request_observation const& o);

/// What the runner saw beyond the per-request observations. The runner fills this in; the
/// checker turns it, with the observations, into findings and a verdict.
struct run_facts {
    std::string target;                       // hello.target, e.g. "reference", "fastify"
    std::string target_version;               // hello.version
    std::optional<std::string> unsupported;   // the target said unsupported: what (skip)
    std::optional<std::string> load_error;    // the target said loadError: what (error)
    std::optional<std::string> crash;         // the target process died: how (I7, crash)
    std::vector<std::string> hung_steps;      // steps with no `end` within the deadline (hang)
    std::optional<std::string> invalid;       // the scenario itself is invalid (error)
    std::optional<std::string> harness_fault; // lifecheck itself failed (error, not the target's)
    double duration_ms = 0;
    std::string replay_command; // "" = `lifecheck run --target T FILE`
    std::string target_stderr;  // with `crash`: an excerpt of the target's stderr (its log)
};

/// The result of one scenario on one target: what reports are written from.
struct scenario_result {
    std::string scenario_id;
    std::string file;
    std::string target;
    std::string target_version;
    verdict v = verdict::pass;
    verdict shown = verdict::pass; // the verdict before D3 (what a divergence documents)
    std::vector<finding> findings; // runner findings (crash, hang, harness) first, then by step
    std::vector<step_record> steps;
    double duration_ms = 0;
    std::string skip_reason;
    std::string replay_command;
    bool harness_fault = false;
    std::string divergence_class; // verdict::divergence: the entry's class and note
    std::string divergence_note;
    // The scenario itself, for reports (filled by describe_scenario).
    std::string description;
    std::vector<std::string> tags;
    std::string dialect;                  // "fastify", "koa"
    std::vector<scope_info> scopes;       // tree order, outermost first
    std::vector<callback_info> callbacks; // every ACTION of the app, in declaration order
};

/// Copies what reports show of the scenario (description, tags, dialect, scopes, callbacks)
/// into `r`. evaluate() calls it; so does anything that builds a result by hand.
void describe_scenario(scenario::scenario const& sc, scenario_result& r);

/// The callback a trace label of a step stands for: the one whose route `request` ("GET /x")
/// reaches when several share the label (every handler is "handler"); null when unknown.
callback_info const*
find_callback(scenario_result const& r, std::string const& label, std::string const& request);

/// The verdict before divergences: error (invalid scenario, harness fault or load error) > skip >
/// crash > hang > fail (any finding) > pass.
verdict raw_verdict(run_facts const& facts, std::vector<finding> const& findings);

/// True when a divergence entry names this target (D3): `name` alone, or `name@PREFIX` where
/// PREFIX equals the version or is a prefix of it ending at a `.` ("5.12" matches "5.12.8").
bool divergence_matches(scenario::divergence const& d,
                        std::string const& target,
                        std::string const& version);

/// The index of the divergence entry that documents `raw` on this target, if any (D3): only
/// fail, crash and hang can be documented, and an entry with `result` covers only that class.
std::optional<std::size_t> documented_divergence(std::vector<scenario::divergence> const& entries,
                                                 verdict raw,
                                                 std::string const& target,
                                                 std::string const& version);

/// The finding for a step that got no `end` within the deadline.
finding step_hung(std::string const& step_id);

/// What evaluate() checks: the steps' `expect` fields and the invariants, or the invariants only
/// (`lifecheck run --with-plugin`, decisions.md D35: the expectations were recorded without the
/// plugin, which may change headers, bodies and statuses by design).
enum class checks { expect_and_invariants, invariants_only };

/// Checks every observation (expect fields unless `what` is invariants_only, and invariants
/// I1–I6 for request and raw steps), adds the runner's findings and decides the verdict,
/// divergences included.
/// @param observations one per request/raw step that ran (and one per close step, req `app`,
///        whose expect is checked but which is exempt from the request invariants)
scenario_result evaluate(scenario::scenario const& sc,
                         std::vector<request_observation> const& observations,
                         run_facts const& facts,
                         checks what = checks::expect_and_invariants);

} // namespace lifecheck::check
