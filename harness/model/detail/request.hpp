// One request walking through the Fastify 5 lifecycle on the virtual event loop: the reply state
// of fastify-lifecycle §1 and the phase functions of §2–§7, each named after the Fastify function
// it models.
#pragma once

#include "harness/model/detail/app.hpp"
#include "harness/model/detail/js.hpp"
#include "harness/model/detail/node.hpp"
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

/// Everything the requests of one Fastify scenario share: the Node layer's world plus the app,
/// shared Responses and the closing state.
struct world : node_world {
    world(app_model const& m, scenario::app const& a)
        : app{m}
        , source{a} {}

    app_model const& app;
    scenario::app const& source;
    std::map<std::string, std::shared_ptr<response_object>> shared; // `"shared": name`
    bool closing = false;                                           // fastify.close() began
    // v2.6 (§1.13): own properties callbacks set on instances (`this.NAME = v`, `this.NAME++`)
    std::map<instance const*, std::map<std::string, js_value>> instance_own;
};

/// One request: owns its reply state and runs Fastify's request functions on the world's loop,
/// over the Node layer's request/response/socket (node_exchange).
class request_run : public node_exchange {
public:
    request_run(world& w, request_input in, context const* ctx, client_plan plan);

    /// How a promise adopts this reply as a thenable (Reply.prototype.then).
    void reply_then(std::function<void()> fulfilled);

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

    // -- Node events (node_exchange hooks) ----------------------------------------------
    void on_request() override; // Node 'request': fastify.js handler
    void on_body_arrived() override;
    void on_finish() override; // onResFinished: onResponse hooks
    bool on_socket_closing() override;
    void on_request_destroyed(bool source_destroyed) override;
    void on_socket_timeout() override; // onTimeout hooks
    void
    abort_incoming(); // the socket died: req destroyed, its close (and onRequestAbort) a tick later

    // -- route.js ---------------------------------------------------------------------
    bool phase_ends(maybe_error const& err); // reply sent, or `err` sent as the error reply
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
    void call_not_found();
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
    void send_stream(js_value v);
    void stream_step(std::shared_ptr<stream_source> src, std::size_t k, bool web);
    void stream_failed(bool web);
    void web_read_done_after_cancel();
    void stream_destroyed_early();
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
    // v2 ops (scenario-format §1.6), as the adapter's makeOpsFunction/runOpsAsync/runOpsSync
    call_result invoke_ops(scenario::action const& a,
                           role r,
                           std::string const& strand,
                           std::function<void(maybe_error, js_value)> const& done);
    void run_ops_async(scenario::action const& a,
                       std::size_t i,
                       promise_ptr p,
                       std::string const& strand);
    js_value run_ops_sync(scenario::action const& a,
                          role r,
                          std::size_t i,
                          std::function<void(maybe_error, js_value)> const& done,
                          std::string const& strand);
    bool reply_op(scenario::op const& o);
    void reply_code(scenario::json const& code);
    js_value op_value(std::optional<scenario::payload> const& p);
    js_value thrown_value(scenario::payload const& p);
    void hijack(scenario::action const& a);
    js_value make_payload(scenario::payload const& p);
    // v2.6 (scenario-format §1.13): request data, decorations, state across callbacks
    instance const* this_of(scenario::action const& a) const;
    js_value read_ref(scenario::ref const& r);
    void write_ref(scenario::ref const& r, js_value v);
    js_value read_payload(scenario::payload const& p);
    js_value make_error(scenario::action const& a);
    bool when_holds(scenario::action const& a);
    void apply_set(scenario::action const& a);
    void trace(std::string const& label);

    // -- helpers -----------------------------------------------------------------------
    std::optional<std::string> reply_header(std::string const& name) const;
    void set_reply_header(std::string const& name, std::string const& value);
    void remove_reply_header(std::string const& name);
    std::optional<std::string> request_header(std::string const& name) const;
    js_value reply_value();

    world& w_;
    context const* ctx_; // kRouteContext
    std::string path_;   // url without the query string

    // Node IncomingMessage state the body parser and onRequestAbort read
    bool body_in_ = false;        // every body byte has arrived
    bool body_reading_ = false;   // the content-type parser listens for data/end/error
    bool req_body_ended_ = false; // req emitted 'end' (readableEnded)
    bool req_aborted_ = false;    // req.aborted
    bool head_buffered_ = false;  // HEAD: the head is stored (_header) but not flushed yet

    // Fastify Reply state (fastify-lifecycle §1)
    int status_ = 200;                    // res.statusCode
    bool has_code_ = false;               // kReplyHasStatusCode: reply.code() was called
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
    bool parser_json_ = false; // the JSON parser (else text/plain) reads the body

    // v2.6 (scenario-format §1.11): route.js's handlerTimeout timer
    std::optional<std::uint64_t> handler_timer_;
    void handler_timeout_fired(int ms);
    void clear_handler_timer();
    long long body_limit() const;
    // v2.6: request.body, the Request's and Reply's own properties, and the running op's `this`
    js_value body_;
    std::map<std::string, js_value> request_own_;
    std::map<std::string, js_value> reply_own_;
    instance const* this_ = nullptr;
    int timer_seq_ = 0; // names strands of user timers
};

} // namespace lifecheck::model::detail
