// A tiny model of the parts of JavaScript and Node that Fastify's timing depends on: values,
// promises, process.nextTick, microtasks and timers on a virtual clock.
#pragma once

#include "harness/model/model.hpp"
#include "harness/scenario/scenario.hpp"

#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

namespace lifecheck::model::detail {

using scenario::json;

/// An `Error` instance (or what Fastify creates): the fields the lifecycle reads.
struct js_error {
    std::string message;
    std::optional<int> status_code; // err.statusCode
    std::optional<std::string> code;
    std::optional<int> status;     // err.status (v2 `error` PAYLOAD): read after statusCode
    scenario::header_list headers; // err.headers: setErrorHeaders copies them to the reply
    std::optional<bool> expose;    // err.expose: Koa answers with the message when true
    bool has_message = true;       // false: a non-Error value without a string `message`
};

/// A source stream (Node Readable or WHATWG ReadableStream) created from a PAYLOAD.
struct stream_source {
    bool web = false; // ReadableStream (true) or Node Readable
    std::vector<std::string> chunks;
    int chunk_delay_ms = 0;
    std::optional<int> fail_after_chunks;
    bool locked = false;    // getReader() was called (by the user or by Fastify)
    bool disturbed = false; // read() was called at least once
    bool destroyed = false; // eos(res) of a closed response destroyed it (it never flows)
    // ReadableStream only: start() settled (a microtask after construction). Until then a read
    // waits; after it, the adapter's pull enqueues the first chunk into the read at once.
    bool started = false;
};

/// A WHATWG Response object; `shared` instances are the same object across requests.
struct response_object {
    int status = 200;
    scenario::header_list headers;
    std::shared_ptr<stream_source> body; // null for `new Response(null)`
};

enum class js_type {
    undefined,
    null,
    boolean,
    number,
    string,
    object, // a plain object or array (serialized with JSON.stringify)
    buffer,
    node_stream,
    web_stream,
    response,
    error,
    reply, // the Reply object (a thenable)
};

/// A JavaScript value as far as Fastify's `send` classification cares.
struct js_value {
    js_type type = js_type::undefined;
    json data;                                 // boolean, number, object
    std::string bytes;                         // string, buffer
    std::shared_ptr<stream_source> stream;     // node_stream, web_stream
    std::shared_ptr<response_object> response; // response
    std::shared_ptr<js_error> error;           // error
    void* reply = nullptr;                     // reply: the request it belongs to
    body_class origin = body_class::none;      // what the client will see if this is written

    bool is_undefined() const { return type == js_type::undefined; }

    bool is_nullish() const { return type == js_type::undefined || type == js_type::null; }

    /// `!value`: undefined, null, false, 0, "".
    bool is_falsy() const {
        if (is_nullish())
            return true;
        if (type == js_type::boolean)
            return !data.get<bool>();
        if (type == js_type::number)
            return data.get<double>() == 0;
        return type == js_type::string && bytes.empty();
    }
};

js_value undefined_value();
js_value string_value(std::string s);
js_value error_value(std::string message,
                     std::optional<int> status_code = std::nullopt,
                     std::optional<std::string> code = std::nullopt);

/// JSON.stringify of a JSON value (integral numbers without a fraction, key order kept).
std::string json_stringify(json const& v);

/// The reason phrase Node uses for `status` (http.STATUS_CODES), "" when unknown.
std::string status_text(int status);

/// Fastify's default error JSON, fastify-lifecycle §4.4: statusCode, code (when set), error,
/// message.
std::string default_error_json(int status, js_error const& e);

/// A synchronous JavaScript `throw` travelling up the simulated call stack. Only the model
/// throws and catches it, at exactly the places where Fastify has a try/catch.
struct js_exception {
    js_value value;
};

class event_loop;

/// A native promise: settles once; reactions run as microtasks.
class promise : public std::enable_shared_from_this<promise> {
public:
    using on_value = std::function<void(js_value const&)>;

    explicit promise(event_loop& loop)
        : loop_{loop} {}

