// Messages of the JSON-lines target protocol, scenario-format §3: hello, ready, cb, end,
// unsupported, loadError, closed, idle.
#pragma once

#include "harness/common/result.hpp"
#include "harness/scenario/scenario.hpp"

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace lifecheck::protocol {

enum class event_type {
    hello,
    ready,
    cb,
    end,
    unsupported,
    load_error,
    startup_error,
    closed,
    idle, // v2.6 (§3.1): the answer to an idle command
    other
};

/// One line a target wrote, decoded. Fields not used by `type` stay at their defaults.
struct event {
    event_type type = event_type::other;
    std::string req;                   // cb, end: request id (`app` for application hooks)
    std::string label;                 // cb
    std::string phase;                 // cb
    std::string scope;                 // cb
    int status = 0;                    // end
    bool aborted = false;              // end
    int port = 0;                      // ready
    std::string what;                  // unsupported, load_error; startup_error: the message
    std::optional<std::string> code;   // startup_error: the error's code, when it has one
    std::string target;                // hello
    std::string version;               // hello
    std::vector<std::string> dialects; // hello
    std::vector<std::string> features; // hello
    long long idle_id = 0;             // idle: the id of the idle command it answers
    double at_ms = 0;                  // when the harness read it, ms since the scenario started
    scenario::json raw;                // the whole line, for diagnostics and unknown fields
};

/// Decodes one line; a diagnostic (file "<target>") when it is not a protocol message.
result<event> parse_event(std::string_view line);

/// Encodes an event as one line (no newline): what a target writes.
std::string encode(event const& e);

/// {"cmd":"load","scenario":ID,"app":APP,"dialect":D}
std::string
load_command(std::string const& scenario_id, scenario::json const& app, scenario::dialect d);

std::string close_command();

/// {"cmd":"idle","id":ID} (v2.6, §3.1): answer {"t":"idle","id":ID} once the app is idle.
std::string idle_command(long long id);
std::string exit_command();

} // namespace lifecheck::protocol
