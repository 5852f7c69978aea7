// The strict reader of scenario-format.md v2.2: JSON → structs, one diagnostic per problem found.
//
// Every reader function checks the value it is given, records each problem with the JSON path
// of the offending value and carries on, so one pass reports everything wrong with a file.
#include "harness/scenario/detail/validate.hpp"

#include "harness/common/text.hpp"
#include "harness/scenario/detail/text.hpp"
#include "harness/scenario/route_path.hpp"
#include "harness/scenario/vocabulary.hpp"
#include "harness/trace/label.hpp"

#include <algorithm>
#include <cctype>
#include <climits>
#include <cstddef>
#include <initializer_list>
#include <iterator>
#include <map>
#include <optional>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

namespace lifecheck::scenario::detail {
namespace {

constexpr long long max_int = INT_MAX;
constexpr long long max_long = LLONG_MAX;
constexpr std::size_t max_got = 60; // characters of a value shown in a diagnostic

/// Where an ACTION sits; decides which verbs it may use (scenario-format §1.2 table, §1.4, §1.5).
enum class site {
    hook,          // a scope's request hook
    route_hook,    // a route-level request hook
    app_hook,      // onReady, preClose, onClose
    handler,       // a route handler
    not_found,     // a notFoundHandler
    error_handler, // an errorHandler (scope or late)
    koa_step,      // `before` / `after` of a koa middleware
    koa_on_error,  // the koa app's onError listener
    koa_catch,     // the `catch` of a koa middleware (v2.3)
};

std::string join(std::vector<std::string> const& parts) {
    std::string out;
    for (std::size_t i = 0; i < parts.size(); ++i) {
        if (i > 0)
            out += ", ";
        out += parts[i];
    }
    return out;
}

/// "a, b, c": the names of `table`'s rows (the `name` of each, or what `name_of` picks).
template <typename Table, typename NameOf>
std::string names_of(Table const& table, NameOf name_of) {
    std::vector<std::string> names;
    for (auto const& row : table)
        names.emplace_back(name_of(row));
    return join(names);
}

template <typename Table>
std::string names_of(Table const& table) {
    return names_of(table, [](auto const& row) { return row.name; });
}

/// The names of `table`'s rows as a list (the `name` of each, or what `name_of` picks).
template <typename Table, typename NameOf>
std::vector<std::string> name_list(Table const& table, NameOf name_of) {
    std::vector<std::string> names;
    for (auto const& row : table)
        names.emplace_back(name_of(row));
    return names;
}

template <typename Table>
std::vector<std::string> name_list(Table const& table) {
    return name_list(table, [](auto const& row) { return row.name; });
}

/// The one "did you mean" of every loader lookup: ` (did you mean "NAME"?)` when `got` is a
/// string that misspells one of `names` (lifecheck::closest), "" otherwise.
std::string did_you_mean(json const& got, std::vector<std::string> const& names) {
    if (!got.is_string())
        return "";
    auto const near = closest(got.get_ref<std::string const&>(), names);
    return near ? " (did you mean " + shown(json(*near)) + "?)" : "";
}

// scenario-format §1.2, §1.3: the full lists, for a verb or kind that is not one at all.
std::string all_verbs() {
    return "one of " + names_of(verb_table);
}

std::string all_kinds() {
    return "one of " + names_of(payload_kind_table);
}

/// The keys of an ACTION (§1.2); koa middleware's before/after take no `label` (§1.5).
std::vector<char const*> action_keys(bool koa) {
    std::vector<char const*> out;
    for (action_key_entry const& k : action_key_table)
        if (k.koa || !koa)
            out.push_back(k.name);
    return out;
}

bool is_tchar(char c) {
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))
        return true;
    for (char const* p = "!#$%&'*+-.^_`|~"; *p != '\0'; ++p)
        if (c == *p)
            return true;
    return false;
}

// RFC 9110 §5.6.2: token = 1*tchar.
bool is_token(std::string const& s) {
    if (s.empty())
        return false;
    for (char c : s)
        if (!is_tchar(c))
            return false;
    return true;
}

// Visible ASCII without spaces: safe in a header value, a request line and a report.
bool is_visible(std::string const& s) {
    if (s.empty())
        return false;
    for (char c : s)
        if (static_cast<unsigned char>(c) <= 0x20 || static_cast<unsigned char>(c) >= 0x7f)
            return false;
    return true;
}

bool is_scope_name(std::string const& s) {
    if (s.empty())
        return false;
    for (char c : s)
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '-' || c == '.'))
            return false;
    return true;
}

/// The keys of the app object (`root`) or of a plugin (§1.1), in scope_key_table order.
std::vector<char const*> scope_keys(bool root) {
    std::vector<char const*> out;
    for (scope_key_entry const& k : scope_key_table)
        if (root ? k.root : k.plugin)
            out.push_back(k.name);
    return out;
}

bool is_npm_name_char(char c, bool first) {
    if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '~')
        return true;
    return !first && (c == '.' || c == '_');
}

/// An npm package name (npm's rules for new packages: lower case, at most 214 characters,
/// optionally `@scope/`), or an absolute path of visible characters (a plugin on disk).
bool is_npm_plugin_name(std::string const& s) {
    if (!s.empty() && s[0] == '/')
        return is_visible(s);
    if (s.empty() || s.size() > 214)
        return false;
    std::size_t at = 0;
    if (s[0] == '@') {
        std::size_t const slash = s.find('/');
        if (slash == std::string::npos || slash < 2)
            return false;
        for (std::size_t i = 1; i < slash; ++i)
            if (!is_npm_name_char(s[i], i == 1))
                return false;
        at = slash + 1;
    }
    if (at >= s.size())
        return false;
    for (std::size_t i = at; i < s.size(); ++i)
        if (!is_npm_name_char(s[i], i == at))
            return false;
    return true;
}

/// A version or its first components: 11, 11.4, 11.4.3, 1.0.0-rc.1 (a pre-release after three).
bool is_version_prefix(std::string const& s) {
    std::size_t i = 0;
    int parts = 0;
    for (;;) {
        std::size_t const start = i;
        while (i < s.size() && s[i] >= '0' && s[i] <= '9')
            ++i;
        if (i == start)
            return false;
        ++parts;
        if (i == s.size())
            return true;
        if (s[i] == '-' && parts == 3)
            break;
        if (s[i] != '.' || parts == 3)
            return false;
        ++i;
    }
    if (++i >= s.size())
        return false;
    for (; i < s.size(); ++i) {
        char const c = s[i];
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
              c == '.' || c == '-'))
            return false;
    }
    return true;
}

bool is_wire_value(std::string const& s) {
    for (char c : s)
        if (c == '\r' || c == '\n' || c == '\0')
            return false;
    return true;
}

std::string index_path(std::string const& base, std::size_t i) {
    return base + "[" + std::to_string(i) + "]";
}

json const* member(json const& obj, char const* key) {
    auto const it = obj.find(key);
    return it == obj.end() ? nullptr : &*it;
}

std::vector<std::string> phase_names(bool request_only) {
    std::vector<std::string> names;
    for (phase_entry const& p : phase_table)
        if (!request_only || !p.application)
            names.emplace_back(p.name);
    return names;
}

std::string phase_list(bool request_only) {
    return join(phase_names(request_only));
}

/// The vocabulary's verb_site bits that `s` (in phase `ph`, for hooks) takes verbs from.
unsigned site_bits(site s, std::optional<phase> ph) {
    switch (s) {
    case site::hook:
    case site::route_hook:
        return ph == phase::on_send ? verb_site::hook | verb_site::on_send_hook : verb_site::hook;
    case site::app_hook:
        return verb_site::app_hook;
    case site::handler:
    case site::not_found:
        return verb_site::handler;
    case site::error_handler:
        return verb_site::error_handler;
    case site::koa_step:
        return verb_site::koa_step;
    case site::koa_on_error:
        return verb_site::koa_on_error;
    case site::koa_catch:
        return verb_site::koa_catch;
    }
    return 0;
}

/// The verbs `s` may use, in verb_table order.
std::vector<verb> allowed_verbs(site s, std::optional<phase> ph) {
    unsigned const bits = site_bits(s, ph);
    std::vector<verb> out;
    for (verb_entry const& v : verb_table)
        if ((v.sites & bits) != 0)
            out.push_back(v.value);
    return out;
}

std::string site_name(site s, std::optional<phase> ph) {
    switch (s) {
    case site::hook:
    case site::route_hook:
    case site::app_hook:
        return std::string{ph ? to_string(*ph) : "?"} + " hooks";
    case site::handler:
        return "handlers";
    case site::not_found:
        return "not-found handlers";
    case site::error_handler:
        return "error handlers";
    case site::koa_step:
        return "koa middleware";
    case site::koa_on_error:
        return "koa's onError listener";
    case site::koa_catch:
        return "a koa middleware's catch";
    }
    return "?";
}

std::string range_phrase(long long lo, long long hi) {
    if (hi == max_int || hi == max_long) {
        if (lo == 0)
            return "a non-negative integer";
        if (lo == 1)
            return "a positive integer";
        return "an integer of at least " + std::to_string(lo);
    }
    return "an integer from " + std::to_string(lo) + " to " + std::to_string(hi);
}

class reader {
public:
    reader(std::string file, diagnostics& problems, bool owned)
        : file_{std::move(file)}
        , problems_{problems}
        , owned_{owned} {}

    scenario read(json const& doc);

private:
    // ---- primitives: each records a problem and returns nothing when the value is wrong ----

    void fail(std::string const& path, std::string expected, std::string got) {
        problems_.push_back(diagnostic{file_, path, std::move(expected), std::move(got)});
    }

    /// `v` is not one of `names` (an enum value or a key): the diagnostic suggests the nearest.
    void fail_name(std::string const& path,
                   std::string expected,
                   json const& v,
                   std::vector<std::string> const& names) {
        fail(path, std::move(expected), shown(v) + did_you_mean(v, names));
    }

    bool object(json const& v, std::string const& path, char const* what) {
        if (v.is_object())
            return true;
        fail(path, what, shown(v));
        return false;
    }

    void only_keys(json const& obj,
                   std::string const& path,
                   char const* of_what,
                   std::initializer_list<char const*> allowed,
                   char const* unlisted = nullptr) {
        only_keys(
            obj, path, of_what, std::vector<char const*>(allowed.begin(), allowed.end()), unlisted);
    }

    /// Records every key of `obj` not in `allowed` (nor `unlisted`, a key accepted but not
    /// named in the diagnostic's list).
    void only_keys(json const& obj,
                   std::string const& path,
                   char const* of_what,
                   std::vector<char const*> const& allowed,
                   char const* unlisted = nullptr) {
        for (auto it = obj.begin(); it != obj.end(); ++it) {
            bool known = unlisted != nullptr && it.key() == unlisted;
            for (char const* k : allowed)
                known = known || it.key() == k;
            if (known)
                continue;
            std::vector<std::string> names(allowed.begin(), allowed.end());
            fail_name(member_path(path, it.key()),
                      std::string{"a key of "} + of_what + ": " + join(names),
                      json(it.key()),
                      names);
        }
    }

    std::optional<std::string>
    text(json const& v, std::string const& path, char const* expected = "a string") {
        if (v.is_string())
            return v.get<std::string>();
        fail(path, expected, shown(v));
        return std::nullopt;
    }

    std::optional<std::string> name(json const& v, std::string const& path, char const* expected) {
        if (v.is_string() && !v.get_ref<std::string const&>().empty())
            return v.get<std::string>();
        fail(path, expected, shown(v));
        return std::nullopt;
    }

    std::optional<bool> boolean(json const& v, std::string const& path) {
        if (v.is_boolean())
            return v.get<bool>();
        fail(path, "true or false", shown(v));
        return std::nullopt;
    }

    std::optional<long long>
    integer(json const& v, std::string const& path, long long lo, long long hi) {
        if (v.is_number_unsigned()) {
            auto const u = v.get<unsigned long long>();
            if (u <= static_cast<unsigned long long>(hi) && static_cast<long long>(u) >= lo)
                return static_cast<long long>(u);
        } else if (v.is_number_integer()) {
            auto const n = v.get<long long>();
            if (n >= lo && n <= hi)
                return n;
        }
        std::string expected = range_phrase(lo, hi);
        bool const too_big =
            (v.is_number_unsigned() &&
             v.get<unsigned long long>() > static_cast<unsigned long long>(hi)) ||
            (v.is_number_integer() && !v.is_number_unsigned() && v.get<long long>() > hi);
        if (too_big && (hi == max_int || hi == max_long))
            expected += " (at most " + std::to_string(hi) + ")";
        fail(path, expected, shown(v));
        return std::nullopt;
    }

    std::optional<int> int32(json const& v, std::string const& path, long long lo, long long hi) {
        if (auto n = integer(v, path, lo, hi))
            return static_cast<int>(*n);
        return std::nullopt;
    }

    void missing(std::string const& path, std::string expected) {
        fail(path, std::move(expected), "nothing");
    }

    // ---- pieces of the format ----

