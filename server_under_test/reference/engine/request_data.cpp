// Request data as Fastify 5.12.8 builds it: fast-querystring, find-my-way's params, Node's
// req.headers, the body parsers; and JavaScript's ToNumber for `x++`.
#include "server_under_test/reference/engine/request_data.hpp"

#include <cctype>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <limits>
#include <optional>

namespace lifecheck::engine {

using scenario::json;

namespace {

int hex_digit(char c) {
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/// fast-decode-uri-component: every %XX run must decode to whole UTF-8 characters, else null.
/// Other bytes are latin1 characters (Node decodes the request line as latin1).
std::optional<std::string> uri_decode(std::string_view s) {
    std::string out;
    std::size_t i = 0;
    auto byte_at = [&](std::size_t at) -> int {
        if (at + 2 >= s.size() || s[at] != '%')
            return -1;
        int const hi = hex_digit(s[at + 1]);
        int const lo = hex_digit(s[at + 2]);
        return hi < 0 || lo < 0 ? -1 : hi * 16 + lo;
    };
    while (i < s.size()) {
        if (s[i] != '%') {
            out += js_string_of_bytes(s.substr(i, 1));
            ++i;
            continue;
        }
        int const lead = byte_at(i);
        if (lead < 0)
            return std::nullopt;
        int len = 0;
        std::uint32_t cp = 0;
        if (lead < 0x80) {
            len = 1;
            cp = static_cast<std::uint32_t>(lead);
        } else if (lead >= 0xc2 && lead <= 0xdf) {
            len = 2;
            cp = static_cast<std::uint32_t>(lead & 0x1f);
        } else if (lead >= 0xe0 && lead <= 0xef) {
            len = 3;
            cp = static_cast<std::uint32_t>(lead & 0x0f);
        } else if (lead >= 0xf0 && lead <= 0xf4) {
            len = 4;
            cp = static_cast<std::uint32_t>(lead & 0x07);
        } else {
            return std::nullopt;
        }
        std::string bytes(1, static_cast<char>(lead));
        for (int k = 1; k < len; ++k) {
            int const b = byte_at(i + 3 * static_cast<std::size_t>(k));
            if (b < 0 || (b & 0xc0) != 0x80)
                return std::nullopt;
            cp = (cp << 6) | static_cast<std::uint32_t>(b & 0x3f);
            bytes += static_cast<char>(b);
        }
        bool const overlong = (len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000);
        if (overlong || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
            return std::nullopt;
        out += bytes;
        i += 3 * static_cast<std::size_t>(len);
    }
    return out;
}

std::string latin1(std::string_view s) {
    return js_string_of_bytes(s);
}

/// One component of a pair: '+' is a space, then %XX decoded when asked (kept when it fails).
std::string component(std::string_view raw, bool plus, bool decode) {
    std::string s{raw};
    if (plus)
        for (char& c : s)
            if (c == '+')
                c = ' ';
    if (decode) {
        if (auto d = uri_decode(s); d && !d->empty())
            return *d;
    }
    return latin1(s);
}

bool is_js_space(char c) {
    return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r';
}

/// JavaScript's StringToNumber (ASCII white space; decimal, 0x/0o/0b, Infinity).
double string_to_number(std::string s) {
    std::size_t b = 0;
    std::size_t e = s.size();
    while (b < e && is_js_space(s[b]))
        ++b;
    while (e > b && is_js_space(s[e - 1]))
        --e;
    s = s.substr(b, e - b);
    double const nan = std::numeric_limits<double>::quiet_NaN();
    if (s.empty())
        return 0;
    if (s.size() > 2 && s[0] == '0' && std::string{"xXoObB"}.find(s[1]) != std::string::npos) {
        int const base = (s[1] == 'x' || s[1] == 'X') ? 16 : (s[1] == 'o' || s[1] == 'O') ? 8 : 2;
        double n = 0;
        for (std::size_t i = 2; i < s.size(); ++i) {
            int const d = hex_digit(s[i]);
            if (d < 0 || d >= base)
                return nan;
            n = n * base + d;
        }
        return n;
    }
    std::size_t i = 0;
    bool neg = false;
    if (s[i] == '+' || s[i] == '-') {
        neg = s[i] == '-';
        ++i;
    }
    if (s.compare(i, std::string::npos, "Infinity") == 0)
        return neg ? -std::numeric_limits<double>::infinity()
                   : std::numeric_limits<double>::infinity();
    std::size_t const start = i;
    std::size_t digits = 0;
    while (i < s.size() && std::isdigit(static_cast<unsigned char>(s[i]))) {
        ++i;
        ++digits;
    }
    if (i < s.size() && s[i] == '.') {
        ++i;
        while (i < s.size() && std::isdigit(static_cast<unsigned char>(s[i]))) {
            ++i;
            ++digits;
        }
    }
    if (digits == 0)
        return nan;
    if (i < s.size() && (s[i] == 'e' || s[i] == 'E')) {
        ++i;
        if (i < s.size() && (s[i] == '+' || s[i] == '-'))
            ++i;
        std::size_t exp_digits = 0;
        while (i < s.size() && std::isdigit(static_cast<unsigned char>(s[i]))) {
            ++i;
            ++exp_digits;
        }
        if (exp_digits == 0)
            return nan;
    }
    if (i != s.size())
        return nan;
    double const n = std::strtod(s.c_str() + start, nullptr);
    return neg ? -n : n;
}

/// String(v) of a JSON value inside an array (Number([x]) reads String(x)).
std::string js_string_of(json const& v) {
    if (v.is_null())
        return "";
    if (v.is_string())
        return v.get<std::string>();
    if (v.is_boolean())
        return v.get<bool>() ? "true" : "false";
    if (v.is_array()) {
        std::string out;
        for (std::size_t i = 0; i < v.size(); ++i) {
            if (i != 0)
                out += ',';
            out += js_string_of(v[i]);
        }
        return out;
    }
    if (v.is_object())
        return "[object Object]";
    return js_stringify(v);
}

double to_number(value const& v) {
    double const nan = std::numeric_limits<double>::quiet_NaN();
    switch (v.k) {
    case value::kind::string:
        return string_to_number(v.bytes);
    case value::kind::null:
        return 0;
    case value::kind::json:
        if (v.js.is_null())
            return 0;
        if (v.js.is_boolean())
            return v.js.get<bool>() ? 1 : 0;
        if (v.js.is_number())
            return v.js.get<double>();
        if (v.js.is_array())
            return string_to_number(js_string_of(v.js));
        return nan;
    default:
        return nan;
    }
}

} // namespace

std::string_view query_string_of(std::string_view target) {
    std::size_t const at = target.find_first_of("?#");
    return at == std::string_view::npos ? std::string_view{} : target.substr(at + 1);
}

json query_object(std::string_view input) {
    json out = json::object();
    std::size_t start = 0;
    for (std::size_t i = 0; i <= input.size(); ++i) {
        if (i != input.size() && input[i] != '&')
            continue;
        std::string_view const pair = input.substr(start, i - start);
        start = i + 1;
        std::size_t const eq = pair.find('=');
        std::string_view const raw_key = pair.substr(0, eq);
        if (eq == std::string_view::npos && raw_key.empty())
            continue;
        std::string const key = component(raw_key,
                                          raw_key.find('+') != std::string_view::npos,
                                          raw_key.find('%') != std::string_view::npos);
        std::string val;
        if (eq != std::string_view::npos) {
            std::string_view const raw = pair.substr(eq + 1);
            bool const decode =
                raw.find('%') != std::string_view::npos || raw.find('=') != std::string_view::npos;
            val = component(raw, raw.find('+') != std::string_view::npos, decode);
        }
        if (!out.contains(key))
            out[key] = val;
        else if (out[key].is_array())
            out[key].push_back(val);
        else
            out[key] = json::array({out[key], val});
    }
    return out;
}

json params_object(std::string const& pattern, std::string const& path) {
    json out = json::object();
    std::size_t p = 0;
    std::size_t s = 0;
    while (p <= pattern.size()) {
        std::size_t const pe = std::min(pattern.find('/', p), pattern.size());
        std::string const seg = pattern.substr(p, pe - p);
        if (seg == "*") {
            std::string const rest = s <= path.size() ? path.substr(s) : std::string{};
            out["*"] = uri_decode(rest).value_or(latin1(rest));
            return out;
        }
        std::size_t const se = std::min(path.find('/', s), path.size());
        if (!seg.empty() && seg[0] == ':') {
            std::string const raw = s <= path.size() ? path.substr(s, se - s) : std::string{};
            out[seg.substr(1)] = uri_decode(raw).value_or(latin1(raw));
        }
        if (pe == pattern.size())
            break;
        p = pe + 1;
        s = se + 1;
    }
    return out;
}

json headers_object(scenario::header_list const& headers) {
    static char const* const once[] = {
        "age",
        "authorization",
        "content-length",
        "content-type",
        "etag",
        "expires",
        "from",
        "host",
        "if-modified-since",
        "if-unmodified-since",
        "last-modified",
        "location",
        "max-forwards",
        "proxy-authorization",
        "referer",
        "retry-after",
        "server",
        "user-agent",
    };
    json out = json::object();
    for (auto const& [raw_name, raw_value] : headers) {
        std::string name;
        for (char c : raw_name)
            name += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        std::string const v = latin1(raw_value);
        if (!out.contains(name)) {
            out[name] = name == "set-cookie" ? json::array({v}) : json(v);
            continue;
        }
        bool keep_first = false;
        for (char const* n : once)
            keep_first = keep_first || name == n;
        if (keep_first)
            continue;
        if (name == "set-cookie")
            out[name].push_back(v);
        else
            out[name] = out[name].get<std::string>() + (name == "cookie" ? "; " : ", ") + v;
    }
    return out;
}

value of_json(json v) {
    if (v.is_string())
        return value::of_string(v.get<std::string>());
    value out;
    out.k = value::kind::json;
    out.js = std::move(v);
    return out;
}

value parsed_body(std::string const& bytes, bool as_json) {
    if (!as_json)
        return value::of_string(bytes);
    return of_json(json::parse(bytes));
}

value incremented(value const& v) {
    double const n = to_number(v) + 1;
    value out;
    out.k = value::kind::json;
    if (std::isfinite(n) && n == std::floor(n) && std::fabs(n) < 9007199254740992.0)
        out.js = static_cast<std::int64_t>(n);
    else
        out.js = n;
    return out;
}

} // namespace lifecheck::engine
