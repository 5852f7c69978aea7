// JSON.stringify and Node's status texts, as the reference server's serializer needs them.
#include "server_under_test/reference/engine/values.hpp"

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <map>
#include <string_view>

namespace lifecheck::engine {

namespace {

/// A JSON string literal as JSON.stringify writes it: `"` and `\\` escaped, the short escapes
/// \b \f \n \r \t, other control characters as \u00xx, everything else (UTF-8) as it is.
void quote_into(std::string_view text, std::string& out) {
    out += '"';
    for (char ch : text) {
        auto const c = static_cast<unsigned char>(ch);
        switch (c) {
        case '"':
            out += "\\\"";
            break;
        case '\\':
            out += "\\\\";
            break;
        case '\b':
            out += "\\b";
            break;
        case '\f':
            out += "\\f";
            break;
        case '\n':
            out += "\\n";
            break;
        case '\r':
            out += "\\r";
            break;
        case '\t':
            out += "\\t";
            break;
        default:
            if (c < 0x20) {
                char buf[8];
                std::snprintf(buf, sizeof buf, "\\u%04x", c);
                out += buf;
            } else {
                out += ch;
            }
        }
    }
    out += '"';
}

void stringify_into(scenario::json const& v, std::string& out) {
    switch (v.type()) {
    case scenario::json::value_t::object: {
        out += '{';
        bool first = true;
        for (auto it = v.begin(); it != v.end(); ++it) {
            if (!first)
                out += ',';
            first = false;
            quote_into(it.key(), out);
            out += ':';
            stringify_into(it.value(), out);
        }
        out += '}';
        break;
    }
    case scenario::json::value_t::array: {
        out += '[';
        bool first = true;
        for (auto const& e : v) {
            if (!first)
                out += ',';
            first = false;
            stringify_into(e, out);
        }
        out += ']';
        break;
    }
    case scenario::json::value_t::number_float: {
        double const d = v.get<double>();
        if (!std::isfinite(d)) {
            out += "null"; // JSON.stringify(Infinity) === "null"
        } else if (d == std::floor(d) && std::fabs(d) < 1e21) {
            char buf[64];
            std::snprintf(buf, sizeof buf, "%.0f", d);
            out += (std::string{buf} == "-0") ? "0" : buf;
        } else {
            out += v.dump();
        }
        break;
    }
    case scenario::json::value_t::string:
        quote_into(v.get_ref<std::string const&>(), out);
        break;
    case scenario::json::value_t::number_integer: {
        char buf[32];
        int const n =
            std::snprintf(buf, sizeof buf, "%lld", static_cast<long long>(v.get<std::int64_t>()));
        out.append(buf, static_cast<std::size_t>(n));
        break;
    }
    case scenario::json::value_t::number_unsigned: {
        char buf[32];
        int const n = std::snprintf(
            buf, sizeof buf, "%llu", static_cast<unsigned long long>(v.get<std::uint64_t>()));
        out.append(buf, static_cast<std::size_t>(n));
        break;
    }
    case scenario::json::value_t::boolean:
        out += v.get<bool>() ? "true" : "false";
        break;
    default:
        out += v.dump(-1, ' ', false);
    }
}

} // namespace

std::string js_stringify(scenario::json const& v) {
    std::string out;
    stringify_into(v, out);
    return out;
}

std::string json_of(value const& v) {
    switch (v.k) {
    case value::kind::json:
        return js_stringify(v.js);
    case value::kind::string:
        return js_stringify(scenario::json(v.bytes));
    case value::kind::buffer: {
        scenario::json data = scenario::json::array();
        for (char ch : v.bytes)
            data.push_back(static_cast<int>(static_cast<unsigned char>(ch)));
        return js_stringify(scenario::json{{"type", "Buffer"}, {"data", std::move(data)}});
    }
    case value::kind::error: {
        scenario::json o = scenario::json::object();
        if (v.err && v.err->status_code)
            o["statusCode"] = *v.err->status_code;
        if (v.err && v.err->status)
            o["status"] = *v.err->status;
        if (v.err && v.err->code)
            o["code"] = *v.err->code;
        if (v.err && !v.err->headers.empty()) {
            scenario::json h = scenario::json::object();
            for (auto const& [name, val] : v.err->headers)
                h[name] = val;
            o["headers"] = std::move(h);
        }
        return js_stringify(o);
    }
    case value::kind::null:
        return "null";
    default:
        return "{}";
    }
}

std::string js_string_of_bytes(std::string_view bytes) {
    std::string out;
    out.reserve(bytes.size());
    for (char ch : bytes) {
        auto const c = static_cast<unsigned char>(ch);
        if (c < 0x80) {
            out += ch;
        } else {
            out += static_cast<char>(0xc0 | (c >> 6));
            out += static_cast<char>(0x80 | (c & 0x3f));
        }
    }
    return out;
}

value plain_value(scenario::payload const& p) {
    value v;
    switch (p.kind) {
    case scenario::payload_kind::json_value:
        if (p.value.is_string())
            return value::of_string(p.value.get<std::string>());
        v.k = value::kind::json;
        v.js = p.value;
        return v;
    case scenario::payload_kind::string:
        return value::of_string(p.bytes);
    case scenario::payload_kind::buffer:
        v.k = value::kind::buffer;
        v.bytes = p.bytes;
        return v;
    default:
        return v;
    }
}

std::shared_ptr<stream_obj> make_stream(scenario::payload const& p) {
    auto s = std::make_shared<stream_obj>();
    s->chunks = p.chunks;
    s->chunk_delay_ms = p.chunk_delay_ms;
    s->fail_after = p.fail_after_chunks;
    s->web = p.kind == scenario::payload_kind::web_stream;
    s->locked = p.locked;
    return s;
}

std::shared_ptr<js_error>
make_error(std::string message, std::optional<int> status, std::optional<std::string> code) {
    auto e = std::make_shared<js_error>();
    e->message = std::move(message);
    e->status_code = status;
    e->code = std::move(code);
    return e;
}

std::shared_ptr<js_error> thrown_by(scenario::action const& a) {
    std::optional<int> status = a.status;
    std::optional<std::string> code;
    std::string message = "boom";
    if (a.error) {
        if (a.error->message)
            message = *a.error->message;
        if (a.error->status_code)
            status = a.error->status_code;
        code = a.error->code;
    }
    return make_error(std::move(message), status, std::move(code));
}

std::shared_ptr<js_error> error_of(scenario::error_spec const& e) {
    auto err = make_error(e.message.value_or("boom"), e.status_code, e.code);
    err->status = e.status;
    err->headers = e.headers;
    if (auto it = e.props.find("expose"); it != e.props.end() && it->is_boolean())
        err->expose = it->get<bool>();
    return err;
}

bool is_error_object(js_error const& e) {
    return !e.non_error && !e.undefined_thrown;
}

bool nullish(js_error const& e) {
    return e.undefined_thrown || (e.non_error && e.non_error->is_null());
}

bool falsy(js_error const& e) {
    if (nullish(e))
        return true;
    if (!e.non_error)
        return false;
    scenario::json const& j = *e.non_error;
    if (j.is_boolean())
        return !j.get<bool>();
    if (j.is_number())
        return j.get<double>() == 0; // NaN is not JSON
    if (j.is_string())
        return j.get_ref<std::string const&>().empty();
    return false;
}

std::shared_ptr<js_error> thrown_of(value const& v) {
    if (v.k == value::kind::error && v.err)
        return v.err;
    auto e = std::make_shared<js_error>();
    switch (v.k) {
    case value::kind::undefined:
        e->undefined_thrown = true;
        return e;
    case value::kind::string:
        e->non_error = scenario::json(v.bytes);
        return e;
    case value::kind::null:
        e->non_error = scenario::json(nullptr);
        return e;
    default:
        e->non_error = v.js;
        break;
    }
    scenario::json const& o = *e->non_error;
    if (!o.is_object())
        return e;
    auto integer = [&o](char const* key) -> std::optional<int> {
        auto it = o.find(key);
        if (it != o.end() && it->is_number_integer())
            return it->get<int>();
        return std::nullopt;
    };
    e->status_code = integer("statusCode");
    e->status = integer("status");
    if (auto it = o.find("code"); it != o.end() && it->is_string())
        e->code = it->get<std::string>();
    if (auto it = o.find("message"); it != o.end() && it->is_string())
        e->message = it->get<std::string>();
    if (auto it = o.find("headers"); it != o.end() && it->is_object())
        for (auto h = it->begin(); h != it->end(); ++h)
            e->headers.emplace_back(h.key(), h->is_string() ? h->get<std::string>() : h->dump());
    return e;
}

value sent_value_of(std::shared_ptr<js_error> const& e) {
    if (is_error_object(*e))
        return value::of_error(e);
    if (e->undefined_thrown)
        return value::undefined();
    scenario::json const& j = *e->non_error;
    if (j.is_string())
        return value::of_string(j.get<std::string>());
    value v; // as a json PAYLOAD's value (null too: reply.send(null) serializes it)
    v.k = value::kind::json;
    v.js = j;
    return v;
}

std::string status_text(int status) {
    static std::map<int, char const*> const texts = {
        {100, "Continue"},
        {101, "Switching Protocols"},
        {102, "Processing"},
        {103, "Early Hints"},
        {200, "OK"},
        {201, "Created"},
        {202, "Accepted"},
        {203, "Non-Authoritative Information"},
        {204, "No Content"},
        {205, "Reset Content"},
        {206, "Partial Content"},
        {207, "Multi-Status"},
        {208, "Already Reported"},
        {226, "IM Used"},
        {300, "Multiple Choices"},
        {301, "Moved Permanently"},
        {302, "Found"},
        {303, "See Other"},
        {304, "Not Modified"},
        {305, "Use Proxy"},
        {307, "Temporary Redirect"},
        {308, "Permanent Redirect"},
        {400, "Bad Request"},
        {401, "Unauthorized"},
        {402, "Payment Required"},
        {403, "Forbidden"},
        {404, "Not Found"},
        {405, "Method Not Allowed"},
        {406, "Not Acceptable"},
        {407, "Proxy Authentication Required"},
        {408, "Request Timeout"},
        {409, "Conflict"},
        {410, "Gone"},
        {411, "Length Required"},
        {412, "Precondition Failed"},
        {413, "Payload Too Large"},
        {414, "URI Too Long"},
        {415, "Unsupported Media Type"},
        {416, "Range Not Satisfiable"},
        {417, "Expectation Failed"},
        {418, "I'm a Teapot"},
        {421, "Misdirected Request"},
        {422, "Unprocessable Entity"},
        {423, "Locked"},
        {424, "Failed Dependency"},
        {425, "Too Early"},
        {426, "Upgrade Required"},
        {428, "Precondition Required"},
        {429, "Too Many Requests"},
        {431, "Request Header Fields Too Large"},
        {451, "Unavailable For Legal Reasons"},
        {500, "Internal Server Error"},
        {501, "Not Implemented"},
        {502, "Bad Gateway"},
        {503, "Service Unavailable"},
        {504, "Gateway Timeout"},
        {505, "HTTP Version Not Supported"},
        {506, "Variant Also Negotiates"},
        {507, "Insufficient Storage"},
        {508, "Loop Detected"},
        {509, "Bandwidth Limit Exceeded"},
        {510, "Not Extended"},
        {511, "Network Authentication Required"},
    };
    auto it = texts.find(status);
    return it == texts.end() ? std::string{} : std::string{it->second};
}

} // namespace lifecheck::engine