    header_list headers(json const& v, std::string const& path);
    std::optional<payload>
    payload_of(json const& v, std::string const& path, bool response_body, bool v2 = false);
    std::optional<error_spec> error_of(json const& v, std::string const& path);
    std::optional<flag_assignment> assignment(json const& v, std::string const& path);
    std::optional<std::vector<op>>
    ops_of(json const& v, std::string const& path, site s, std::optional<phase> ph, style how);
    void koa_op(op& o,
                json const& arg,
                std::string const& path,
                bool in_catch,
                std::optional<std::string>& final_op);
    void koa_response_op(op& o, json const& arg, std::string const& path);
    bool koa_props(json const& v, std::string const& path, bool with_status);
    void koa_referrers(json const& steps, std::string const& path);
    void koa_raw_writes(koa_app const& k, std::string const& path);
    void koa_throw_args(op& o, json const& args, std::string const& path);
    void call_not_found_op(json const& arg, std::string const& path, std::optional<phase> ph);
    void not_found_options(json const& v, std::string const& path, scope& s);
    // v2.6 (§1.13): request data, decorations and state across callbacks
    std::optional<ref> ref_of(json const& v, std::string const& path, bool write);
    void read_payload(json const& v, std::string const& path, payload& p);
    void state_op(op& o, json const& arg, std::string const& path);
    void decorations(json const& v, scope& s, std::string const& path, bool root);
    action action_of(json const& v, std::string const& path, site s, std::optional<phase> ph);
    void sync_style_rules(json const& v, std::string const& path, site s, std::optional<phase> ph);
    void registration_hook_rules(json const& v, std::string const& path, action const& a);
    std::optional<verb>
    verb_of(json const& v, std::string const& path, site s, std::optional<phase> ph);
    hook_map hooks(json const& v, std::string const& path, bool route_level);
    route route_of(json const& v, std::size_t list, std::size_t index, std::string const& prefix);
    scope scope_of(json const& v,
                   std::string const& path,
                   bool root,
                   int depth,
                   std::string const& parent_prefix);
    void route_options(json const& v, std::string const& path, route& r);
    app_options options(json const& v, std::string const& path);
    std::optional<npm_plugin> npm_plugin_of(json const& v, std::string const& path);
    koa_app koa(json const& v, std::string const& path);
    step step_of(json const& v, std::string const& path, bool in_parallel);
    void request_of(json const& v, std::string const& path, request_spec& out);
    client_options client(json const& v, std::string const& path, step const& st);
    expectation expect(json const& v, std::string const& path, bool close_step);
    std::optional<step> startup_of(json const& v, std::string const& path);
    void step_id(json const* v, std::string const& path, bool required, step& st);
    std::vector<divergence> divergences(json const& v, std::string const& path);
    std::optional<divergence> divergence_of(json const& v, std::string const& path);

    std::string file_;
    diagnostics& problems_;
    bool owned_; // the document came from parse(): routes may be packed, and are freed once read
    std::map<std::string, std::string> scope_names_; // name → path of its first declaration
    std::map<std::string, std::string> step_ids_;    // id → path of the step that has it

    /// Where a route was declared: route_lists_[list], element `index`.
    struct route_site {
        std::size_t list = 0;
        std::size_t index = 0;
        bool head_of_get = false; // the HEAD route Fastify adds beside that GET route
    };

    std::vector<std::string> route_lists_; // JSONPath of every `routes` array, in reading order
    std::unordered_map<std::string, route_site> routes_; // "GET /v1/x" → the first such route
    std::optional<std::string> close_step_;              // path of the close step, once seen
    bool startup_checked_ = false; // v2.5: the file has a `startup` object (§1.8)
    bool no_reply_ = false;        // reading the ops of onRequestAbort (v2.6: no reply.NAME)
    // v2.6: decorate / decorateRequest / decorateReply name → path of its declaration
    std::map<std::string, std::string> decorated_[3];
};

// ---------------------------------------------------------------------------------------------

header_list reader::headers(json const& v, std::string const& path) {
    header_list out;
    if (!object(v, path, "an object of header names to values"))
        return out;
    for (auto it = v.begin(); it != v.end(); ++it) {
        std::string const at = member_path(path, it.key());
        if (!is_token(it.key()))
            fail(at, "a header name (an HTTP token)", shown(json(it.key())));
        json const& value = it.value();
        std::string text_value;
        if (value.is_string()) {
            text_value = value.get<std::string>();
            if (!is_wire_value(text_value)) {
                fail(at,
                     "a header value without CR, LF or NUL (use a raw step for those)",
                     shown(value));
                continue;
            }
        } else if (value.is_number_unsigned()) {
            text_value = std::to_string(value.get<unsigned long long>());
        } else if (value.is_number_integer()) {
            text_value = std::to_string(value.get<long long>());
        } else {
            fail(at, "a header value: a string or an integer", shown(value));
            continue;
        }
        out.emplace_back(it.key(), std::move(text_value));
    }
    return out;
}

std::optional<payload>
reader::payload_of(json const& v, std::string const& path, bool response_body, bool v2) {
    if (!object(v, path, "a PAYLOAD object ({\"kind\": ...})"))
        return std::nullopt;
    payload p;
    json const* kind_value = member(v, "kind");
    if (kind_value == nullptr) {
        missing(path + ".kind", std::string{"a payload kind: "} + all_kinds());
        return std::nullopt;
    }
    std::optional<payload_kind> kind;
    if (kind_value->is_string())
        kind = parse_payload_kind(kind_value->get<std::string>());
    if (!kind) {
        fail_name(path + ".kind",
                  std::string{"a payload kind: "} + all_kinds(),
                  *kind_value,
                  name_list(payload_kind_table));
        return std::nullopt;
    }
    p.kind = *kind;
    if (!v2 && is_v2_kind(p.kind)) {
        fail(path + ".kind",
             std::string{"a payload kind outside `ops` (error, undefined and read are values "
                         "of ops, scenario-format §1.6, §1.13): "} +
                 all_kinds(),
             shown(*kind_value));
        return std::nullopt;
    }
    if (response_body && p.kind != payload_kind::string && p.kind != payload_kind::web_stream) {
        fail(path + ".kind",
             "string or webStream (the body of a response payload)",
             shown(*kind_value));
        return std::nullopt;
    }
    std::size_t const before = problems_.size();
    switch (p.kind) {
    case payload_kind::json_value:
        only_keys(v, path, "a json payload", {"kind", "value"});
        if (json const* x = member(v, "value"))
            p.value = *x;
        else
            missing(path + ".value", "the JSON value to send");
        break;
    case payload_kind::string:
        only_keys(v, path, "a string payload", {"kind", "value"});
        if (json const* x = member(v, "value")) {
            if (auto s = text(*x, path + ".value"))
                p.bytes = *s;
        } else {
            missing(path + ".value", "the string to send");
        }
        break;
    case payload_kind::buffer:
        only_keys(v, path, "a buffer payload", {"kind", "base64"});
        if (json const* x = member(v, "base64")) {
            if (auto s = text(*x, path + ".base64", "a base64 string")) {
                if (auto bytes = base64_decode(*s))
                    p.bytes = std::move(*bytes);
                else
                    fail(path + ".base64", "valid base64 (RFC 4648, padded)", shown(*x));
            }
        } else {
            missing(path + ".base64", "the buffer's bytes in base64");
        }
        break;
    case payload_kind::empty:
        only_keys(v, path, "an empty payload", {"kind"});
        break;
    case payload_kind::stream:
    case payload_kind::web_stream: {
        bool const web = p.kind == payload_kind::web_stream;
        if (web)
            only_keys(v,
                      path,
                      "a webStream payload",
                      {"kind", "chunks", "chunkDelayMs", "failAfterChunks", "locked"});
        else
            only_keys(
                v, path, "a stream payload", {"kind", "chunks", "chunkDelayMs", "failAfterChunks"});
        if (json const* x = member(v, "chunks")) {
            if (!x->is_array()) {
                fail(path + ".chunks", "an array of strings", shown(*x));
            } else {
                for (std::size_t i = 0; i < x->size(); ++i)
                    if (auto s = text((*x)[i], index_path(path + ".chunks", i)))
                        p.chunks.push_back(*s);
            }
        }
        if (json const* x = member(v, "chunkDelayMs"))
            p.chunk_delay_ms = int32(*x, path + ".chunkDelayMs", 0, max_int).value_or(0);
        if (json const* x = member(v, "failAfterChunks")) {
            std::size_t const n = p.chunks.size();
            p.fail_after_chunks =
                int32(*x, path + ".failAfterChunks", 0, static_cast<long long>(n));
        }
        if (web) {
            if (json const* x = member(v, "locked"))
                p.locked = boolean(*x, path + ".locked").value_or(false);
        }
        break;
    }
    case payload_kind::response:
        only_keys(v, path, "a response payload", {"kind", "status", "headers", "body", "shared"});
        if (json const* x = member(v, "status"))
            p.status = int32(*x, path + ".status", 100, 599);
        if (json const* x = member(v, "headers"))
            p.headers = headers(*x, path + ".headers");
        if (json const* x = member(v, "body")) {
            if (auto body = payload_of(*x, path + ".body", true))
                p.body = std::make_shared<payload>(std::move(*body));
        }
        if (json const* x = member(v, "shared"))
            p.shared = name(*x, path + ".shared", "a non-empty name of the shared Response");
        break;
    case payload_kind::error:
        only_keys(v,
                  path,
                  "an error payload",
                  {"kind", "message", "statusCode", "status", "code", "headers", "props"});
        if (auto e = error_of(v, path))
            p.error = std::move(*e);
        break;
    case payload_kind::undefined:
        only_keys(v, path, "an undefined payload", {"kind"});
        break;
    case payload_kind::read:
        read_payload(v, path, p);
        break;
    }
    if (problems_.size() != before)
        return std::nullopt;
    return p;
}

std::optional<verb>
reader::verb_of(json const& v, std::string const& path, site s, std::optional<phase> ph) {
    std::optional<verb> what;
    if (v.is_string())
        what = parse_verb(v.get<std::string>());
    if (!what) {
        fail_name(path, all_verbs(), v, name_list(verb_table));
        return std::nullopt;
    }
    std::vector<verb> const allowed = allowed_verbs(s, ph);
    for (verb ok : allowed)
        if (ok == *what)
            return what;
    std::vector<std::string> names;
    for (verb ok : allowed)
        names.emplace_back(to_string(ok));
    fail(path, "a verb allowed in " + site_name(s, ph) + ": " + join(names), shown(v));
    return std::nullopt;
}

action reader::action_of(json const& v, std::string const& path, site s, std::optional<phase> ph) {
    action a;
    if (!object(v, path, "an ACTION object"))
        return a;
    if (s == site::koa_step || s == site::koa_catch)
        // The middleware's own `label` names it in traces (scenario-format §1.5): no second name
        // here.
        only_keys(v,
                  path,
                  "an ACTION of koa middleware (named by the middleware's label)",
                  action_keys(true));
    else
        only_keys(v, path, "an ACTION", action_keys(false));
    if (json const* x = member(v, "label")) {
        if (auto l = name(*x, path + ".label", "a non-empty label string")) {
            a.label = *l;
            a.label_given = true;
        }
    }
    if (json const* x = member(v, "style")) {
        std::string const st = x->is_string() ? x->get<std::string>() : "";
        bool const koa = s == site::koa_step || s == site::koa_on_error || s == site::koa_catch;
        std::optional<style> how;
        for (style_entry const& row : style_table)
            if (st == row.name)
                how = row.value;
        if (how && (*how == style::async || !koa))
            a.how = *how;
        else
            fail_name(path + ".style",
                      koa ? "async (koa middleware are async functions)"
                          : "one of " + names_of(style_table),
                      *x,
                      koa ? std::vector<std::string>{"async"} : name_list(style_table));
    }
    if (json const* x = member(v, "delayMs"))
        a.delay_ms = int32(*x, path + ".delayMs", 0, max_int);
    if (json const* x = member(v, "when")) {
        if (object(*x, path + ".when", "a condition {\"flag\": NAME, \"is\": BOOL}")) {
            only_keys(*x, path + ".when", "when", {"flag", "is"});
            flag_condition c;
            bool ok = true;
            if (json const* f = member(*x, "flag")) {
                auto n = name(*f, path + ".when.flag", "a non-empty flag name");
                ok = ok && n.has_value();
                c.flag = n.value_or("");
            } else {
                missing(path + ".when.flag", "the flag name");
                ok = false;
            }
            if (json const* b = member(*x, "is")) {
                auto is = boolean(*b, path + ".when.is");
                ok = ok && is.has_value();
                c.is = is.value_or(false);
            } else {
                missing(path + ".when.is", "the value the flag must have (true or false)");
                ok = false;
            }
            if (ok)
                a.when = c;
        }
    }
    if (json const* x = member(v, "set"))
        a.set = assignment(*x, path + ".set");
    if (json const* x = member(v, "do")) {
        if (auto what = verb_of(*x, path + ".do", s, ph))
            a.what = *what;
    }
    if (json const* x = member(v, "status"))
        a.status = int32(*x, path + ".status", 100, 599);
    if (json const* x = member(v, "headers"))
        a.headers = headers(*x, path + ".headers");
    if (json const* x = member(v, "payload"))
        a.body = payload_of(*x, path + ".payload", false);
    if (json const* x = member(v, "error")) {
        if (object(*x, path + ".error", "an error {\"message\", \"statusCode\", \"code\"}")) {
            only_keys(*x, path + ".error", "error", {"message", "statusCode", "code"});
            a.error = error_of(*x, path + ".error");
        }
    }
    if (json const* x = member(v, "ops")) {
        for (char const* v1 : {"delayMs", "set", "do", "status", "headers", "payload", "error"})
            if (member(v, v1) != nullptr)
                fail(member_path(path, v1),
                     "no v1 key beside `ops` (an ACTION either lists ops or uses do/delayMs/set/"
                     "status/headers/payload/error, scenario-format §1.6)",
                     shown(json(v1)));
        if (s == site::koa_on_error)
            fail(path + ".ops",
                 "no ops in koa's onError listener (it only observes: when, set, delayMs)",
                 shown(*x));
        else
            a.ops = ops_of(*x, path + ".ops", s, ph, a.how);
    }
    if (ph == phase::on_route || ph == phase::on_register)
        registration_hook_rules(v, path, a);
    else if (a.how == style::sync)
        sync_style_rules(v, path, s, ph);
    return a;
}