    /// Resolves with `v`; a Reply (thenable) is adopted one microtask later (ES spec
    /// NewPromiseResolveThenableJob), anything else fulfils now.
    void resolve(js_value const& v);
    void reject(js_value const& v);
    void then(on_value fulfilled, on_value rejected);

    bool settled() const { return state_ != state::pending; }

private:
    enum class state { pending, fulfilled, rejected };
    void settle(state s, js_value const& v);

    event_loop& loop_;
    state state_ = state::pending;                         // pending until resolve/reject
    js_value value_;                                       // the settled value
    std::vector<std::pair<on_value, on_value>> reactions_; // registered while pending
};

using promise_ptr = std::shared_ptr<promise>;

/// Adopts a thenable Reply: set by the request model, called as `reply.then(f, r)`.
using adopt_reply_fn = std::function<void(void* reply, std::function<void()> fulfilled)>;

/// A pending timer or I/O event on the virtual clock.
struct macrotask {
    double at = 0;
    std::uint64_t seq = 0;
    std::string owner;                 // the request (step id) it concerns; "" for none
    std::string strand;                // tasks of one strand never race with each other
    std::string what;                  // for explanations
    std::optional<double> timer_delay; // setTimeout's delay: timers of one delay share a list
    std::function<void()> run;
};

/// The virtual event loop: Node's order is macrotask, then (all nextTicks, all microtasks)
/// repeated until both queues are empty. Time only moves when a macrotask is taken.
class event_loop {
public:
    /// Two macrotasks of one owner, from different strands, closer than this are a race: real
    /// timers and I/O jitter by a few milliseconds (scenario-format §4: races need wide delay
    /// gaps).
    static constexpr double race_margin_ms = 20.0;

    double now() const { return now_; }

    void next_tick(std::function<void()> fn) { ticks_.push_back(std::move(fn)); }

    void microtask(std::function<void()> fn) { microtasks_.push_back(std::move(fn)); }

    /// Schedules `fn` at now + delay (setTimeout); returns an id for `cancel`. Node keeps one
    /// list per delay value and fires it in creation order, so timers of equal delay never race.
    std::uint64_t after(double delay_ms,
                        std::string owner,
                        std::string strand,
                        std::string what,
                        std::function<void()> fn);

    /// Schedules `fn` at an absolute time (I/O arriving from a client).
    std::uint64_t at(double when,
                     std::string owner,
                     std::string strand,
                     std::string what,
                     std::function<void()> fn);

    void cancel(std::uint64_t id);

    /// Runs macrotasks until none is left; a js_exception escaping a task is an uncaught
    /// exception and kills the simulated process (Node's default, also for rejections).
    void run();

    /// Drains nextTicks and microtasks (used after synchronous setup code).
    void drain();

    bool crashed() const { return crashed_; }

    std::string const& crash_reason() const { return crash_reason_; }

    std::string const& crash_owner() const { return crash_owner_; }

    /// Races found so far, per owner: a human-readable reason.
    std::map<std::string, std::string> const& races() const { return races_; }

    void mark_race(std::string const& owner, std::string const& why);

    /// The owner of the macrotask currently running ("" between tasks).
    std::string const& current_owner() const { return current_owner_; }

    bool idle() const { return tasks_.empty(); }

    /// How a promise adopts a Reply thenable (set by the request model).
    adopt_reply_fn adopt_reply;

    void set_now(double t) {
        if (t > now_)
            now_ = t;
    }

private:
    void run_guarded(std::function<void()> const& fn);

    double now_ = 0;                                              // the virtual clock, in ms
    std::uint64_t seq_ = 0;                                       // FIFO order among equal times
    std::map<std::pair<double, std::uint64_t>, macrotask> tasks_; // pending timers / I/O
    std::deque<std::function<void()>> ticks_;                     // process.nextTick queue
    std::deque<std::function<void()>> microtasks_;                // promise jobs
    bool crashed_ = false; // an uncaught exception ended the process
    std::string crash_reason_;
    std::string crash_owner_;
    std::string current_owner_;
    std::map<std::string, std::string> races_; // owner -> first race found
};

} // namespace lifecheck::model::detail
