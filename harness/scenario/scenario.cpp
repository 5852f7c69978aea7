// Spellings of the scenario enums (file format and traces), the npm plugins of a scope tree and
// the wire bytes of a request step.
#include "harness/scenario/scenario.hpp"

#include "harness/scenario/vocabulary.hpp"

#include <cctype>
#include <cstddef>
#include <cstdio>

namespace lifecheck::scenario {
namespace {

bool iequals(std::string const& a, char const* b) {
    std::size_t i = 0;
    for (; i < a.size() && b[i] != '\0'; ++i)
        if (std::tolower(static_cast<unsigned char>(a[i])) !=
            std::tolower(static_cast<unsigned char>(b[i])))
            return false;
    return i == a.size() && b[i] == '\0';
}

} // namespace

char const* to_string(phase p) {
    for (auto const& n : phase_table)
        if (n.value == p)
            return n.name;
    return "?";
}

std::optional<phase> parse_phase(std::string const& name) {
    for (auto const& n : phase_table)
        if (name == n.name)
            return n.value;
    return std::nullopt;
}

bool is_application_phase(phase p) {
    for (auto const& n : phase_table)
        if (n.value == p)
            return n.application;
    return false;
}

char const* to_string(verb v) {
    for (auto const& n : verb_table)
        if (n.value == v)
            return n.name;
    return "?";
}

std::optional<verb> parse_verb(std::string const& name) {
    for (auto const& n : verb_table)
        if (name == n.name)
            return n.value;
    return std::nullopt;
}

char const* to_string(payload_kind k) {
    for (auto const& n : payload_kind_table)
        if (n.value == k)
            return n.name;
    return "?";
}

std::optional<payload_kind> parse_payload_kind(std::string const& name) {
    for (auto const& n : payload_kind_table)
        if (name == n.name)
            return n.value;
    return std::nullopt;
}

char const* to_string(op_kind k) {
    for (auto const& n : op_table)
        if (n.value == k)
            return n.name;
    return "?";
}

std::optional<op_kind> parse_op_kind(std::string const& name) {
    for (auto const& n : op_table)
        if (name == n.name)
            return n.value;
    return std::nullopt;
}

namespace {

bool is_identifier(std::string const& s) {
    if (s.empty() || std::isdigit(static_cast<unsigned char>(s[0])))
        return false;
    for (char c : s)
        if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_' && c != '$')
            return false;
    return true;
}

bool is_member_key(std::string const& s) {
    if (s.empty())
        return false;
    for (char c : s)
        if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_' && c != '-' && c != '*')
            return false;
    return true;
}

} // namespace

std::optional<ref> parse_ref(std::string const& text) {
    ref r;
    r.text = text;
    auto after = [&](std::string const& head) -> std::optional<std::string> {
        if (text.rfind(head, 0) != 0)
            return std::nullopt;
        return text.substr(head.size());
    };
    static constexpr std::pair<char const*, ref_kind> fixed[] = {
        {"request.body", ref_kind::body},
        {"request.method", ref_kind::method},
        {"request.url", ref_kind::url},
        {"request.id", ref_kind::id},
        {"request.routeOptions.url", ref_kind::route_url},
        {"request.routeOptions.method", ref_kind::route_method},
        {"request.query", ref_kind::query},
        {"request.params", ref_kind::params},
        {"request.headers", ref_kind::headers},
    };
    for (auto const& [name, kind] : fixed)
        if (text == name) {
            r.kind = kind;
            return r;
        }
    static constexpr std::pair<char const*, ref_kind> keyed[] = {
        {"request.query.", ref_kind::query},
        {"request.params.", ref_kind::params},
        {"request.headers.", ref_kind::headers},
    };
    for (auto const& [head, kind] : keyed)
        if (auto rest = after(head)) {
            if (!is_member_key(*rest))
                return std::nullopt;
            r.kind = kind;
            r.key = *rest;
            return r;
        }
    static constexpr std::pair<char const*, ref_kind> props[] = {
        {"request.", ref_kind::request_prop},
        {"reply.", ref_kind::reply_prop},
        {"this.", ref_kind::this_prop},
    };
    for (auto const& [head, kind] : props)
        if (auto rest = after(head)) {
            if (!is_identifier(*rest))
                return std::nullopt;
            r.kind = kind;
            r.key = *rest;
            return r;
        }
    return std::nullopt;
}

char const* to_string(connection_fate f) {
    switch (f) {
    case connection_fate::kept:
        return "kept";
    case connection_fate::closed:
        return "closed";
    case connection_fate::reset:
        return "reset";
    }
    return "?";
}

char const* to_string(divergence_class c) {
    switch (c) {
    case divergence_class::framework_bug:
        return "framework-bug";
    case divergence_class::doc_gap:
        return "doc-gap";
    case divergence_class::deliberate:
        return "deliberate";
    }
    return "?";
}

namespace {

void collect_npm_plugins(scope const& s, std::vector<npm_plugin const*>& out) {
    for (npm_plugin const& p : s.npm_plugins)
        out.push_back(&p);
    for (scope const& child : s.plugins)
        collect_npm_plugins(child, out);
}

} // namespace

std::vector<npm_plugin const*> npm_plugins_in(scope const& s) {
    std::vector<npm_plugin const*> out;
    collect_npm_plugins(s, out);
    return out;
}

std::string wire_bytes(std::string const& id, request_spec const& req) {
    std::string out = req.method + " " + req.url + " HTTP/1.1\r\n";
    out += "host: 127.0.0.1\r\n";
    out += "x-lifecheck-req: " + id + "\r\n";
    bool framed_by_user = false; // the step's own content-length / transfer-encoding wins
    for (auto const& [name, value] : req.headers) {
        out += name + ": " + value + "\r\n";
        if (iequals(name, "content-length") || iequals(name, "transfer-encoding"))
            framed_by_user = true;
    }
    std::string const body = req.body.value_or(std::string{});
    if (req.chunked) {
        if (!framed_by_user)
            out += "transfer-encoding: chunked\r\n";
        out += "\r\n";
        // The whole body as one chunk; an empty body is only the last-chunk marker.
        if (!body.empty()) {
            char size[32];
            std::snprintf(size, sizeof size, "%zx", body.size());
            out += std::string{size} + "\r\n" + body + "\r\n";
        }
        out += "0\r\n\r\n";
        return out;
    }
    // A body that is present, even empty, is announced; no body means no content-length at all,
    // also for POST/PUT/PATCH, so a scenario can send exactly the head it describes.
    if (req.body && !framed_by_user)
        out += "content-length: " + std::to_string(body.size()) + "\r\n";
    out += "\r\n";
    out += body;
    return out;
}

} // namespace lifecheck::scenario
