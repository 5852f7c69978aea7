// The fuzz input decoders (and their inverse encoders) shared by the fuzzers
// and `lifecheck repro`.
#include "fuzz/decode.hpp"

#include "harness/scenario/load.hpp"

#include <fuzzer/FuzzedDataProvider.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <cstdlib>
#include <optional>
#include <set>

namespace lifecheck::fuzz {

char const* to_string(target_kind k) {
    switch (k) {
    case target_kind::http_bytes:
        return "http_bytes";
    case target_kind::lifecycle:
        return "lifecycle";
    case target_kind::scenario_loader:
        return "scenario_loader";
    }
    return "?";
}

std::optional<target_kind> parse_target(std::string const& name) {
    if (name == "http_bytes" || name == "fuzz_http" || name == "http")
        return target_kind::http_bytes;
    if (name == "lifecycle" || name == "fuzz_lifecycle")
        return target_kind::lifecycle;
    if (name == "scenario_loader" || name == "fuzz_scenario" || name == "scenario")
        return target_kind::scenario_loader;
    return std::nullopt;
}

namespace {

/// One choice among `n` options (1..256). Decoding reads it from the fuzz
/// input; encoding records `hint`. One walker uses it for both directions, so
/// they cannot drift apart.
class chooser {
public:
    virtual ~chooser() = default;
    virtual int pick(int n, int hint) = 0;
};

class reader final : public chooser {
public:
    explicit reader(FuzzedDataProvider& in)
        : in_{in} {}

    int pick(int n, int) override { return n <= 1 ? 0 : in_.ConsumeIntegralInRange<int>(0, n - 1); }

private:
    FuzzedDataProvider& in_;
};

/// Records choices; FuzzedDataProvider reads integers from the end of the
/// input, one byte per choice of at most 256 options, so the encoding is the
/// choices reversed.
class recorder final : public chooser {
public:
    int pick(int n, int hint) override {
        if (n <= 1)
            return 0;
        int const v = std::clamp(hint, 0, n - 1);
        bytes_.push_back(static_cast<char>(v));
        return v;
    }

