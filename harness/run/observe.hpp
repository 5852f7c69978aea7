// Groups a target's events into per-step observations: step ids, raw-step ownership (the one
// raw-step id rule of both step drivers, decisions.md D25), app hooks.
#pragma once

#include "harness/check/observation.hpp"
#include "harness/protocol/messages.hpp"
#include "harness/scenario/scenario.hpp"

#include <cstddef>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace lifecheck::run {

/// Where a raw step started in the event log: request ids the target made up (no
/// x-lifecheck-req) first reported at or after `first_event` belong to the latest such step.
struct raw_window {
    scenario::step const* step = nullptr;
    std::size_t first_event = 0;
};

/// The steps in document order, parallel groups replaced by their children.
std::vector<scenario::step const*> flatten(std::vector<scenario::step> const& steps);

/// Request ids (other than `app`) with a cb event and no end event.
std::vector<std::string> unended(std::vector<protocol::event> const& events);

/// One observation per request/raw step that ran (it has an entry in `responses`) and per
/// close step that ran (an entry in `close_events`; req id `app`), in document order, then one
/// per request id the target reported that no step claims (step null; only invariants apply).
///
/// A request step gets the events with its id. A raw step gets those with its id, or else those
/// of the first made-up id it owns (see raw_window); further ids it owns become unclaimed
/// observations of their own, so each observation is one request. `onReady` callbacks (req
/// `app`) go to the first observation (scenario-format §1.4: they belong to the first step).
std::vector<check::request_observation>
observe(scenario::scenario const& sc,
        std::vector<protocol::event> const& events,
        std::map<std::string, check::response_observation> const& responses,
        std::vector<raw_window> const& raw_windows,
        std::map<scenario::step const*, std::vector<protocol::event>> const& close_events,
        std::optional<check::startup_refusal> const& refused = std::nullopt);

/// True when an observed request hung: callbacks without an `end`, or no sign of it at all and
/// a client that gave up waiting (no abort, no expectNoResponse).
bool hung(check::request_observation const& o);

} // namespace lifecheck::run