/// v2.6 (scenario-format §1.9): Fastify calls onRoute and onRegister hooks and does not wait for
/// them (route.js addNewRoute, plugin-override.js), and a throw there refuses the app where it
/// registers: these hooks are traced and may `set` a flag, nothing more yet.
void reader::registration_hook_rules(json const& v, std::string const& path, action const& a) {
    std::string const why = " in onRoute and onRegister hooks (Fastify calls them without waiting: "
                            "scenario-format §1.9)";
    if (a.how == style::callback)
        fail(path + ".style", "async or sync" + why, shown(json("callback")));
    if (json const* d = member(v, "do"); d != nullptr && a.what != verb::continue_)
        fail(path + ".do", "continue" + why, shown(*d));
    for (char const* key : {"delayMs", "ops"})
        if (member(v, key) != nullptr)
            fail(member_path(path, key), "no " + std::string{key} + why, shown(json(key)));
}

/// v2.6 (scenario-format §1.9): `sync` is a plain function without `done` that returns or
/// throws; only hooks.js's application-hook runners complete it by its return (onReady and
/// preClose: hookRunnerApplication's wrap; onListen: onListenHookRunner's), so nowhere else,
/// and it cannot wait (no delayMs) or run ops.
void reader::sync_style_rules(json const& v,
                              std::string const& path,
                              site s,
                              std::optional<phase> ph) {
    bool const runner =
        s == site::app_hook && ph &&
        (*ph == phase::on_ready || *ph == phase::on_listen || *ph == phase::pre_close);
    if (!runner) {
        fail(path + ".style",
             "async or callback here (sync only in onReady, onListen and preClose hooks: "
             "scenario-format §1.9)",
             shown(json("sync")));
        return;
    }
    for (char const* key : {"delayMs", "ops"})
        if (member(v, key) != nullptr)
            fail(member_path(path, key),
                 "no " + std::string{key} +
                     " with style sync (a sync hook returns or throws at once: "
                     "scenario-format §1.9)",
                 shown(json(key)));
}

std::optional<flag_assignment> reader::assignment(json const& v, std::string const& path) {
    if (!object(v, path, "an assignment {\"flag\": NAME, \"value\": BOOL}"))
        return std::nullopt;
    only_keys(v, path, "set", {"flag", "value"});
    flag_assignment c;
    bool ok = true;
    if (json const* f = member(v, "flag")) {
        auto n = name(*f, path + ".flag", "a non-empty flag name");
        ok = ok && n.has_value();
        c.flag = n.value_or("");
    } else {
        missing(path + ".flag", "the flag name");
        ok = false;
    }
    if (json const* b = member(v, "value")) {
        auto value = boolean(*b, path + ".value");
        ok = ok && value.has_value();
        c.value = value.value_or(false);
    } else {
        missing(path + ".value", "the value to set (true or false)");
        ok = false;
    }
    if (!ok)
        return std::nullopt;
    return c;
}

/// The fields of an `error` (v1 ACTION key, keys checked by the caller) or an error PAYLOAD.
std::optional<error_spec> reader::error_of(json const& v, std::string const& path) {
    std::size_t const before = problems_.size();
    error_spec e;
    if (json const* m = member(v, "message"))
        e.message = text(*m, path + ".message");
    if (json const* c = member(v, "statusCode"))
        e.status_code = int32(*c, path + ".statusCode", 100, 599);
    if (json const* c = member(v, "code"))
        e.code = name(*c, path + ".code", "a non-empty error code string");
    if (json const* c = member(v, "status"))
        e.status = int32(*c, path + ".status", 100, 599);
    if (json const* h = member(v, "headers"))
        e.headers = headers(*h, path + ".headers");
    if (json const* p = member(v, "props")) {
        if (object(*p, path + ".props", "an object of extra properties of the Error")) {
            for (auto it = p->begin(); it != p->end(); ++it)
                if (it.key() == "message" || it.key() == "statusCode" || it.key() == "status" ||
                    it.key() == "code" || it.key() == "headers" || it.key() == "stack")
                    fail(member_path(path + ".props", it.key()),
                         "a property other than message, statusCode, status, code, headers, "
                         "stack (those have their own keys)",
                         shown(json(it.key())));
            e.props = *p;
        }
    }
    if (problems_.size() != before)
        return std::nullopt;
    return e;
}

/// The argument of a koa op (scenario-format §1.7); sets `final_op` when the op ends the
/// function. `in_catch`: the op sits in a middleware's catch, where `err` exists.
void reader::koa_op(op& o,
                    json const& arg,
                    std::string const& path,
                    bool in_catch,
                    std::optional<std::string>& final_op) {
    auto from_err = [&](char const* word) {
        if (!(arg.is_string() && arg.get<std::string>() == word))
            return false;
        if (!in_catch)
            fail(path,
                 std::string{"\""} + word + "\" only in a middleware's catch (it reads err)",
                 shown(arg));
        o.from_error = true;
        return true;
    };
    switch (o.kind) {
    case op_kind::ctx_status:
        if (arg.is_string() && arg.get<std::string>() != "err")
            o.code = arg; // v2.6: not a number (Koa asserts Number.isInteger)
        else if (!from_err("err"))
            o.code = int32(arg, path, INT_MIN, max_int).value_or(500); // Koa asserts 100-999
        return;
    case op_kind::ctx_body:
        if (!from_err("err.message")) {
            o.body = payload_of(arg, path, false);
            if (o.body && (o.body->kind == payload_kind::web_stream ||
                           o.body->kind == payload_kind::response))
                fail(path + ".kind",
                     "a body Koa 2 takes: json, string, buffer, empty or stream",
                     shown(json(to_string(o.body->kind))));
        }
        return;
    case op_kind::ctx_throw:
    case op_kind::ctx_assert: {
        bool const assert_op = o.kind == op_kind::ctx_assert;
        if (!object(arg,
                    path,
                    assert_op ? "{\"value\": BOOL, \"status\": N, \"message\"?, \"props\"?}"
                              : "{\"status\": N, \"message\"?, \"props\"?}"))
            return;
        if (!assert_op && member(arg, "args") != nullptr) { // v2.6: ctx.throw(...args)
            only_keys(arg, path, "ctx.throw", {"args"});
            koa_throw_args(o, *member(arg, "args"), path + ".args");
            final_op = "ctx.throw";
            return;
        }
        if (assert_op)
            only_keys(arg, path, "ctx.assert", {"value", "status", "message", "props"});
        else
            only_keys(arg, path, "ctx.throw", {"status", "message", "props", "args"});
        if (json const* x = member(arg, "status"))
            o.status = int32(*x, path + ".status", 400, 599).value_or(500);
        else
            missing(path + ".status", "the error's status (400-599)");
        if (json const* x = member(arg, "message"))
            o.message = text(*x, path + ".message");
        if (json const* x = member(arg, "props"); x && koa_props(*x, path + ".props", false))
            o.props = *x;
        if (assert_op) {
            if (json const* x = member(arg, "value"))
                o.holds = boolean(*x, path + ".value").value_or(false);
            else
                missing(path + ".value", "the asserted value (true or false)");
        }
        if (!assert_op || !o.holds)
            final_op = assert_op ? "a failing ctx.assert" : "ctx.throw";
        return;
    }
    case op_kind::rethrow:
    case op_kind::ctx_app_emit:
        if (!(arg.is_boolean() && arg.get<bool>()))
            fail(path, "true", shown(arg));
        if (o.kind == op_kind::rethrow)
            final_op = "rethrow";
        return;
    default:
        koa_response_op(o, arg, path);
        return;
    }
}

/// PROPS of ctx.throw/ctx.assert (scenario-format §1.7): expose, headers, code; v2.6 `args`
/// props may also carry status and statusCode, which http-errors does not copy.
bool reader::koa_props(json const& v, std::string const& path, bool with_status) {
    if (!object(v, path, "{\"expose\"?: BOOL, \"headers\"?, \"code\"?}"))
        return false;
    std::size_t const before = problems_.size();
    if (with_status)
        only_keys(v, path, "props", {"expose", "headers", "code", "status", "statusCode"});
    else
        only_keys(v, path, "props", {"expose", "headers", "code"});
    if (json const* e = member(v, "expose"))
        boolean(*e, path + ".expose");
    if (json const* h = member(v, "headers"))
        headers(*h, path + ".headers");
    if (json const* c = member(v, "code"))
        name(*c, path + ".code", "a non-empty error code string");
    for (char const* k : {"status", "statusCode"})
        if (json const* x = member(v, k))
            int32(*x, member_path(path, k), INT_MIN, max_int);
    return problems_.size() == before;
}

/// v2.6 `ctx.throw({"args": [...]})`: the arguments of ctx.throw in the order given, as
/// http-errors' createError reads them: an integer is the status (400-599), a string the
/// message, {"error": {...}} an Error (message, status, statusCode), {"props": PROPS}.
void reader::koa_throw_args(op& o, json const& args, std::string const& path) {
    if (!args.is_array() || args.empty() || args.size() > 4) {
        fail(path,
             "1 to 4 arguments: a status (400-599), a message, {\"error\": {...}} or "
             "{\"props\": PROPS}",
             shown(args));
        return;
    }
    for (std::size_t i = 0; i < args.size(); ++i) {
        json const& a = args[i];
        std::string const at = index_path(path, i);
        if (a.is_string())
            continue;
        if (a.is_number()) {
            int32(a, at, 400, 599);
            continue;
        }
        if (!a.is_object() || a.size() != 1 ||
            (member(a, "error") == nullptr && member(a, "props") == nullptr)) {
            fail(at,
                 "an argument: a status (400-599), a message, {\"error\": {...}} or "
                 "{\"props\": PROPS}",
                 shown(a));
            continue;
        }
        if (json const* p = member(a, "props")) {
            koa_props(*p, member_path(at, "props"), true);
            continue;
        }
        json const& e = *member(a, "error");
        std::string const ep = member_path(at, "error");
        if (!object(e, ep, "an Error: {\"message\"?, \"status\"?, \"statusCode\"?}"))
            continue;
        only_keys(e, ep, "an Error argument", {"message", "status", "statusCode"});
        if (json const* m = member(e, "message"))
            text(*m, ep + ".message");
        for (char const* k : {"status", "statusCode"})
            if (json const* x = member(e, k))
                int32(*x, member_path(ep, k), INT_MIN, max_int);
    }
    o.arg = args;
}

/// A `ctx.redirect` target the format takes: a path that needs no encoding, or http(s)://host
/// (lower case, no port) with or without such a path, which `new URL()` leaves as it is but for
/// the "/" it adds after a bare host.
bool koa_redirect_target(json const& v) {
    if (!v.is_string())
        return false;
    std::string t = v.get<std::string>();
    for (char const* scheme : {"http://", "https://"})
        if (t.rfind(scheme, 0) == 0) {
            t.erase(0, std::string_view{scheme}.size());
            std::size_t const slash = t.find('/');
            std::string const host = t.substr(0, slash);
            if (host.empty() || !std::all_of(host.begin(), host.end(), [](char c) {
                    return std::islower(static_cast<unsigned char>(c)) ||
                           std::isdigit(static_cast<unsigned char>(c)) || c == '.' || c == '-';
                }))
                return false;
            t = slash == std::string::npos ? "/" : t.substr(slash);
            break;
        }
    return t.rfind('/', 0) == 0 && std::all_of(t.begin(), t.end(), [](char c) {
               return std::isalnum(static_cast<unsigned char>(c)) || c == '/' || c == '.' ||
                      c == '_' || c == '~' || c == '-';
           });
}

