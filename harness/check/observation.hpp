// What the harness observed for one request step: the client's view and the target's events.
#pragma once

#include "harness/protocol/messages.hpp"
#include "harness/scenario/scenario.hpp"

#include <optional>
#include <string>
#include <vector>

namespace lifecheck::check {

/// The client's side of one request: what came back on the socket and how the socket ended.
struct response_observation {
    bool got_response = false; // a status line was received
    int status = 0;
    scenario::header_list headers; // as received, in order
    std::string body;              // de-chunked body bytes received
    bool complete = false;         // the body was received in full (framing finished)
    scenario::connection_fate connection = scenario::connection_fate::closed;
    bool client_aborted = false; // the client closed on purpose (an abort option)
    std::string client_error;    // transport error text, "" if none
};

/// v2.5: the error a target refused to start an app with (its `startupError`).
struct startup_refusal {
    std::optional<std::string> code;
    std::string message;
};

/// One request step as observed: the step, the response and the target's events for its id.
struct request_observation {
    scenario::step const* step = nullptr; // the step (request or raw) from the scenario
    std::string req_id;                   // the id events carry (the step id)
    response_observation response;
    std::vector<protocol::event> events;    // cb and end events with req == req_id, in order read
    std::optional<startup_refusal> refused; // startup (v2.5): the target refused the app
};

/// Labels of the cb events, in order (the observed trace).
std::vector<std::string> trace_of(request_observation const& o);

/// How many cb events came before the end event; nothing when there was no end.
std::optional<int> end_position(request_observation const& o);

} // namespace lifecheck::check