    std::string tail() const { return std::string{bytes_.rbegin(), bytes_.rend()}; }

private:
    std::string bytes_;
};

//----------------------------------------------------------------------------------------------
// http_bytes

// Pauses between writes: far apart so a pause either trips a timeout of the
// fixed app or not.
constexpr std::array<int, 5> pauses = {0, 1, 10, 100, 250};

std::string rename_request_ids(std::string s) {
    static std::string const name = "x-lifecheck-req";
    for (std::size_t i = 0; i + name.size() <= s.size(); ++i) {
        bool same = true;
        for (std::size_t k = 0; k < name.size() && same; ++k)
            same = std::tolower(static_cast<unsigned char>(s[i + k])) == name[k];
        if (same)
            s[i + name.size() - 1] = s[i + name.size() - 1] == 'Q' ? 'X' : 'x';
    }
    return s;
}

} // namespace

std::string http_input::all_bytes() const {
    std::string out;
    for (http_write const& w : writes)
        out += w.bytes;
    return out;
}

http_input decode_http(std::uint8_t const* data, std::size_t size) {
    FuzzedDataProvider in{data, size};
    http_input out;
    int const writes = in.ConsumeIntegralInRange<int>(1, 8);
    out.close_early = in.ConsumeBool();
    for (int i = 0; i < writes && in.remaining_bytes() > 0; ++i) {
        auto const len = in.ConsumeIntegralInRange<std::size_t>(0, 255);
        int const pause = pauses[in.ConsumeIntegralInRange<std::size_t>(0, pauses.size() - 1)];
        std::string bytes = in.ConsumeBytesAsString(len);
        if (!bytes.empty() || pause > 0)
            out.writes.push_back({std::move(bytes), pause});
    }
    std::string rest = in.ConsumeRemainingBytesAsString();
    if (!rest.empty())
        out.writes.push_back({std::move(rest), 0});
    // The renaming runs over the whole stream: a header name split across two
    // writes too.
    std::string const renamed = rename_request_ids(out.all_bytes());
    std::size_t at = 0;
    for (http_write& w : out.writes) {
        w.bytes = renamed.substr(at, w.bytes.size());
        at += w.bytes.size();
    }
    return out;
}

namespace {

/// A JSON string must be UTF-8: bytes that are not become '?' (the exact bytes
/// stay in .bin).
std::string utf8_or_question_marks(std::string const& bytes, bool& lossy) {
    std::string out;
    std::size_t i = 0;
    while (i < bytes.size()) {
        auto const c = static_cast<unsigned char>(bytes[i]);
        std::size_t n = c < 0x80           ? 1
                        : (c >> 5) == 0x6  ? 2
                        : (c >> 4) == 0xe  ? 3
                        : (c >> 3) == 0x1e ? 4
                                           : 0;
        bool ok = n > 0 && i + n <= bytes.size() && !(c == 0xc0 || c == 0xc1 || c > 0xf4);
        for (std::size_t k = 1; ok && k < n; ++k)
            ok = (static_cast<unsigned char>(bytes[i + k]) & 0xc0) == 0x80;
        if (ok && n > 1) {
            std::string const seq = bytes.substr(i, n);
            ok = scenario::json::accept("\"" + seq + "\"");
        }
        if (!ok) {
            out += '?';
            lossy = true;
            ++i;
            continue;
        }
        out.append(bytes, i, n);
        i += n;
    }
    return out;
}

} // namespace

http_scenario http_scenario_of(http_input const& in) {
    http_scenario out;
    out.doc = scenario::json::parse(fixed_app_scenario_text());
    out.doc["description"] = "fuzz_http crash reproduction: the fuzzer's fixed app and the "
                             "client's bytes as one raw step";
    bool lossy = false;
    scenario::json step = {{"id", "r1"}, {"raw", utf8_or_question_marks(in.all_bytes(), lossy)}};
    if (in.close_early)
        step["client"] = {{"abortAfterRequestBytes", in.all_bytes().size()}};
    out.doc["steps"] = scenario::json::array({step});
    if (lossy)
        out.notes.push_back("bytes that are not UTF-8 became '?' in the raw step (JSON strings are "
                            "text); "
                            "the exact bytes are in the .bin file beside the scenario");
    for (http_write const& w : in.writes)
        if (w.pause_ms > 0) {
            out.notes.push_back("the fuzzer paused between writes (virtual time); the raw step "
                                "sends all bytes at once");
            break;
        }
    return out;
}

std::string encode_http(std::string_view bytes) {
    // Choices in reading order: writes = 1 (byte 0), close_early = false (0), len
    // = 0, pause 0.
    recorder r;
    r.pick(8, 0);
    r.pick(256, 0); // ConsumeBool reads one byte
    r.pick(256, 0);
    r.pick(static_cast<int>(pauses.size()), 0);
    return std::string{bytes} + r.tail();
}

//----------------------------------------------------------------------------------------------
// lifecycle

namespace {

using scenario::json;
using scenario::phase;
using scenario::verb;

// The hook phases a decoded scope may use, in the order they are written.
constexpr std::array<phase, 10> hook_phases = {phase::on_request,
                                               phase::pre_parsing,
                                               phase::pre_validation,
                                               phase::pre_handler,
                                               phase::pre_serialization,
                                               phase::on_send,
                                               phase::on_response,
                                               phase::on_error,
                                               phase::on_request_abort,
                                               phase::on_timeout};

enum class role {
    request_hook,
    pre_serialization,
    on_send,
    other_hook,
    handler,
    not_found,
    error_handler
};

role role_of(phase p) {
    switch (p) {
    case phase::on_request:
    case phase::pre_parsing:
    case phase::pre_validation:
    case phase::pre_handler:
        return role::request_hook;
    case phase::pre_serialization:
        return role::pre_serialization;
    case phase::on_send:
        return role::on_send;
    default:
        return role::other_hook;
    }
}

// Reply-side hooks never send: an unguarded send there re-enters the hook
// (scenarios/README.md).
std::vector<verb> verbs_for(role r) {
    switch (r) {
    case role::request_hook:
        return {verb::continue_, verb::throw_, verb::send, verb::hang};
    case role::pre_serialization:
        return {verb::continue_, verb::throw_};
    case role::on_send:
        return {verb::continue_, verb::throw_, verb::replace_payload};
    case role::other_hook:
        return {verb::continue_, verb::throw_};
    case role::handler:
        return {verb::continue_, verb::send, verb::throw_, verb::hang};
    case role::not_found:
        return {verb::send, verb::continue_, verb::throw_};
    case role::error_handler:
        return {verb::send, verb::continue_, verb::throw_, verb::rethrow};
    }
    return {verb::continue_};
}

// Timing: delays far apart (the model cannot decide races; the fuzzer skips
// what it calls one).
constexpr std::array<int, 4> delays = {0, 10, 100, 400};
constexpr std::array<int, 4> send_statuses = {0, 201, 404, 503};
constexpr std::array<int, 3> error_statuses = {0, 400, 503};
constexpr std::array<char const*, 4> route_methods = {"GET", "POST", "PUT", "DELETE"};
constexpr std::array<char const*, 3> route_urls = {"/", "/a", "/items/:id"};
constexpr std::array<char const*, 5> request_methods = {"GET", "POST", "HEAD", "PUT", "DELETE"};

int nearest(int value, int const* options, std::size_t n) {
    std::size_t best = 0;
    for (std::size_t i = 1; i < n; ++i)
        if (std::abs(options[i] - value) < std::abs(options[best] - value))
            best = i;
    return static_cast<int>(best);
}

template <std::size_t N>
int nearest(int value, std::array<int, N> const& options) {
    return nearest(value, options.data(), N);
}

template <std::size_t N>
int index_of(std::string const& value, std::array<char const*, N> const& options) {
    for (std::size_t i = 0; i < N; ++i)
        if (value == options[i])
            return static_cast<int>(i);
    return 0;
}

/// Payload options: 0 none, 1 json object, 2 json string, 3 string, 4 buffer, 5
/// empty, 6 stream, 7 stream failing after its first chunk.
json payload_of(int choice) {
    switch (choice) {
    case 1:
        return {{"kind", "json"}, {"value", {{"v", 1}}}};
    case 2:
        return {{"kind", "json"}, {"value", "s"}};
    case 3:
        return {{"kind", "string"}, {"value", "text"}};
    case 4:
        return {{"kind", "buffer"}, {"base64", "AAE="}};
    case 5:
        return {{"kind", "empty"}};
    case 6:
        return {{"kind", "stream"}, {"chunks", json::array({"a", "b"})}, {"chunkDelayMs", 5}};
    case 7:
        return {{"kind", "stream"},
                {"chunks", json::array({"a", "b"})},
                {"chunkDelayMs", 5},
                {"failAfterChunks", 1}};
    default:
        return nullptr;
    }
}

int payload_hint(scenario::payload const* pp) {
    if (!pp)
        return 0;
    scenario::payload const& p = *pp;
    switch (p.kind) {
    case scenario::payload_kind::json_value:
        return p.value.is_string() ? 2 : 1;
    case scenario::payload_kind::string:
        return 3;
    case scenario::payload_kind::buffer:
        return 4;
    case scenario::payload_kind::empty:
        return 5;
    case scenario::payload_kind::stream:
    case scenario::payload_kind::web_stream:
        return p.fail_after_chunks ? 7 : 6;
    case scenario::payload_kind::response:
        return 6;
    case scenario::payload_kind::error: // kinds of ops only (scenario-format
                                        // §1.6)
    case scenario::payload_kind::undefined:
    case scenario::payload_kind::read: // v2.6 (§1.13): the decoder does not make it yet
        return 0;
    }
    return 0;
}

int payload_hint(scenario::action const* a) {
    return payload_hint(a && a->body ? &*a->body : nullptr);
}

// v2 ops (scenario-format §1.6), read after everything else
// (walker::ops_extension).
using scenario::op_kind;

/// The ops a role may run before its end, in choice order: reply ops where a
/// reply is at hand (not in onResponse/onError/onRequestAbort/onTimeout:
/// other_hook), sends only where v1 sends.
std::vector<op_kind> op_kinds_for(role r) {
    std::vector<op_kind> out;
    bool const reply_ops = r != role::other_hook;
    bool const sends = r == role::request_hook || r == role::handler || r == role::not_found ||
                       r == role::error_handler;
    if (reply_ops)
        out.insert(out.end(),
                   {op_kind::code, op_kind::header, op_kind::remove_header, op_kind::type});
    if (sends)
        out.push_back(op_kind::send);
    out.insert(out.end(), {op_kind::set, op_kind::await_});
    return out;
}

constexpr std::array<int, 3> op_codes = {201, 404, 503};
constexpr std::array<char const*, 2> op_header_names = {"x-op", "content-type"};
// JSON types only: text/plain before an object send makes reply.send throw into the caller,
// which the engine does not model (harness/property/README.md, the generator's restrictions)
constexpr std::array<char const*, 2> op_types = {"application/json", "application/x-gen+json"};
constexpr std::array<char const*, 2> op_flags = {"a", "b"};

/// An `error` PAYLOAD: new Error("boom") with one of error_statuses as
/// statusCode (0: none).
json error_payload_of(int status) {
    json e = {{"kind", "error"}, {"message", "boom"}};
    if (status)
        e["statusCode"] = status;
    return e;
}

int error_hint(scenario::payload const* p) {
    if (!p || p->kind != scenario::payload_kind::error || !p->error.status_code)
        return 0;
    return nearest(*p->error.status_code, error_statuses);
}

bool takes_payload(role r, verb v) {
    if (v == verb::send || v == verb::replace_payload)
        return true;
    return v == verb::continue_ &&
           (r == role::handler || r == role::not_found || r == role::error_handler);
}

/// The paths a step can ask for: every route (":id" filled in) and a miss per
/// prefix.
struct url_book {
    std::set<std::string> route_keys; // "METHOD full-path", as the loader checks duplicates
    std::vector<std::string> urls;
    std::vector<std::string> prefixes = {""};
};

class walker {
public:
    walker(chooser& c, scenario::scenario const* src)
        : c_{c}
        , src_{src} {}