/// v2.6 (scenario-format §1.10): in the koa dialect a request's Referer/Referrer header, which
/// `ctx.redirect("back")` reads, is a URL the format spells as `new URL()` writes it: a path as
/// for ctx.redirect, `//host` then such a path, or http(s)://host with or without one.
void reader::koa_referrers(json const& steps, std::string const& path) {
    if (!steps.is_array())
        return;
    for (std::size_t i = 0; i < steps.size(); ++i) {
        json const& st = steps[i];
        std::string const at = index_path(path, i);
        if (json const* p = member(st, "parallel"))
            koa_referrers(*p, member_path(at, "parallel"));
        json const* r = member(st, "request");
        json const* h = r != nullptr && r->is_object() ? member(*r, "headers") : nullptr;
        if (h == nullptr || !h->is_object())
            continue;
        for (auto it = h->begin(); it != h->end(); ++it) {
            std::string n = it.key();
            std::transform(n.begin(), n.end(), n.begin(), [](unsigned char c) {
                return static_cast<char>(std::tolower(c));
            });
            if (n != "referer" && n != "referrer")
                continue;
            json const& v = *it;
            bool const ok =
                v.is_string() && (v.get<std::string>().rfind("//", 0) == 0
                                      ? koa_redirect_target(json("http:" + v.get<std::string>()))
                                      : koa_redirect_target(v));
            if (!ok)
                fail(member_path(member_path(member_path(at, "request"), "headers"), it.key()),
                     "a referrer the koa dialect takes: a path (\"/\" then letters, digits and "
                     "/._~-), \"//\" and a lower-case host then such a path, or http(s):// and a "
                     "lower-case host",
                     shown(v));
        }
    }
}

/// The argument of a koa response op (scenario-format §1.7, v2.4), kept as written in `o.arg`.
void reader::koa_response_op(op& o, json const& arg, std::string const& path) {
    o.arg = arg;
    // Koa's String(v) of a header value: a string, or an integer JavaScript prints exactly
    auto header_value = [&](json const& v, std::string const& at) -> std::optional<std::string> {
        if (v.is_string() && is_wire_value(v.get<std::string>()))
            return v.get<std::string>();
        if (v.is_number_integer() && v.get<long long>() >= -9007199254740991LL &&
            v.get<long long>() <= 9007199254740991LL)
            return std::to_string(v.get<long long>());
        if (v.is_boolean() || v.is_null()) // v2.6: String(v)
            return v.dump();
        if (v == json{{"kind", "undefined"}}) // v2.6: String(undefined)
            return std::string{"undefined"};
        fail(at,
             "a header value: a string without CR, LF or NUL, an integer (|n| < 2^53), true, "
             "false, null or {\"kind\": \"undefined\"}",
             shown(v));
        return std::nullopt;
    };
    auto header_name = [&](json const& v, std::string const& at) {
        if (v.is_string() && is_token(v.get<std::string>())) {
            o.name = v.get<std::string>();
            return;
        }
        fail(at, "a header name (an HTTP token)", shown(v));
    };
    // a string whose characters all pass `ok`
    auto all_of = [](json const& v, auto ok) {
        if (!v.is_string())
            return false;
        std::string const& t = v.get_ref<std::string const&>();
        return std::all_of(
            t.begin(), t.end(), [&](char c) { return ok(static_cast<unsigned char>(c)); });
    };
    auto file_name = [&](json const& v) {
        if (!v.is_string())
            return false;
        std::string const& t = v.get_ref<std::string const&>();
        auto const dot = t.rfind('.');
        if (dot == std::string::npos || dot == 0)
            return false;
        std::string const stem = t.substr(0, dot), ext = t.substr(dot + 1);
        // v2.6: characters from U+0100 on too (not Latin-1's, lead bytes C2 and C3, which
        // content-disposition would send as they are)
        return all_of(json(stem),
                      [](unsigned char c) {
                          return std::isalnum(c) || c == '_' || c == '-' || c == '/' ||
                                 (c >= 0x80 && c != 0xC2 && c != 0xC3);
                      }) &&
               stem.back() != '/' &&
               (ext == "txt" || ext == "html" || ext == "json" || ext == "png");
    };
    switch (o.kind) {
    case op_kind::ctx_set:
    case op_kind::ctx_append: {
        if (o.kind == op_kind::ctx_set && arg.is_object()) { // v2.6: ctx.set({name: value})
            for (auto it = arg.begin(); it != arg.end(); ++it) {
                std::string const at = member_path(path, it.key());
                header_name(json(it.key()), at);
                std::vector<json> const vs =
                    it->is_array() ? it->get<std::vector<json>>() : std::vector<json>{*it};
                if (vs.empty())
                    fail(at, "a non-empty array of header values", shown(*it));
                std::string joined;
                for (std::size_t i = 0; i < vs.size(); ++i)
                    if (auto x = header_value(vs[i], it->is_array() ? index_path(at, i) : at))
                        joined += (i ? ", " : "") + *x;
                o.headers.emplace_back(it.key(), joined);
            }
            o.name.clear();
            return;
        }
        if (!arg.is_array() || arg.size() != 2) {
            fail(path,
                 "[NAME, VALUE]: a header name and a string, an integer or an array",
                 shown(arg));
            return;
        }
        header_name(arg[0], path + "[0]");
        json const& v = arg[1];
        if (!v.is_array()) {
            if (auto s = header_value(v, path + "[1]"))
                o.values.push_back(*s);
            return;
        }
        o.array = true;
        if (v.empty())
            fail(path + "[1]", "a non-empty array of header values", shown(v));
        for (std::size_t i = 0; i < v.size(); ++i)
            if (auto s = header_value(v[i], path + "[1][" + std::to_string(i) + "]"))
                o.values.push_back(*s);
        return;
    }
    case op_kind::ctx_remove:
        header_name(arg, path);
        return;
    case op_kind::ctx_type: {
        bool known = false;
        for (auto const& row : koa_type_table)
            known = known || (arg.is_string() && arg.get<std::string>() == row.value);
        if (!known)
            fail(path,
                 "one of " +
                     names_of(koa_type_table,
                              [](auto const& r) { return std::string{"\""} + r.value + "\""; }),
                 shown(arg));
        return;
    }
    case op_kind::ctx_length:
        o.code = int32(arg, path, 0, max_int).value_or(0);
        return;
    case op_kind::ctx_message:
        if (!all_of(arg, [](unsigned char c) { return c == '\t' || (c >= 0x20 && c < 0x7f); }))
            fail(path, "a reason phrase: printable ASCII, spaces and tabs", shown(arg));
        return;
    case op_kind::ctx_redirect:
        if (arg == json("back")) // v2.6: ctx.redirect('back')
            return;
        if (arg.is_object() && arg.size() == 1 && arg.contains("back")) { // ('back', alt)
            if (!koa_redirect_target(arg["back"]))
                fail(path + ".back",
                     "a path (\"/\" then letters, digits and /._~-), optionally after http:// "
                     "or https:// and a lower-case host",
                     shown(arg["back"]));
            return;
        }
        if (!koa_redirect_target(arg))
            fail(path,
                 "a path (\"/\" then letters, digits and /._~-: nothing to encode), optionally "
                 "after "
                 "http:// or https:// and a lower-case host",
                 shown(arg));
        return;
    case op_kind::ctx_attachment:
        if (!arg.is_null() && !file_name(arg))
            fail(path,
                 "null, or a file name (letters, digits, _, - and characters from U+0100 on, "
                 "then .txt, .html, .json or .png), maybe after directories",
                 shown(arg));
        return;
    case op_kind::ctx_flush_headers:
        if (!(arg.is_boolean() && arg.get<bool>()))
            fail(path, "true", shown(arg));
        return;
    case op_kind::ctx_respond: // v2.6 raw control (§1.10)
        if (!(arg.is_boolean() && !arg.get<bool>()))
            fail(path, "false (ctx.respond = false)", shown(arg));
        return;
    case op_kind::ctx_res_status_code:
        o.code = int32(arg, path, 200, 599).value_or(200);
        return;
    case op_kind::ctx_res_set_header:
        if (!arg.is_array() || arg.size() != 2 || !arg[1].is_string() ||
            !is_wire_value(arg[1].get<std::string>())) {
            fail(path, "[NAME, VALUE]: a header name and a string", shown(arg));
            return;
        }
        header_name(arg[0], path + "[0]");
        o.values = {arg[1].get<std::string>()};
        return;
    case op_kind::ctx_res_write:
        if (!arg.is_string() || arg.get<std::string>().empty())
            fail(path, "a non-empty string (the chunk)", shown(arg));
        return;
    case op_kind::ctx_res_end:
        if (!arg.is_null() && !arg.is_string())
            fail(path, "null (res.end()) or a string", shown(arg));
        return;
    default:
        return;
    }
}

/// `ops` of an ACTION, scenario-format §1.6.
std::optional<std::vector<op>>
reader::ops_of(json const& v, std::string const& path, site s, std::optional<phase> ph, style how) {
    if (!v.is_array()) {
        fail(path, "an array of operations ({\"code\": 201}, {\"send\": PAYLOAD}, ...)", shown(v));
        return std::nullopt;
    }
    std::size_t const before = problems_.size();
    unsigned const bits = site_bits(s, ph);
    bool const no_reply = ph == phase::on_request_abort || s == site::app_hook;
    bool const callback = how == style::callback;
    no_reply_ = no_reply;
    std::vector<op> out;
    std::optional<std::string> final_op; // the return/throw/hang that ends the function
    bool after_await = false;
    for (std::size_t i = 0; i < v.size(); ++i) {
        std::string const at = index_path(path, i);
        json const& x = v[i];
        if (!x.is_object() || x.size() != 1) {
            fail(at,
                 "an operation: an object with exactly one key, " + names_of(op_table),
                 shown(x));
            continue;
        }
        std::string const key = x.begin().key();
        json const& arg = x.begin().value();
        std::string const arg_path = member_path(at, key);
        auto kind = parse_op_kind(key);
        if (!kind) {
            fail(arg_path, "an operation: one of " + names_of(op_table), shown(json(key)));
            continue;
        }
        op_entry const& row = op_table[static_cast<std::size_t>(*kind)];
        if ((row.sites & bits) == 0 || (row.reply && no_reply)) {
            std::vector<std::string> names;
            for (op_entry const& r : op_table)
                if ((r.sites & bits) != 0 && !(r.reply && no_reply))
                    names.emplace_back(r.name);
            fail(arg_path,
                 "an operation allowed in " + site_name(s, ph) + ": " + join(names),
                 shown(json(key)));
            continue;
        }
        if (final_op) {
            fail(at, "nothing after " + *final_op + " (it ends the function)", shown(x));
            continue;
        }
        op o;
        o.kind = *kind;
        switch (*kind) {
        case op_kind::code:
            if (arg.is_number())
                o.code = arg;
            else
                fail(arg_path,
                     "a number (the status code; out-of-range values are allowed)",
                     shown(arg));
            break;
        case op_kind::header:
            if (arg.is_array() && arg.size() == 2 && arg[0].is_string() && arg[1].is_string()) {
                json one = json::object();
                one[arg[0].get<std::string>()] = arg[1];
                o.headers = headers(one, arg_path);
            } else {
                fail(arg_path, "[NAME, VALUE] (two strings)", shown(arg));
            }
            break;
        case op_kind::headers:
            o.headers = headers(arg, arg_path);
            break;
        case op_kind::remove_header:
            if (auto n = name(arg, arg_path, "a header name"))
                o.name = *n;
            break;
        case op_kind::type:
            if (auto n = name(arg, arg_path, "a content type"))
                o.name = *n;
            break;
        case op_kind::send:
            if (!arg.is_null())
                o.body = payload_of(arg, arg_path, false, true);
            break;
        case op_kind::set:
            if (auto f = assignment(arg, arg_path))
                o.flag = *f;
            break;
        case op_kind::await_:
            o.ms = int32(arg, arg_path, 0, max_int).value_or(0);
            after_await = true;
            break;
        case op_kind::return_:
            if (arg.is_string() && arg.get<std::string>() == "reply")
                o.return_reply = true;
            else
                o.body = payload_of(arg, arg_path, false, true);
            final_op = "return";
            break;
        case op_kind::throw_:
            if (callback && after_await)
                fail(arg_path,
                     "no throw after an await in a callback-style function (it would throw "
                     "from a timer: an uncaught exception); use done with an error, or send "
                     "an error payload",
                     shown(x));
            o.body = payload_of(arg, arg_path, false, true);
            final_op = "throw";
            break;
        case op_kind::done:
            if (!callback) {
                fail(arg_path,
                     "done only in callback-style hooks (\"style\": \"callback\")",
                     shown(x));
                break;
            }
            if (arg.is_null())
                break;
            if (!object(arg, arg_path, "null, {\"error\": PAYLOAD} or {\"payload\": PAYLOAD}"))
                break;
            only_keys(arg, arg_path, "done", {"error", "payload"});
            if (arg.size() != 1) {
                fail(arg_path, "exactly one of error, payload", shown(arg));
            } else if (json const* e = member(arg, "error")) {
                o.done = done_with::error;
                o.body = payload_of(*e, arg_path + ".error", false, true);
            } else if (json const* p = member(arg, "payload")) {
                o.done = done_with::payload;
                o.body = payload_of(*p, arg_path + ".payload", false, true);
            }
            break;
        case op_kind::hang:
            if (!(arg.is_boolean() && arg.get<bool>()))
                fail(arg_path, "true", shown(arg));
            final_op = "hang";
            break;
        case op_kind::ctx_status:
        case op_kind::ctx_body:
        case op_kind::ctx_throw:
        case op_kind::ctx_assert:
        case op_kind::rethrow:
        case op_kind::ctx_app_emit:
        case op_kind::ctx_set:
        case op_kind::ctx_append:
        case op_kind::ctx_remove:
        case op_kind::ctx_type:
        case op_kind::ctx_length:
        case op_kind::ctx_message:
        case op_kind::ctx_redirect:
        case op_kind::ctx_attachment:
        case op_kind::ctx_flush_headers:
        case op_kind::ctx_respond:
        case op_kind::ctx_res_status_code:
        case op_kind::ctx_res_set_header:
        case op_kind::ctx_res_write:
        case op_kind::ctx_res_end:
            koa_op(o, arg, arg_path, s == site::koa_catch, final_op);
            break;
        case op_kind::call_not_found:
            call_not_found_op(arg, arg_path, ph);
            break;
        case op_kind::hijack:
            if (!(arg.is_boolean() && arg.get<bool>()))
                fail(arg_path, "true", shown(arg));
            break;
        case op_kind::assign:
        case op_kind::increment:
            state_op(o, arg, arg_path);
            break;
        }
        if (o.kind == op_kind::throw_ && (s == site::koa_step || s == site::koa_catch) && o.body &&
            o.body->kind != payload_kind::error && o.body->kind != payload_kind::json_value &&
            o.body->kind != payload_kind::string && o.body->kind != payload_kind::undefined)
            fail(arg_path + ".kind",
                 "a value koa middleware throws: error, json, string or undefined (§1.7)",
                 shown(json(to_string(o.body->kind))));
        out.push_back(std::move(o));
    }
    if (problems_.size() != before)
        return std::nullopt;
    return out;
}

