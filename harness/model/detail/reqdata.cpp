// Request data a callback reads, predicted from the scenario step (scenario-format §1.13).
#include "harness/model/detail/reqdata.hpp"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdlib>
#include <limits>
#include <optional>
#include <set>
#include <vector>

namespace lifecheck::model::detail {
namespace {

/// Node decodes header and request-line bytes as latin1: bytes >= 0x80 become U+0080..U+00FF.
std::string from_latin1(std::string const& raw) {
    std::string out;
    for (unsigned char c : raw) {
        if (c < 0x80) {
            out.push_back(static_cast<char>(c));
        } else {
            out.push_back(static_cast<char>(0xc0 | (c >> 6)));
            out.push_back(static_cast<char>(0x80 | (c & 0x3f)));
        }
    }
    return out;
}

int hex_value(char c) {
    if (std::isdigit(static_cast<unsigned char>(c)))
        return c - '0';
    char const l = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return l >= 'a' && l <= 'f' ? l - 'a' + 10 : -1;
}

/// decodeURIComponent as fast-decode-uri-component does it: null (nothing) on a bad escape or
/// on escapes that are not whole, shortest-form UTF-8 characters.
std::optional<std::string> percent_decode(std::string const& s) {
    std::string out;
    std::size_t i = 0;
    while (i < s.size()) {
        if (s[i] != '%') {
            out += from_latin1(std::string(1, s[i]));
            ++i;
            continue;
        }
        // one UTF-8 character written as escapes
        std::vector<unsigned char> units;
        auto unit_at = [&](std::size_t at) -> std::optional<unsigned char> {
            if (at + 2 >= s.size() || s[at] != '%')
                return std::nullopt;
            int const a = hex_value(s[at + 1]);
            int const b = hex_value(s[at + 2]);
            if (a < 0 || b < 0)
                return std::nullopt;
            return static_cast<unsigned char>(a * 16 + b);
        };
        auto const first = unit_at(i);
        if (!first)
            return std::nullopt;
        unsigned char const c = *first;
        std::size_t need = c < 0x80           ? 1
                           : (c >> 5) == 0x6  ? 2
                           : (c >> 4) == 0xe  ? 3
                           : (c >> 3) == 0x1e ? 4
                                              : 0;
        if (need == 0)
            return std::nullopt;
        units.push_back(c);
        for (std::size_t k = 1; k < need; ++k) {
            auto const u = unit_at(i + 3 * k);
            if (!u || (*u & 0xc0) != 0x80)
                return std::nullopt;
            units.push_back(*u);
        }
        unsigned long cp = need == 1   ? c
                           : need == 2 ? (c & 0x1f)
                           : need == 3 ? (c & 0x0f)
                                       : (c & 0x07);
        for (std::size_t k = 1; k < need; ++k)
            cp = (cp << 6) | (units[k] & 0x3f);
        static unsigned long const least[] = {0, 0, 0x80, 0x800, 0x10000};
        if (cp < least[need] || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
            return std::nullopt;
        out.append(units.begin(), units.end());
        i += 3 * need;
    }
    return out;
}

std::string pair_part(std::string part, bool decode) {
    for (char& c : part)
        if (c == '+')
            c = ' ';
    if (decode)
        if (auto d = percent_decode(part); d && !d->empty())
            return *d;
    return from_latin1(part);
}

std::vector<std::string> split(std::string const& s, char sep) {
    std::vector<std::string> parts;
    std::size_t from = 0;
    for (;;) {
        std::size_t const at = s.find(sep, from);
        parts.push_back(s.substr(from, at == std::string::npos ? std::string::npos : at - from));
        if (at == std::string::npos)
            return parts;
        from = at + 1;
    }
}

bool is_array_index(std::string const& k) {
    if (k.empty() || k.size() > 10 || (k[0] == '0' && k.size() > 1))
        return false;
    for (char c : k)
        if (!std::isdigit(static_cast<unsigned char>(c)))
            return false;
    return std::stoull(k) < 4294967295ULL;
}

double number_of_text(std::string t) {
    auto const space = [](char c) {
        return std::string{" \t\n\v\f\r"}.find(c) != std::string::npos;
    };
    while (!t.empty() && space(t.front()))
        t.erase(t.begin());
    while (!t.empty() && space(t.back()))
        t.pop_back();
    double const nan = std::nan("");
    if (t.empty())
        return 0;
    if (t == "Infinity" || t == "+Infinity")
        return std::numeric_limits<double>::infinity();
    if (t == "-Infinity")
        return -std::numeric_limits<double>::infinity();
    if (t.size() > 2 && t[0] == '0' && std::isalpha(static_cast<unsigned char>(t[1]))) {
        char const b = static_cast<char>(std::tolower(static_cast<unsigned char>(t[1])));
        int const base = b == 'x' ? 16 : b == 'o' ? 8 : b == 'b' ? 2 : 0;
        if (base == 0)
            return nan;
        double n = 0;
        for (std::size_t i = 2; i < t.size(); ++i) {
            int const d = hex_value(t[i]);
            if (d < 0 || d >= base)
                return nan;
            n = n * base + d;
        }
        return n;
    }
    // a StrDecimalLiteral: sign, digits with an optional point, an optional exponent
    static std::string const allowed = "0123456789+-.eE";
    for (char c : t)
        if (allowed.find(c) == std::string::npos)
            return nan;
    char* end = nullptr;
    double const n = std::strtod(t.c_str(), &end);
    if (end != t.c_str() + t.size())
        return nan;
    bool digit = false;
    for (char c : t) {
        if (c == 'e' || c == 'E')
            break;
        digit = digit || std::isdigit(static_cast<unsigned char>(c));
    }
    return digit ? n : nan;
}

/// String(v), which ToNumber reads for an array.
std::string text_of(json const& v) {
    switch (v.type()) {
    case json::value_t::null:
        return "";
    case json::value_t::string:
        return v.get<std::string>();
    case json::value_t::boolean:
        return v.get<bool>() ? "true" : "false";
    case json::value_t::array: {
        std::string out;
        for (std::size_t i = 0; i < v.size(); ++i)
            out += (i ? "," : "") + text_of(v[i]);
        return out;
    }
    case json::value_t::object:
        return "[object Object]";
    default:
        return json_stringify(v);
    }
}

} // namespace

std::string latin1_text(std::string const& raw) {
    return from_latin1(raw);
}

json query_of_target(std::string const& target) {
    json out = json::object();
    std::size_t const cut = target.find_first_of("?#");
    if (cut == std::string::npos || cut + 1 == target.size())
        return out;
    for (std::string const& piece : split(target.substr(cut + 1), '&')) {
        std::size_t const eq = piece.find('=');
        std::string const raw_key = piece.substr(0, eq);
        if (eq == std::string::npos && raw_key.empty())
            continue;
        std::string const key = pair_part(raw_key, raw_key.find('%') != std::string::npos);
        std::string value;
        if (eq != std::string::npos) {
            std::string const raw_value = piece.substr(eq + 1);
            value = pair_part(raw_value, raw_value.find_first_of("%=") != std::string::npos);
        }
        auto const found = out.find(key);
        if (found == out.end())
            out[key] = value;
        else if (found->is_array())
            found->push_back(value);
        else
            *found = json::array({*found, value});
    }
    return out;
}

json params_of(std::string const& pattern, std::string const& path) {
    json out = json::object();
    std::vector<std::string> const pat = split(pattern, '/');
    std::vector<std::string> const segs = split(path, '/');
    for (std::size_t i = 0; i < pat.size(); ++i) {
        if (pat[i] == "*") {
            std::string rest;
            for (std::size_t k = i; k < segs.size(); ++k)
                rest += (k > i ? "/" : "") + segs[k];
            out["*"] = percent_decode(rest).value_or(from_latin1(rest));
            break;
        }
        if (!pat[i].empty() && pat[i][0] == ':' && i < segs.size())
            out[pat[i].substr(1)] = percent_decode(segs[i]).value_or(from_latin1(segs[i]));
    }
    return out;
}

json headers_of(request_input const& in) {
    scenario::header_list all{{"host", "127.0.0.1"}, {"x-lifecheck-req", in.id}};
    bool own_framing = false;
    for (auto const& [name, value] : in.headers) {
        all.emplace_back(name, value);
        std::string const n = ascii_lower(name);
        own_framing = own_framing || n == "content-length" || n == "transfer-encoding";
    }
    if (in.chunked && !own_framing)
        all.emplace_back("transfer-encoding", "chunked");
    else if (!in.chunked && in.body && !own_framing)
        all.emplace_back("content-length", std::to_string(in.body->size()));
    // Node's IncomingMessage._addHeaderLine (matchKnownFields)
    static std::set<std::string> const first_wins = {"content-type",
                                                     "content-length",
                                                     "user-agent",
                                                     "referer",
                                                     "host",
                                                     "authorization",
                                                     "proxy-authorization",
                                                     "if-modified-since",
                                                     "if-unmodified-since",
                                                     "from",
                                                     "location",
                                                     "max-forwards",
                                                     "retry-after",
                                                     "etag",
                                                     "last-modified",
                                                     "server",
                                                     "age",
                                                     "expires"};
    json out = json::object();
    for (auto const& [name, raw] : all) {
        std::string const n = ascii_lower(name);
        std::string const v = from_latin1(raw);
        auto const found = out.find(n);
        if (n == "set-cookie") {
            if (found == out.end())
                out[n] = json::array();
            out[n].push_back(v);
        } else if (found == out.end()) {
            out[n] = v;
        } else if (first_wins.count(n) == 0) {
            *found = found->get<std::string>() + (n == "cookie" ? "; " : ", ") + v;
        }
    }
    return out;
}

json js_object_order(json const& v) {
    if (v.is_array()) {
        json out = json::array();
        for (auto const& e : v)
            out.push_back(js_object_order(e));
        return out;
    }
    if (!v.is_object())
        return v;
    std::vector<std::string> numeric;
    std::vector<std::string> named;
    for (auto it = v.begin(); it != v.end(); ++it)
        (is_array_index(it.key()) ? numeric : named).push_back(it.key());
    std::sort(numeric.begin(), numeric.end(), [](std::string const& a, std::string const& b) {
        return std::stoull(a) < std::stoull(b);
    });
    json out = json::object();
    for (auto const* list : {&numeric, &named})
        for (std::string const& k : *list)
            out[k] = js_object_order(v.at(k));
    return out;
}

js_value incremented_value(js_value const& v) {
    double n = std::nan("");
    switch (v.type) {
    case js_type::null:
        n = 0;
        break;
    case js_type::boolean:
        n = v.data.get<bool>() ? 1 : 0;
        break;
    case js_type::number:
        n = v.data.get<double>();
        break;
    case js_type::string:
        n = number_of_text(v.bytes);
        break;
    case js_type::object:
        n = v.data.is_array() ? number_of_text(text_of(v.data)) : std::nan("");
        break;
    default:
        break;
    }
    n += 1;
    js_value out;
    out.type = js_type::number;
    out.origin = body_class::json;
    if (std::isfinite(n) && std::floor(n) == n && std::fabs(n) <= 9007199254740991.0)
        out.data = static_cast<long long>(n);
    else
        out.data = n;
    return out;
}

} // namespace lifecheck::model::detail