    json scenario_doc() {
        scenario::scope const* root = src_ ? &src_->application.root : nullptr;
        json app = scope(root, 0, "", true, "/app");
        json options = json::object();
        scenario::app_options const* o = src_ ? &src_->application.options : nullptr;
        if (pick(2, o && o->connection_timeout_ms > 0))
            options["connectionTimeoutMs"] = 600;
        if (pick(2, o && o->body_limit < 64))
            options["bodyLimit"] = 8;
        if (!options.empty())
            app["options"] = options;

        std::vector<scenario::step const*> src_steps;
        if (src_)
            flatten(src_->steps, src_steps);
        json steps = json::array();
        int const n = 1 + pick(3, static_cast<int>(src_steps.size()) - 1);
        for (int i = 0; i < n; ++i)
            steps.push_back(
                step(i, i < static_cast<int>(src_steps.size()) ? src_steps[i] : nullptr));
        json doc = {{"description", "decoded from lifecycle fuzz input by fuzz/decode.cpp"},
                    {"dialect", "fastify"},
                    {"app", app},
                    {"steps", steps}};
        ops_extension(doc);
        return doc;
    }

private:
    int pick(int n, int hint) { return c_.pick(n, src_ ? hint : 0); }

    int pick(int n, bool hint) { return pick(n, hint ? 1 : 0); }