void reader::call_not_found_op(json const& arg, std::string const& path, std::optional<phase> ph) {
    // v2.6 (§1.6): lib/reply.js notFound runs the 404 context's preHandler hooks and handler,
    // which only makes sense before the handler: request hooks up to preHandler, and handlers.
    if (!(arg.is_boolean() && arg.get<bool>()))
        fail(path, "true", shown(arg));
    if (ph && *ph != phase::on_request && *ph != phase::pre_parsing &&
        *ph != phase::pre_validation && *ph != phase::pre_handler)
        fail(path,
             "callNotFound only in handlers and onRequest, preParsing, preValidation or "
             "preHandler hooks",
             shown(json(to_string(*ph))));
}

// ---------------------------------------------------------------------------------------------
// v2.6 (scenario-format §1.13): request data, decorations and state across callbacks

namespace {

/// A name Fastify already gives the request, reply or instance (vocabulary.hpp): assigning or
/// decorating it would change Fastify itself (or throw: a getter without a setter).
bool reserved_name(ref_kind k, std::string const& name) {
    auto in = [&](auto const& table) {
        return std::any_of(
            std::begin(table), std::end(table), [&](char const* n) { return name == n; });
    };
    switch (k) {
    case ref_kind::request_prop:
        return in(request_property_table);
    case ref_kind::reply_prop:
        return in(reply_property_table);
    case ref_kind::this_prop:
        return in(instance_property_table);
    default:
        return false;
    }
}

char const* ref_grammar =
    "a REF: request.body, request.query[.KEY], request.params[.KEY], request.headers[.NAME], "
    "request.method, request.url, request.id, request.routeOptions.url, "
    "request.routeOptions.method, request.NAME, reply.NAME or this.NAME (§1.13)";

} // namespace

std::optional<ref> reader::ref_of(json const& v, std::string const& path, bool write) {
    std::optional<ref> r;
    if (v.is_string())
        r = parse_ref(v.get<std::string>());
    if (!r) {
        fail(path, ref_grammar, shown(v));
        return std::nullopt;
    }
    bool const prop = r->kind == ref_kind::request_prop || r->kind == ref_kind::reply_prop ||
                      r->kind == ref_kind::this_prop;
    if (prop && reserved_name(r->kind, *r->key)) {
        fail(path,
             "a NAME Fastify does not already use on the " +
                 std::string{r->kind == ref_kind::request_prop ? "request"
                             : r->kind == ref_kind::reply_prop ? "reply"
                                                               : "instance"} +
                 " (§1.13)",
             shown(v));
        return std::nullopt;
    }
    if (r->kind == ref_kind::reply_prop && no_reply_) {
        fail(path, "no reply.NAME in onRequestAbort (the hook gets no reply)", shown(v));
        return std::nullopt;
    }
    if (write && !prop && r->kind != ref_kind::body) {
        fail(path,
             "a place a callback assigns: request.body, request.NAME, reply.NAME or this.NAME",
             shown(v));
        return std::nullopt;
    }
    return r;
}

void reader::read_payload(json const& v, std::string const& path, payload& p) {
    only_keys(v, path, "a read payload", {"kind", "of", "object"});
    json const* of = member(v, "of");
    json const* obj = member(v, "object");
    if ((of == nullptr) == (obj == nullptr)) {
        fail(path, "exactly one of of (a REF) and object ({KEY: REF, ...})", shown(v));
        return;
    }
    if (of != nullptr) {
        p.read_of = ref_of(*of, path + ".of", false);
        return;
    }
    if (!object(*obj, path + ".object", "an object of KEY: REF"))
        return;
    for (auto it = obj->begin(); it != obj->end(); ++it)
        if (auto r = ref_of(it.value(), member_path(path + ".object", it.key()), false))
            p.read_object.emplace_back(it.key(), std::move(*r));
}

void reader::state_op(op& o, json const& arg, std::string const& path) {
    if (o.kind == op_kind::increment) {
        o.target = ref_of(arg, path, true);
        if (o.target && o.target->kind == ref_kind::body) {
            fail(path,
                 "request.NAME, reply.NAME or this.NAME (request.body++ is not counted)",
                 shown(arg));
            o.target.reset();
        }
        return;
    }
    if (!arg.is_array() || arg.size() != 2) {
        fail(path, "[TARGET, PAYLOAD]: a place and the value assigned to it", shown(arg));
        return;
    }
    o.target = ref_of(arg[0], index_path(path, 0), true);
    o.body = payload_of(arg[1], index_path(path, 1), false, true);
    if (o.body && o.body->kind != payload_kind::json_value &&
        o.body->kind != payload_kind::string && o.body->kind != payload_kind::undefined &&
        o.body->kind != payload_kind::read)
        fail(index_path(path, 1) + ".kind",
             "a value to assign: json, string, undefined or read",
             shown(json(to_string(o.body->kind))));
}

void reader::decorations(json const& v, scope& s, std::string const& path, bool root) {
    static constexpr std::pair<char const*, ref_kind> calls[] = {
        {"decorate", ref_kind::this_prop},
        {"decorateRequest", ref_kind::request_prop},
        {"decorateReply", ref_kind::reply_prop},
    };
    json* const into[] = {&s.decorate, &s.decorate_request, &s.decorate_reply};
    for (std::size_t i = 0; i < std::size(calls); ++i) {
        auto const [key, kind] = calls[i];
        json const* x = member(v, key);
        if (x == nullptr)
            continue;
        std::string const at = path + "." + key;
        if (!object(*x, at, "an object of NAME: a JSON scalar"))
            continue;
        if (kind != ref_kind::this_prop && !root && !s.encapsulate) {
            fail(at,
                 std::string{key} + " only in the app or an encapsulated plugin (§1.13)",
                 "an encapsulate: false plugin");
            continue;
        }
        for (auto it = x->begin(); it != x->end(); ++it) {
            std::string const np = member_path(at, it.key());
            std::string const text = std::string{kind == ref_kind::this_prop      ? "this."
                                                 : kind == ref_kind::request_prop ? "request."
                                                                                  : "reply."} +
                                     it.key();
            auto r = parse_ref(text);
            if (!r || r->kind != kind || reserved_name(kind, it.key())) {
                fail(np,
                     "a decoration name: an identifier Fastify does not already use (§1.13)",
                     shown(json(it.key())));
                continue;
            }
            if (it.value().is_structured()) {
                fail(np,
                     "a JSON scalar (null, a boolean, a number or a string; Fastify refuses "
                     "objects for request and reply decorations)",
                     shown(it.value()));
                continue;
            }
            auto const [seen, fresh] = decorated_[i].emplace(it.key(), np);
            if (!fresh) {
                fail(np,
                     "a name not decorated before (also at " + seen->second +
                         "; Fastify: FST_ERR_DEC_ALREADY_PRESENT)",
                     shown(json(it.key())));
                continue;
            }
            (*into[i])[it.key()] = it.value();
        }
    }
}

hook_map reader::hooks(json const& v, std::string const& path, bool route_level) {
    hook_map out;
    if (!object(v, path, "an object of hook phases to arrays of ACTIONs"))
        return out;
    for (auto it = v.begin(); it != v.end(); ++it) {
        std::string const at = member_path(path, it.key());
        std::optional<phase> const ph = parse_phase(it.key());
        if (!ph) {
            fail_name(at,
                      "a hook phase: one of " + phase_list(route_level),
                      json(it.key()),
                      phase_names(route_level));
            continue;
        }
        if (route_level && is_application_phase(*ph)) {
            fail(at,
                 "a request hook phase (application hooks are not per route): one of " +
                     phase_list(true),
                 shown(json(it.key())));
            continue;
        }
        if (!it.value().is_array()) {
            fail(at, "an array of ACTIONs", shown(it.value()));
            continue;
        }
        site const s = is_application_phase(*ph) ? site::app_hook
                       : route_level             ? site::route_hook
                                                 : site::hook;
        std::vector<action> actions;
        actions.reserve(it.value().size());
        for (std::size_t i = 0; i < it.value().size(); ++i)
            actions.push_back(action_of(it.value()[i], index_path(at, i), s, ph));
        out.emplace_back(*ph, std::move(actions));
    }
    return out;
}

void reader::not_found_options(json const& v, std::string const& path, scope& s) {
    // v2.6: setNotFoundHandler({ preValidation, preHandler, errorHandler }, handler). A single
    // hook function is a list of one (Fastify wraps it); the hooks are route-level hooks of the
    // 404 context.
    if (!object(v,
                path,
                "{\"preValidation\": [ACTION], \"preHandler\": [ACTION], \"errorHandler\": "
                "ACTION}"))
        return;
    only_keys(v, path, "notFoundOptions", {"preValidation", "preHandler", "errorHandler"});
    if (!s.not_found_handler)
        fail(path, "notFoundOptions only beside a notFoundHandler (its options)", shown(v));
    json known = json::object(); // the hook options, in the file's order
    for (auto it = v.begin(); it != v.end(); ++it)
        if (it.key() == "preValidation" || it.key() == "preHandler")
            known[it.key()] = it.value();
    s.not_found_hooks = hooks(known, path, true);
    if (json const* x = member(v, "errorHandler"))
        s.not_found_error_handler =
            action_of(*x, path + ".errorHandler", site::error_handler, std::nullopt);
}

