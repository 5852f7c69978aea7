// The JavaScript/Node runtime model: values, JSON.stringify, promises and the event loop.
#include "harness/model/detail/js.hpp"

#include <cmath>
#include <cstdio>
#include <map>

namespace lifecheck::model::detail {

js_value undefined_value() {
    return js_value{};
}

js_value string_value(std::string s) {
    js_value v;
    v.type = js_type::string;
    v.bytes = std::move(s);
    return v;
}

js_value
error_value(std::string message, std::optional<int> status_code, std::optional<std::string> code) {
    js_value v;
    v.type = js_type::error;
    v.error = std::make_shared<js_error>(
        js_error{std::move(message), status_code, std::move(code), {}, {}, {}});
    return v;
}

namespace {

std::string quote(std::string const& s) {
    // nlohmann escapes exactly like JSON.stringify for well-formed UTF-8 (\b \f \n \r \t, other
    // control characters as \u00xx, everything else verbatim).
    return json(s).dump(-1, ' ', false, json::error_handler_t::replace);
}

std::string number_text(json const& v) {
    if (v.is_number_integer() || v.is_number_unsigned())
        return v.dump();
    double const d = v.get<double>();
    if (!std::isfinite(d))
        return "null"; // JSON.stringify(NaN) === "null"
    // JS prints integral doubles below 1e21 without a fraction ("1", not "1.0").
    if (d == std::floor(d) && std::fabs(d) < 1e21) {
        char buf[64];
        std::snprintf(buf, sizeof buf, "%.0f", d);
        return buf;
    }
    return v.dump();
}

} // namespace

std::string json_stringify(json const& v) {
    switch (v.type()) {
    case json::value_t::null:
        return "null";
    case json::value_t::boolean:
        return v.get<bool>() ? "true" : "false";
    case json::value_t::number_integer:
    case json::value_t::number_unsigned:
    case json::value_t::number_float:
        return number_text(v);
    case json::value_t::string:
        return quote(v.get<std::string>());
    case json::value_t::array: {
        std::string out = "[";
        bool first = true;
        for (auto const& e : v) {
            if (!first)
                out += ',';
            first = false;
            out += json_stringify(e);
        }
        return out + "]";
    }
    case json::value_t::object: {
        std::string out = "{";
        bool first = true;
        for (auto it = v.begin(); it != v.end(); ++it) {
            if (!first)
                out += ',';
            first = false;
            out += quote(it.key());
            out += ':';
            out += json_stringify(it.value());
        }
        return out + "}";
    }
    default:
        return "null";
    }
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
    auto const it = texts.find(status);
    return it == texts.end() ? std::string{} : std::string{it->second};
}

std::string default_error_json(int status, js_error const& e) {
    // fastify-lifecycle §4.4: fast-json-stringify schema order statusCode, code, error, message; an
    // undefined property (no code, unknown status text) is left out.
    std::string out = "{\"statusCode\":" + std::to_string(status);
    if (e.code)
        out += ",\"code\":" + quote(*e.code);
    std::string const text = status_text(status);
    if (!text.empty())
        out += ",\"error\":" + quote(text);
    if (e.has_message)
        out += ",\"message\":" + quote(e.message);
    return out + "}";
}

//------------------------------------------------------------------------------

void promise::resolve(js_value const& v) {
    if (state_ != state::pending)
        return;
    if (v.type == js_type::reply) {
        // Resolving with a thenable: NewPromiseResolveThenableJob calls reply.then one
        // microtask later; the promise settles when Reply.then calls back (fastify-lifecycle §2.5).
        auto self = shared_from_this();
        void* r = v.reply;
        loop_.microtask([self, r] {
            self->loop_.adopt_reply(r,
                                    [self] { self->settle(state::fulfilled, undefined_value()); });
        });
        return;
    }
    settle(state::fulfilled, v);
}

void promise::reject(js_value const& v) {
    if (state_ != state::pending)
        return;
    settle(state::rejected, v);
}

void promise::settle(state s, js_value const& v) {
    if (state_ != state::pending)
        return;
    state_ = s;
    value_ = v;
    for (auto& r : reactions_) {
        auto fn = s == state::fulfilled ? r.first : r.second;
        js_value val = value_;
        loop_.microtask([fn, val] {
            if (fn)
                fn(val);
        });
    }
    reactions_.clear();
}

void promise::then(on_value fulfilled, on_value rejected) {
    if (state_ == state::pending) {
        reactions_.emplace_back(std::move(fulfilled), std::move(rejected));
        return;
    }
    auto fn = state_ == state::fulfilled ? std::move(fulfilled) : std::move(rejected);
    js_value val = value_;
    loop_.microtask([fn, val] {
        if (fn)
            fn(val);
    });
}

//------------------------------------------------------------------------------

std::uint64_t event_loop::after(double delay_ms,
                                std::string owner,
                                std::string strand,
                                std::string what,
                                std::function<void()> fn) {
    // Node clamps setTimeout(0) to 1 ms; the exact value only matters for race detection.
    double const d = delay_ms < 1 ? 1 : delay_ms;
    std::uint64_t const id =
        at(now_ + d, std::move(owner), std::move(strand), std::move(what), std::move(fn));
    for (auto& [key, t] : tasks_) {
        if (t.seq == id)
            t.timer_delay = d;
    }
    return id;
}

std::uint64_t event_loop::at(double when,
                             std::string owner,
                             std::string strand,
                             std::string what,
                             std::function<void()> fn) {
    macrotask t;
    t.at = when < now_ ? now_ : when;
    t.seq = ++seq_;
    t.owner = std::move(owner);
    t.strand = std::move(strand);
    t.what = std::move(what);
    t.run = std::move(fn);
    std::uint64_t const id = t.seq;
    tasks_.emplace(std::make_pair(t.at, t.seq), std::move(t));
    return id;
}

void event_loop::cancel(std::uint64_t id) {
    for (auto it = tasks_.begin(); it != tasks_.end(); ++it) {
        if (it->second.seq == id) {
            tasks_.erase(it);
            return;
        }
    }
}

void event_loop::mark_race(std::string const& owner, std::string const& why) {
    if (owner.empty())
        return;
    races_.emplace(owner, why); // keeps the first reason
}

void event_loop::run_guarded(std::function<void()> const& fn) {
    if (crashed_)
        return;
    try {
        fn();
    } catch (js_exception const& e) {
        crashed_ = true;
        crash_owner_ = current_owner_;
        std::string what = "uncaught exception";
        if (e.value.error) {
            what += ": ";
            if (e.value.error->code)
                what += *e.value.error->code + " ";
            what += e.value.error->message;
        }
        crash_reason_ = what;
    }
}

void event_loop::drain() {
    // Node's processTicksAndRejections: all ticks, then all microtasks, until both are empty.
    while (!crashed_ && (!ticks_.empty() || !microtasks_.empty())) {
        while (!crashed_ && !ticks_.empty()) {
            auto fn = std::move(ticks_.front());
            ticks_.pop_front();
            run_guarded(fn);
        }
        while (!crashed_ && !microtasks_.empty()) {
            auto fn = std::move(microtasks_.front());
            microtasks_.pop_front();
            run_guarded(fn);
        }
    }
    if (crashed_) {
        ticks_.clear();
        microtasks_.clear();
    }
}

void event_loop::run() {
    drain();
    std::size_t guard = 0;
    while (!crashed_ && !tasks_.empty()) {
        if (++guard > 200000) {
            races_.emplace("*", "event limit reached (runaway simulation)");
            break;
        }
        auto it = tasks_.begin();
        macrotask task = std::move(it->second);
        tasks_.erase(it);
        // Race check: another task of the same owner from another strand within the margin
        // could run first in a real process (timer jitter, I/O latency).
        if (!task.owner.empty()) {
            for (auto const& [key, other] : tasks_) {
                if (key.first - task.at >= race_margin_ms)
                    break;
                bool const same_list = task.timer_delay && other.timer_delay &&
                                       *task.timer_delay == *other.timer_delay;
                if (other.owner == task.owner && other.strand != task.strand && !same_list) {
                    mark_race(task.owner,
                              "'" + task.what + "' at " + std::to_string(int(task.at)) +
                                  " ms and '" + other.what + "' at " +
                                  std::to_string(int(other.at)) + " ms are closer than " +
                                  std::to_string(int(race_margin_ms)) + " ms");
                    break;
                }
            }
        }
        now_ = task.at;
        current_owner_ = task.owner;
        run_guarded(task.run);
        drain();
        current_owner_.clear();
    }
}

} // namespace lifecheck::model::detail
