// One request walking through the Fastify 5 lifecycle on the virtual event loop: the reply state
// of fastify-lifecycle §1 and the phase functions of §2–§7, each named after the Fastify function
// it models.
#pragma once

#include "harness/model/detail/app.hpp"
#include "harness/model/detail/js.hpp"
#include "harness/model/model.hpp"
#include "harness/scenario/scenario.hpp"

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace lifecheck::model::detail {

/// Accesses to state that several requests share (flags, shared Responses, `closing`), kept to
/// find cross-request races (scenario-format §4: races need wide delay gaps).
struct shared_access {
    double at = 0;
    int epoch = 0; // steps started together (a parallel group) share an epoch
    std::string owner;
    bool write = false;
    std::string value;
};

class request_run;

/// Everything the requests of one scenario share: the app, the loop, flags, shared Responses.
struct world {
    world(app_model const& m, scenario::app const& a)
        : app{m}
        , source{a} {}

    app_model const& app;
    scenario::app const& source;
    event_loop loop;
    std::map<std::string, bool> flags;                              // `set` / `when`
    std::map<std::string, std::shared_ptr<response_object>> shared; // `"shared": name`
    std::map<std::string, std::vector<std::string>> traces;         // owner -> labels
    bool closing = false;                                           // fastify.close() began
    int epoch = 0;                                                  // current step group
    std::map<std::string, std::vector<shared_access>> accesses;     // resource -> log
    std::map<std::string, std::string> nondeterministic;            // owner -> reason
    std::function<void()> on_request_end;                           // a request emitted `end`

    void trace(std::string const& owner, std::string const& label) {
        traces[owner].push_back(label);
    }

    /// Records an access and marks both owners when it races with another owner's access.
    void touch(std::string const& resource,
               std::string const& owner,
               bool write,
               std::string const& value);

    bool flag(std::string const& name, std::string const& owner);
    void set_flag(std::string const& name, bool value, std::string const& owner);
    void mark(std::string const& owner, std::string const& why);
};

/// The request as it reaches the server (from a request step or a parsed raw step).
struct request_input {
    std::string id;
    std::string method = "GET";
    std::string url = "/"; // as written (with query)
    scenario::header_list headers;
    std::optional<std::string> body;
    bool chunked = false;
    bool on_existing_connection = false; // a keep-alive connection opened by an earlier step
};

/// What the client and the `end` event saw, filled while the simulation runs.
struct request_outcome {
    bool reached = false;
    bool ended = false; // the target emitted `end`
    std::optional<int> end_at;
    bool end_aborted = false;
    bool got_head = false; // status line and headers arrived
    int status = 0;
    std::optional<std::string> content_type;
    std::string body;
    bool body_complete = false; // the whole body arrived
    body_class body_kind = body_class::none;
    bool reset = false; // the connection died under the response
    std::vector<std::string> notes;
    std::vector<std::string> unsupported;
};

/// How the client behaves (scenario `client` options resolved to times and byte counts).
struct client_plan {
    double start = 0;                                    // when the first byte is written
    std::optional<double> close_at;                      // client closes the socket at this time
    std::optional<long long> close_after_response_bytes; // counted from the status line
    std::optional<long long> close_after_response_body_bytes; // counted from the first body byte
    double head_at = 0;                                       // the request head is complete
    std::optional<double> body_at;   // the body is complete (nothing: never)
    std::vector<double> body_writes; // later writes of body bytes (socket activity)
    bool body_own_event = false;     // the body comes in a read after the head's
};

/// One request: owns its reply state and runs Fastify's request functions on the world's loop.
class request_run {
public:
    request_run(world& w, request_input in, context const* ctx, client_plan plan);

    /// Schedules the client's I/O events (arrival, body, close) on the loop.
    void schedule();

    request_outcome const& outcome() const { return out_; }

    std::string const& id() const { return in_.id; }

    /// How a promise adopts this reply as a thenable (Reply.prototype.then).
    void reply_then(std::function<void()> fulfilled);

    /// Pipelining: `prev` was written before this request on the same connection; Node answers
    /// both at once but holds this response until `prev`'s has finished.
    void pipeline_after(request_run* prev) {
        pipeline_prev_ = prev;
        prev->pipeline_next_ = this;
    }

private:
    using maybe_error = std::optional<js_value>;
    using error_cb = std::function<void(maybe_error)>;
    using payload_cb = std::function<void(maybe_error, js_value)>;

    struct call_result {
        bool thenable = false;
        promise_ptr p;
        js_value value;
    };

    enum class role { hook, handler, error_handler };

    // -- client / socket events --------------------------------------------------------
    void arrive();
    void body_arrived();
    void client_close();
    void socket_close_events(bool by_client);
    void lose_queued_socket();
    void
    abort_incoming(); // the socket died: req destroyed, its close (and onRequestAbort) a tick later
    void destroy_socket_from_server();
    void connection_timeout_fired();
    void touch_socket();

    // -- route.js ---------------------------------------------------------------------
    void route_handler();
    void run_pre_parsing(maybe_error err);
    void on_request_abort();

    // -- handle-request.js ------------------------------------------------------------
    void handle_request(maybe_error err);
    void content_type_run(std::string const& media_type);
    void body_end();
    void body_error(js_value err);
    void parser_done(maybe_error err);
    void basic_404();
    void handler();
    void pre_validation_callback(maybe_error err);
    void pre_handler_callback(maybe_error err);
    void wrap_thenable(promise_ptr p);

    // -- reply.js ---------------------------------------------------------------------
    bool sent();
    void send(js_value v);
    void pre_serialization_hook(js_value v);
    void pre_serialization_end(maybe_error err, js_value v);
    void on_send_hook(js_value v);
    void wrap_on_send_end(maybe_error err, js_value v);
    void on_send_end(js_value v);
    void safe_write_head();
    void res_end(std::string const& bytes, body_class kind);
    void send_stream(js_value v);
    void stream_step(std::shared_ptr<stream_source> src, std::size_t k, bool web);
    void stream_failed(bool web);
    void stream_destroyed_early();
    void emit_finish();
    void emit_close();
    void on_error_hook(js_value err, bool has_cb);

    // -- error-handler.js -------------------------------------------------------------
    void handle_error(js_value err, bool has_cb);
    void default_error_handler(js_value err);
    void fallback_error_handler(js_value err, bool through_on_send);

    // -- hooks.js runners --------------------------------------------------------------
    struct chain_state;         // hookRunnerGenerator / preParsingHookRunner state
    struct payload_chain_state; // onSendHookRunner state (preSerialization, onSend, onError)
    void run_hooks(scenario::phase ph, bool guard, error_cb cb);
    void chain_next(std::shared_ptr<chain_state> st, maybe_error err);
    void run_payload_hooks(scenario::phase ph, js_value payload, payload_cb cb);
    void payload_chain_next(std::shared_ptr<payload_chain_state> st, maybe_error err, js_value np);
    void run_pre_parsing_hooks(error_cb cb);
    void pre_parsing_next(std::shared_ptr<chain_state> st, maybe_error err);

    // -- user callbacks (scenario-format §1.2) ------------------------------------------
    call_result invoke(scenario::action const& a,
                       role r,
                       js_value received,
                       std::function<void(maybe_error, js_value)> done);
    void async_body(scenario::action const& a, role r, js_value received, promise_ptr p);
    js_value callback_body(scenario::action const& a,
                           role r,
                           js_value received,
                           std::function<void(maybe_error, js_value)> const& done,
                           bool from_timer);
    call_result invoke_head_on_send(js_value payload,
                                    std::function<void(maybe_error, js_value)> done);
    void apply_send(scenario::action const& a);
    void hijack(scenario::action const& a);
    js_value make_payload(scenario::payload const& p);
    js_value make_error(scenario::action const& a);
    bool when_holds(scenario::action const& a);
    void apply_set(scenario::action const& a);
    void trace(std::string const& label);

    // -- helpers -----------------------------------------------------------------------
    std::optional<std::string> reply_header(std::string const& name) const;
    void set_reply_header(std::string const& name, std::string const& value);
    void remove_reply_header(std::string const& name);
    std::optional<std::string> request_header(std::string const& name) const;
    void deliver_head(int status, scenario::header_list const& headers, bool chunked);
    void deliver_body(std::string const& bytes, bool last);
    void note(std::string const& n);
    void unsupported(std::string const& what);
    void check_client_read_limits();
    js_value reply_value();

    world& w_;
    request_input in_;
    context const* ctx_; // kRouteContext
    client_plan plan_;
    request_outcome out_;
    std::string path_; // url without the query string

    // Node IncomingMessage / ServerResponse / socket state
    bool arrived_ = false;        // the 'request' event happened
    bool body_in_ = false;        // every body byte has arrived
    bool body_reading_ = false;   // the content-type parser listens for data/end/error
    bool req_body_ended_ = false; // req emitted 'end' (readableEnded)
    bool req_aborted_ = false;    // req.aborted
    bool req_closed_ = false;
    bool headers_sent_ = false;   // res.headersSent
    bool head_buffered_ = false;  // HEAD: the head is stored (_header) but not flushed yet
    bool writable_ended_ = false; // res.writableEnded (end() was called)
    bool finished_ = false;       // 'finish' emitted
    bool res_closed_ = false;     // 'close' emitted (the target's `end`)
    bool socket_destroyed_ = false;
    bool client_gone_ = false;                // the client closed its side
    std::optional<std::uint64_t> idle_timer_; // connectionTimeout
    long long response_bytes_seen_ = 0;       // for abortAfterResponse*Bytes
    long long response_body_bytes_seen_ = 0;
    std::vector<long long> chunk_sizes_; // data sizes of the chunks sent (chunked framing)
    bool response_chunked_ = false;
    std::optional<long long> declared_length_; // content-length of an identity-framed body
    std::vector<std::function<void()>> finish_listeners_; // eos(res) waiting for finish/close

    // Fastify Reply state (fastify-lifecycle §1)
    int status_ = 200;                    // res.statusCode
    scenario::header_list reply_headers_; // kReplyHeaders, lower-case names
    bool hijacked_ = false;               // kReplyHijacked
    bool is_error_ = false;               // kReplyIsError
    bool in_on_error_ = false;            // kReplyIsRunningOnErrorHook
    enum class eh_state { unset, at, final } eh_state_ = eh_state::unset; // kReplyNextErrorHandler
    eh_node const* next_eh_ = nullptr; // when `at`: the next handler (nullptr = past default)
    bool has_on_response_ = false;     // setupResponseListeners ran
    bool has_abort_listener_ = false;  // onRequestAbort hooks wired

    // an in-flight stream response (the model's fuzz window for reply.sent, §2.4)
    bool stream_inflight_ = false;
    double stream_end_at_ = 0;
    std::shared_ptr<stream_source> stream_src_;
    bool stream_source_open_ = false;
    std::optional<std::uint64_t> stream_timer_;
    stream_source const* web_read_pending_ = nullptr; // sendWebStream's reader.read() is waiting
    bool close_processed_ = false;                    // the socket's close events ran
    bool parser_json_ = false; // the JSON parser (else text/plain) reads the body
    bool client_read_limit_hit_ = false;
    long long head_bytes_estimate_ = 0;
    std::optional<double> response_done_at_;        // the last body byte reached the client
    int timer_seq_ = 0;                             // names strands of user timers
    request_run* pipeline_prev_ = nullptr;          // the request before this one on the socket
    request_run* pipeline_next_ = nullptr;          // the request after this one on the socket
    std::vector<std::function<void()>> successors_; // held responses of later pipelined requests
};

/// How a client writes a request's wire bytes (scenario-format §1.4 `client`): the head's length,
/// the total, and when byte N has been written when the client sends `bytesPerWrite` bytes every
/// `writeDelayMs` from `start`. Shared by the fastify and koa drivers.
struct client_wire {
    long long head_len = 0;
    long long total = 0;
    long long bpw = 0;
    double wd = 0;
    double start = 0;

    client_wire(std::string const& wire, scenario::client_options const& c, double t)
        : total{static_cast<long long>(wire.size())}
        , bpw{c.bytes_per_write.value_or(0)}
        , wd{static_cast<double>(c.write_delay_ms.value_or(0))}
        , start{t} {
        std::size_t const head_end = wire.find("\r\n\r\n");
        head_len = head_end == std::string::npos ? total : static_cast<long long>(head_end + 4);
    }

    double time_of(long long n) const {
        if (bpw <= 0 || n <= 0)
            return start;
        return start + static_cast<double>((n + bpw - 1) / bpw - 1) * wd;
    }
};

} // namespace lifecheck::model::detail