    static void flatten(std::vector<scenario::step> const& steps,
                        std::vector<scenario::step const*>& out) {
        for (scenario::step const& s : steps) {
            if (s.kind == scenario::step_kind::request)
                out.push_back(&s);
            else if (s.kind == scenario::step_kind::parallel)
                flatten(s.children, out);
        }
    }

    /// Where a decoded ACTION sits in the document, for ops_extension.
    struct slot {
        std::string path; // JSON pointer
        role r;
        scenario::action const* src;
    };

    json action(role r, scenario::action const* a, std::string path) {
        slots_.push_back({std::move(path), r, a});
        return action_v1(r, a);
    }

    /// v2 `ops` (scenario-format §1.6), decoded after the steps: an input from
    /// before ops ends there, its missing bytes choose 0 (no ops), so it decodes
    /// as it did. Up to seven of the decoded ACTIONs become ops ACTIONs (their
    /// style kept).
    void ops_extension(json& doc) {
        if (slots_.empty())
            return;
        std::vector<int> src_slots;
        for (std::size_t i = 0; i < slots_.size(); ++i)
            if (slots_[i].src && slots_[i].src->ops) // `"ops": []` too
                src_slots.push_back(static_cast<int>(i));
        int const k = pick(8, std::min<int>(7, static_cast<int>(src_slots.size())));
        int const n_slots = std::min<int>(256, static_cast<int>(slots_.size()));
        for (int j = 0; j < k; ++j) {
            slot const& s = slots_[static_cast<std::size_t>(
                pick(n_slots, j < static_cast<int>(src_slots.size()) ? src_slots[j] : 0))];
            json& target = doc[json::json_pointer{s.path}];
            bool const callback = target.value("style", "") == "callback";
            json out = json::object();
            if (callback)
                out["style"] = "callback";
            out["ops"] = ops(s.r, callback, s.src && s.src->ops ? &*s.src->ops : nullptr);
            target = out;
        }
    }