route reader::route_of(json const& v,
                       std::size_t list,
                       std::size_t index,
                       std::string const& prefix) {
    std::string const path = index_path(route_lists_[list], index);
    route r;
    if (!object(v, path, "a route object"))
        return r;
    only_keys(
        v,
        path,
        "a route",
        {"method", "url", "handler", "hooks", "errorHandler", "handlerTimeoutMs", "bodyLimit"});
    bool method_ok = true;
    if (json const* x = member(v, "method")) {
        // decisions.md D34: Fastify upper-cases a route's method, then refuses it at start unless
        // it is one of its supportedMethods.
        method_ok = false;
        if (x->is_string()) {
            std::string m = x->get<std::string>();
            for (char& c : m)
                if (c >= 'a' && c <= 'z')
                    c = static_cast<char>(c - 'a' + 'A');
            for (char const* known : route_method_table)
                method_ok = method_ok || m == known;
            if (method_ok)
                r.method = std::move(m);
        }
        if (!method_ok) {
            std::vector<std::string> const known(std::begin(route_method_table),
                                                 std::end(route_method_table));
            fail_name(path + ".method",
                      "a route method Fastify 5.12.8 accepts (any case): " + join(known),
                      *x,
                      known);
        }
    }
    bool url_ok = false;
    if (json const* x = member(v, "url")) {
        if (x->is_string()) {
            std::string const u = x->get<std::string>();
            url_ok = (u.empty() || u[0] == '/') && (u.empty() || is_visible(u));
            if (url_ok)
                r.url = u;
        }
        if (!url_ok)
            fail(path + ".url",
                 "a route path starting with / (no spaces or control characters)",
                 shown(*x));
    } else {
        missing(path + ".url", "the route's url");
    }
    if (json const* x = member(v, "handler"))
        r.handler = action_of(*x, path + ".handler", site::handler, std::nullopt);
    else
        missing(path + ".handler", "the route's handler ACTION");
    if (json const* x = member(v, "hooks"))
        r.hooks = hooks(*x, path + ".hooks", true);
    route_options(v, path, r);
    if (method_ok && url_ok) {
        // Fastify refuses a second route with the same method and full path at startup.
        for (std::string const& full : route_paths(prefix, r.url, r.method)) {
            std::string const key = r.method + " " + full;
            auto const [it, fresh] = routes_.emplace(key, route_site{list, index});
            // v2.5 (§1.8): a file that checks start-up may declare what Fastify refuses.
            if (!fresh && !startup_checked_) {
                std::string const first =
                    index_path(route_lists_[it->second.list], it->second.index) +
                    (it->second.head_of_get ? ", the HEAD route Fastify adds for its GET" : "");
                fail(path,
                     "a route not declared before (" + key + " is also at " + first + ")",
                     shown(json(key)));
                break;
            }
        }
        // exposeHeadRoutes: a GET route brings a HEAD twin unless a HEAD route is already there;
        // a HEAD route declared after it is refused at start (checked on Fastify 5.12.8).
        if (r.method == "GET")
            for (std::string const& full : head_route_paths(prefix, r.url))
                routes_.emplace("HEAD " + full, route_site{list, index, true});
    }
    return r;
}

void reader::route_options(json const& v, std::string const& path, route& r) {
    // v2.6 (scenario-format §1.11). Fastify refuses a handlerTimeout that is not an integer > 0
    // at registration (FST_ERR_ROUTE_HANDLER_TIMEOUT_OPTION_NOT_INT): no target could run it.
    if (json const* x = member(v, "errorHandler"))
        r.error_handler = action_of(*x, path + ".errorHandler", site::error_handler, std::nullopt);
    if (json const* x = member(v, "handlerTimeoutMs"))
        r.handler_timeout_ms = int32(*x, path + ".handlerTimeoutMs", 1, max_int).value_or(0);
    // The same for a bodyLimit that is not an integer > 0
    // (FST_ERR_ROUTE_BODY_LIMIT_OPTION_NOT_INT).
    if (json const* x = member(v, "bodyLimit"))
        r.body_limit = integer(*x, path + ".bodyLimit", 1, max_long).value_or(0);
}

app_options reader::options(json const& v, std::string const& path) {
    app_options o;
    if (!object(v, path, "an options object"))
        return o;
    only_keys(v,
              path,
              "options",
              std::vector<char const*>(std::begin(app_option_table), std::end(app_option_table)));
    if (json const* x = member(v, "connectionTimeoutMs"))
        o.connection_timeout_ms = int32(*x, path + ".connectionTimeoutMs", 0, max_int).value_or(0);
    if (json const* x = member(v, "requestTimeoutMs"))
        o.request_timeout_ms = int32(*x, path + ".requestTimeoutMs", 0, max_int).value_or(0);
    if (json const* x = member(v, "bodyLimit"))
        o.body_limit = integer(*x, path + ".bodyLimit", 0, max_long).value_or(o.body_limit);
    if (json const* x = member(v, "return503OnClosing"))
        o.return503_on_closing = boolean(*x, path + ".return503OnClosing").value_or(true);
    if (json const* x = member(v, "handlerTimeoutMs"))
        o.handler_timeout_ms = int32(*x, path + ".handlerTimeoutMs", 0, max_int).value_or(0);
    return o;
}

scope reader::scope_of(json const& v,
                       std::string const& path,
                       bool root,
                       int depth,
                       std::string const& parent_prefix) {
    scope s;
    if (!object(v, path, root ? "the app object" : "a plugin object"))
        return s;
    only_keys(v, path, root ? "a fastify app" : "a plugin", scope_keys(root));
    if (root) {
        s.name = "root";
        scope_names_.emplace("root", path);
    } else if (json const* x = member(v, "name")) {
        std::string const at = path + ".name";
        if (x->is_string() && is_scope_name(x->get<std::string>())) {
            s.name = x->get<std::string>();
            if (s.name == "root" || s.name == "route") {
                fail(at,
                     "a plugin name other than root and route (both name other things in "
                     "trace labels)",
                     shown(*x));
            } else {
                auto const [it, fresh] = scope_names_.emplace(s.name, at);
                if (!fresh)
                    fail(at,
                         "a plugin name not used before (also at " + it->second + ")",
                         shown(*x));
            }
        } else {
            fail(at, "a plugin name of letters, digits, '_', '-' or '.'", shown(*x));
        }
    } else {
        missing(path + ".name", "the plugin's name (unique in the app; traces use it)");
    }
    if (json const* x = member(v, "prefix")) {
        bool ok = false;
        if (x->is_string()) {
            std::string const p = x->get<std::string>();
            ok = p.empty() || (p[0] == '/' && is_visible(p));
            if (ok)
                s.prefix = p;
        }
        if (!ok)
            fail(path + ".prefix", "a prefix starting with / (or \"\")", shown(*x));
    }
    if (json const* x = member(v, "encapsulate"))
        s.encapsulate = boolean(*x, path + ".encapsulate").value_or(true);
    if (json const* x = member(v, "await"))
        s.await_register = boolean(*x, path + ".await").value_or(false);

    // scenario-format §1.1: an `encapsulate: false` plugin runs on its parent; its prefix is
    // ignored.
    std::string const prefix =
        root || s.encapsulate ? join_prefix(parent_prefix, s.prefix) : parent_prefix;

    if (json const* x = member(v, "npmPlugins")) {
        if (!x->is_array()) {
            fail(path + ".npmPlugins", "an array of npm plugins", shown(*x));
        } else {
            for (std::size_t i = 0; i < x->size(); ++i)
                if (auto p = npm_plugin_of((*x)[i], index_path(path + ".npmPlugins", i)))
                    s.npm_plugins.push_back(std::move(*p));
        }
    }
    decorations(v, s, path, root);
    if (json const* x = member(v, "hooks"))
        s.hooks = hooks(*x, path + ".hooks", false);
    if (json const* x = member(v, "errorHandler"))
        s.error_handler = action_of(*x, path + ".errorHandler", site::error_handler, std::nullopt);
    if (json const* x = member(v, "notFoundHandler"))
        s.not_found_handler =
            action_of(*x, path + ".notFoundHandler", site::not_found, std::nullopt);
    if (json const* x = member(v, "notFoundOptions"))
        not_found_options(*x, path + ".notFoundOptions", s);
    if (json const* x = member(v, "routes")) {
        if (!x->is_array()) {
            fail(path + ".routes", "an array of routes", shown(*x));
        } else {
            s.routes.reserve(x->size()); // no moves of big route vectors while they grow
            route_lists_.push_back(path + ".routes");
            for (std::size_t i = 0; i < x->size(); ++i) {
                json const& element = (*x)[i];
                if (!owned_ || !element.is_binary()) {
                    s.routes.push_back(route_of(element, route_lists_.size() - 1, i, prefix));
                    continue;
                }
                // A route the parser packed (packed_route): unpack it for as long as it is read,
                // then free it. The document was given to read_scenario as json&& (not const).
                json const unpacked = json::from_msgpack(element.get_binary());
                s.routes.push_back(route_of(unpacked, route_lists_.size() - 1, i, prefix));
                const_cast<json&>(element) = nullptr;
            }
        }
    }
    if (json const* x = member(v, "plugins")) {
        if (!x->is_array()) {
            fail(path + ".plugins", "an array of plugins", shown(*x));
        } else if (depth >= max_plugin_depth && !x->empty()) {
            fail(path + ".plugins",
                 "plugins nested at most " + std::to_string(max_plugin_depth) + " deep",
                 "deeper nesting");
        } else {
            for (std::size_t i = 0; i < x->size(); ++i)
                s.plugins.push_back(
                    scope_of((*x)[i], index_path(path + ".plugins", i), false, depth + 1, prefix));
        }
    }
    if (json const* x = member(v, "late")) {
        std::string const at = path + ".late";
        if (object(*x, at, "a late object {\"hooks\", \"errorHandler\"}")) {
            only_keys(*x, at, "late", {"hooks", "errorHandler"});
            late_entries l;
            if (json const* h = member(*x, "hooks"))
                l.hooks = hooks(*h, at + ".hooks", false);
            if (json const* e = member(*x, "errorHandler"))
                l.error_handler =
                    action_of(*e, at + ".errorHandler", site::error_handler, std::nullopt);
            s.late = std::move(l);
        }
    }
    return s;
}

std::optional<npm_plugin> reader::npm_plugin_of(json const& v, std::string const& path) {
    if (!object(v, path, "an npm plugin {\"name\", \"version\", \"options\"}"))
        return std::nullopt;
    only_keys(
        v,
        path,
        "an npm plugin",
        std::vector<char const*>(std::begin(npm_plugin_key_table), std::end(npm_plugin_key_table)));
    // A string `accepts` takes, or a problem recorded at `at`.
    auto const checked = [&](json const& x,
                             std::string const& at,
                             bool (*accepts)(std::string const&),
                             char const* expected) -> std::optional<std::string> {
        if (x.is_string() && accepts(x.get_ref<std::string const&>()))
            return x.get<std::string>();
        fail(at, expected, shown(x));
        return std::nullopt;
    };
    npm_plugin p;
    bool ok = true;
    if (json const* x = member(v, "name")) {
        auto name =
            checked(*x,
                    path + ".name",
                    is_npm_plugin_name,
                    "an npm package name (lower case, optionally @scope/) or an absolute path");
        ok = name.has_value();
        p.name = name.value_or("");
    } else {
        missing(path + ".name", "the package to register (an npm package name)");
        ok = false;
    }
    if (json const* x = member(v, "version")) {
        p.version = checked(*x,
                            path + ".version",
                            is_version_prefix,
                            "a version or its first components (11, 11.4, 11.4.3, 1.0.0-rc.1)");
        ok = ok && p.version.has_value();
    }
    if (json const* x = member(v, "options")) {
        if (object(*x, path + ".options", "an options object (passed to register as it is)"))
            p.options = *x;
        else
            ok = false;
    }
    if (!ok)
        return std::nullopt;
    return p;
}

koa_app reader::koa(json const& v, std::string const& path) {
    koa_app k;
    if (!object(v, path, "the app object"))
        return k;
    only_keys(v, path, "a koa app", {"middleware", "onError"});
    std::map<std::string, std::string> labels; // middleware label → its path
    if (json const* x = member(v, "middleware")) {
        if (!x->is_array()) {
            fail(path + ".middleware", "an array of middleware", shown(*x));
        } else {
            for (std::size_t i = 0; i < x->size(); ++i) {
                std::string const at = index_path(path + ".middleware", i);
                json const& m = (*x)[i];
                middleware mw;
                if (!object(m,
                            at,
                            "a middleware object {\"label\", \"before\", \"next\", "
                            "\"after\"}"))
                    continue;
                only_keys(m, at, "a koa middleware", {"label", "before", "next", "catch", "after"});
                if (json const* l = member(m, "label")) {
                    if (auto n = name(*l, at + ".label", "a non-empty label string")) {
                        mw.label = *n;
                        auto const [it, fresh] = labels.emplace(*n, at + ".label");
                        if (!fresh)
                            fail(at + ".label",
                                 "a middleware label not used before (also at " + it->second + ")",
                                 shown(*l));
                    }
                } else {
                    missing(at + ".label", "the middleware's label (traced as LABEL:down/up)");
                }
                if (json const* b = member(m, "before"))
                    mw.before = action_of(*b, at + ".before", site::koa_step, std::nullopt);
                if (json const* n = member(m, "next")) {
                    std::string const s = n->is_string() ? n->get<std::string>() : "";
                    bool known = false;
                    for (next_mode_entry const& row : next_mode_table)
                        if (s == row.name) {
                            mw.next = row.value;
                            known = true;
                        }
                    if (!known)
                        fail_name(at + ".next",
                                  "one of " + names_of(next_mode_table),
                                  *n,
                                  name_list(next_mode_table));
                }
                if (json const* c = member(m, "catch")) {
                    mw.on_catch = action_of(*c, at + ".catch", site::koa_catch, std::nullopt);
                    if (mw.next == next_mode::never)
                        fail(at + ".catch",
                             "no catch with next \"never\" (it catches the rejection of "
                             "next(): give next once or twice)",
                             shown(*c));
                }
                if (json const* a = member(m, "after"))
                    mw.after = action_of(*a, at + ".after", site::koa_step, std::nullopt);
                k.chain.push_back(std::move(mw));
            }
        }
    }
    if (json const* x = member(v, "onError"))
        k.on_error = action_of(*x, path + ".onError", site::koa_on_error, std::nullopt);
    koa_raw_writes(k, path);
    return k;
}

