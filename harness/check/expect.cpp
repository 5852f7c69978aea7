// Compares the client's view and the target's events of one request with its step's `expect`.
#include "harness/check/expect.hpp"

#include "harness/check/trace_diff.hpp"
#include "harness/common/text.hpp"

#include <cstddef>
#include <string>

namespace lifecheck::check {
namespace {

using scenario::json;

constexpr std::size_t clip_at = 200; // longest value quoted in a finding's message

std::string clip(std::string const& s) {
    if (s.size() <= clip_at)
        return s;
    return s.substr(0, clip_at) + "... (" + std::to_string(s.size()) + " bytes)";
}

std::string in_quotes(std::string const& s) {
    return "\"" + clip(s) + "\"";
}

std::string join_labels(std::vector<std::string> const& t) {
    std::string out = "[";
    for (std::size_t i = 0; i < t.size(); ++i)
        out += (i ? ", " : "") + t[i];
    return out + "]";
}

finding make(request_observation const& o,
             finding_kind kind,
             std::string message,
             std::string expected,
             std::string actual) {
    finding f;
    f.step_id = o.req_id;
    f.kind = kind;
    f.message = std::move(message);
    f.expected = std::move(expected);
    f.actual = std::move(actual);
    return f;
}

/// JSON deep equality with object key order ignored (ordered_json compares order too).
bool deep_equal(json const& a, json const& b) {
    if (a.is_object() && b.is_object()) {
        if (a.size() != b.size())
            return false;
        for (auto it = a.begin(); it != a.end(); ++it) {
            auto const other = b.find(it.key());
            if (other == b.end() || !deep_equal(it.value(), *other))
                return false;
        }
        return true;
    }
    if (a.is_array() && b.is_array()) {
        if (a.size() != b.size())
            return false;
        for (std::size_t i = 0; i < a.size(); ++i)
            if (!deep_equal(a[i], b[i]))
                return false;
        return true;
    }
    return a == b; // nlohmann compares integers and floats by value
}

std::size_t count_events(request_observation const& o, protocol::event_type t) {
    std::size_t n = 0;
    for (protocol::event const& e : o.events)
        if (e.type == t)
            ++n;
    return n;
}

protocol::event const* first_end(request_observation const& o) {
    for (protocol::event const& e : o.events)
        if (e.type == protocol::event_type::end)
            return &e;
    return nullptr;
}

void check_status(scenario::expectation const& x,
                  request_observation const& o,
                  std::vector<finding>& out) {
    if (!x.status)
        return;
    std::string const want = std::to_string(*x.status);
    if (!o.response.got_response) {
        out.push_back(make(o,
                           finding_kind::status,
                           "status: expected " + want + ", got no response",
                           want,
                           "no response"));
        return;
    }
    if (o.response.status != *x.status) {
        std::string const got = std::to_string(o.response.status);
        out.push_back(
            make(o, finding_kind::status, "status: expected " + want + ", got " + got, want, got));
    }
}

void check_headers(scenario::expectation const& x,
                   request_observation const& o,
                   std::vector<finding>& out) {
    for (scenario::expected_header const& h : x.headers) {
        std::string const name = lower(h.name);
        std::vector<std::string> values;
        for (auto const& [n, v] : o.response.headers)
            if (lower(n) == name)
                values.push_back(v);
        std::string joined;
        for (std::size_t i = 0; i < values.size(); ++i)
            joined += (i ? ", " : "") + values[i];

        if (!h.value) {
            if (!values.empty())
                out.push_back(make(o,
                                   finding_kind::headers,
                                   "header " + name + ": expected absent, got " + in_quotes(joined),
                                   "absent",
                                   joined));
            continue;
        }
        if (values.empty()) {
            std::string const want = *h.value == "*" ? "present" : in_quotes(*h.value);
            out.push_back(make(o,
                               finding_kind::headers,
                               "header " + name + ": expected " + want + ", got absent",
                               *h.value,
                               "absent"));
            continue;
        }
        if (*h.value == "*")
            continue;
        bool matched = joined == *h.value;
        for (std::string const& v : values)
            matched = matched || v == *h.value;
        if (!matched)
            out.push_back(make(o,
                               finding_kind::headers,
                               "header " + name + ": expected " + in_quotes(*h.value) + ", got " +
                                   in_quotes(joined),
                               *h.value,
                               joined));
    }
}

void check_body(scenario::expectation const& x,
                request_observation const& o,
                std::vector<finding>& out) {
    if (!x.body)
        return;
    std::string const& body = o.response.body;
    switch (x.body->how) {
    case scenario::body_match::json_value: {
        std::string const want = x.body->value.dump();
        json const got = json::parse(body, nullptr, false);
        if (got.is_discarded()) {
            out.push_back(make(o,
                               finding_kind::body,
                               "body: expected JSON " + clip(want) +
                                   ", got text that is not JSON: " + in_quotes(body),
                               want,
                               body));
        } else if (!deep_equal(x.body->value, got)) {
            out.push_back(make(o,
                               finding_kind::body,
                               "body: expected JSON " + clip(want) + ", got " + clip(got.dump()),
                               want,
                               body));
        }
        break;
    }
    case scenario::body_match::text:
        if (body != x.body->text)
            out.push_back(
                make(o,
                     finding_kind::body,
                     "body: expected " + in_quotes(x.body->text) + ", got " + in_quotes(body),
                     x.body->text,
                     body));
        break;
    case scenario::body_match::contains:
        if (body.find(x.body->text) == std::string::npos)
            out.push_back(make(o,
                               finding_kind::body,
                               "body: expected to contain " + in_quotes(x.body->text) + ", got " +
                                   in_quotes(body),
                               x.body->text,
                               body));
        break;
    }
}

std::string yes_no(bool b) {
    return b ? "true" : "false";
}

void check_transport(scenario::expectation const& x,
                     request_observation const& o,
                     std::vector<finding>& out) {
    if (x.complete && *x.complete != o.response.complete) {
        std::string const why = o.response.complete ? "the body arrived in full"
                                                    : "the body was cut short or never came";
        out.push_back(make(o,
                           finding_kind::complete,
                           "complete: expected " + yes_no(*x.complete) + ", got " +
                               yes_no(o.response.complete) + " (" + why + ")",
                           yes_no(*x.complete),
                           yes_no(o.response.complete)));
    }
    if (x.connection && *x.connection != o.response.connection) {
        std::string const want = scenario::to_string(*x.connection);
        std::string const got = scenario::to_string(o.response.connection);
        std::string msg = "connection: expected " + want + ", got " + got;
        if (!o.response.client_error.empty())
            msg += " (" + o.response.client_error + ")";
        out.push_back(make(o, finding_kind::connection, msg, want, got));
    }
}

void check_end(scenario::expectation const& x,
               request_observation const& o,
               std::vector<finding>& out) {
    protocol::event const* end = first_end(o);
    if (x.aborted) {
        if (!end)
            out.push_back(make(o,
                               finding_kind::aborted,
                               "aborted: expected " + yes_no(*x.aborted) +
                                   ", but the target sent no end event for this request",
                               yes_no(*x.aborted),
                               "no end"));
        else if (end->aborted != *x.aborted)
            out.push_back(make(o,
                               finding_kind::aborted,
                               "aborted: expected " + yes_no(*x.aborted) + ", the end event says " +
                                   yes_no(end->aborted),
                               yes_no(*x.aborted),
                               yes_no(end->aborted)));
    }
    if (x.reached) {
        std::size_t cbs = 0; // the request's own: onReady callbacks (`app`) come with step one
        for (protocol::event const& e : o.events)
            if (e.type == protocol::event_type::cb && e.req != "app")
                ++cbs;
        std::size_t const ends = count_events(o, protocol::event_type::end);
        if (!*x.reached && cbs + ends > 0)
            out.push_back(make(o,
                               finding_kind::reached,
                               "reached: expected the request never to reach the framework, but "
                               "the target reported " +
                                   std::to_string(cbs) + " callback(s) and " +
                                   std::to_string(ends) + " end event(s) " +
                                   join_labels(trace_of(o)),
                               "false",
                               "true"));
        if (*x.reached && cbs + ends == 0)
            out.push_back(make(o,
                               finding_kind::reached,
                               "reached: expected the request to reach the framework, but the "
                               "target reported no callback and no end for it",
                               "true",
                               "false"));
    }
}

void check_end_at(scenario::expectation const& x,
                  request_observation const& o,
                  std::vector<finding>& out) {
    if (x.end_at) {
        std::string const want = std::to_string(*x.end_at);
        auto const at = end_position(o);
        if (!at)
            out.push_back(make(o,
                               finding_kind::end_at,
                               "endAt: expected end after " + want +
                                   " callback(s), but the target sent no end event",
                               want,
                               "no end"));
        else if (*at != *x.end_at)
            out.push_back(make(o,
                               finding_kind::end_at,
                               "endAt: expected end after " + want +
                                   " callback(s), it came after " + std::to_string(*at),
                               want,
                               std::to_string(*at)));
    }
}

void check_trace(scenario::expectation const& x,
                 request_observation const& o,
                 std::vector<finding>& out) {
    if (!x.trace)
        return;
    std::vector<std::string> const got = trace_of(o);
    auto const diff = first_divergence(*x.trace, got);
    if (!diff)
        return;
    std::string msg = "trace differs at position " + std::to_string(diff->position) +
                      ": expected " + (diff->expected ? *diff->expected : "no more callbacks") +
                      ", got " + (diff->actual ? *diff->actual : "no more callbacks");
    finding f =
        make(o, finding_kind::trace, std::move(msg), join_labels(*x.trace), join_labels(got));
    f.divergence = diff;
    f.detail = side_by_side(*x.trace, got);
    out.push_back(std::move(f));
}

} // namespace

namespace {

std::string refusal_text(std::optional<std::string> const& code, std::string const& message) {
    return (code ? *code + ": " : std::string{}) + message;
}

/// v2.5 `startup.expect.error`: the app is refused with that code and message, or (null) starts.
void check_startup(scenario::expectation const& x,
                   request_observation const& o,
                   std::vector<finding>& out) {
    if (!x.error_given)
        return;
    if (!x.error) {
        if (o.refused)
            out.push_back(make(o,
                               finding_kind::startup,
                               "startup: expected the app to start, the target refused it: " +
                                   refusal_text(o.refused->code, o.refused->message),
                               "null",
                               refusal_text(o.refused->code, o.refused->message)));
        return;
    }
    std::string const want = refusal_text(x.error->code, x.error->message.value_or("..."));
    if (!o.refused) {
        out.push_back(
            make(o,
                 finding_kind::startup,
                 "startup: expected the app to be refused with " + want + ", but it started",
                 want,
                 "started"));
        return;
    }
    std::string const got = refusal_text(o.refused->code, o.refused->message);
    if (x.error->code && x.error->code != o.refused->code)
        out.push_back(make(o,
                           finding_kind::startup,
                           "startup: expected the refusal's code " + *x.error->code + ", got " +
                               (o.refused->code ? *o.refused->code : "no code") + " (" + got + ")",
                           *x.error->code,
                           got));
    else if (x.error->message && *x.error->message != o.refused->message)
        out.push_back(make(o,
                           finding_kind::startup,
                           "startup: expected the refusal's message " +
                               in_quotes(*x.error->message) + ", got " +
                               in_quotes(o.refused->message),
                           *x.error->message,
                           o.refused->message));
}

} // namespace

std::vector<finding> check_expect(scenario::expectation const& expect,
                                  request_observation const& o) {
    std::vector<finding> out;
    check_startup(expect, o, out);
    check_status(expect, o, out);
    check_headers(expect, o, out);
    check_body(expect, o, out);
    check_transport(expect, o, out);
    check_end(expect, o, out);
    check_trace(expect, o, out); // scenario-format §1.4 order: ... reached, trace, endAt
    check_end_at(expect, o, out);
    return out;
}

} // namespace lifecheck::check