    json op_json(op_kind k, scenario::op const* o) {
        switch (k) {
        case op_kind::code: {
            int const hint = o && o->code.is_number() ? nearest(o->code.get<int>(), op_codes) : 0;
            return {{"code", op_codes[pick(op_codes.size(), hint)]}};
        }
        case op_kind::header:
            return {{"header", json::array({"x-op", "1"})}};
        case op_kind::remove_header:
            return {{"removeHeader",
                     op_header_names[pick(op_header_names.size(),
                                          o ? index_of(o->name, op_header_names) : 0)]}};
        case op_kind::type:
            return {{"type", op_types[pick(op_types.size(), o ? index_of(o->name, op_types) : 0)]}};
        case op_kind::send: {
            // 0 reply.send(), 1-7 payload_of, 8 an Error
            scenario::payload const* p = o && o->body ? &*o->body : nullptr;
            int const hint = p && p->kind == scenario::payload_kind::error ? 8 : payload_hint(p);
            int const c = pick(9, hint);
            json body =
                c == 8
                    ? error_payload_of(error_statuses[pick(error_statuses.size(), error_hint(p))])
                    : payload_of(c);
            return {{"send", body}};
        }
        case op_kind::set: {
            std::string const flag =
                op_flags[pick(op_flags.size(), o ? index_of(o->flag.flag, op_flags) : 0)];
            return {{"set", {{"flag", flag}, {"value", pick(2, o && o->flag.value) == 1}}}};
        }
        default:
            return {{"await", delays[pick(delays.size(), o ? nearest(o->ms, delays) : 0)]}};
        }
    }

    /// What a throw or done(err) raises: an Error with one of error_statuses, then a second
    /// choice (read after it; 0, also when the input has run out, keeps the Error) of a
    /// non-Error value: undefined, null, false, "oops", 42, a plain object (issue 15).
    json thrown_of(scenario::payload const* p) {
        json e = error_payload_of(error_statuses[pick(error_statuses.size(), error_hint(p))]);
        static json const values[] = {
            {{"kind", "undefined"}},
            {{"kind", "json"}, {"value", nullptr}},
            {{"kind", "json"}, {"value", false}},
            {{"kind", "string"}, {"value", "oops"}},
            {{"kind", "json"}, {"value", 42}},
            {{"kind", "json"}, {"value", {{"statusCode", 418}, {"message", "thrown object"}}}}};
        int hint = 0;
        if (p && p->kind != scenario::payload_kind::error)
            for (int i = 0; i < 6; ++i)
                if (values[i]["kind"] == scenario::to_string(p->kind) &&
                    (p->kind == scenario::payload_kind::undefined ||
                     (p->kind == scenario::payload_kind::string ? json(p->bytes) : p->value) ==
                         values[i]["value"]))
                    hint = i + 1;
        int const c = pick(7, hint);
        return c == 0 ? e : values[c - 1];
    }

    /// A replacement payload for a payload hook or a return: payload_of 1..last
    /// (no streams before serialization: JSON.stringify of a Node Readable shows
    /// Node internals), or an Error.
    json returned_payload(role r, scenario::payload const* p) {
        int const last = r == role::pre_serialization ? 5 : 7;
        int const hint = p && p->kind == scenario::payload_kind::error
                             ? last
                             : std::clamp(payload_hint(p) - 1, 0, last - 1);
        int const c = pick(last + 1, hint);
        if (c == last)
            return error_payload_of(error_statuses[pick(error_statuses.size(), error_hint(p))]);
        return payload_of(c + 1);
    }

