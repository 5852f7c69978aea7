// Fastify 5.12.8's request lifecycle as a walk over the virtual event loop. Each function models
// the Fastify function named in its comment; every JavaScript try/catch that matters is a C++
// try/catch of js_exception at the same place, so a write-time error surfaces exactly where
// Fastify would see it (or nowhere: an uncaught exception is a crash, fastify-lifecycle §2.7).
#include "harness/model/detail/request.hpp"

#include "harness/model/detail/reqdata.hpp"

#include <algorithm>
#include <cctype>
#include <cmath>

namespace lifecheck::model::detail {

using scenario::action;
using scenario::phase;
using scenario::style;
using scenario::verb;

namespace {

std::string trim(std::string const& s) {
    std::size_t b = 0;
    std::size_t e = s.size();
    while (b < e && std::isspace(static_cast<unsigned char>(s[b])))
        ++b;
    while (e > b && std::isspace(static_cast<unsigned char>(s[e - 1])))
        --e;
    return s.substr(b, e - b);
}

/// The media type of a content-type value: "application/json; charset=x" -> "application/json".
std::string media_type_of(std::string const& ct) {
    return ascii_lower(trim(ct.substr(0, ct.find(';'))));
}

bool has_charset(std::string const& ct) {
    return ascii_lower(ct).find("charset") != std::string::npos;
}

/// Fastify content-type.js: "type/subtype" made of token characters, else invalid (415).
bool valid_content_type(std::string const& ct) {
    std::string const m = media_type_of(ct);
    auto const slash = m.find('/');
    if (slash == std::string::npos || slash == 0 || slash + 1 == m.size())
        return false;
    for (char c : m) {
        if (c == '/')
            continue;
        if (!(std::isalnum(static_cast<unsigned char>(c)) ||
              std::string{"!#$%&'*+.^_`|~-"}.find(c) != std::string::npos))
            return false;
    }
    return true;
}

js_value fastify_error(char const* code, std::string message, int status) {
    return error_value(std::move(message), status, std::string{code});
}

/// What a hook runner's catch hands its callback for a synchronous throw: the value, which the
/// callback tests with `err != null` (a throw of undefined or null is no error).
std::optional<js_value> thrown_error(js_value const& v) {
    if (v.is_nullish())
        return std::nullopt;
    return v;
}

/// The properties of a thrown value that setErrorHeaders and the fallback serializer read: an
/// Error's, a plain object's own `statusCode`, `status` (integers), `code`, `message` (strings)
/// and `headers`; nothing of any other value.
js_error error_fields(js_value const& v) {
    if (v.error)
        return *v.error;
    js_error e;
    e.has_message = false;
    if (v.type != js_type::object || !v.data.is_object())
        return e;
    json const& o = v.data;
    auto integer = [&o](char const* key) -> std::optional<int> {
        auto it = o.find(key);
        return it != o.end() && it->is_number_integer() ? std::optional<int>{it->get<int>()}
                                                        : std::nullopt;
    };
    e.status_code = integer("statusCode");
    e.status = integer("status");
    if (auto it = o.find("code"); it != o.end() && it->is_string())
        e.code = it->get<std::string>();
    if (auto it = o.find("message"); it != o.end() && it->is_string()) {
        e.message = it->get<std::string>();
        e.has_message = true;
    }
    if (auto it = o.find("headers"); it != o.end() && it->is_object())
        for (auto h = it->begin(); h != it->end(); ++h)
            if (h->is_string())
                e.headers.emplace_back(h.key(), h->get<std::string>());
    return e;
}

js_value undefined_error() {
    return fastify_error("FST_ERR_SEND_UNDEFINED_ERR", "Undefined error has occurred", 500);
}

/// The JS value of a JSON value: a string is a JS string (sent as text), the rest JSON.
js_value js_of_json(json const& v) {
    js_value out;
    if (v.is_string()) {
        out = string_value(v.get<std::string>());
        out.origin = body_class::text;
        return out;
    }
    out.type = v.is_null()      ? js_type::null
               : v.is_boolean() ? js_type::boolean
               : v.is_number()  ? js_type::number
                                : js_type::object;
    if (!v.is_null())
        out.data = v;
    out.origin = body_class::json;
    return out;
}

std::string typeof_name(js_value const& v) {
    switch (v.type) {
    case js_type::undefined:
        return "undefined";
    case js_type::boolean:
        return "boolean";
    case js_type::number:
        return "number";
    case js_type::string:
        return "string";
    default:
        return "object";
    }
}

} // namespace

//------------------------------------------------------------------------------
// hook-runner states

struct request_run::chain_state {
    phase ph = phase::on_request;
    std::vector<hook_fn> fns;
    std::size_t i = 0;
    bool guard = false; // hookIterator: skip (and stop) when reply.sent
    error_cb cb;
};

struct request_run::payload_chain_state {
    phase ph = phase::on_send;
    std::vector<hook_fn> fns;
    std::size_t i = 0;
    js_value payload;
    payload_cb cb;
};

//------------------------------------------------------------------------------
// construction and client events

request_run::request_run(world& w, request_input in, context const* ctx, client_plan plan)
    : node_exchange{w, std::move(in), plan, w.source.options.connection_timeout_ms}
    , w_{w}
    , ctx_{ctx} {
    path_ = in_.url.substr(0, in_.url.find('?'));
    // v2.6: new context.Request(...) copies its class's decorations onto the object (so does
    // the Reply); both classes are those of the instance the context is bound to
    if (ctx_ != nullptr && ctx_->bound != nullptr) {
        for (auto it = ctx_->bound->request_decorations.begin();
             it != ctx_->bound->request_decorations.end();
             ++it)
            request_own_[it.key()] = js_of_json(it.value());
        for (auto it = ctx_->bound->reply_decorations.begin();
             it != ctx_->bound->reply_decorations.end();
             ++it)
            reply_own_[it.key()] = js_of_json(it.value());
    }
}

void request_run::on_request() {
    bool const has_body = (in_.body && !in_.body->empty()) || in_.chunked;
    if (!has_body || (plan_.body_at && *plan_.body_at <= w_.loop.now() && !plan_.body_own_event))
        body_in_ = true;
    touch_socket();

    // fastify-lifecycle §2.1 step 4: closing. New connections are refused once server.close() ran;
    // requests on connections that already exist get the 503 (or Connection: close).
    w_.touch("closing", in_.id, false, "");
    if (w_.closing) {
        if (!in_.on_existing_connection) {
            out_.reached = false;
            out_.reset = true;
            note("connection refused: the server is closing");
            socket_destroyed_ = true;
            close_processed_ = true;
            return;
        }
        if (w_.source.options.return503_on_closing) {
            std::string const body =
                R"({"error":"Service Unavailable","message":"Service Unavailable","statusCode":503})";
            status_ = 503;
            headers_sent_ = true;
            deliver_head(503,
                         {{"Content-Type", "application/json"},
                          {"Content-Length", "80"},
                          {"Connection", "close"}},
                         false);
            res_end(body, body_class::fastify_raw);
            return;
        }
        set_reply_header("connection", "close");
    }
    route_handler();
}

void request_run::on_body_arrived() {
    body_in_ = true;
    touch_socket();
    if (body_reading_) {
        // the readable side emits 'data' and 'end' a couple of ticks after the bytes arrived
        w_.loop.next_tick([this] { w_.loop.next_tick([this] { body_end(); }); });
    }
}

bool request_run::on_socket_closing() {
    // eos(res) in sendStream/sendWebStream: the source is destroyed when res closes first.
    bool const was_open = stream_source_open_;
    if (stream_source_open_) {
        stream_source_open_ = false;
        stream_inflight_ = false;
        if (stream_timer_)
            w_.loop.cancel(*stream_timer_);
    }
    return was_open && stream_src_ && !stream_src_->web;
}

void request_run::on_request_destroyed(bool source_destroyed) {
    clear_handler_timer(); // req 'close'
    abort_incoming();
    // Node's socketOnClose ran abortIncoming before res 'close' (whose eos(res) destroyed the
    // source), so the request's close tick comes before the source's.
    if (source_destroyed)
        stream_destroyed_early();
}

void request_run::abort_incoming() {
    // abortIncoming: req.destroy(); 'error' then 'close' on the next tick. req.aborted is true
    // unless the body was read to its end (Node IncomingMessage._destroy).
    if (!req_closed_) {
        req_aborted_ = !req_body_ended_;
        w_.loop.next_tick([this] {
            if (body_reading_) {
                auto err = error_value("aborted", std::nullopt, std::string{"ECONNRESET"});
                body_error(err);
            }
            req_closed_ = true;
            if (has_abort_listener_ && req_aborted_)
                on_request_abort();
        });
    }
}

void request_run::on_socket_timeout() {
    // fastify-lifecycle §8: Fastify's socket 'timeout' listener runs the onTimeout hooks
    // (reply.sent is false).
    if (!ctx_->hooks_of(phase::on_timeout).empty())
        run_hooks(phase::on_timeout, true, [](maybe_error) {});
}

void request_run::on_finish() {
    clear_handler_timer();
    // Fastify's onResFinished: onResponse hooks (fastify-lifecycle §2.8)
    if (has_on_response_) {
        run_hooks(phase::on_response, false, [this](maybe_error e) {
            if (e)
                note("onResponse hook failed: request errored");
        });
    }
}

//------------------------------------------------------------------------------
// route.js

void request_run::route_handler() {
    // route.js: handlerTimeout — the route's own, else the server's (context.js) — arms a timer
    // before the onRequest hooks (v2.6).
    int const timeout_ms = ctx_->route_handler_timeout_ms > 0
                               ? ctx_->route_handler_timeout_ms
                               : w_.source.options.handler_timeout_ms;
    if (timeout_ms > 0)
        handler_timer_ = w_.loop.after(
            timeout_ms, in_.id, "handler-timeout", "handlerTimeout fires", [this, timeout_ms] {
                handler_timeout_fired(timeout_ms);
            });
    // setupResponseListeners: only when the context has onResponse hooks (or a logger).
    has_on_response_ = !ctx_->hooks_of(phase::on_response).empty();
    if (!ctx_->hooks_of(phase::on_request).empty())
        run_hooks(phase::on_request, true, [this](maybe_error e) { run_pre_parsing(e); });
    else
        run_pre_parsing(std::nullopt);
    // The req 'close' listener is attached after the onRequest chain started (§2.1 step 6).
    has_abort_listener_ = !ctx_->hooks_of(phase::on_request_abort).empty();
}

bool request_run::phase_ends(maybe_error const& err) {
    // The head of every phase callback (route.js, handle-request.js): nothing more once the reply
    // was sent; an error from the phase's hooks becomes the error reply.
    if (sent())
        return true;
    if (err) {
        is_error_ = true;
        send(*err);
        return true;
    }
    return false;
}

void request_run::run_pre_parsing(maybe_error err) {
    if (phase_ends(err))
        return;
    if (!ctx_->hooks_of(phase::pre_parsing).empty())
        run_pre_parsing_hooks([this](maybe_error e) { handle_request(e); });
    else
        handle_request(std::nullopt);
}

long long request_run::body_limit() const {
    // content-type-parser.js: the route's bodyLimit option (v2.6), else the server's
    return ctx_->route_body_limit > 0 ? ctx_->route_body_limit : w_.source.options.body_limit;
}

void request_run::clear_handler_timer() {
    // clearTimeout(request[kTimeoutTimer]): in onResFinished, reply.hijack() and the req 'close'
    // listener (onAbort)
    if (handler_timer_)
        w_.loop.cancel(*handler_timer_);
    handler_timer_.reset();
}

void request_run::handler_timeout_fired(int ms) {
    handler_timer_.reset();
    if (sent())
        return;
    std::string const url = ctx_->not_found ? "undefined" : ctx_->config_url;
    js_value err = fastify_error("FST_ERR_HANDLER_TIMEOUT",
                                 "Request timed out after " + std::to_string(ms) +
                                     " ms on route '" + url + "'",
                                 503);
    if (headers_sent_) {
        // the response is already streaming: reply.raw.destroy(err)
        is_error_ = true;
        destroy_socket_from_server();
        return;
    }
    is_error_ = true;
    send(err); // inside onError hooks this throws out of the timer: the process dies
}

void request_run::on_request_abort() {
    // onRequestAbortHookRunner: no guard; failures are only logged (fastify-lifecycle §7).
    run_hooks(phase::on_request_abort, false, [this](maybe_error e) {
        if (e)
            note("onRequestAborted hook failed");
    });
}

//------------------------------------------------------------------------------
// handle-request.js and content-type-parser.js

void request_run::handle_request(maybe_error err) {
    if (phase_ends(err))
        return;
    std::string const m = ascii_upper(in_.method);
    if (m == "GET" || m == "HEAD" || m == "TRACE") {
        handler();
        return;
    }
    if (m == "DELETE" || m == "OPTIONS" || m == "PATCH" || m == "PUT" || m == "POST" ||
        m == "QUERY") {
        auto const ct = request_header("content-type");
        if (!ct) {
            auto const cl = request_header("content-length");
            bool const empty_body =
                !request_header("transfer-encoding") && (!cl || trim(*cl) == "0");
            if (empty_body) {
                handler();
                return;
            }
            content_type_run("");
            return;
        }
        if (!valid_content_type(*ct)) {
            is_error_ = true;
            status_ = 415; // reply.status(415)
            has_code_ = true;
            send(fastify_error("FST_ERR_CTP_INVALID_MEDIA_TYPE", "Unsupported Media Type", 415));
            return;
        }
        content_type_run(media_type_of(*ct));
        return;
    }
    handler(); // other methods: straight on (fastify-lifecycle §10: no 405)
}

void request_run::content_type_run(std::string const& media_type) {
    bool const json_parser = media_type == "application/json";
    bool const text_parser = media_type == "text/plain";
    if (!json_parser && !text_parser) {
        if (ctx_->not_found) { // fastify-lifecycle §10: no 415 on a 404 route
            handler();
            return;
        }
        is_error_ = true;
        send(fastify_error("FST_ERR_CTP_INVALID_MEDIA_TYPE", "Unsupported Media Type", 415));
        return;
    }
    parser_json_ = json_parser;
    // rawBody: a declared length over the limit fails before reading (synchronously).
    long long const limit = body_limit();
    if (auto const cl = request_header("content-length")) {
        try {
            if (std::stoll(*cl) > limit) {
                parser_done(
                    fastify_error("FST_ERR_CTP_BODY_TOO_LARGE", "Request body is too large", 413));
                return;
            }
        } catch (...) {
        }
    }
    body_reading_ = true;
    if (body_in_)
        w_.loop.next_tick([this] { w_.loop.next_tick([this] { body_end(); }); });
}

void request_run::body_end() {
    if (!body_reading_ || socket_destroyed_)
        return;
    body_reading_ = false;
    req_body_ended_ = true;
    clear_handler_timer(); // req 'close' follows its 'end' (autoDestroy): onAbort
    std::string const bytes = in_.body.value_or("");
    if (static_cast<long long>(bytes.size()) > body_limit()) {
        parser_done(fastify_error("FST_ERR_CTP_BODY_TOO_LARGE", "Request body is too large", 413));
        return;
    }
    if (parser_json_) {
        if (bytes.empty()) {
            parser_done(
                fastify_error("FST_ERR_CTP_EMPTY_JSON_BODY",
                              "Body cannot be empty when content-type is set to 'application/json'",
                              400));
            return;
        }
        if (!json::accept(bytes)) {
            parser_done(fastify_error(
                "FST_ERR_CTP_INVALID_JSON_BODY",
                "Body is not valid JSON but content-type is set to 'application/json'",
                400));
            return;
        }
    }
    parser_done(std::nullopt);
}

void request_run::body_error(js_value err) {
    if (!body_reading_)
        return;
    body_reading_ = false;
    // rawBody onEnd(err): a status below 400 is forced to 400 (fastify-lifecycle §7).
    if (err.error && (!err.error->status_code || *err.error->status_code < 400))
        err.error->status_code = 400;
    parser_done(err);
}

void request_run::parser_done(maybe_error err) {
    if (err) {
        // "We must close the connection as the client may send more data" (fastify-lifecycle §4.5)
        set_reply_header("connection", "close");
        is_error_ = true;
        send(*err);
        return;
    }
    // v2.6: the parser's result becomes request.body (JSON.parse, or the text as it is)
    std::string const bytes = in_.body.value_or("");
    body_ = parser_json_ ? js_of_json(js_object_order(json::parse(bytes))) : string_value(bytes);
    if (body_.type == js_type::string)
        body_.origin = body_class::text;
    handler();
}

void request_run::handler() {
    try {
        if (!ctx_->hooks_of(phase::pre_validation).empty())
            run_hooks(
                phase::pre_validation, true, [this](maybe_error e) { pre_validation_callback(e); });
        else
            pre_validation_callback(std::nullopt);
    } catch (js_exception const& e) {
        pre_validation_callback(e.value);
    }
}

void request_run::pre_validation_callback(maybe_error err) {
    if (phase_ends(err))
        return;
    // validationCompleted: scenarios carry no schemas, so validation always passes.
    if (!ctx_->hooks_of(phase::pre_handler).empty())
        run_hooks(phase::pre_handler, true, [this](maybe_error e) { pre_handler_callback(e); });
    else
        pre_handler_callback(std::nullopt);
}

void request_run::pre_handler_callback(maybe_error err) {
    if (phase_ends(err)) // preHandlerCallbackInner
        return;
    call_result r;
    try {
        if (ctx_->handler == nullptr) {
            basic_404();
            return;
        }
        r = invoke(*ctx_->handler, role::handler, undefined_value(), nullptr);
    } catch (js_exception const& e) {
        is_error_ = true;
        send(e.value);
        return;
    }
    if (r.thenable)
        wrap_thenable(r.p);
    else if (!r.value.is_undefined())
        send(r.value); // fastify-lifecycle §2.5: even if the handler already sent (ALREADY_SENT
                       // warning)
}

void request_run::basic_404() {
    // four-oh-four.js basic404, fastify-lifecycle §10: an object, so it passes preSerialization.
    status_ = 404; // reply.code(404)
    has_code_ = true;
    js_value v;
    v.type = js_type::object;
    v.data = json::object();
    v.data["message"] = "Route " + ascii_upper(in_.method) + ":" + in_.url + " not found";
    v.data["error"] = "Not Found";
    v.data["statusCode"] = 404;
    v.origin = body_class::json;
    send(v);
}

void request_run::call_not_found() {
    // reply.callNotFound() (v2.6; lib/reply.js notFound): on a not-found context (it has no
    // kFourOhFourContext) a warning and reply.code(404).send('404 Not Found'); else the request
    // continues in the route's not-found context: its preHandler hooks, then preHandlerCallback.
    if (ctx_->call_not_found == nullptr) {
        status_ = 404;
        has_code_ = true;
        js_value v = string_value("404 Not Found");
        v.origin = body_class::text;
        send(v);
        return;
    }
    ctx_ = ctx_->call_not_found;
    if (!ctx_->hooks_of(phase::pre_handler).empty())
        run_hooks(phase::pre_handler, true, [this](maybe_error e) { pre_handler_callback(e); });
    else
        pre_handler_callback(std::nullopt);
}

void request_run::wrap_thenable(promise_ptr p) {
    // wrap-thenable.js (fastify-lifecycle §2.5)
    p->then(
        [this](js_value const& v) {
            if (hijacked_)
                return;
            if (!v.is_undefined() ||
                (!sent() && !headers_sent_ && !req_aborted_ && !socket_destroyed_)) {
                try {
                    send(v);
                } catch (js_exception const& e) {
                    is_error_ = true;
                    send(e.value);
                }
            }
        },
        [this](js_value const& e) {
            try {
                if (sent()) {
                    note("Promise errored, but reply.sent = true was set");
                    return;
                }
                is_error_ = true;
                send(e);
            } catch (js_exception const& e2) {
                send(e2.value);
            }
        });
}

//------------------------------------------------------------------------------
// reply.js

bool request_run::sent() {
    // fastify-lifecycle §1: reply.sent := hijacked || res.writableEnded. A stream response ends
    // when its source ends, so reading reply.sent close to that moment is a race (§2.4, e21).
    if (stream_inflight_ && !writable_ended_ &&
        stream_end_at_ - w_.loop.now() < event_loop::race_margin_ms) {
        w_.mark(
            in_.id,
            "reply.sent is read while a stream response is about to end (fastify-lifecycle §2.4)");
    }
    return hijacked_ || writable_ended_;
}

void request_run::reply_then(std::function<void()> fulfilled) {
    // Reply.prototype.then: resolved at once when sent, else when res finishes or closes.
    if (hijacked_ || writable_ended_) {
        fulfilled();
        return;
    }
    if (res_closed_) {
        w_.loop.next_tick(std::move(fulfilled));
        return;
    }
    finish_listeners_.push_back(std::move(fulfilled));
}

void request_run::send(js_value v) {
    // Reply.prototype.send, fastify-lifecycle §2.6
    if (in_on_error_)
        throw js_exception{fastify_error(
            "FST_ERR_SEND_INSIDE_ONERR", "You cannot use `send` inside the `onError` hook", 500)};
    if (sent()) {
        note("FST_ERR_REP_ALREADY_SENT");
        return;
    }
    if (is_error_ || v.type == js_type::error) {
        is_error_ = false;
        on_error_hook(v, true);
        return;
    }
    if (v.is_undefined()) {
        on_send_hook(v);
        return;
    }
    auto const ct = reply_header("content-type");
    if (v.type != js_type::null) {
        if (v.type == js_type::node_stream || v.type == js_type::web_stream ||
            v.type == js_type::response) {
            on_send_hook(v);
            return;
        }
        if (v.type == js_type::buffer) {
            if (!ct)
                set_reply_header("content-type", "application/octet-stream");
            on_send_hook(v);
            return;
        }
        if (v.type == js_type::string && !ct) {
            set_reply_header("content-type", "text/plain; charset=utf-8");
            on_send_hook(v);
            return;
        }
    }
    if (!ct || media_type_of(*ct).find("json") != std::string::npos) {
        if (!ct)
            set_reply_header("content-type", "application/json; charset=utf-8");
        else if (!has_charset(*ct))
            set_reply_header("content-type", *ct + "; charset=utf-8");
        if (v.type != js_type::string) {
            pre_serialization_hook(v);
            return;
        }
    }
    on_send_hook(v);
}

void request_run::pre_serialization_hook(js_value v) {
    if (!ctx_->hooks_of(phase::pre_serialization).empty()) {
        run_payload_hooks(phase::pre_serialization, v, [this](maybe_error e, js_value p) {
            pre_serialization_end(e, p);
        });
    } else {
        pre_serialization_end(std::nullopt, v);
    }
}

void request_run::pre_serialization_end(maybe_error err, js_value v) {
    if (err) {
        on_error_hook(*err, false);
        return;
    }
    // serialize(): JSON.stringify (no response schemas in scenarios)
    js_value s;
    switch (v.type) {
    case js_type::undefined:
        s = v; // JSON.stringify(undefined) === undefined
        break;
    case js_type::string:
        s = string_value(json_stringify(json(v.bytes)));
        break;
    case js_type::null:
        s = string_value("null");
        break;
    case js_type::buffer: { // Buffer#toJSON
        json bytes = json::array();
        for (unsigned char c : v.bytes)
            bytes.push_back(int{c});
        s = string_value(json_stringify(json{{"type", "Buffer"}, {"data", bytes}}));
        break;
    }
    case js_type::error: { // own enumerable properties, as the adapter assigns them
        json props = json::object();
        if (v.error && v.error->status_code)
            props["statusCode"] = *v.error->status_code;
        if (v.error && v.error->status)
            props["status"] = *v.error->status;
        if (v.error && v.error->code)
            props["code"] = *v.error->code;
        if (v.error && !v.error->headers.empty()) {
            json h = json::object();
            for (auto const& [k, val] : v.error->headers)
                h[k] = val;
            props["headers"] = h;
        }
        s = string_value(json_stringify(props));
        break;
    }
    case js_type::object:
    case js_type::boolean:
    case js_type::number:
        s = string_value(json_stringify(v.data));
        break;
    default: // streams, Response: not generated here (Node's Readable internals would show)
        s = string_value("{}");
        break;
    }
    if (s.type == js_type::string)
        s.origin = body_class::json;
    on_send_hook(s);
}

void request_run::on_send_hook(js_value v) {
    if (!ctx_->hooks_of(phase::on_send).empty()) {
        run_payload_hooks(
            phase::on_send, v, [this](maybe_error e, js_value p) { wrap_on_send_end(e, p); });
    } else {
        on_send_end(v);
    }
}

void request_run::wrap_on_send_end(maybe_error err, js_value v) {
    if (err)
        on_error_hook(*err, false);
    else
        on_send_end(v);
}

void request_run::safe_write_head() {
    if (headers_sent_) {
        note("Reply was already sent, did you forget to \"return reply\"? (ERR_HTTP_HEADERS_SENT)");
        throw js_exception{error_value("Cannot write headers after they are sent to the client",
                                       std::nullopt,
                                       std::string{"ERR_HTTP_HEADERS_SENT"})};
    }
    headers_sent_ = true;
    deliver_head(status_, reply_headers_, false);
}

void request_run::on_send_end(js_value v) {
    // onSendEnd, fastify-lifecycle §2.7 (throws are write-time errors, caught or not by the caller)
    if (v.type == js_type::response) {
        auto const r = v.response;
        status_ = r->status; // reply.code(payload.status)
        has_code_ = true;
        for (auto const& [name, value] : r->headers)
            set_reply_header(ascii_lower(name), value);
        if (r->body && r->body->disturbed)
            throw js_exception{fastify_error(
                "FST_ERR_REP_RESPONSE_BODY_CONSUMED", "Response.body is already consumed.", 500)};
        js_value body;
        if (r->body) {
            body.type = js_type::web_stream;
            body.stream = r->body;
            body.origin = body_class::stream;
        } else {
            body.type = js_type::null;
        }
        v = body;
    }
    std::string const method = ascii_upper(in_.method);
    if (v.is_nullish()) {
        if (status_ >= 200 && status_ != 204 && status_ != 304 && method != "HEAD")
            set_reply_header("content-length", "0");
        safe_write_head();
        res_end("", body_class::empty);
        return;
    }
    if ((status_ >= 100 && status_ < 200) || status_ == 204) {
        remove_reply_header("content-type");
        remove_reply_header("content-length");
        safe_write_head();
        res_end("", body_class::empty);
        return;
    }
    if (v.type == js_type::node_stream || v.type == js_type::web_stream) {
        send_stream(v);
        return;
    }
    if (v.type != js_type::string && v.type != js_type::buffer) {
        throw js_exception{fastify_error("FST_ERR_REP_INVALID_PAYLOAD_TYPE",
                                         "Attempted to send payload of invalid type '" +
                                             typeof_name(v) + "'. Expected a string or Buffer.",
                                         500)};
    }
    auto const cl = reply_header("content-length");
    std::string const len = std::to_string(v.bytes.size());
    if (!cl || (method != "HEAD" && *cl != len))
        set_reply_header("content-length", len);
    safe_write_head();
    body_class kind = v.origin;
    if (kind == body_class::none)
        kind = v.type == js_type::buffer ? body_class::binary : body_class::text;
    res_end(method == "HEAD" ? std::string{} : v.bytes,
            method == "HEAD" ? body_class::empty : kind);
}

void request_run::send_stream(js_value v) {
    // sendStream / sendWebStream (fastify-lifecycle §2.7 step 5, §6)
    auto src = v.stream;
    bool const web = v.type == js_type::web_stream;
    if (web) {
        if (src->locked)
            throw js_exception{fastify_error("FST_ERR_REP_READABLE_STREAM_LOCKED",
                                             "ReadableStream was locked. You should call "
                                             "releaseLock() method on reader before sending.",
                                             500)};
        src->locked = true; // payload.getReader()
        src->disturbed = true;
    }
    stream_inflight_ = true;
    stream_source_open_ = true;
    stream_src_ = src;
    std::size_t const n = src->chunks.size();
    std::size_t const steps =
        src->fail_after_chunks
            ? std::min<std::size_t>(static_cast<std::size_t>(*src->fail_after_chunks), n)
            : n;
    // The adapter's streams: the first chunk at the first read, then a timer of chunkDelayMs
    // (setTimeout, so at least 1 ms) before every later chunk, the end or the failure.
    double const step_ms = std::max(1, src->chunk_delay_ms);
    stream_end_at_ = w_.loop.now() + static_cast<double>(steps) * step_ms;
    // sendWebStream's reader.read(): a stream made in this turn has not started, so the read
    // waits (for the microtask in which the adapter's pull enqueues the first chunk); a started
    // one has the chunk enqueued into the read at once.
    if (web && !src->started)
        web_read_pending_ = src.get();
    if (res_closed_) {
        // eos(res) on a response that already closed (the client went away before this
        // send) runs on the next tick. A node stream is destroyed before its first chunk: it
        // never ends, res.end() is never called and reply.sent stays false, so the chain that
        // sent goes on (Findings 27, checked on Fastify 5.12.8). A web stream's reader is
        // cancelled: a read still waiting settles with done and onRead calls res.end() (a send
        // from a timer or a tick); a read that already got its chunk (a send from a microtask,
        // or a stream that had started) meets res.destroyed in onRead and nothing is written
        // (stream_step). Either way the order of ticks and microtasks decides, not time: no
        // race window for reply.sent (Findings 41). Each send has its own eos(res): a later
        // send's stream in the same tick does not spare this one (lifecycle fuzzer b0d33bc3:
        // two premature closes, two onError runs).
        stream_inflight_ = false;
        w_.loop.next_tick([this, src, web] {
            if (src->destroyed)
                return;
            src->destroyed = true;
            if (stream_src_ == src) {
                stream_source_open_ = false;
                stream_inflight_ = false;
                if (stream_timer_)
                    w_.loop.cancel(*stream_timer_);
            }
            if (!web) {
                stream_destroyed_early(); // payload.destroy(): 'close' on the next tick
                return;
            }
            if (web_read_pending_ == src.get()) { // reader.cancel() settles the read: done
                web_read_pending_ = nullptr;
                w_.loop.microtask([this] { web_read_done_after_cancel(); });
            }
        });
    }
    if (web && !res_closed_) {
        // sendWebStream's eos(res), attached before any reply.then that waits on this send:
        // when res closes while reader.read() waits for a chunk, reader.cancel() settles that
        // read with done, and onRead calls res.end() (sendTrailer) a microtask later. So
        // reply.sent turns true before the chain that sent resumes (prop --target fastify,
        // Findings 25; checked on Fastify 5.12.8). A node stream is destroyed instead.
        finish_listeners_.push_back([this, raw = src.get()] {
            if (!res_closed_ || finished_ || web_read_pending_ != raw)
                return;
            web_read_pending_ = nullptr;
            w_.loop.microtask([this] { web_read_done_after_cancel(); });
        });
    }
    // pipe()/reader.read(): the first chunk flows on a later tick. A web stream made in this
    // turn pulls its first chunk once start() settles (a microtask), and onRead is the read
    // promise's reaction, one more: an async hook's resolution resumes its chain first (prop
    // seed 4, Findings 46; checked on Fastify 5.12.8). A started one has the chunk at once.
    auto first = [this, src, web] {
        stream_step(src, 0, web);
    };
    if (web && src->started)
        w_.loop.microtask(first);
    else if (web)
        w_.loop.microtask([this, first] { w_.loop.microtask(first); });
    else
        w_.loop.next_tick(first);
}

void request_run::stream_step(std::shared_ptr<stream_source> src, std::size_t k, bool web) {
    if (src->destroyed)
        return; // its first read was queued after eos(res) destroyed it; another stream may flow
    stream_timer_.reset();
    if (web_read_pending_ == src.get())
        web_read_pending_ = nullptr;
    if (!stream_source_open_)
        return;
    if (src->fail_after_chunks && k == static_cast<std::size_t>(*src->fail_after_chunks)) {
        stream_failed(web);
        return;
    }
    if (k == src->chunks.size()) {
        stream_source_open_ = false;
        stream_inflight_ = false;
        // the source ended: pipe calls res.end()
        if (!headers_sent_ || head_buffered_) {
            head_buffered_ = false;
            headers_sent_ = true;
            deliver_head(status_, reply_headers_, !reply_header("content-length"));
        }
        if (out_.got_head && out_.body_kind == body_class::none)
            out_.body_kind = body_class::stream;
        res_end("", body_class::stream);
        return;
    }
    if (web && res_closed_) {
        // onRead: res.destroyed, so the reader is cancelled and nothing is written; the head
        // stays unwritten (Node's write on a destroyed res stores none either) and reply.sent
        // false (Findings 41, checked on Fastify 5.12.8).
        stream_source_open_ = false;
        stream_inflight_ = false;
        return;
    }
    if (!headers_sent_ && ascii_upper(in_.method) == "HEAD") {
        // Node: a HEAD response ignores write(); _implicitHeader stores the head (headersSent
        // is true) but nothing reaches the socket before end() (a failure destroys it unsent)
        headers_sent_ = true;
        head_buffered_ = true;
    } else if (!headers_sent_) { // the first write flushes the head (status/headers read now, §1)
        headers_sent_ = true;
        // a content-length set before (the default error reply's, kept when onSend swaps in a
        // stream) frames the body: Node does not chunk it, and a shorter body stays incomplete
        deliver_head(status_, reply_headers_, !reply_header("content-length"));
        if (out_.got_head)
            out_.body_kind = body_class::stream;
    }
    if (!writable_ended_) // after another send ended the response, writes go nowhere
        deliver_body(src->chunks[k], false);
    touch_socket();
    auto next = [this, src, k, web] {
        stream_step(src, k + 1, web);
    };
    stream_timer_ =
        w_.loop.after(src->chunk_delay_ms, in_.id, "stream", "stream chunk or end", next);
    if (web)
        web_read_pending_ = src.get(); // onRead asked the reader for the next chunk
}

void request_run::web_read_done_after_cancel() {
    // onRead({done: true}) after eos(res) cancelled the reader: sendTrailer calls res.end(),
    // whose implicit head counts as sent (headersSent) even on a destroyed res; reply.sent turns
    // true and a later writeHead would throw ERR_HTTP_HEADERS_SENT.
    headers_sent_ = true;
    res_end("", body_class::stream);
}

void request_run::stream_destroyed_early() {
    // sendStream's eos(payload) after payload.destroy() (its 'close' comes a tick later): a
    // premature close. With the head out or req.aborted, res.destroy() (a no-op on a closed
    // res); else onErrorHook(ERR_STREAM_PREMATURE_CLOSE), which runs onError hooks and the error
    // handlers even though nobody is listening (lifecheck fuzz lifecycle 03ea4f9d, Fastify 5.12.8:
    // a PUT whose body was read has req.aborted false).
    w_.loop.next_tick([this] {
        if (headers_sent_ || req_aborted_)
            return;
        on_error_hook(
            error_value("Premature close", std::nullopt, std::string{"ERR_STREAM_PREMATURE_CLOSE"}),
            false);
    });
}

void request_run::stream_failed(bool web) {
    (void)web;
    stream_source_open_ = false;
    stream_inflight_ = false;
    auto err = error_value("stream failed");
    // fastify-lifecycle §6: after the head went out the socket is destroyed (truncated body, no
    // error handler, no onResponse, onRequestAbort fires); before it, the normal error path.
    if (headers_sent_ || req_aborted_) {
        note("response terminated with an error with headers already sent");
        destroy_socket_from_server();
        return;
    }
    on_error_hook(err, false);
}

void request_run::on_error_hook(js_value err, bool has_cb) {
    // onErrorHook, fastify-lifecycle §4.2: onError runs while no handler was used yet, or again
    // once the chain is exhausted.
    if (!ctx_->hooks_of(phase::on_error).empty() &&
        (eh_state_ == eh_state::unset || eh_state_ == eh_state::final)) {
        in_on_error_ = true;
        run_payload_hooks(phase::on_error, err, [this, err, has_cb](maybe_error, js_value) {
            handle_error(err, has_cb); // always the original error; failures end the chain
        });
        return;
    }
    handle_error(err, has_cb);
}

//------------------------------------------------------------------------------
// error-handler.js

void request_run::handle_error(js_value err, bool has_cb) {
    in_on_error_ = false;
    if (eh_state_ == eh_state::final) {
        fallback_error_handler(err, false);
        return;
    }
    eh_node const* node = eh_state_ == eh_state::at ? next_eh_ : ctx_->error_handler.get();
    eh_state_ = eh_state::at;
    next_eh_ = node != nullptr ? node->parent.get() : nullptr;
    remove_reply_header("content-type");
    remove_reply_header("content-length");
    if (node == nullptr) {
        // the sentinel past the default handler: FINAL, then the default JSON through onSend
        eh_state_ = eh_state::final;
        if (!has_cb)
            throw js_exception{error_value("cb is not a function")};
        fallback_error_handler(err, true);
        return;
    }
    try {
        if (node->act == nullptr) {
            default_error_handler(err);
            return;
        }
        call_result r = invoke(*node->act, role::error_handler, err, nullptr);
        if (r.thenable)
            wrap_thenable(r.p);
        else if (!r.value.is_undefined())
            send(r.value);
    } catch (js_exception const& e) {
        send(e.value); // not flagged: only an Error climbs the chain (fastify-lifecycle §4.3)
    }
}

void request_run::default_error_handler(js_value err) {
    // setErrorHeaders, fastify-lifecycle §4.4: err.headers onto the reply; res.statusCode = the
    // error's statusCode, else its status (4xx/5xx), else the reply's 4xx/5xx status, else 500.
    auto const in_range = [](std::optional<int> c) {
        return c && *c >= 400 && *c <= 599;
    };
    std::optional<int> from_error;
    if (!err.is_nullish()) { // a plain object's own properties count too (issue 15)
        js_error const fields = error_fields(err);
        for (auto const& [name, value] : fields.headers)
            set_reply_header(ascii_lower(name), value);
        if (in_range(fields.status_code))
            from_error = fields.status_code;
        else if (in_range(fields.status))
            from_error = fields.status;
    }
    int const s = from_error.value_or(in_range(status_) ? status_ : 500);
    status_ = s;
    // error-status.js setErrorStatusCode: without reply.code() the error decides (the status is
    // never 200 here any more)
    if (!has_code_)
        status_ = from_error.value_or(500);
    has_code_ = true;
    send(err);
}

void request_run::fallback_error_handler(js_value err, bool through_on_send) {
    if (!reply_header("content-type"))
        set_reply_header("content-type", "application/json; charset=utf-8");
    js_value payload = string_value(default_error_json(status_, error_fields(err)));
    payload.origin = body_class::default_error_json;
    set_reply_header("content-length", std::to_string(payload.bytes.size()));
    if (through_on_send) {
        on_send_hook(payload); // skips preSerialization, not onSend (fastify-lifecycle §4.4)
        return;
    }
    // the final writer: hooks bypassed (fastify-lifecycle §4.6)
    if (headers_sent_ || socket_destroyed_) {
        destroy_socket_from_server();
        return;
    }
    headers_sent_ = true;
    deliver_head(status_, reply_headers_, false);
    res_end(payload.bytes, body_class::default_error_json);
}

//------------------------------------------------------------------------------
// hooks.js runners

void request_run::run_hooks(phase ph, bool guard, error_cb cb) {
    auto st = std::make_shared<chain_state>();
    st->ph = ph;
    st->fns = ctx_->hooks_of(ph);
    st->guard = guard;
    st->cb = std::move(cb);
    chain_next(st, std::nullopt);
}

void request_run::chain_next(std::shared_ptr<chain_state> st, maybe_error err) {
    // hookRunnerGenerator.next
    if (err || st->i == st->fns.size()) {
        st->cb(err);
        return;
    }
    hook_fn const h = st->fns[st->i++];
    call_result r;
    try {
        if (st->guard && sent())
            return; // hookIterator returns undefined: the chain silently stops (§2.3)
        r = invoke(*h.act, role::hook, undefined_value(), [this, st](maybe_error e, js_value) {
            chain_next(st, e);
        });
    } catch (js_exception const& e) {
        st->cb(thrown_error(e.value));
        return;
    }
    if (r.thenable) {
        r.p->then([this, st](js_value const&) { chain_next(st, std::nullopt); },
                  [st](js_value const& e) { st->cb(e.is_falsy() ? undefined_error() : e); });
    }
}

void request_run::run_payload_hooks(phase ph, js_value payload, payload_cb cb) {
    auto st = std::make_shared<payload_chain_state>();
    st->ph = ph;
    st->fns = ctx_->hooks_of(ph);
    st->payload = std::move(payload);
    st->cb = std::move(cb);
    payload_chain_next(st, std::nullopt, undefined_value());
}

void request_run::payload_chain_next(std::shared_ptr<payload_chain_state> st,
                                     maybe_error err,
                                     js_value np) {
    // onSendHookRunner.next (no reply.sent guard: fastify-lifecycle §2.2 rows 8, 10)
    if (err) {
        st->cb(err, st->payload);
        return;
    }
    if (!np.is_undefined())
        st->payload = np;
    if (st->i == st->fns.size()) {
        st->cb(std::nullopt, st->payload);
        return;
    }
    hook_fn const h = st->fns[st->i++];
    call_result r;
    auto done = [this, st](maybe_error e, js_value v) {
        payload_chain_next(st, e, v);
    };
    try {
        if (h.act == nullptr)
            r = invoke_head_on_send(st->payload, done);
        else
            r = invoke(*h.act, role::hook, st->payload, done);
    } catch (js_exception const& e) {
        // cb(error, request, reply): a throw of undefined or null is no error, and no payload
        if (e.value.is_nullish())
            st->cb(std::nullopt, undefined_value());
        else
            st->cb(e.value, st->payload);
        return;
    }
    if (r.thenable) {
        r.p->then(
            [this, st](js_value const& v) {
                try { // handleResolve catches what the rest of the send throws (§2.7)
                    payload_chain_next(st, std::nullopt, v);
                } catch (js_exception const& e) {
                    st->cb(e.value, st->payload);
                }
            },
            [st](js_value const& e) { st->cb(e.is_falsy() ? undefined_error() : e, st->payload); });
    }
}

void request_run::run_pre_parsing_hooks(error_cb cb) {
    auto st = std::make_shared<chain_state>();
    st->ph = phase::pre_parsing;
    st->fns = ctx_->hooks_of(phase::pre_parsing);
    st->cb = std::move(cb);
    pre_parsing_next(st, std::nullopt);
}

void request_run::pre_parsing_next(std::shared_ptr<chain_state> st, maybe_error err) {
    // preParsingHookRunner.next: checks reply.sent first, also after the last hook
    if (sent())
        return;
    if (err || st->i == st->fns.size()) {
        st->cb(err);
        return;
    }
    hook_fn const h = st->fns[st->i++];
    call_result r;
    try {
        r = invoke(*h.act, role::hook, undefined_value(), [this, st](maybe_error e, js_value v) {
            if (!v.is_undefined())
                unsupported("a preParsing hook that passes on a payload (it must be a stream)");
            pre_parsing_next(st, e);
        });
    } catch (js_exception const& e) {
        st->cb(thrown_error(e.value));
        return;
    }
    if (r.thenable) {
        r.p->then(
            [this, st](js_value const& v) {
                if (!v.is_undefined())
                    unsupported(
                        "a preParsing hook that resolves a non-stream (crashes Fastify, §2.3 e)");
                pre_parsing_next(st, std::nullopt);
            },
            [st](js_value const& e) { st->cb(e.is_falsy() ? undefined_error() : e); });
    }
}

//------------------------------------------------------------------------------
// user callbacks

void request_run::trace(std::string const& label) {
    w_.trace(in_.id, label);
}

bool request_run::when_holds(action const& a) {
    if (!a.when)
        return true;
    return w_.flag(a.when->flag, in_.id) == a.when->is;
}

void request_run::apply_set(action const& a) {
    if (a.set)
        w_.set_flag(a.set->flag, a.set->value, in_.id);
}

js_value request_run::reply_value() {
    js_value v;
    v.type = js_type::reply;
    v.reply = this;
    return v;
}

request_run::call_result request_run::invoke(action const& a,
                                             role r,
                                             js_value received,
                                             std::function<void(maybe_error, js_value)> done) {
    trace(a.label);
    std::string const strand = "timer#" + std::to_string(++timer_seq_);
    if (a.ops)
        return invoke_ops(a, r, strand, done);
    if (a.how == style::async) {
        // async (req, reply[, payload]) => { when; await sleep(delayMs); set; do }
        auto p = std::make_shared<promise>(w_.loop);
        if (!when_holds(a)) {
            p->resolve(undefined_value());
            return call_result{true, p, {}};
        }
        if (a.delay_ms) {
            action const* ap = &a;
            w_.loop.after(
                *a.delay_ms, in_.id, strand, a.label + " (delayMs)", [this, ap, r, received, p] {
                    // the sleep promise resolves here; `await` resumes one microtask later
                    w_.loop.microtask(
                        [this, ap, r, received, p] { async_body(*ap, r, received, p); });
                });
        } else {
            async_body(a, r, received, p);
        }
        return call_result{true, p, {}};
    }
    // callback style: hooks take done; handlers answer with reply.send
    if (!when_holds(a)) {
        if (r == role::hook)
            done(std::nullopt, undefined_value());
        return call_result{}; // handlers: return without answering
    }
    if (a.delay_ms) {
        action const* ap = &a;
        w_.loop.after(
            *a.delay_ms, in_.id, strand, a.label + " (delayMs)", [this, ap, r, received, done] {
                callback_body(*ap, r, received, done, true); // a throw here is uncaught: a crash
            });
        return call_result{};
    }
    call_result out;
    out.value = callback_body(a, r, received, done, false);
    return out;
}

void request_run::async_body(action const& a, role r, js_value received, promise_ptr p) {
    try {
        apply_set(a);
        switch (a.what) {
        case verb::continue_:
            if (r == role::hook)
                p->resolve(undefined_value());
            else
                p->resolve(a.body ? make_payload(*a.body) : undefined_value());
            return;
        case verb::throw_:
            p->reject(make_error(a));
            return;
        case verb::rethrow:
            p->reject(r == role::error_handler ? received : make_error(a));
            return;
        case verb::send:
            apply_send(a);
            p->resolve(reply_value()); // `return reply`
            return;
        case verb::send_then_continue:
            apply_send(a);
            p->resolve(undefined_value());
            return;
        case verb::hang:
            return; // a promise that never settles
        case verb::replace_payload:
            p->resolve(a.body ? make_payload(*a.body) : undefined_value());
            return;
        case verb::hijack:
            hijack(a);
            p->resolve(undefined_value());
            return;
        }
    } catch (js_exception const& e) {
        p->reject(e.value); // a throw inside an async function rejects its promise
    }
}

js_value request_run::callback_body(action const& a,
                                    role r,
                                    js_value received,
                                    std::function<void(maybe_error, js_value)> const& done,
                                    bool from_timer) {
    apply_set(a);
    // materialized only by the verbs that use it (a shared Response is made at its first send)
    auto payload_of = [this, &a] {
        return a.body ? make_payload(*a.body) : undefined_value();
    };
    switch (a.what) {
    case verb::continue_:
        if (r == role::hook) {
            done(std::nullopt, undefined_value());
            return undefined_value();
        }
        if (r == role::handler || from_timer) {
            send(payload_of());
            return undefined_value();
        }
        return payload_of(); // a callback error handler returns its payload
    case verb::throw_:
    case verb::rethrow: {
        js_value const err =
            (a.what == verb::rethrow && r == role::error_handler) ? received : make_error(a);
        if (!from_timer)
            throw js_exception{err};
        if (r == role::hook)
            done(err, undefined_value());
        else
            send(err);
        return undefined_value();
    }
    case verb::send:
        apply_send(a);
        return undefined_value();
    case verb::send_then_continue:
        apply_send(a);
        if (r == role::hook)
            done(std::nullopt, undefined_value());
        return undefined_value();
    case verb::hang:
        return undefined_value();
    case verb::replace_payload:
        if (r == role::hook)
            done(std::nullopt, payload_of());
        return undefined_value();
    case verb::hijack:
        hijack(a);
        if (r == role::hook)
            done(std::nullopt, undefined_value()); // the adapter calls done() after the raw write
        return undefined_value();
    }
    return undefined_value();
}

//------------------------------------------------------------------------------
// v2 ops (scenario-format §1.6): the adapter's makeOpsFunction, runOpsAsync and runOpsSync

request_run::call_result
request_run::invoke_ops(action const& a,
                        role r,
                        std::string const& strand,
                        std::function<void(maybe_error, js_value)> const& done) {
    if (a.how == style::async) {
        // One async function whose body is the ops (what user code is; the adapter's
        // makeOpsFunction runs them in its own body): it settles when its last op does.
        auto outer = std::make_shared<promise>(w_.loop);
        if (!when_holds(a)) {
            outer->resolve(undefined_value());
            return call_result{true, outer, {}};
        }
        run_ops_async(a, 0, outer, strand);
        return call_result{true, outer, {}};
    }
    if (!when_holds(a)) {
        if (r == role::hook)
            done(std::nullopt, undefined_value());
        return call_result{}; // handlers: return without answering
    }
    call_result out;
    out.value = run_ops_sync(a, r, 0, done, strand);
    return out;
}

void request_run::run_ops_async(action const& a,
                                std::size_t i,
                                promise_ptr p,
                                std::string const& strand) {
    auto const& ops = *a.ops;
    this_ = this_of(a);
    try {
        for (; i < ops.size(); ++i) {
            scenario::op const& o = ops[i];
            if (reply_op(o))
                continue;
            switch (o.kind) {
            case scenario::op_kind::await_: {
                // await sleep(ms): the timer, then the await resumes one microtask later
                action const* ap = &a;
                std::size_t const next = i + 1;
                w_.loop.after(
                    o.ms, in_.id, strand, a.label + " (await)", [this, ap, next, p, strand] {
                        w_.loop.microtask(
                            [this, ap, next, p, strand] { run_ops_async(*ap, next, p, strand); });
                    });
                return;
            }
            case scenario::op_kind::return_:
                p->resolve(o.return_reply ? reply_value() : op_value(o.body));
                return;
            case scenario::op_kind::throw_:
                p->reject(thrown_value(*o.body));
                return;
            case scenario::op_kind::hang:
                return; // return new Promise(() => {}): never settles
            default:
                break; // `done` is refused in async functions by the loader
            }
        }
        p->resolve(undefined_value()); // the "forgot return reply" ending
    } catch (js_exception const& e) {
        p->reject(e.value); // reply.code() threw inside the async function
    }
}

js_value request_run::run_ops_sync(action const& a,
                                   role r,
                                   std::size_t i,
                                   std::function<void(maybe_error, js_value)> const& done,
                                   std::string const& strand) {
    auto const& ops = *a.ops;
    this_ = this_of(a);
    for (; i < ops.size(); ++i) {
        scenario::op const& o = ops[i];
        if (reply_op(o)) // a throw (reply.code) is synchronous: the caller's catch, or a crash
            continue;
        switch (o.kind) {
        case scenario::op_kind::await_: {
            // setTimeout(() => runOpsSync(next), ms): its return value goes nowhere, its throw
            // is uncaught
            action const* ap = &a;
            std::size_t const next = i + 1;
            w_.loop.after(
                o.ms, in_.id, strand, a.label + " (await)", [this, ap, r, next, done, strand] {
                    run_ops_sync(*ap, r, next, done, strand);
                });
            return undefined_value();
        }
        case scenario::op_kind::return_:
            if (o.return_reply) {
                unsupported("`return reply` from a callback-style function");
                return undefined_value();
            }
            return op_value(o.body);
        case scenario::op_kind::throw_:
            throw js_exception{thrown_value(*o.body)};
        case scenario::op_kind::done: {
            if (r != role::hook || !done)
                break;
            if (o.done == scenario::done_with::error) {
                // hookRunner next(err): a falsy err is no error
                js_value const err = op_value(o.body);
                bool const falsy =
                    err.is_nullish() || (err.type == js_type::string && err.bytes.empty()) ||
                    ((err.type == js_type::boolean || err.type == js_type::number) &&
                     !(err.data.is_boolean() ? err.data.get<bool>() : err.data.get<double>() != 0));
                if (falsy) {
                    done(std::nullopt, undefined_value());
                } else {
                    done(thrown_value(*o.body), undefined_value());
                }
            } else if (o.done == scenario::done_with::payload) {
                done(std::nullopt, op_value(o.body));
            } else {
                done(std::nullopt, undefined_value());
            }
            break;
        }
        case scenario::op_kind::hang:
            return undefined_value();
        default:
            break;
        }
    }
    return undefined_value();
}

bool request_run::reply_op(scenario::op const& o) {
    switch (o.kind) {
    case scenario::op_kind::code:
        reply_code(o.code);
        return true;
    case scenario::op_kind::header:
    case scenario::op_kind::headers:
        for (auto const& [name, value] : o.headers) // reply.header lower-cases the name
            set_reply_header(ascii_lower(name), value);
        return true;
    case scenario::op_kind::remove_header:
        remove_reply_header(o.name);
        return true;
    case scenario::op_kind::type:
        set_reply_header("content-type", o.name); // kReplyHeaders['content-type'] = type
        return true;
    case scenario::op_kind::send:
        send(op_value(o.body));
        return true;
    case scenario::op_kind::set:
        w_.set_flag(o.flag.flag, o.flag.value, in_.id);
        return true;
    case scenario::op_kind::call_not_found:
        call_not_found();
        return true;
    case scenario::op_kind::hijack: // reply.hijack() (v2.6): reply.sent from now on
        hijacked_ = true;
        return true;
    case scenario::op_kind::assign:
        write_ref(*o.target, op_value(o.body));
        return true;
    case scenario::op_kind::increment:
        write_ref(*o.target, incremented_value(read_ref(*o.target)));
        return true;
    default:
        return false;
    }
}

void request_run::reply_code(scenario::json const& code) {
    // Reply.prototype.code: +code outside 100..599 (NaN too) throws FST_ERR_BAD_STATUS_CODE
    double const n = code.is_number() ? code.get<double>() : std::nan("");
    if (!(n >= 100 && n <= 599)) {
        std::string const shown = n == 0 ? std::string{"0"} : json_stringify(code);
        throw js_exception{fastify_error(
            "FST_ERR_BAD_STATUS_CODE", "Called reply with an invalid status code: " + shown, 500)};
    }
    if (n != std::floor(n))
        unsupported("a fractional status code (Node truncates it at writeHead, Fastify compares "
                    "the fraction)");
    status_ = static_cast<int>(n);
    has_code_ = true;
}

js_value request_run::op_value(std::optional<scenario::payload> const& p) {
    return p ? make_payload(*p) : undefined_value();
}

js_value request_run::thrown_value(scenario::payload const& p) {
    js_value v = make_payload(p);
    switch (v.type) {
    case js_type::error:
    case js_type::undefined:
    case js_type::null:
    case js_type::boolean:
    case js_type::number:
    case js_type::string:
        break;
    case js_type::object: {
        // JavaScript would coerce these (a string statusCode compares as a number)
        json const& o = v.data;
        bool odd = false;
        if (o.is_object()) {
            for (char const* key : {"statusCode", "status"})
                odd = odd || (o.contains(key) && !o.at(key).is_number_integer());
            for (char const* key : {"code", "message"})
                odd = odd || (o.contains(key) && !o.at(key).is_string());
            if (o.contains("headers")) {
                odd = odd || !o.at("headers").is_object();
                if (o.at("headers").is_object())
                    for (auto const& h : o.at("headers"))
                        odd = odd || !h.is_string();
            }
        }
        if (odd)
            unsupported("a thrown plain object whose properties JavaScript would coerce");
        break;
    }
    default:
        unsupported("a thrown Buffer, stream or Response");
        break;
    }
    return v;
}

request_run::call_result
request_run::invoke_head_on_send(js_value payload,
                                 std::function<void(maybe_error, js_value)> done) {
    // head-route.js headRouteOnSendHandler (untraced, callback style, done() synchronously)
    js_value null_value;
    null_value.type = js_type::null;
    if (payload.is_undefined()) {
        set_reply_header("content-length", "0");
    } else if (payload.type == js_type::node_stream || payload.type == js_type::web_stream) {
        // drained / cancelled
    } else if (payload.type == js_type::string || payload.type == js_type::buffer) {
        set_reply_header("content-length", std::to_string(payload.bytes.size()));
    } else {
        throw js_exception{
            error_value("The \"string\" argument must be of type string or an instance of Buffer")};
    }
    done(std::nullopt, null_value);
    return call_result{};
}

void request_run::apply_send(action const& a) {
    // reply.code(status ?? 200).headers(headers).send(payload) (scenario-format §1.2)
    status_ = a.status.value_or(200);
    has_code_ = true;
    for (auto const& [name, value] : a.headers)
        set_reply_header(ascii_lower(name), value);
    send(a.body ? make_payload(*a.body) : undefined_value());
}

void request_run::hijack(action const& a) {
    // reply.hijack(); raw.writeHead(status ?? 200, headers); raw.end(bytes)
    hijacked_ = true;
    clear_handler_timer();
    std::string bytes;
    if (a.body) {
        switch (a.body->kind) {
        case scenario::payload_kind::json_value:
            bytes = a.body->value.is_string() ? a.body->value.get<std::string>()
                                              : json_stringify(a.body->value);
            break;
        case scenario::payload_kind::string:
        case scenario::payload_kind::buffer:
            bytes = a.body->bytes;
            break;
        case scenario::payload_kind::empty:
            break;
        default:
            unsupported("hijack with a stream or Response payload");
            break;
        }
    }
    if (headers_sent_)
        throw js_exception{error_value("Cannot write headers after they are sent to the client",
                                       std::nullopt,
                                       std::string{"ERR_HTTP_HEADERS_SENT"})};
    headers_sent_ = true;
    status_ = a.status.value_or(200);
    // raw.writeHead stores the head at once: without a content-length Node frames the body
    // chunked (HTTP/1.1), which abortAfterResponseBodyBytes counts (lifecheck prop, Fastify 5.12.8)
    bool has_length = false;
    for (auto const& [k, v] : a.headers)
        if (ascii_lower(k) == "content-length")
            has_length = true;
    bool const chunked = !has_length && status_ != 204 && status_ != 304 && status_ >= 200;
    deliver_head(status_, a.headers, chunked);
    res_end(bytes, body_class::hijacked);
}

js_value request_run::make_payload(scenario::payload const& p) {
    js_value v;
    switch (p.kind) {
    case scenario::payload_kind::json_value:
        if (p.value.is_string()) { // already serialized: a string (scenario-format §1.3)
            v = string_value(p.value.get<std::string>());
            v.origin = body_class::text;
        } else if (p.value.is_null()) {
            v.type = js_type::null;
            v.origin = body_class::json;
        } else {
            v.type = p.value.is_boolean()  ? js_type::boolean
                     : p.value.is_number() ? js_type::number
                                           : js_type::object;
            v.data = p.value;
            v.origin = body_class::json;
        }
        return v;
    case scenario::payload_kind::string:
        v = string_value(p.bytes);
        v.origin = body_class::text;
        return v;
    case scenario::payload_kind::buffer:
        v.type = js_type::buffer;
        v.bytes = p.bytes;
        v.origin = body_class::binary;
        return v;
    case scenario::payload_kind::empty:
        return undefined_value();
    case scenario::payload_kind::stream:
    case scenario::payload_kind::web_stream: {
        auto s = std::make_shared<stream_source>();
        s->web = p.kind == scenario::payload_kind::web_stream;
        s->chunks = p.chunks;
        s->chunk_delay_ms = p.chunk_delay_ms;
        s->fail_after_chunks = p.fail_after_chunks;
        s->locked = p.locked;
        if (s->web) // new ReadableStream(): start() settles a microtask later
            w_.loop.microtask([s] { s->started = true; });
        v.type = s->web ? js_type::web_stream : js_type::node_stream;
        v.stream = s;
        v.origin = body_class::stream;
        return v;
    }
    case scenario::payload_kind::response: {
        if (p.shared) {
            auto& slot = w_.shared[*p.shared];
            w_.touch("shared Response " + *p.shared, in_.id, true, "");
            if (slot) {
                v.type = js_type::response;
                v.response = slot;
                v.origin = body_class::stream;
                return v;
            }
        }
        auto r = std::make_shared<response_object>();
        r->status = p.status.value_or(200);
        r->headers = p.headers;
        if (p.body && p.body->kind != scenario::payload_kind::empty) {
            auto s = std::make_shared<stream_source>();
            s->web = true;
            if (p.body->kind == scenario::payload_kind::web_stream) {
                s->chunks = p.body->chunks;
                s->chunk_delay_ms = p.body->chunk_delay_ms;
                s->fail_after_chunks = p.body->fail_after_chunks;
                s->locked = p.body->locked;
            } else {
                // new Response(string): a byte stream with one chunk; default content-type
                std::string const text =
                    p.body->kind == scenario::payload_kind::json_value && p.body->value.is_string()
                        ? p.body->value.get<std::string>()
                        : p.body->bytes;
                if (!text.empty())
                    s->chunks.push_back(text);
                bool has_ct = false;
                for (auto const& h : r->headers)
                    has_ct = has_ct || ascii_lower(h.first) == "content-type";
                // new Response(string) adds text/plain;charset=UTF-8; a Buffer body adds nothing
                if (!has_ct && p.body->kind != scenario::payload_kind::buffer)
                    r->headers.emplace_back("content-type", "text/plain;charset=UTF-8");
            }
            w_.loop.microtask([s] { s->started = true; }); // the body's start()
            r->body = s;
        }
        if (p.shared)
            w_.shared[*p.shared] = r;
        v.type = js_type::response;
        v.response = r;
        v.origin = body_class::stream;
        return v;
    }
    case scenario::payload_kind::error: { // v2 ops (scenario-format §1.6): new Error(message)
        v = error_value(p.error.message.value_or("boom"), p.error.status_code, p.error.code);
        v.error->status = p.error.status;
        v.error->headers = p.error.headers;
        return v;
    }
    case scenario::payload_kind::undefined:
        return undefined_value();
    case scenario::payload_kind::read:
        return read_payload(p);
    }
    return v;
}

//------------------------------------------------------------------------------
// v2.6 (scenario-format §1.13): what callbacks read off the request and keep across callbacks

instance const* request_run::this_of(action const& a) const {
    // fastify.js binds an error handler to the instance that set it; route.js and
    // four-oh-four.js bind every hook and the handler of a context to its instance
    auto const it = w_.app.error_handler_owner.find(&a);
    return it != w_.app.error_handler_owner.end() ? it->second : ctx_->bound;
}

js_value request_run::read_ref(scenario::ref const& r) {
    using scenario::ref_kind;
    auto member = [](json const& obj, std::optional<std::string> const& key) {
        if (!key)
            return js_of_json(js_object_order(obj));
        return obj.contains(*key) ? js_of_json(js_object_order(obj.at(*key))) : undefined_value();
    };
    auto text = [](std::string s) {
        js_value v = string_value(std::move(s));
        v.origin = body_class::text;
        return v;
    };
    switch (r.kind) {
    case ref_kind::body:
        return body_;
    case ref_kind::query:
        return member(query_of_target(in_.url), r.key);
    case ref_kind::params: {
        std::string pattern = ctx_->path;
        if (ctx_->not_found) // four-oh-four.js routes `prefix` and `prefix/*` ("/*" at the root)
            pattern = ctx_->path == "/"          ? "/*"
                      : path_ == ctx_->path      ? ctx_->path
                      : ctx_->path.back() == '/' ? ctx_->path + "*"
                                                 : ctx_->path + "/*";
        return member(params_of(pattern, path_), r.key);
    }
    case ref_kind::headers:
        if (in_.raw && (!r.key || *r.key == "content-length"))
            unsupported("request.headers of a raw step (its framing header is not kept)");
        return member(headers_of(in_), r.key);
    case ref_kind::method:
        return text(in_.method);
    case ref_kind::url:
        return text(latin1_text(in_.url));
    case ref_kind::id:
        if (in_.raw) // the target's id: x-lifecheck-req when the bytes carry it, else auto-N
            unsupported("request.id of a raw step");
        return text(in_.id);
    case ref_kind::route_url:
        return ctx_->not_found ? undefined_value() : text(ctx_->config_url);
    case ref_kind::route_method:
        return ctx_->not_found ? undefined_value() : text(ctx_->method);
    case ref_kind::request_prop:
    case ref_kind::reply_prop: {
        auto const& own = r.kind == ref_kind::request_prop ? request_own_ : reply_own_;
        auto const it = own.find(*r.key);
        return it == own.end() ? undefined_value() : it->second;
    }
    case ref_kind::this_prop:
        // the prototype chain: each instance's own property, then its parent's
        for (instance const* i = this_; i != nullptr; i = i->parent) {
            auto const set = w_.instance_own.find(i);
            if (set != w_.instance_own.end() && set->second.count(*r.key) != 0)
                return set->second.at(*r.key);
            if (i->own_props.contains(*r.key))
                return js_of_json(i->own_props.at(*r.key));
        }
        return undefined_value();
    }
    return undefined_value();
}

void request_run::write_ref(scenario::ref const& r, js_value v) {
    using scenario::ref_kind;
    if (r.kind == ref_kind::body)
        body_ = std::move(v);
    else if (r.kind == ref_kind::request_prop)
        request_own_[*r.key] = std::move(v);
    else if (r.kind == ref_kind::reply_prop)
        reply_own_[*r.key] = std::move(v);
    else if (r.kind == ref_kind::this_prop)
        w_.instance_own[this_][*r.key] = std::move(v);
}

js_value request_run::read_payload(scenario::payload const& p) {
    if (p.read_of)
        return read_ref(*p.read_of);
    // an object literal: JSON.stringify leaves out the members that are undefined
    json obj = json::object();
    for (auto const& [key, r] : p.read_object) {
        js_value const v = read_ref(r);
        if (v.type == js_type::string)
            obj[key] = v.bytes;
        else if (v.type == js_type::null)
            obj[key] = nullptr;
        else if (v.type == js_type::boolean || v.type == js_type::number ||
                 v.type == js_type::object)
            obj[key] = v.data;
        else if (!v.is_undefined())
            unsupported("a read object member that is not a JSON value");
    }
    return js_of_json(js_object_order(obj));
}

js_value request_run::make_error(action const& a) {
    // new Error(error.message ?? "boom"), statusCode = error.statusCode ?? status, code copied
    std::string message = "boom";
    std::optional<int> status = a.status;
    std::optional<std::string> code;
    if (a.error) {
        if (a.error->message)
            message = *a.error->message;
        if (a.error->status_code)
            status = a.error->status_code;
        code = a.error->code;
    }
    return error_value(message, status, code);
}

//------------------------------------------------------------------------------
// helpers

std::optional<std::string> request_run::reply_header(std::string const& name) const {
    std::string const n = ascii_lower(name);
    for (auto const& [k, v] : reply_headers_) {
        if (k == n)
            return v;
    }
    return std::nullopt;
}

void request_run::set_reply_header(std::string const& name, std::string const& value) {
    std::string const n = ascii_lower(name);
    for (auto& [k, v] : reply_headers_) {
        if (k == n) {
            v = value;
            return;
        }
    }
    reply_headers_.emplace_back(n, value);
}

void request_run::remove_reply_header(std::string const& name) {
    std::string const n = ascii_lower(name);
    reply_headers_.erase(std::remove_if(reply_headers_.begin(),
                                        reply_headers_.end(),
                                        [&](auto const& h) { return h.first == n; }),
                         reply_headers_.end());
}

std::optional<std::string> request_run::request_header(std::string const& name) const {
    std::string const n = ascii_lower(name);
    for (auto const& [k, v] : in_.headers) {
        if (ascii_lower(k) == n)
            return v;
    }
    if (n == "content-length" && in_.body && !in_.chunked)
        return std::to_string(in_.body->size());
    if (n == "transfer-encoding" && in_.chunked)
        return std::string{"chunked"};
    return std::nullopt;
}

} // namespace lifecheck::model::detail