/// v2.6 (§1.10): every `ctx.res.write` and `ctx.res.end` of an app sits in one ACTION, and none
/// follows a `ctx.res.end` there: Node's write after end is an uncaught 'error' on `res`, which
/// ends the process (Koa itself ends the response only after the middleware settled).
void reader::koa_raw_writes(koa_app const& k, std::string const& path) {
    std::optional<std::string> holder; // the ACTION with the raw writes
    for (std::size_t i = 0; i < k.chain.size(); ++i) {
        auto const& m = k.chain[i];
        std::string const at = index_path(path + ".middleware", i);
        std::pair<std::optional<action> const*, char const*> const parts[] = {
            {&m.before, "before"}, {&m.on_catch, "catch"}, {&m.after, "after"}};
        for (auto const& [a, key] : parts) {
            if (!*a || !(*a)->ops)
                continue;
            std::string const where = member_path(at, key);
            bool ended = false;
            auto const& ops = *(*a)->ops;
            for (std::size_t j = 0; j < ops.size(); ++j) {
                if (ops[j].kind != op_kind::ctx_res_write && ops[j].kind != op_kind::ctx_res_end)
                    continue;
                std::string const op_path =
                    member_path(index_path(member_path(where, "ops"), j), to_string(ops[j].kind));
                if (holder && *holder != where)
                    fail(op_path,
                         "ctx.res.write and ctx.res.end in one ACTION of the app (the first at " +
                             *holder + ")",
                         shown(json(to_string(ops[j].kind))));
                else if (ended)
                    fail(op_path,
                         "nothing written after ctx.res.end (Node: write after end)",
                         shown(json(to_string(ops[j].kind))));
                holder = where;
                ended = ended || ops[j].kind == op_kind::ctx_res_end;
            }
        }
    }
}

void reader::step_id(json const* v, std::string const& path, bool required, step& st) {
    std::string const at = path + ".id";
    if (v == nullptr) {
        if (required)
            missing(at, "the step's request id (sent as x-lifecheck-req)");
        return;
    }
    if (!v->is_string() || !is_visible(v->get<std::string>())) {
        fail(at, "a request id: visible ASCII characters, no spaces", shown(*v));
        return;
    }
    st.id = v->get<std::string>();
    if (st.id == "app") {
        // scenario-format §1.4: application hooks are traced with request id `app`.
        fail(at, "a request id other than app (reserved for application hooks)", shown(*v));
        return;
    }
    auto const [it, fresh] = step_ids_.emplace(st.id, path);
    if (!fresh)
        fail(at, "a step id not used before (also at " + it->second + ")", shown(*v));
}

void reader::request_of(json const& v, std::string const& path, request_spec& out) {
    if (!object(v, path, "a request object"))
        return;
    only_keys(v, path, "a request", {"method", "url", "headers", "body", "bodyBase64", "chunked"});
    if (json const* x = member(v, "method")) {
        if (x->is_string() && is_token(x->get<std::string>()))
            out.method = x->get<std::string>();
        else
            fail(path + ".method", "an HTTP method (a token such as GET)", shown(*x));
    }
    if (json const* x = member(v, "url")) {
        if (x->is_string() && is_visible(x->get<std::string>()))
            out.url = x->get<std::string>();
        else
            fail(path + ".url", "a request target without spaces or control characters", shown(*x));
    }
    if (json const* x = member(v, "headers"))
        out.headers = headers(*x, path + ".headers");
    json const* body = member(v, "body");
    json const* body64 = member(v, "bodyBase64");
    if (body != nullptr)
        out.body = text(*body, path + ".body");
    if (body64 != nullptr) {
        if (body != nullptr) {
            fail(path + ".bodyBase64", "either body or bodyBase64, not both", shown(*body64));
        } else if (auto s = text(*body64, path + ".bodyBase64", "a base64 string")) {
            out.body = base64_decode(*s);
            if (!out.body)
                fail(path + ".bodyBase64", "valid base64 (RFC 4648, padded)", shown(*body64));
        }
    }
    if (json const* x = member(v, "chunked"))
        out.chunked = boolean(*x, path + ".chunked").value_or(false);
}

client_options reader::client(json const& v, std::string const& path, step const& st) {
    client_options c;
    if (!object(v, path, "a client object"))
        return c;
    std::vector<char const*> keys;
    for (client_option_entry const& o : client_option_table)
        keys.push_back(o.name);
    only_keys(v, path, "client", keys);
    std::optional<std::string> first_abort; // scenario-format §1.4: at most one abort key
    auto abort_key = [&](char const* key) -> json const* {
        json const* x = member(v, key);
        if (x == nullptr)
            return nullptr;
        if (first_abort) {
            fail(path + "." + key,
                 "at most one abort key in client (" + *first_abort + " is already given)",
                 shown(*x));
            return nullptr;
        }
        first_abort = key;
        return x;
    };
    if (json const* x = abort_key("abortAfterMs"))
        c.abort_after_ms = int32(*x, path + ".abortAfterMs", 0, max_int);
    if (json const* x = abort_key("abortAfterRequestBytes"))
        c.abort_after_request_bytes = integer(*x, path + ".abortAfterRequestBytes", 0, max_long);
    if (json const* x = abort_key("abortAfterBodyBytes")) {
        c.abort_after_body_bytes = integer(*x, path + ".abortAfterBodyBytes", 0, max_long);
        if (st.kind == step_kind::request && !st.request.body)
            fail(path + ".abortAfterBodyBytes",
                 "a request with a body (body or bodyBase64)",
                 shown(*x));
    }
    if (json const* x = abort_key("abortAfterResponseBytes"))
        c.abort_after_response_bytes = integer(*x, path + ".abortAfterResponseBytes", 0, max_long);
    if (json const* x = abort_key("abortAfterResponseBodyBytes"))
        c.abort_after_response_body_bytes =
            integer(*x, path + ".abortAfterResponseBodyBytes", 0, max_long);
    json const* bytes = member(v, "bytesPerWrite");
    json const* delay = member(v, "writeDelayMs");
    if (bytes != nullptr) {
        c.bytes_per_write = int32(*bytes, path + ".bytesPerWrite", 1, max_int);
        if (delay == nullptr)
            fail(path + ".bytesPerWrite",
                 "writeDelayMs alongside bytesPerWrite (a slow writer "
                 "needs both)",
                 shown(*bytes));
    }
    if (delay != nullptr) {
        c.write_delay_ms = int32(*delay, path + ".writeDelayMs", 0, max_int);
        if (bytes == nullptr)
            fail(path + ".writeDelayMs",
                 "bytesPerWrite alongside writeDelayMs (a slow writer "
                 "needs both)",
                 shown(*delay));
    }
    if (json const* x = member(v, "expectNoResponse"))
        c.expect_no_response = boolean(*x, path + ".expectNoResponse").value_or(false);
    return c;
}

expectation reader::expect(json const& v, std::string const& path, bool close_step) {
    expectation e;
    if (!object(v, path, "an expect object"))
        return e;
    if (close_step)
        only_keys(v, path, "the expect of a close step", {"trace"});
    else if (path == "$.startup.expect")
        only_keys(v, path, "the expect of start-up", {"error", "trace"});
    else
        only_keys(v,
                  path,
                  "expect",
                  {"status",
                   "headers",
                   "body",
                   "complete",
                   "connection",
                   "aborted",
                   "reached",
                   "trace",
                   "endAt"});
    if (json const* x = member(v, "status"))
        e.status = int32(*x, path + ".status", 100, 599);
    if (json const* x = member(v, "headers")) {
        std::string const at = path + ".headers";
        if (object(*x, at, "an object of header names to values (null: absent, \"*\": any)")) {
            for (auto it = x->begin(); it != x->end(); ++it) {
                std::string const hp = member_path(at, it.key());
                if (!is_token(it.key()))
                    fail(hp, "a header name (an HTTP token)", shown(json(it.key())));
                expected_header h;
                h.name = it.key();
                json const& value = it.value();
                if (value.is_null())
                    h.value = std::nullopt;
                else if (value.is_string())
                    h.value = value.get<std::string>();
                else if (value.is_number_unsigned())
                    h.value = std::to_string(value.get<unsigned long long>());
                else if (value.is_number_integer())
                    h.value = std::to_string(value.get<long long>());
                else {
                    fail(hp, "a string, an integer, \"*\" or null", shown(value));
                    continue;
                }
                e.headers.push_back(std::move(h));
            }
        }
    }
    if (json const* x = member(v, "body")) {
        std::string const at = path + ".body";
        if (object(*x, at, "one of {\"json\": V}, {\"text\": S}, {\"contains\": S}")) {
            only_keys(*x, at, "an expected body", {"json", "text", "contains"});
            std::vector<std::string> given;
            for (char const* k : {"json", "text", "contains"})
                if (member(*x, k) != nullptr)
                    given.emplace_back(k);
            if (given.size() != 1) {
                fail(at, "exactly one of json, text, contains", shown(*x));
            } else {
                expected_body b;
                if (json const* j = member(*x, "json")) {
                    b.how = body_match::json_value;
                    b.value = *j;
                    e.body = b;
                } else if (json const* t = member(*x, "text")) {
                    b.how = body_match::text;
                    if (auto s = text(*t, at + ".text")) {
                        b.text = *s;
                        e.body = b;
                    }
                } else if (json const* c = member(*x, "contains")) {
                    b.how = body_match::contains;
                    if (auto s = text(*c, at + ".contains")) {
                        b.text = *s;
                        e.body = b;
                    }
                }
            }
        }
    }
    if (json const* x = member(v, "complete"))
        e.complete = boolean(*x, path + ".complete");
    if (json const* x = member(v, "connection")) {
        std::string const s = x->is_string() ? x->get<std::string>() : "";
        if (s == "kept")
            e.connection = connection_fate::kept;
        else if (s == "closed")
            e.connection = connection_fate::closed;
        else if (s == "reset")
            e.connection = connection_fate::reset;
        else
            fail_name(path + ".connection",
                      "one of kept, closed, reset",
                      *x,
                      {"kept", "closed", "reset"});
    }
    if (json const* x = member(v, "aborted"))
        e.aborted = boolean(*x, path + ".aborted");
    if (json const* x = member(v, "reached"))
        e.reached = boolean(*x, path + ".reached");
    if (json const* x = member(v, "trace")) {
        if (!x->is_array()) {
            fail(path + ".trace", "an array of callback labels", shown(*x));
        } else {
            std::vector<std::string> labels;
            bool ok = true;
            for (std::size_t i = 0; i < x->size(); ++i) {
                auto l = name((*x)[i], index_path(path + ".trace", i), "a non-empty label string");
                ok = ok && l.has_value();
                labels.push_back(l.value_or(""));
            }
            if (ok)
                e.trace = std::move(labels);
        }
    }
    if (json const* x = member(v, "endAt")) {
        // endAt counts callbacks of `trace` that ran before `end`, so it cannot exceed it.
        long long const hi = e.trace ? static_cast<long long>(e.trace->size()) : max_int;
        e.end_at = int32(*x, path + ".endAt", 0, hi);
    }
    return e;
}