    json ops(role r, bool callback, std::vector<scenario::op> const* src) {
        std::vector<op_kind> const kinds = op_kinds_for(r);
        std::vector<scenario::op const*> body;
        scenario::op const* end = nullptr;
        if (src)
            for (scenario::op const& o : *src) {
                if (o.kind == op_kind::return_ || o.kind == op_kind::throw_ ||
                    o.kind == op_kind::hang || o.kind == op_kind::done) {
                    end = &o;
                    break;
                }
                body.push_back(&o);
            }
        json out = json::array();
        bool after_await = false;
        bool sent = false; // one send per ACTION, as the property generator
        int const n = pick(5, std::min<int>(4, static_cast<int>(body.size())));
        for (int i = 0; i < n; ++i) {
            scenario::op const* o = i < static_cast<int>(body.size()) ? body[i] : nullptr;
            std::vector<op_kind> avail = kinds;
            if (sent)
                avail.erase(std::remove(avail.begin(), avail.end(), op_kind::send), avail.end());
            int hint = 0;
            bool const not_found = o && o->kind == op_kind::call_not_found;
            for (std::size_t k = 0; o && k < avail.size(); ++k)
                if (avail[k] == o->kind || (not_found && avail[k] == op_kind::send))
                    hint = static_cast<int>(k);
            op_kind const k = avail[pick(static_cast<int>(avail.size()), hint)];
            after_await = after_await || k == op_kind::await_;
            sent = sent || k == op_kind::send;
            // v2.6 callNotFound is not decoded yet: a choice more per send would change what
            // every regression input decodes to (D41); the generator makes it (D55)
            out.push_back(op_json(k, o && o->kind == k ? o : nullptr));
        }
        bool const hook = r != role::handler && r != role::not_found && r != role::error_handler;
        bool const payload_hook = r == role::pre_serialization || r == role::on_send;
        scenario::payload const* end_body = end && end->body ? &*end->body : nullptr;
        if (sent) {
            // after a send the function ends as Fastify's docs ask: async hooks `return reply`,
            // callback hooks call no done, handlers end or `return reply` (going on after a
            // send runs overlapping lifecycles the engine does not model yet)
            bool const returns_reply =
                !callback && (hook || pick(2, end && end->return_reply) == 1);
            if (returns_reply)
                out.push_back({{"return", "reply"}});
            return out;
        }
        if (hook && callback) {
            // a callback hook goes on only through done: done(), done(err),
            // done(null, value) (payload hooks), or never (no done)
            int hint = payload_hook ? 3 : 2;
            if (end && end->kind == op_kind::done)
                hint = end->done == scenario::done_with::error     ? 1
                       : end->done == scenario::done_with::payload ? 2
                                                                   : 0;
            int const c = pick(payload_hook ? 4 : 3, hint);
            int with = !payload_hook && c == 2 ? 3 : c;
            if (with == 1 && r == role::pre_serialization)
                with = 0; // preSerialization raising: restricted as in the generator

            if (with == 0)
                out.push_back({{"done", nullptr}});
            else if (with == 1)
                out.push_back({{"done", {{"error", thrown_of(end_body)}}}});
            else if (with == 2)
                out.push_back({{"done", {{"payload", returned_payload(r, end_body)}}}});
            return out;
        }
        // 0 nothing (resolves undefined), 1 return, 2 throw an Error, 3 hang
        int hint = 0;
        if (end)
            hint = end->kind == op_kind::return_ ? 1 : end->kind == op_kind::throw_ ? 2 : 3;
        int const c = pick(4, hint);
        // request hooks: no returned values (from preParsing it would be the new request stream)
        bool const may_return = r != role::other_hook && r != role::request_hook;
        if (c == 1 && may_return) {
            // `return reply` where it adopts the reply: async request hooks and
            // handlers
            bool const reply_ok = !callback && !payload_hook;
            if (reply_ok && pick(2, end && end->return_reply) == 1)
                out.push_back({{"return", "reply"}});
            else
                out.push_back(
                    {{"return",
                      payload_hook
                          ? returned_payload(r, end_body)
                          : payload_of(1 +
                                       pick(7, std::clamp(payload_hint(end_body) - 1, 0, 6)))}});
        } else if (c == 2 && !(callback && after_await) && r != role::pre_serialization) {
            // a callback's throw is synchronous: not after an await (an uncaught
            // exception)
            out.push_back({{"throw", thrown_of(end_body)}});
        } else if (c == 3) {
            out.push_back({{"hang", true}});
        }
        return out;
    }

