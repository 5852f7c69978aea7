// Decodes and encodes the JSON-lines messages of the target protocol (scenario-format §3).
#include "harness/protocol/messages.hpp"

#include <cstddef>
#include <limits>
#include <utility>

namespace lifecheck::protocol {
namespace {

using scenario::json;

constexpr std::size_t quoted_at_most = 120; // longest piece of a bad line quoted in a diagnostic

std::string clip(std::string_view s) {
    if (s.size() <= quoted_at_most)
        return std::string{s};
    return std::string{s.substr(0, quoted_at_most)} + "... (" + std::to_string(s.size()) +
           " bytes)";
}

diagnostic bad(std::string path, std::string expected, std::string got) {
    return diagnostic{"<target>", std::move(path), std::move(expected), std::move(got)};
}

std::string dump(json const& j) {
    return j.dump(-1, ' ', false, json::error_handler_t::replace);
}

/// A request id is a string; numbers are accepted (some targets count requests).
bool read_req(json const& j, std::string& out) {
    auto const it = j.find("req");
    if (it == j.end())
        return false;
    if (it->is_string()) {
        out = it->get<std::string>();
        return true;
    }
    if (it->is_number_integer()) {
        out = std::to_string(it->get<long long>());
        return true;
    }
    return false;
}

void read_string(json const& j, char const* key, std::string& out) {
    auto const it = j.find(key);
    if (it != j.end() && it->is_string())
        out = it->get<std::string>();
}

void read_strings(json const& j, char const* key, std::vector<std::string>& out) {
    auto const it = j.find(key);
    if (it == j.end() || !it->is_array())
        return;
    for (json const& v : *it)
        if (v.is_string())
            out.push_back(v.get<std::string>());
}

bool read_int(json const& j, char const* key, int& out) {
    auto const it = j.find(key);
    if (it == j.end() || !it->is_number_integer())
        return false;
    long long const v = it->get<long long>();
    if (v < std::numeric_limits<int>::min() || v > std::numeric_limits<int>::max())
        return false;
    out = static_cast<int>(v);
    return true;
}

result<event> parse_cb(event e) {
    if (!read_req(e.raw, e.req))
        return bad("$.req", "a request id (string)", clip(dump(e.raw)));
    read_string(e.raw, "label", e.label);
    if (e.label.empty())
        return bad("$.label", "a callback label (non-empty string)", clip(dump(e.raw)));
    read_string(e.raw, "phase", e.phase);
    read_string(e.raw, "scope", e.scope);
    return e;
}

result<event> parse_end(event e) {
    if (!read_req(e.raw, e.req))
        return bad("$.req", "a request id (string)", clip(dump(e.raw)));
    if (!read_int(e.raw, "status", e.status))
        return bad("$.status", "an HTTP status (integer)", clip(dump(e.raw)));
    auto const ab = e.raw.find("aborted");
    if (ab != e.raw.end()) {
        if (!ab->is_boolean())
            return bad("$.aborted", "true or false", clip(dump(*ab)));
        e.aborted = ab->get<bool>();
    }
    return e;
}

result<event> parse_ready(event e) {
    if (!read_int(e.raw, "port", e.port) || e.port <= 0 || e.port > 65535)
        return bad("$.port", "a TCP port (1..65535)", clip(dump(e.raw)));
    return e;
}

} // namespace

result<event> parse_event(std::string_view line) {
    json j = json::parse(line.begin(), line.end(), nullptr, false);
    if (j.is_discarded())
        return bad("$", "a JSON object on one line", clip(line));
    if (!j.is_object())
        return bad("$", "a JSON object", clip(line));
    auto const t = j.find("t");
    if (t == j.end() || !t->is_string())
        return bad("$.t", "an event type (\"t\": string)", clip(line));

    event e;
    std::string const type = t->get<std::string>();
    e.raw = std::move(j);
    if (type == "cb") {
        e.type = event_type::cb;
        return parse_cb(std::move(e));
    }
    if (type == "end") {
        e.type = event_type::end;
        return parse_end(std::move(e));
    }
    if (type == "ready") {
        e.type = event_type::ready;
        return parse_ready(std::move(e));
    }
    if (type == "hello") {
        e.type = event_type::hello;
        read_string(e.raw, "target", e.target);
        read_string(e.raw, "version", e.version);
        read_strings(e.raw, "dialects", e.dialects);
        read_strings(e.raw, "features", e.features);
        return e;
    }
    if (type == "unsupported") {
        e.type = event_type::unsupported;
        read_string(e.raw, "what", e.what);
        return e;
    }
    if (type == "loadError") {
        e.type = event_type::load_error;
        read_string(e.raw, "what", e.what);
        return e;
    }
    if (type == "startupError") { // v2.5: Fastify refused the app; the target stays up
        e.type = event_type::startup_error;
        read_string(e.raw, "message", e.what);
        if (e.raw.contains("code") && e.raw.at("code").is_string())
            e.code = e.raw.at("code").get<std::string>();
        return e;
    }
    if (type == "closed") {
        e.type = event_type::closed;
        return e;
    }
    if (type == "idle") { // v2.6 (§3.1): the app is idle; `id` names the idle command
        e.type = event_type::idle;
        auto const id = e.raw.find("id");
        if (id == e.raw.end() || !id->is_number_integer())
            return bad("$.id", "the id of the idle command (an integer)", clip(dump(e.raw)));
        e.idle_id = id->get<long long>();
        return e;
    }
    // scenario-format §3: consumers ignore what they do not know; the line is kept whole in `raw`.
    e.type = event_type::other;
    return e;
}

std::string encode(event const& e) {
    json j;
    switch (e.type) {
    case event_type::hello:
        j = {{"t", "hello"},
             {"target", e.target},
             {"version", e.version},
             {"dialects", e.dialects},
             {"features", e.features}};
        break;
    case event_type::ready:
        j = {{"t", "ready"}, {"port", e.port}};
        break;
    case event_type::cb:
        j = {{"t", "cb"},
             {"req", e.req},
             {"label", e.label},
             {"phase", e.phase},
             {"scope", e.scope}};
        break;
    case event_type::end:
        j = {{"t", "end"}, {"req", e.req}, {"status", e.status}, {"aborted", e.aborted}};
        break;
    case event_type::unsupported:
        j = {{"t", "unsupported"}, {"what", e.what}};
        break;
    case event_type::load_error:
        j = {{"t", "loadError"}, {"what", e.what}};
        break;
    case event_type::startup_error:
        j = {{"t", "startupError"}};
        if (e.code)
            j["code"] = *e.code;
        j["message"] = e.what;
        break;
    case event_type::closed:
        j = {{"t", "closed"}};
        break;
    case event_type::idle:
        j = {{"t", "idle"}, {"id", e.idle_id}};
        break;
    case event_type::other:
        j = e.raw.is_object() ? e.raw : json{{"t", "other"}};
        break;
    }
    return dump(j);
}

std::string
load_command(std::string const& scenario_id, scenario::json const& app, scenario::dialect d) {
    json const j = {{"cmd", "load"},
                    {"scenario", scenario_id},
                    {"app", app},
                    {"dialect", d == scenario::dialect::koa ? "koa" : "fastify"}};
    return dump(j);
}

std::string close_command() {
    return R"({"cmd":"close"})";
}

std::string idle_command(long long id) {
    return R"({"cmd":"idle","id":)" + std::to_string(id) + "}";
}

std::string exit_command() {
    return R"({"cmd":"exit"})";
}

} // namespace lifecheck::protocol
