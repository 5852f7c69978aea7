// I1–I6 of scenario-format §4 on one request's events and response, worded as fastify-lifecycle.md
// §12 allows.
#include "harness/check/invariants.hpp"

#include "harness/check/detail/app_index.hpp"

#include <algorithm>
#include <cstddef>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <tuple>
#include <utility>

namespace lifecheck::check {
namespace {

using detail::app_index;
using detail::callback_kind;
using detail::indexed_action;
using protocol::event;
using protocol::event_type;

/// The app's index and the request that the events belong to (to tell routes apart).
struct context {
    app_index index;
    std::string method; // "" when unknown
    std::string url;

    std::vector<indexed_action const*> find(std::string const& label) const {
        return index.find_for(label, method, url);
    }
};

/// Method and target of a raw step's first request line ("GET /x HTTP/1.1"), or empty.
std::pair<std::string, std::string> request_line(std::string const& raw) {
    std::string const line = raw.substr(0, raw.find("\r\n"));
    auto const sp1 = line.find(' ');
    if (sp1 == std::string::npos)
        return {};
    auto const sp2 = line.find(' ', sp1 + 1);
    if (sp2 == std::string::npos)
        return {};
    return {line.substr(0, sp1), line.substr(sp1 + 1, sp2 - sp1 - 1)};
}

/// A cb event with its position in the trace and its resolved phase.
struct callback {
    event const* e = nullptr;
    std::size_t position = 0; // index in the trace (cb events only)
    std::string phase;        // "" when unknown
    bool after_end = false;   // started after the first `end`
};

std::string phase_name(indexed_action const& a) {
    switch (a.kind) {
    case callback_kind::handler:
        return "handler";
    case callback_kind::not_found:
        return "notFound";
    case callback_kind::error_handler:
        return "errorHandler";
    case callback_kind::hook:
        break;
    }
    return a.phase ? scenario::to_string(*a.phase) : "";
}

std::string phase_of(event const& e, context const& ctx) {
    if (!e.phase.empty())
        return e.phase;
    std::string found;
    for (indexed_action const* a : ctx.find(e.label)) {
        std::string const p = phase_name(*a);
        if (!found.empty() && found != p)
            return ""; // colliding labels of different phases: unknown
        found = p;
    }
    return found;
}

std::vector<callback> callbacks_of(request_observation const& o, context const& ctx) {
    std::vector<callback> out;
    bool ended = false;
    for (event const& e : o.events) {
        if (e.type == event_type::end)
            ended = true;
        if (e.type != event_type::cb)
            continue;
        callback c;
        c.e = &e;
        c.position = out.size();
        c.phase = phase_of(e, ctx);
        c.after_end = ended;
        out.push_back(c);
    }
    return out;
}

/// scenario-format §4 I2: the request-side phases in order; -1 for any other phase.
int request_rank(std::string const& phase) {
    if (phase == "onRequest")
        return 0;
    if (phase == "preParsing")
        return 1;
    if (phase == "preValidation")
        return 2;
    if (phase == "preHandler")
        return 3;
    if (phase == "handler" || phase == "notFound") // the not-found handler stands in for it
        return 4;
    return -1;
}

/// How many times a label may run: once per ACTION carrying it (labels may collide when a
/// scenario gives the same `label` twice, or a scope has `errorHandler` and `late.errorHandler`).
std::size_t allowed_runs(context const& ctx, std::string const& label) {
    return std::max<std::size_t>(1, ctx.find(label).size());
}

/// How many values an `ops` ACTION (scenario-format §1.6) hands to reply.send: its `send` ops and
/// a `return` of a value (a handler's or error handler's value is sent; a hook's is ignored,
/// counting it only makes the checks more lenient).
std::size_t sends_of(scenario::action const& a) {
    std::size_t n = 0;
    if (a.ops)
        for (scenario::op const& o : *a.ops)
            if (o.kind == scenario::op_kind::send ||
                (o.kind == scenario::op_kind::return_ && o.body && !o.return_reply))
                ++n;
    return n;
}

/// True when an `ops` ACTION may change what the reply sends: a send, a returned value, a throw,
/// done(err) or done(null, value), or a hang (it may never continue).
bool ops_act_on_reply(scenario::action const& a) {
    for (scenario::op const& o : *a.ops)
        switch (o.kind) {
        case scenario::op_kind::send:
        case scenario::op_kind::throw_:
        case scenario::op_kind::hang:
        case scenario::op_kind::call_not_found: // the 404 context answers
        case scenario::op_kind::hijack:
            return true;
        case scenario::op_kind::return_:
            if (o.body && !o.return_reply)
                return true;
            break;
        case scenario::op_kind::done:
            if (o.done != scenario::done_with::nothing)
                return true;
            break;
        default:
            break;
        }
    return false;
}

/// True when an `ops` ACTION may raise a non-Error value that JSON.stringify serializes (a
/// number, a boolean, null, an object: not a string, not undefined): Fastify's default error
/// handler sends such a value as a payload, through preSerialization (issue 15; scenarios
/// fastify/values/*-throws-number).
bool raises_json_value(scenario::action const& a) {
    if (!a.ops)
        return false;
    for (scenario::op const& o : *a.ops) {
        bool const raises =
            o.kind == scenario::op_kind::throw_ ||
            (o.kind == scenario::op_kind::done && o.done == scenario::done_with::error);
        if (raises && o.body && o.body->kind == scenario::payload_kind::json_value &&
            !o.body->value.is_string())
            return true;
    }
    return false;
}

/// True when an async `ops` handler, not-found or error handler may send twice: wrapThenable
/// sends what the function's promise settles with — undefined too, while `reply.sent` is false,
/// no head went out and the socket is up (lib/wrap-thenable.js), the rejection's error likewise —
/// so a `send` op not followed by `return reply` can be followed by a second send while the first
/// is still in flight (lifecycle fuzzer 6090933b, e0797d54; Fastify 5.12.8).
bool resends_on_settle(indexed_action const& entry) {
    scenario::action const& a = *entry.act;
    if (!a.ops || entry.kind == callback_kind::hook || a.how != scenario::style::async)
        return false;
    bool sends = false;
    for (scenario::op const& o : *a.ops) {
        if (o.kind == scenario::op_kind::return_ && o.return_reply)
            return false;
        if (o.kind == scenario::op_kind::send)
            sends = true;
    }
    return sends;
}

/// True when an `ops` ACTION has an op of kind `k`.
bool has_op(scenario::action const& a, scenario::op_kind k) {
    if (a.ops)
        for (scenario::op const& o : *a.ops)
            if (o.kind == k)
                return true;
    return false;
}

/// True when an `ops` ACTION calls reply.callNotFound() (v2.6): the request goes back to the
/// preHandler hooks of its not-found context, then the not-found handler (lib/reply.js notFound).
bool calls_not_found(scenario::action const& a) {
    return has_op(a, scenario::op_kind::call_not_found);
}

/// How many times an `ops` ACTION calls done(): two or more advance its hook chain twice, and
/// Fastify runs the rest of the lifecycle again (fastify-lifecycle.md §2.3 c; Hooks.md: "the
/// hook chain will be executed twice").
std::size_t dones_of(scenario::action const& a) {
    std::size_t n = 0;
    if (a.ops)
        for (scenario::op const& o : *a.ops)
            if (o.kind == scenario::op_kind::done)
                ++n;
    return n;
}

finding violation(request_observation const& o,
                  char const* id,
                  std::string message,
                  std::string expected,
                  std::string actual) {
    finding f;
    f.step_id = o.req_id;
    f.kind = finding_kind::invariant;
    f.invariant_id = id;
    f.message = std::string{id} + ": " + std::move(message);
    f.expected = std::move(expected);
    f.actual = std::move(actual);
    return f;
}

std::string at(callback const& c) {
    return c.e->label + " (position " + std::to_string(c.position) + ")";
}

//----------------------------------------------------------------------------------------------
// I1 — exactly one `end` per request that reached the framework.

void check_i1(request_observation const& o,
              std::vector<callback> const& cbs,
              std::vector<finding>& out) {
    std::size_t ends = 0;
    for (event const& e : o.events)
        if (e.type == event_type::end)
            ++ends;
    std::size_t own = 0; // onReady callbacks (`app`) come with the first step, reached or not
    for (callback const& c : cbs)
        if (c.e->req != "app")
            ++own;
    if (own == 0 && ends == 0)
        return; // never reached the framework
    if (ends == 0)
        out.push_back(violation(o,
                                "I1",
                                std::to_string(cbs.size()) +
                                    " callback(s) ran but the target sent no end event",
                                "1 end event",
                                "0"));
    else if (ends > 1)
        out.push_back(
            violation(o,
                      "I1",
                      "the target sent " + std::to_string(ends) + " end events for one request",
                      "1 end event",
                      std::to_string(ends)));
}

//----------------------------------------------------------------------------------------------
// I2 — request-side callbacks in phase order, each at most once.

void check_i2(request_observation const& o,
              context const& ctx,
              std::vector<callback> const& cbs,
              std::vector<finding>& out) {
    callback const* furthest = nullptr; // the request-side callback of the latest phase so far
    bool reported_order = false;
    std::map<std::string, std::size_t> runs;
    std::set<std::string> reported_repeat;
    for (callback const& c : cbs) {
        int const rank = request_rank(c.phase);
        if (rank < 0)
            continue;
        if (furthest && rank < request_rank(furthest->phase) && !reported_order) {
            reported_order = true;
            out.push_back(violation(o,
                                    "I2",
                                    at(c) + " (" + c.phase + ") started after " + at(*furthest) +
                                        " (" + furthest->phase +
                                        "): request-side phases must not go back",
                                    "onRequest, preParsing, preValidation, preHandler, handler",
                                    c.phase + " after " + furthest->phase));
        }
        if (!furthest || rank > request_rank(furthest->phase))
            furthest = &c;
        std::size_t const n = ++runs[c.e->label];
        if (n > allowed_runs(ctx, c.e->label) && reported_repeat.insert(c.e->label).second)
            out.push_back(violation(o,
                                    "I2",
                                    "request-side callback " + c.e->label + " ran again at " +
                                        at(c) + "; each runs at most once",
                                    "at most once",
                                    std::to_string(n) + " runs"));
        // A hook that calls done() twice advances its chain twice: Fastify runs the rest of
        // the lifecycle twice, interleaved (fastify-lifecycle.md §2.3 c). Order and counts say
        // nothing after it (scenario fastify/invariants/i2-done-twice-runs-the-chain-twice).
        // So does reply.callNotFound(): the not-found context's preHandler hooks and handler
        // run after it, maybe while the caller's own chain goes on (v2.6).
        for (indexed_action const* a : ctx.find(c.e->label))
            if (dones_of(*a->act) > 1 || calls_not_found(*a->act))
                return;
    }
}

//----------------------------------------------------------------------------------------------
// I3 — once the response has finished, no request-side callback starts.

void check_i3(request_observation const& o,
              std::vector<callback> const& cbs,
              std::vector<finding>& out) {
    event const* end = nullptr;
    for (event const& e : o.events)
        if (e.type == event_type::end) {
            end = &e;
            break;
        }
    // The response finished only if the framework ended it without an abort and the client
    // got all of it; a server-side cut (aborted: false, body cut short) is not a finish.
    if (!end || end->aborted || !o.response.complete)
        return;
    for (callback const& c : cbs) {
        if (!c.after_end || request_rank(c.phase) < 0)
            continue;
        out.push_back(violation(o,
                                "I3",
                                "request-side callback " + at(c) + " (" + c.phase +
                                    ") started after the response had finished",
                                "no request-side callback after end",
                                c.e->label));
        return; // the first one says it
    }
}

//----------------------------------------------------------------------------------------------
// I4 — each error handler at most once; successive error handlers move outward.

/// The encapsulating scope an error handler callback belongs to, or nothing when unsure.
std::optional<std::string> handler_scope(callback const& c, context const& ctx) {
    std::string declared = c.e->scope;
    if (declared.empty()) {
        auto const found = ctx.find(c.e->label);
        if (found.size() != 1)
            return std::nullopt;
        declared = found.front()->scope;
    }
    return ctx.index.effective_scope(declared);
}

void check_i4(request_observation const& o,
              context const& ctx,
              std::vector<callback> const& cbs,
              std::vector<finding>& out) {
    std::map<std::string, std::size_t> runs;
    std::set<std::string> reported;
    callback const* previous = nullptr;
    bool reported_inward = false;
    for (callback const& c : cbs) {
        if (c.phase != "errorHandler")
            continue;
        std::size_t const n = ++runs[c.e->label];
        if (n > allowed_runs(ctx, c.e->label) && reported.insert(c.e->label).second)
            out.push_back(violation(o,
                                    "I4",
                                    "error handler " + c.e->label + " ran again at " + at(c) +
                                        "; each runs at most once per request",
                                    "at most once",
                                    std::to_string(n) + " runs"));
        if (previous && !reported_inward) {
            // Chains bind when setErrorHandler runs (fastify-lifecycle.md §4.3), so two handlers
            // of one encapsulating scope may follow each other; only a step into a scope that
            // is not the same or an ancestor is certainly inward.
            auto const from = handler_scope(*previous, ctx);
            auto const to = handler_scope(c, ctx);
            if (from && to && !ctx.index.encloses(*to, *from)) {
                reported_inward = true;
                out.push_back(violation(o,
                                        "I4",
                                        "error handler " + at(c) + " of scope " + *to +
                                            " ran after " + at(*previous) + " of scope " + *from +
                                            ": the chain must move outward, never inward",
                                        "a scope enclosing " + *from,
                                        *to));
            }
        }
        previous = &c;
    }
}

//----------------------------------------------------------------------------------------------
// I5 — preSerialization never runs for a payload that is not a JSON value to serialize.

/// What a callback contributes to the payload that a later preSerialization run serializes.
enum class source {
    transparent,   // produces no payload (a hook that continues, an onError hook, ...)
    json,          // a json payload whose value is not a string: preSerialization is right
    non_json,      // string, buffer, empty, stream, webStream, response or a json string
    default_error, // an error with no custom handler after it: the default error reply
    unknown,       // cannot tell (a `when`, a hang, a colliding label): never flag
};

struct attribution {
    source what = source::unknown;
    std::string payload; // non_json: which payload kind
};

attribution payload_source(scenario::action const& a) {
    if (!a.body)
        return {source::unknown, ""}; // a `continue` without payload may answer nothing at all
    scenario::payload const& p = *a.body;
    if (p.kind == scenario::payload_kind::json_value)
        return p.value.is_string() ? attribution{source::non_json, "json string value"}
                                   : attribution{source::json, ""};
    return {source::non_json, scenario::to_string(p.kind)};
}

bool produces_reply_phase(std::string const& phase) {
    return request_rank(phase) >= 0 || phase == "errorHandler";
}

attribution classify_action(indexed_action const& entry, std::string const& phase) {
    scenario::action const& a = *entry.act;
    bool const hook = entry.kind == callback_kind::hook;
    using scenario::verb;
    if (a.when) { // may or may not act: only hooks that continue either way stay transparent
        // an ops ACTION's `what` is the default continue_: its ops decide (issue 15)
        bool const leaves_reply =
            a.ops ? !ops_act_on_reply(a)
                  : a.what == verb::continue_ || a.what == verb::replace_payload;
        return hook && leaves_reply ? attribution{source::transparent, ""}
                                    : attribution{source::unknown, ""};
    }
    if (phase == "onError" && (a.ops || a.what != verb::hang))
        return {source::transparent, ""}; // its send throws, its errors end the onError chain
    if (a.ops) // several calls: only one that leaves the reply alone is certainly transparent
        return hook && !ops_act_on_reply(a) ? attribution{source::transparent, ""}
                                            : attribution{source::unknown, ""};
    switch (a.what) {
    case verb::continue_:
        return hook ? attribution{source::transparent, ""} : payload_source(a);
    case verb::replace_payload:
        return {source::transparent, ""}; // onSend: after preSerialization
    case verb::send:
    case verb::send_then_continue:
        return produces_reply_phase(phase) ? payload_source(a) : attribution{source::unknown, ""};
    case verb::throw_:
    case verb::rethrow:
        if (produces_reply_phase(phase) || phase == "preSerialization" || phase == "onSend")
            return {source::default_error, ""};
        if (phase == "onResponse" || phase == "onRequestAbort")
            return {source::transparent, ""}; // only logged (fastify-lifecycle.md §2.8, §7)
        return {source::unknown, ""};
    case verb::hang:
    case verb::hijack:
        break;
    }
    return {source::unknown, ""};
}

attribution classify(callback const& c, context const& ctx) {
    auto const entries = ctx.find(c.e->label);
    if (entries.empty())
        return {source::unknown, ""};
    attribution first = classify_action(*entries.front(), c.phase);
    for (std::size_t i = 1; i < entries.size(); ++i) {
        attribution const other = classify_action(*entries[i], c.phase);
        if (other.what != first.what || other.payload != first.payload)
            return {source::unknown, ""};
    }
    return first;
}

/// True when callback `c` starts a run of the preSerialization chain: every run starts with the
/// chain's first hook, and a later hook of the chain may come after other callbacks (an async
/// hook's delay lets the lifecycle of a sender that did not wait for it go on), yet it continues
/// an earlier run (lifecycle fuzzer artifact dd28b86b, trace checked on Fastify 5.12.8).
bool starts_pre_serialization_run(std::vector<callback> const& cbs,
                                  std::size_t i,
                                  std::string const& first_label) {
    return cbs[i].phase == "preSerialization" && cbs[i].e->label == first_label &&
           !(i > 0 && cbs[i - 1].phase == "preSerialization");
}

/// True when the trace shows more than one send of the reply in flight, so that "the payload
/// before this preSerialization run" is not the nearest producer (fastify-lifecycle.md §2.4):
/// - a `sendThenContinue` or `hijack` ACTION ran;
/// - a request-side hook that sends was followed by another request-side callback: Fastify goes
///   on with the chain while `reply.sent` is false (a stream in flight, an asynchronous onSend,
///   a response the client left: reply.sent is res.writableEnded), so the later phases and the
///   handler send again (lifecycle fuzzer artifacts 11fa5aec, a27033c9);
/// - an async `ops` handler or error handler sent without `return reply`: wrapThenable may send
///   again when its promise settles (resends_on_settle);
/// - a request-side hook sent on a request no route takes, with no custom not-found handler
///   traced: the chain may go on to Fastify's untraced default not-found handler (eb74c1ab).
bool overlapping_sends(std::vector<callback> const& cbs,
                       context const& ctx,
                       bool default_not_found) {
    bool hook_sent = false;
    for (callback const& c : cbs) {
        int const rank = request_rank(c.phase);
        if (hook_sent && rank >= 0)
            return true;
        for (indexed_action const* a : ctx.find(c.e->label)) {
            if (a->act->ops) {
                std::size_t const sends = sends_of(*a->act);
                if (sends > 1 || dones_of(*a->act) > 1 || resends_on_settle(*a) ||
                    calls_not_found(*a->act) || has_op(*a->act, scenario::op_kind::hijack))
                    return true; // two sends of one callback, or its chain advanced twice
                if (sends == 1 && rank >= 0 && rank < 4)
                    hook_sent = true;
                continue;
            }
            scenario::verb const v = a->act->what;
            if (v == scenario::verb::send_then_continue || v == scenario::verb::hijack)
                return true;
            if (v == scenario::verb::send && rank >= 0 && rank < 4)
                hook_sent = true;
        }
    }
    return hook_sent && default_not_found;
}

/// How many preSerialization runs callback `c` may start: none when it certainly sends no JSON
/// value to serialize; else one per value it sends (an `ops` ACTION may send several).
std::size_t json_sends(callback const& c, context const& ctx) {
    source const what = classify(c, ctx).what;
    if (what != source::json && what != source::unknown)
        return 0;
    std::size_t n = 1;
    for (indexed_action const* a : ctx.find(c.e->label))
        n = std::max(n, sends_of(*a->act));
    return n;
}

/// I5 when several sends overlap: every run of preSerialization needs its own earlier send of a
/// value that may be JSON to serialize (one send starts at most one run: json_sends); runs
/// beyond them certainly serialize something else. The untraced default not-found handler
/// counts as one such send when it may have answered.
void check_i5_by_count(request_observation const& o,
                       context const& ctx,
                       std::vector<callback> const& cbs,
                       std::string const& first_label,
                       bool default_not_found,
                       std::vector<finding>& out) {
    std::size_t senders = default_not_found ? 1 : 0;
    std::size_t runs = 0;
    for (std::size_t i = 0; i < cbs.size(); ++i) {
        if (starts_pre_serialization_run(cbs, i, first_label)) {
            ++runs;
            if (runs > senders) {
                out.push_back(violation(
                    o,
                    "I5",
                    at(cbs[i]) + " starts run " + std::to_string(runs) +
                        " of preSerialization, but only " + std::to_string(senders) +
                        " callback(s) before it may have sent a JSON value to serialize (the "
                        "others sent strings, buffers, streams or errors)",
                    "a JSON value sent for every preSerialization run",
                    std::to_string(senders) + " sender(s) for " + std::to_string(runs) + " runs"));
                return;
            }
            continue;
        }
        if (cbs[i].phase != "preSerialization")
            senders += json_sends(cbs[i], ctx);
    }
}

void check_i5(request_observation const& o,
              context const& ctx,
              std::vector<callback> const& cbs,
              std::vector<finding>& out) {
    std::string const* first_pre_serialization = nullptr;
    for (callback const& c : cbs)
        if (c.phase == "preSerialization") {
            first_pre_serialization = &c.e->label;
            break;
        }
    if (!first_pre_serialization)
        return;
    // On a request no route takes, with no custom not-found handler traced, Fastify's untraced
    // default one answers with a JSON 404, which passes preSerialization.
    bool default_not_found = !ctx.method.empty() && !ctx.index.routes(ctx.method, ctx.url);
    for (callback const& c : cbs)
        if (c.phase == "notFound")
            default_not_found = false;
    if (overlapping_sends(cbs, ctx, default_not_found)) {
        check_i5_by_count(o, ctx, cbs, *first_pre_serialization, default_not_found, out);
        return;
    }
    // One send at a time: each run serializes the payload of the nearest callback before it
    // that produced one.
    for (std::size_t i = 0; i < cbs.size(); ++i) {
        if (!starts_pre_serialization_run(cbs, i, *first_pre_serialization))
            continue;
        callback const& run = cbs[i];
        auto raised_json_value = [&] {
            for (std::size_t j = 0; j < i; ++j)
                for (indexed_action const* a : ctx.find(cbs[j].e->label))
                    if (raises_json_value(*a->act))
                        return true;
            return false;
        };
        if (i > 0 && cbs[i - 1].phase == "onError" && !raised_json_value()) {
            // After onError comes the error handler: a custom one is a traced callback, the
            // default one writes an Error's JSON without preSerialization (fastify-lifecycle.md
            // §4.5); a non-Error value it sends as a payload (raised_json_value).
            out.push_back(violation(o,
                                    "I5",
                                    at(run) + " ran right after onError " + at(cbs[i - 1]) +
                                        ", with no custom error handler: the default error "
                                        "reply must not pass preSerialization",
                                    "no preSerialization for the default error reply",
                                    run.e->label));
            return;
        }
        for (std::size_t j = i; j-- > 0;) {
            attribution const a = classify(cbs[j], ctx);
            if (a.what == source::transparent)
                continue;
            if (a.what == source::non_json)
                out.push_back(violation(o,
                                        "I5",
                                        at(run) + " ran for the " + a.payload + " payload of " +
                                            at(cbs[j]) +
                                            ": only JSON values to serialize pass preSerialization",
                                        "no preSerialization for a " + a.payload + " payload",
                                        run.e->label));
            else if (a.what == source::default_error && !raised_json_value())
                out.push_back(violation(o,
                                        "I5",
                                        at(run) + " ran for the default error reply after " +
                                            at(cbs[j]) +
                                            " failed with no custom error handler after it",
                                        "no preSerialization for the default error reply",
                                        run.e->label));
            if (a.what == source::non_json ||
                (a.what == source::default_error && !raised_json_value()))
                return; // one I5 finding per request
            break;      // json (fine) or unknown (cannot tell)
        }
    }
}

//----------------------------------------------------------------------------------------------
// I6 — onRequestAbort at most once, only for a response that did not finish; then no onResponse.

void check_i6(request_observation const& o,
              context const& ctx,
              std::vector<callback> const& cbs,
              std::vector<finding>& out) {
    std::map<std::string, std::size_t> runs;
    callback const* abort_cb = nullptr;
    callback const* response_cb = nullptr;
    for (callback const& c : cbs) {
        if (c.phase == "onResponse" && !response_cb)
            response_cb = &c;
        if (c.phase != "onRequestAbort")
            continue;
        if (!abort_cb)
            abort_cb = &c;
        std::size_t const n = ++runs[c.e->label];
        if (n == allowed_runs(ctx, c.e->label) + 1)
            out.push_back(violation(o,
                                    "I6",
                                    "onRequestAbort hook " + c.e->label + " ran again at " + at(c) +
                                        "; it runs at most once",
                                    "at most once",
                                    std::to_string(n) + " runs"));
    }
    event const* end = nullptr;
    for (event const& e : o.events)
        if (e.type == event_type::end) {
            end = &e;
            break;
        }
    bool const end_aborted = end && end->aborted;
    if (abort_cb) {
        bool const cut_short = end_aborted || !o.response.complete || o.response.client_aborted;
        if (!cut_short)
            out.push_back(violation(o,
                                    "I6",
                                    at(*abort_cb) +
                                        " ran although the response finished (the client got "
                                        "it complete and end says aborted: false)",
                                    "onRequestAbort only when the connection closed first",
                                    abort_cb->e->label));
        if (response_cb)
            out.push_back(violation(o,
                                    "I6",
                                    at(*response_cb) +
                                        " ran for a request whose connection "
                                        "closed first (" +
                                        at(*abort_cb) + " ran)",
                                    "no onResponse after onRequestAbort",
                                    response_cb->e->label));
    } else if (end_aborted && response_cb) {
        out.push_back(violation(o,
                                "I6",
                                at(*response_cb) + " ran although end says the client closed "
                                                   "before the response finished",
                                "no onResponse for an aborted request",
                                response_cb->e->label));
    }
}

} // namespace

std::vector<finding> check_invariants(scenario::app const& app, request_observation const& o) {
    context ctx{app_index{app}, "", ""};
    if (o.step && o.step->kind == scenario::step_kind::request) {
        ctx.method = o.step->request.method;
        ctx.url = o.step->request.url;
    } else if (o.step && o.step->kind == scenario::step_kind::raw) {
        std::tie(ctx.method, ctx.url) = request_line(o.step->raw);
    }
    std::vector<callback> const cbs = callbacks_of(o, ctx);
    std::vector<finding> out;
    check_i1(o, cbs, out);
    check_i2(o, ctx, cbs, out);
    check_i3(o, cbs, out);
    check_i4(o, ctx, cbs, out);
    check_i5(o, ctx, cbs, out);
    check_i6(o, ctx, cbs, out);
    return out;
}

finding target_died(std::string const& how) {
    finding f;
    f.kind = finding_kind::invariant;
    f.invariant_id = "I7";
    f.message = "I7: the target process died: " + how;
    f.expected = "the target stays alive";
    f.actual = how;
    return f;
}

} // namespace lifecheck::check