    json action_v1(role r, scenario::action const* a) {
        json out = json::object();
        if (pick(2, a && a->how == scenario::style::callback))
            out["style"] = "callback";
        if (int const d =
                delays[pick(delays.size(), a && a->delay_ms ? nearest(*a->delay_ms, delays) : 0)])
            out["delayMs"] = d;
        std::vector<verb> const verbs = verbs_for(r);
        int hint = 0;
        if (a)
            for (std::size_t i = 0; i < verbs.size(); ++i)
                if (verbs[i] == a->what)
                    hint = static_cast<int>(i);
        verb const v = verbs[pick(static_cast<int>(verbs.size()), hint)];
        out["do"] = scenario::to_string(v);
        if (takes_payload(r, v)) {
            // replacePayload needs a payload; the others may send nothing.
            int const base = v == verb::replace_payload ? 1 : 0;
            int const p = base + pick(8 - base, payload_hint(a) - base);
            json body = payload_of(p);
            if (!body.is_null())
                out["payload"] = body;
        }
        if (v == verb::send) {
            int const s = send_statuses[pick(
                send_statuses.size(), a && a->status ? nearest(*a->status, send_statuses) : 0)];
            if (s)
                out["status"] = s;
        }
        if (v == verb::throw_) {
            int const s = error_statuses[pick(error_statuses.size(),
                                              a && a->error && a->error->status_code
                                                  ? nearest(*a->error->status_code, error_statuses)
                                                  : 0)];
            if (s)
                out["error"] = {{"statusCode", s}};
        }
        return out;
    }

    static std::vector<scenario::action> const* hooks_of(scenario::scope const* s, phase p) {
        if (!s)
            return nullptr;
        for (auto const& [ph, list] : s->hooks)
            if (ph == p)
                return &list;
        return nullptr;
    }

    json scope(scenario::scope const* s,
               int depth,
               std::string const& prefix,
               bool nf_allowed,
               std::string const& at) {
        json out = json::object();
        json hooks = json::object();
        for (phase p : hook_phases) {
            auto const* src = hooks_of(s, p);
            int const n = pick(3, src ? std::min<int>(2, static_cast<int>(src->size())) : 0);
            if (n == 0)
                continue;
            json list = json::array();
            for (int i = 0; i < n; ++i)
                list.push_back(
                    action(role_of(p),
                           src && i < static_cast<int>(src->size()) ? &(*src)[i] : nullptr,
                           at + "/hooks/" + scenario::to_string(p) + "/" + std::to_string(i)));
            hooks[scenario::to_string(p)] = list;
        }
        if (!hooks.empty())
            out["hooks"] = hooks;
        if (pick(2, s && s->error_handler))
            out["errorHandler"] = action(role::error_handler,
                                         s && s->error_handler ? &*s->error_handler : nullptr,
                                         at + "/errorHandler");
        // One not-found handler per prefix (D11): only the root and prefixed
        // encapsulated plugins.
        if (nf_allowed && pick(2, s && s->not_found_handler))
            out["notFoundHandler"] =
                action(role::not_found,
                       s && s->not_found_handler ? &*s->not_found_handler : nullptr,
                       at + "/notFoundHandler");

        json routes = json::array();
        int const n_routes = pick(3, s ? std::min<int>(2, static_cast<int>(s->routes.size())) : 0);
        for (int i = 0; i < n_routes; ++i) {
            scenario::route const* r =
                s && i < static_cast<int>(s->routes.size()) ? &s->routes[i] : nullptr;
            std::string const method = route_methods[pick(
                route_methods.size(), r ? index_of(r->method, route_methods) : 0)];
            std::string const url =
                route_urls[pick(route_urls.size(), r ? index_of(r->url, route_urls) : 0)];
            json handler = action_v1(role::handler, r ? &r->handler : nullptr);
            if (!book_.route_keys.insert(method + " " + prefix + url).second)
                continue; // Fastify refuses a duplicate route: leave this one out
            slots_.push_back({at + "/routes/" + std::to_string(routes.size()) + "/handler",
                              role::handler,
                              r ? &r->handler : nullptr});
            std::string path = prefix + url;
            auto const colon = path.find(":id");
            if (colon != std::string::npos)
                path.replace(colon, 3, "7");
            book_.urls.push_back(path);
            routes.push_back({{"method", method}, {"url", url}, {"handler", handler}});
        }
        if (!routes.empty())
            out["routes"] = routes;

        if (depth < 2) {
            json plugins = json::array();
            int const n_plugins = pick(
                depth == 0 ? 3 : 2,
                s ? std::min<int>(depth == 0 ? 2 : 1, static_cast<int>(s->plugins.size())) : 0);
            for (int i = 0; i < n_plugins; ++i) {
                scenario::scope const* p =
                    s && i < static_cast<int>(s->plugins.size()) ? &s->plugins[i] : nullptr;
                std::string const name = "p" + std::to_string(++plugins_);
                bool const encapsulate = pick(2, p && !p->encapsulate) == 0;
                bool const prefixed = pick(2, p && !p->prefix.empty()) == 1;
                json plugin = {{"name", name}};
                if (prefixed)
                    plugin["prefix"] = "/" + name;
                if (!encapsulate)
                    plugin["encapsulate"] = false;
                std::string const inner = encapsulate && prefixed ? prefix + "/" + name : prefix;
                if (encapsulate && prefixed)
                    book_.prefixes.push_back(inner);
                json body = scope(p,
                                  depth + 1,
                                  inner,
                                  encapsulate && prefixed,
                                  at + "/plugins/" + std::to_string(plugins.size()));
                for (auto it = body.begin(); it != body.end(); ++it)
                    plugin[it.key()] = it.value();
                plugins.push_back(plugin);
            }
            if (!plugins.empty())
                out["plugins"] = plugins;
        }
        return out;
    }