step reader::step_of(json const& v, std::string const& path, bool in_parallel) {
    step st;
    st.json_path = path;
    if (!object(v, path, "a step object"))
        return st;
    std::vector<std::string> kinds;
    for (step_kind_entry const& k : step_kind_table)
        if (member(v, k.key) != nullptr)
            kinds.emplace_back(k.key);
    if (kinds.size() != 1) {
        std::vector<std::string> const keys =
            name_list(step_kind_table, [](step_kind_entry const& k) { return k.key; });
        std::string hint; // no step kind at all: a key that misspells one, if any
        for (auto it = v.begin(); kinds.empty() && it != v.end() && hint.empty(); ++it)
            hint = did_you_mean(json(it.key()), keys);
        fail(path,
             "a step with exactly one of " + join(keys),
             (kinds.empty() ? shown(v) : "keys " + join(kinds)) + hint);
        return st;
    }
    std::string const& kind = kinds.front();
    if (in_parallel && (kind == "parallel" || kind == "sleepMs")) {
        fail(path + "." + kind, "a request, raw or close step (inside parallel)", shown(v[kind]));
        return st;
    }
    if (kind == "request") {
        st.kind = step_kind::request;
        only_keys(v, path, "a request step", {"id", "connection", "request", "client", "expect"});
        step_id(member(v, "id"), path, true, st);
        request_of(v["request"], path + ".request", st.request);
        // decisions.md D2: `connection` belongs to the step, not to `request`.
        if (json const* x = member(v, "connection")) {
            if (x->is_string() && is_visible(x->get<std::string>()))
                st.connection = x->get<std::string>();
            else
                fail(path + ".connection",
                     "a connection name (visible ASCII, no spaces)",
                     shown(*x));
        }
    } else if (kind == "raw") {
        st.kind = step_kind::raw;
        only_keys(v, path, "a raw step", {"raw", "id", "client", "expect"});
        step_id(member(v, "id"), path, false, st);
        if (auto s = name(v["raw"], path + ".raw", "the request bytes (a non-empty string)"))
            st.raw = *s;
    } else if (kind == "parallel") {
        st.kind = step_kind::parallel;
        only_keys(v, path, "a parallel step", {"parallel"});
        json const& children = v["parallel"];
        if (!children.is_array() || children.empty()) {
            fail(path + ".parallel", "a non-empty array of steps", shown(children));
        } else {
            for (std::size_t i = 0; i < children.size(); ++i)
                st.children.push_back(
                    step_of(children[i], index_path(path + ".parallel", i), true));
        }
        return st;
    } else if (kind == "sleepMs") {
        st.kind = step_kind::sleep;
        only_keys(v, path, "a sleep step", {"sleepMs"});
        st.sleep_ms = int32(v["sleepMs"], path + ".sleepMs", 0, max_int).value_or(0);
        return st;
    } else {
        st.kind = step_kind::close;
        only_keys(v, path, "a close step", {"close", "expect"});
        json const& flag = v["close"];
        if (!flag.is_boolean() || !flag.get<bool>())
            fail(path + ".close", "true", shown(flag));
        if (close_step_)
            fail(path,
                 "at most one close step (the app closes once; also at " + *close_step_ + ")",
                 shown(v));
        else
            close_step_ = path;
        if (json const* x = member(v, "expect"))
            st.expect = expect(*x, path + ".expect", true);
        return st;
    }
    if (json const* x = member(v, "client"))
        st.client = client(*x, path + ".client", st);
    if (json const* x = member(v, "expect")) {
        st.expect = expect(*x, path + ".expect", false);
        if (st.client.expect_no_response &&
            (st.expect->status || !st.expect->headers.empty() || st.expect->body))
            fail(path + ".expect",
                 "no status, headers or body expectations when client.expectNoResponse is true",
                 shown(*x));
    }
    return st;
}

std::optional<divergence> reader::divergence_of(json const& v, std::string const& path) {
    if (!object(v, path, "a divergence object {\"target\", \"class\", \"note\"}"))
        return std::nullopt;
    only_keys(v, path, "a divergence", {"target", "class", "note", "result"});
    std::size_t const before = problems_.size();
    divergence d;
    if (json const* x = member(v, "target")) {
        // decisions.md D3: NAME or NAME@VERSION-PREFIX.
        bool ok = false;
        if (x->is_string()) {
            std::string const t = x->get<std::string>();
            std::size_t const at = t.find('@');
            std::string const target_name = t.substr(0, at);
            ok = is_scope_name(target_name) && target_name.find('.') == std::string::npos;
            if (at != std::string::npos)
                ok = ok && is_scope_name(t.substr(at + 1));
            if (ok)
                d.target = t;
        }
        if (!ok)
            fail(path + ".target",
                 "a target name, optionally @VERSION (fastify, fastify@5.12)",
                 shown(*x));
    } else {
        missing(path + ".target", "the target that diverges (fastify, reference, koa)");
    }
    if (json const* x = member(v, "class")) {
        std::string const s = x->is_string() ? x->get<std::string>() : "";
        if (s == "framework-bug")
            d.cls = divergence_class::framework_bug;
        else if (s == "doc-gap")
            d.cls = divergence_class::doc_gap;
        else if (s == "deliberate")
            d.cls = divergence_class::deliberate;
        else
            fail_name(path + ".class",
                      "one of framework-bug, doc-gap, deliberate",
                      *x,
                      {"framework-bug", "doc-gap", "deliberate"});
    } else {
        missing(path + ".class", "the divergence class: framework-bug, doc-gap or deliberate");
    }
    if (json const* x = member(v, "note"))
        d.note = name(*x, path + ".note", "a non-empty note").value_or("");
    else
        missing(path + ".note", "a note saying how the target differs");
    if (json const* x = member(v, "result")) {
        std::string const s = x->is_string() ? x->get<std::string>() : "";
        if (s == "crash" || s == "fail" || s == "hang")
            d.result = s;
        else
            fail_name(path + ".result", "one of crash, fail, hang", *x, {"crash", "fail", "hang"});
    }
    if (problems_.size() != before)
        return std::nullopt;
    return d;
}

std::vector<divergence> reader::divergences(json const& v, std::string const& path) {
    std::vector<divergence> out;
    if (v.is_array()) {
        if (v.empty())
            fail(path, "a divergence object or a non-empty array of them", shown(v));
        for (std::size_t i = 0; i < v.size(); ++i)
            if (auto d = divergence_of(v[i], index_path(path, i)))
                out.push_back(std::move(*d));
    } else if (v.is_object()) {
        if (auto d = divergence_of(v, path))
            out.push_back(std::move(*d));
    } else {
        fail(path, "a divergence object or a non-empty array of them", shown(v));
    }
    return out;
}

std::optional<step> reader::startup_of(json const& v, std::string const& path) {
    if (!object(v, path, "a startup object {\"expect\": {...}}"))
        return std::nullopt;
    only_keys(v, path, "startup", {"expect"});
    startup_checked_ = true;
    step st;
    st.kind = step_kind::startup;
    st.id = "startup";
    st.json_path = path;
    json const* x = member(v, "expect");
    if (!x)
        return st;
    std::string const at = path + ".expect";
    st.expect = expect(*x, at, false);
    if (!x->is_object())
        return st;
    if (json const* e = member(*x, "error")) {
        std::string const ep = at + ".error";
        st.expect->error_given = true;
        if (!e->is_null() &&
            object(*e, ep, "null (the app starts) or an error {\"code\", \"message\"}")) {
            only_keys(*e, ep, "a start-up error", {"code", "message"});
            expected_startup_error want;
            if (json const* c = member(*e, "code"))
                want.code = name(*c, ep + ".code", "a non-empty error code string");
            if (json const* m = member(*e, "message"))
                want.message = text(*m, ep + ".message");
            if (!member(*e, "code") && !member(*e, "message"))
                missing(ep + ".code", "a code or a message to compare");
            st.expect->error = want;
        }
    }
    return st;
}

scenario reader::read(json const& doc) {
    scenario s;
    if (!object(doc, "$", "a scenario object"))
        return s;
    // scenario-format "Versions" (v1.2): `$schema` names the JSON Schema the file follows, for
    // editors; the loader only checks that it is a string. It stays out of the list of keys, so
    // the diagnostics for v1.1 files are unchanged.
    only_keys(doc,
              "$",
              "a scenario",
              {"description", "dialect", "tags", "app", "steps", "divergence", "startup"},
              "$schema");
    if (json const* x = member(doc, "$schema"))
        text(*x, member_path("$", "$schema"), "a string: the path or URL of scenario.schema.json");
    if (json const* x = member(doc, "description"))
        s.description = text(*x, "$.description").value_or("");
    if (json const* x = member(doc, "dialect")) {
        std::string const d = x->is_string() ? x->get<std::string>() : "";
        if (d == "fastify")
            s.lang = dialect::fastify;
        else if (d == "koa")
            s.lang = dialect::koa;
        else
            fail_name("$.dialect", "one of fastify, koa", *x, {"fastify", "koa"});
    }
    if (json const* x = member(doc, "tags")) {
        if (!x->is_array()) {
            fail("$.tags", "an array of tag strings", shown(*x));
        } else {
            for (std::size_t i = 0; i < x->size(); ++i)
                if (auto t = name((*x)[i], index_path("$.tags", i), "a non-empty tag string"))
                    s.tags.push_back(*t);
        }
    }
    // v2.5 `startup` is read before the app: a refusal it expects allows what Fastify refuses.
    if (json const* x = member(doc, "startup"))
        s.startup = startup_of(*x, "$.startup");
    if (json const* x = member(doc, "app")) {
        if (s.lang == dialect::koa)
            s.application.koa = koa(*x, "$.app");
        else {
            s.application.root = scope_of(*x, "$.app", true, 0, "");
            if (x->is_object()) {
                if (json const* o = member(*x, "options"))
                    s.application.options = options(*o, "$.app.options");
            }
        }
    } else {
        missing("$.app", "the app to build");
    }
    if (json const* x = member(doc, "steps")) {
        if (!x->is_array() || (x->empty() && !s.startup)) {
            fail("$.steps",
                 "a non-empty array of steps (empty only with a startup object)",
                 shown(*x));
        } else {
            s.steps.reserve(x->size());
            for (std::size_t i = 0; i < x->size(); ++i)
                s.steps.push_back(step_of((*x)[i], index_path("$.steps", i), false));
        }
    } else {
        missing("$.steps", "the steps to run");
    }
    if (json const* x = member(doc, "divergence"))
        s.divergences = divergences(*x, "$.divergence");
    if (json const* x = member(doc, "steps"); x && s.lang == dialect::koa)
        koa_referrers(*x, "$.steps");
    return s;
}

} // namespace

std::string member_path(std::string const& base, std::string const& key) {
    bool plain = !key.empty() && !(key[0] >= '0' && key[0] <= '9');
    for (char c : key)
        plain = plain && ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                          (c >= '0' && c <= '9') || c == '_' || c == '$');
    if (plain)
        return base + "." + key;
    return base + "[" + json(key).dump(-1, ' ', false, json::error_handler_t::replace) + "]";
}

std::string shown(json const& v) {
    return shorten(v.dump(-1, ' ', false, json::error_handler_t::replace), max_got);
}

std::size_t depth_of(json const& v) {
    std::size_t deepest = 0;
    std::vector<std::pair<json const*, std::size_t>> todo{{&v, 0}};
    while (!todo.empty()) {
        auto const [node, depth] = todo.back();
        todo.pop_back();
        if (!node->is_structured())
            continue;
        deepest = std::max(deepest, depth + 1);
        for (auto const& child : *node)
            todo.emplace_back(&child, depth + 1);
    }
    return deepest;
}

scenario read_scenario(json const& doc, std::string const& file, diagnostics& problems) {
    reader r{file, problems, false};
    return r.read(doc);
}

scenario read_scenario(json&& doc, std::string const& file, diagnostics& problems) {
    reader r{file, problems, true};
    return r.read(doc);
}

void check_trace_labels(scenario const& s, std::string const& file, diagnostics& problems) {
    trace::app_labels const labels = trace::labels_of(s.application, s.lang);
    // scenario-format §1.4: onReady callbacks belong to the first request, raw or close step
    // (run::observe), preClose and onClose to the close step.
    std::vector<std::string> first_request = labels.request;
    first_request.insert(first_request.end(), labels.on_ready.begin(), labels.on_ready.end());
    std::vector<std::string> first_closing = labels.closing;
    first_closing.insert(first_closing.end(), labels.on_ready.begin(), labels.on_ready.end());
    std::unordered_set<std::string> const request(labels.request.begin(), labels.request.end());
    std::unordered_set<std::string> const closing(labels.closing.begin(), labels.closing.end());
    std::unordered_set<std::string> const on_ready(labels.on_ready.begin(), labels.on_ready.end());
    // v2.5: with a `startup` object, the start-up hooks are its trace, not the first step's.
    bool first = !s.startup;
    if (s.startup && s.startup->expect && s.startup->expect->trace) {
        std::vector<std::string> const& trace = *s.startup->expect->trace;
        for (std::size_t i = 0; i < trace.size(); ++i) {
            if (on_ready.count(trace[i]) != 0)
                continue;
            json const got(trace[i]);
            problems.push_back(diagnostic{
                file,
                index_path("$.startup.expect.trace", i),
                "a label of a start-up hook of the app: onRoute, onRegister, onReady, onListen "
                "(scenario-format §1.8, §1.9)",
                shown(got) + did_you_mean(got, labels.on_ready)});
        }
    }
    auto check = [&](auto const& self, std::vector<step> const& steps) -> void {
        for (step const& st : steps) {
            if (st.kind == step_kind::parallel) {
                self(self, st.children);
                continue;
            }
            if (st.kind == step_kind::sleep)
                continue;
            bool const is_first = std::exchange(first, false);
            if (!st.expect || !st.expect->trace)
                continue;
            bool const close = st.kind == step_kind::close;
            auto const& known = close ? closing : request;
            auto const& names = close ? (is_first ? first_closing : labels.closing)
                                      : (is_first ? first_request : labels.request);
            std::vector<std::string> const& trace = *st.expect->trace;
            for (std::size_t i = 0; i < trace.size(); ++i) {
                if (known.count(trace[i]) != 0 || (is_first && on_ready.count(trace[i]) != 0))
                    continue;
                json const got(trace[i]);
                problems.push_back(diagnostic{
                    file,
                    index_path(st.json_path + ".expect.trace", i),
                    std::string{close ? "a label of a preClose or onClose hook of the app"
                                      : "a label of a request callback of the app"} +
                        ", or of a start-up hook (onRoute, onRegister, onReady, onListen) in the "
                        "first step (scenario-format §1.4, §2)",
                    shown(got) + did_you_mean(got, names)});
            }
        }
    };
    check(check, s.steps);
}

} // namespace lifecheck::scenario::detail
