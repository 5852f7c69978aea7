// Test helpers: build request observations and scenario pieces in code (no loader, no target).
#pragma once

#include "harness/check/observation.hpp"
#include "harness/scenario/scenario.hpp"

#include <string>
#include <utility>
#include <vector>

namespace lifecheck::check::test_support {

/// A cb event; `phase` "" leaves the phase to be looked up by label.
inline protocol::event
cb(std::string const& label, std::string const& phase, std::string const& scope = "root") {
    protocol::event e;
    e.type = protocol::event_type::cb;
    e.label = label;
    e.phase = phase;
    e.scope = scope;
    return e;
}

/// An end event.
inline protocol::event end(int status = 200, bool aborted = false) {
    protocol::event e;
    e.type = protocol::event_type::end;
    e.status = status;
    e.aborted = aborted;
    return e;
}

/// An observation of request `id` that got a complete `status` response on a kept connection.
inline request_observation
observed(std::string const& id, std::vector<protocol::event> events, int status = 200) {
    request_observation o;
    o.req_id = id;
    o.response.got_response = true;
    o.response.status = status;
    o.response.complete = true;
    o.response.connection = scenario::connection_fate::kept;
    for (protocol::event& e : events)
        e.req = id;
    o.events = std::move(events);
    return o;
}

/// An ACTION with a label and a verb.
inline scenario::action act(std::string const& label,
                            scenario::verb what = scenario::verb::continue_) {
    scenario::action a;
    a.label = label;
    a.what = what;
    return a;
}

/// A payload of the given kind (json: `value`).
inline scenario::payload payload_of(scenario::payload_kind kind,
                                    scenario::json value = scenario::json::object()) {
    scenario::payload p;
    p.kind = kind;
    p.value = std::move(value);
    return p;
}

/// Adds `a` as a hook of phase `p` to a hook map (appending to that phase's list).
inline void add_hook(scenario::hook_map& hooks, scenario::phase p, scenario::action a) {
    for (auto& [ph, list] : hooks)
        if (ph == p) {
            list.push_back(std::move(a));
            return;
        }
    hooks.emplace_back(p, std::vector<scenario::action>{std::move(a)});
}

} // namespace lifecheck::check::test_support