    json step(int i, scenario::step const* s) {
        std::vector<std::string> urls = book_.urls;
        for (std::string const& p : book_.prefixes)
            urls.push_back(p + "/nope");
        int url_hint = 0;
        if (s)
            for (std::size_t k = 0; k < urls.size(); ++k)
                if (urls[k] == s->request.url)
                    url_hint = static_cast<int>(k);
        std::string const method = request_methods[pick(
            request_methods.size(), s ? index_of(s->request.method, request_methods) : 0)];
        std::string const url = urls[pick(static_cast<int>(urls.size()), url_hint)];
        json request = {{"method", method}, {"url", url}};
        if (method == "POST" || method == "PUT") {
            int hint = 0;
            if (s && s->request.body)
                hint = !s->request.body->empty() && s->request.body->front() == '{' ? 1 : 2;
            int const body = pick(3, hint);
            if (body == 1) {
                request["headers"] = {{"content-type", "application/json"}};
                request["body"] = R"({"a":1})";
            } else if (body == 2) {
                request["headers"] = {{"content-type", "text/plain"}};
                request["body"] = "hello world!";
            }
        }
        json out = {{"id", "r" + std::to_string(i + 1)}, {"request", request}};
        int client_hint = 0;
        if (s) {
            scenario::client_options const& c = s->client;
            if (c.abort_after_ms)
                client_hint = *c.abort_after_ms < 150 ? 1 : 2;
            else if (c.abort_after_request_bytes || c.abort_after_body_bytes)
                client_hint = 3;
            else if (c.abort_after_response_bytes || c.abort_after_response_body_bytes)
                client_hint = 4;
        }
        switch (pick(5, client_hint)) {
        case 1:
            out["client"] = {{"abortAfterMs", 50}};
            break;
        case 2:
            out["client"] = {{"abortAfterMs", 250}};
            break;
        case 3:
            out["client"] = {{"abortAfterRequestBytes", 20}};
            break;
        case 4:
            out["client"] = {{"abortAfterResponseBodyBytes", 2}};
            break;
        default:
            break;
        }
        return out;
    }

    chooser& c_;
    scenario::scenario const* src_;
    url_book book_;
    int plugins_ = 0;
    std::vector<slot> slots_;
};

} // namespace

scenario::json decode_lifecycle_json(std::uint8_t const* data, std::size_t size) {
    FuzzedDataProvider in{data, size};
    reader r{in};
    return walker{r, nullptr}.scenario_doc();
}

result<scenario::scenario> decode_lifecycle(std::uint8_t const* data, std::size_t size) {
    return scenario::from_json(
        decode_lifecycle_json(data, size), "<fuzz lifecycle input>", "fuzz/lifecycle");
}

std::string encode_lifecycle(scenario::scenario const& sc) {
    recorder r;
    walker{r, &sc}.scenario_doc();
    return r.tail();
}

} // namespace lifecheck::fuzz
