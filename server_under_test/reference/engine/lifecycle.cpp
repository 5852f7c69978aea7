// The Fastify 5 request lifecycle, following lib/route.js, hooks.js, handle-request.js, reply.js
// and error-handler.js step by step, with Node's scheduling order on the engine's loop.
#include "server_under_test/reference/engine/lifecycle.hpp"

#include "server_under_test/reference/engine/koa_onion.hpp"
#include "server_under_test/reference/engine/node_response.hpp"
#include "server_under_test/reference/engine/request_data.hpp"
#include "server_under_test/reference/engine/values.hpp"

#include <algorithm>
#include <cctype>

namespace lifecheck::engine {

using scenario::action;
using scenario::done_with;
using scenario::op;
using scenario::op_kind;
using scenario::payload_kind;
using scenario::style;
using scenario::verb;

namespace {

std::shared_ptr<js_error> fst_error(char const* code, char const* message, int status) {
    return make_error(message, status, std::string{code});
}

std::string const* find_header(scenario::header_list const& h, std::string const& name) {
    for (auto const& [k, v] : h)
        if (k == name)
            return &v;
    return nullptr;
}

} // namespace

/// Per-app state shared by every request: the built app, flags, shared Responses.
struct shared_state {
    std::shared_ptr<compiled_app const> compiled; // shared read-only with other servers
    scenario::app const* app = nullptr; // compiled->app: owns the ACTIONs `built` points into
    built_app const* built = nullptr;   // compiled->built
    loop* ev = nullptr;
    event_sink sink;
    fault_set faults = 0;
    std::map<std::string, bool> flags; // `set` / `when`
    std::map<std::string, std::shared_ptr<response_obj>> shared_responses;
    // v2.6 (§1.13): own properties a callback set on an instance (`this.NAME = v`, `this.NAME++`)
    std::map<instance const*, std::map<std::string, value>> this_props;
    bool closing = false;
    int auto_id = 0;

    event scratch; // reused by emit_cb: assigning into its strings keeps their capacity

    void emit_cb(std::string const& req,
                 std::string const& label,
                 std::string const& phase,
                 std::string const& scope) {
        scratch.what = event::kind::cb;
        scratch.req = req;
        scratch.label = label;
        scratch.phase = phase;
        scratch.scope = scope;
        sink(scratch);
    }

    bool flag(std::string const& name) const {
        auto it = flags.find(name);
        return it != flags.end() && it->second;
    }

    /// Makes the JS value a PAYLOAD stands for (a fresh stream each time; shared Responses reused).
    value materialize(scenario::payload const& p) {
        value v;
        switch (p.kind) {
        case payload_kind::json_value:
        case payload_kind::string:
        case payload_kind::buffer:
            return plain_value(p);
        case payload_kind::empty:
            return v;
        case payload_kind::stream:
        case payload_kind::web_stream: {
            v.k = value::kind::stream;
            v.stream = make_stream(p);
            mark_started(v.stream);
            return v;
        }
        case payload_kind::response: {
            v.k = value::kind::response;
            if (p.shared) {
                auto& slot = shared_responses[*p.shared];
                if (!slot)
                    slot = make_response(p);
                v.resp = slot;
            } else {
                v.resp = make_response(p);
            }
            return v;
        }
        case payload_kind::error:
            return value::of_error(error_of(p.error));
        case payload_kind::undefined:
        case payload_kind::read: // evaluated by the request (request_impl::op_value)
            return v;
        }
        return v;
    }

    /// A ReadableStream's start() settles a microtask after the stream is made: a read before
    /// that pulls once it settles, a read after it pulls at once (send_stream).
    void mark_started(std::shared_ptr<stream_obj> const& s) {
        if (s->web)
            ev->microtask([w = std::weak_ptr<stream_obj>(s)] {
                if (auto const live = w.lock())
                    live->started = true;
            });
    }

    std::shared_ptr<response_obj> make_response(scenario::payload const& p) {
        auto r = std::make_shared<response_obj>();
        r->status = p.status.value_or(200);
        for (auto const& [k, v] : p.headers)
            r->headers.emplace_back(ascii_lower(k), v);
        if (p.body) {
            if (p.body->kind == payload_kind::string) {
                // new Response(string): a byte stream, content-type text/plain;charset=UTF-8.
                auto s = std::make_shared<stream_obj>();
                s->web = true;
                if (!p.body->bytes.empty())
                    s->chunks.push_back(p.body->bytes);
                r->body = s;
                if (!find_header(r->headers, "content-type"))
                    r->headers.emplace_back("content-type", "text/plain;charset=UTF-8");
            } else {
                r->body = make_stream(*p.body);
                // response.body.getReader() after construction: locked.
                r->body->locked = p.body->locked;
            }
            mark_started(r->body);
        }
        std::stable_sort(r->headers.begin(), r->headers.end(), [](auto const& a, auto const& b) {
            return a.first < b.first;
        });
        return r;
    }
};

namespace {

/// Node's http.IncomingMessage destroyed by a reset: connResetException('aborted').
std::shared_ptr<js_error> aborted_error() {
    return make_error("aborted", std::nullopt, std::string{"ECONNRESET"});
}

enum class guard { none, per_hook, pre_parsing };

/// The continuation of a hook chain: (error or null, payload).
using chain_cb = small_function<void(std::shared_ptr<js_error>, value)>;

class request_impl;

} // namespace

namespace {

class request_impl final : public request, public std::enable_shared_from_this<request_impl> {
public:
    request_impl(std::shared_ptr<shared_state> st, request_head head, exchange& out)
        : st_{std::move(st)}
        , head_{std::move(head)}
        , res_{out, *st_->ev, st_->sink, id_} {
        if (auto const* rid = find_header(head_.headers, "x-lifecheck-req"))
            id_ = *rid;
        else
            id_ = "auto-" + std::to_string(++st_->auto_id);
        std::string path = head_.target;
        auto q = path.find('?');
        if (q != std::string::npos)
            path.resize(q);
        path_ = path;
        ctx_ = &st_->built->route(head_.method, path);
        init_props();
    }

    void start();

    void body(std::string_view data) override;
    void body_end() override;
    void body_ended();
    void finished() override;
    void closed(bool by_client) override;

    void closed_queued(bool by_client) override {
        queued_ = true;
        closed(by_client);
    }

    void timed_out() override;

    std::string const& id() const override { return id_; }

    bool done() const override { return res_.end_emitted(); }

private:
    // --- Node's `res` --------------------------------------------------------------------
    bool sent() const { return hijacked_ || res_.writable_ended(); } // lib/reply.js `sent`

    // reply[kReplyHeaders], which Fastify hands to res.writeHead with the reply's status
    void set_header(std::string name, std::string v);
    void remove_header(std::string const& name);

    void write_head() { res_.write_head(headers_); }

    void res_write(std::string_view data);
    void res_end(std::string_view data = {});

    // --- hooks ---------------------------------------------------------------------------
    struct chain_state {
        std::shared_ptr<request_impl> self;
        phase ph = phase::on_request;
        // the runner's `functions`, taken when it starts: reply.callNotFound() (v2.6) moves the
        // request to another context while a chain of the old one is still running
        hook_list const* hooks = nullptr;
        guard g = guard::none;
        std::size_t i = 0;
        value payload;
        chain_cb cb;
    };

    void run_chain(phase ph, guard g, value payload, chain_cb cb);
    static void chain_next(std::shared_ptr<chain_state> const& s,
                           std::shared_ptr<js_error> err,
                           std::optional<value> np);
    void call_hook(std::shared_ptr<chain_state> const& s, hook_fn const& fn);
    /// A hook settles: a promise reaction (microtask) when `async`, else a direct `done` call.
    static void settle(std::shared_ptr<chain_state> const& s,
                       bool async,
                       std::shared_ptr<js_error> err,
                       std::optional<value> v);
    /// A callback hook threw synchronously: the runner's catch calls the chain's callback with
    /// the error, outside any try of the runner (runner_catch_ tells the onError completion).
    static void thrown_into_runner(std::shared_ptr<chain_state> const& s,
                                   std::shared_ptr<js_error> err);

    /// Runs `fn` now, or after the action's delayMs (an `await sleep(ms)` for async style).
    template <class F>
    void after_delay(action const& a, F&& fn) {
        if (!a.delay_ms) {
            fn(); // the common case: no std::function, no allocation
            return;
        }
        after_timer(a, std::function<void()>{std::forward<F>(fn)});
    }

    void after_timer(action const& a, std::function<void()> fn);

    // --- the pipeline --------------------------------------------------------------------
    using phase_done = void (request_impl::*)(std::shared_ptr<js_error>);
    /// Runs phase `ph`'s hooks, then `next` with their error (now, with null, when none).
    void run_phase(phase ph, guard g, phase_done next);
    /// hookRunner's done for the next phase: true when the pipeline stops here (reply.sent, or
    /// an error, which is sent as one).
    bool phase_stops(std::shared_ptr<js_error> const& err);
    /// reply[kReplyIsError] = true; reply.send(err).
    void send_error(std::shared_ptr<js_error> err);
    void run_pre_parsing(std::shared_ptr<js_error> err);
    void handle_request(std::shared_ptr<js_error> err);
    void parse_body();
    void body_parsed(std::shared_ptr<js_error> err);
    void run_pre_validation();
    void pre_validation_done(std::shared_ptr<js_error> err);
    void pre_handler_done(std::shared_ptr<js_error> err);
    void call_handler();
    void call_not_found();
    void wrap_thenable_resolved(value v);
    void wrap_thenable_rejected(std::shared_ptr<js_error> err);
    void do_send_verb(action const& a);
    std::shared_ptr<js_error> hook_send(action const& a);
    void send_end_throw(std::shared_ptr<js_error> err);

    // --- reply ---------------------------------------------------------------------------
    void send(value p);
    void pre_serialization(value p);
    void on_send_hooks(value p);
    void on_send_end(value p);
    void send_stream(std::shared_ptr<stream_obj> s);
    void hijack_write(action const& a);

    // --- v2 ops (scenario-format §1.6) ---------------------------------------------------
    enum class ops_site { hook, handler, error_handler };

    struct ops_frame {
        std::shared_ptr<request_impl> self;
        action const* a = nullptr;
        ops_site at = ops_site::hook;
        std::shared_ptr<chain_state> chain;  // hooks: the runner to continue
        instance const* this_inst = nullptr; // v2.6: the function's `this`
    };

    // --- v2.6 request data and state (scenario-format §1.13) ------------------------------
    /// The JS value of an ops PAYLOAD: `read` evaluated now, any other kind materialized.
    value op_value(ops_frame const& f, scenario::payload const& p);
    value read_ref(ops_frame const& f, scenario::ref const& r);
    void assign_ref(ops_frame const& f, scenario::ref const& r, value v);
    /// The request decorations and own properties, made when the Request object is.
    void init_props();

    /// Runs ops from `i`; `sync` while still inside the call Fastify made (not from a timer).
    static void run_ops(std::shared_ptr<ops_frame> const& f, std::size_t i, bool sync);
    /// The function failed with `err`: an async rejection, a synchronous throw, or a throw from
    /// a timer (a crash in Fastify; the reference answers through the error path, D5).
    static void ops_fail(ops_frame const& f, std::shared_ptr<js_error> err, bool sync);
    /// The async function settled with `v` (nothing: undefined), or adopted the reply.
    static void ops_resolve(ops_frame const& f, value v, bool reply);
    /// reply.send(v) from a hook: what reply.send() throws into the hook (hook_send's rules).
    std::shared_ptr<js_error> hook_send_value(value v);

    // --- errors --------------------------------------------------------------------------
    /// How the error path was entered: from reply.send (lib/reply.js passes onSendHook as the
    /// continuation `cb`) or from anywhere else (preSerialization, onSend, stream failures:
    /// no `cb`); and whether handleError runs as the onError chain's completion.
    enum class error_entry { send, no_cb, on_error_done };
    void on_error_hook(std::shared_ptr<js_error> err, error_entry how = error_entry::no_cb);
    void handle_error(std::shared_ptr<js_error> err, error_entry how);
    void call_error_handler(error_handler_node const& node, std::shared_ptr<js_error> err);
    void default_error_handler(std::shared_ptr<js_error> err);
    void final_write(std::shared_ptr<js_error> err);
    std::string default_error_json(js_error const& err) const;

    // --- side events ---------------------------------------------------------------------
    void on_finish_listeners();
    void on_close_listeners();
    void run_on_response();
    void when_reply_settles(std::function<void()> fn);

    std::shared_ptr<shared_state> st_;
    request_head head_;
    std::string id_;
    node_response res_; // Node's res and socket: status, writes, finish/close, `end`
    std::string path_;
    context const* ctx_ = nullptr;

    // reply state (lib/reply.js); the status is res.statusCode (res_)
    scenario::header_list headers_; // kReplyHeaders: lower-case names, insertion order
    bool hijacked_ = false;
    bool is_error_ = false;    // kReplyIsError
    bool in_on_error_ = false; // kReplyIsRunningOnErrorHook
    // Where what onSendEnd throws synchronously (ERR_HTTP_HEADERS_SENT) lands: the innermost JS
    // frame on the stack that catches it — a hook's reply.send() call, or handleError's try
    // around the error handler; null where a hook runner catches it (or nothing does).
    std::shared_ptr<js_error>* send_catch_ = nullptr;
    bool runner_catch_ = false; // the chain's callback runs from the runner's catch block
    enum class eh_state { unset, node, sentinel, final } eh_ = eh_state::unset;
    error_handler_node const* next_eh_ = nullptr; // when eh_ == node

    // req / listeners
    bool aborted_ = false;            // req.aborted
    bool response_listeners_ = false; // setupResponseListeners ran
    // eos(res) listeners in the order they were attached: reply.then() waiting on finish/close
    // and sendWebStream's (which cancels the reader when res closes first)
    std::vector<std::function<void()>> settle_waiters_;
    stream_obj const* web_read_pending_ = nullptr; // reader.read() waits for the next chunk
    stream_obj const* node_source_ = nullptr;      // a node stream being piped (sendStream)
    void premature_close();

    // v2.6: request.body, own properties of the Request and Reply objects
    value body_value_;
    std::map<std::string, value> request_props_;
    std::map<std::string, value> reply_props_;

    // request body
    std::string body_;
    bool body_complete_ = false;
    bool body_wanted_ = false; // the content-type parser is reading
    bool body_done_ = false;   // the parser finished (ok or error)
    bool req_ended_ = false;   // the parser read the body to its end (readableEnded)
    bool queued_ = false;      // closed while its response waited behind another

    // v2.6 (scenario-format §1.11): handlerTimeout (route.js routeHandler)
    std::optional<loop::timer_id> handler_timer_;
    void arm_handler_timeout();
    void clear_handler_timeout();
    void handler_timed_out();
};

// ---------------------------------------------------------------------------------------------
// Node's res

void request_impl::set_header(std::string name, std::string v) {
    name = ascii_lower(std::move(name));
    for (auto& [k, old] : headers_)
        if (k == name) {
            old = std::move(v);
            return;
        }
    headers_.emplace_back(std::move(name), std::move(v));
}

void request_impl::remove_header(std::string const& name) {
    headers_.erase(std::remove_if(headers_.begin(),
                                  headers_.end(),
                                  [&](auto const& h) { return h.first == name; }),
                   headers_.end());
}

void request_impl::res_write(std::string_view data) {
    if (!res_.writable())
        return;
    write_head(); // sendStream: the reply's head goes out with the first chunk
    res_.write(data);
}

void request_impl::res_end(std::string_view data) {
    if (res_.writable_ended())
        return;
    write_head(); // onSendEnd: res.writeHead(statusCode, reply[kReplyHeaders]), then res.end
    res_.end(data);
}

// ---------------------------------------------------------------------------------------------
// routeHandler (lib/route.js)

/// find-my-way decodes the path with decodeURI, which throws (fastify.js onBadUrl) on a `%` not
/// followed by two hex digits and on escaped octets that are not UTF-8 as RFC 3629 has it: no lone
/// or continuation-first octet, no overlong form, no surrogate, nothing past U+10FFFF
/// (fastify-lifecycle §2.1 step 2; scenarios/fastify/http/bad-url-invalid-utf8-400.json).
bool decodable_path(std::string const& path) {
    auto hex = [](char c) {
        auto const u = static_cast<unsigned char>(c);
        return std::isdigit(u) ? u - '0' : (std::tolower(u) - 'a' + 10);
    };
    int owed = 0;                  // continuation octets the current sequence still needs
    unsigned lo = 0x80, hi = 0xBF; // where the next continuation octet must lie
    for (std::size_t i = 0; i < path.size(); ++i) {
        if (path[i] != '%') {
            if (owed != 0)
                return false; // a sequence cut short by a literal character
            continue;
        }
        if (i + 2 >= path.size() || !std::isxdigit(static_cast<unsigned char>(path[i + 1])) ||
            !std::isxdigit(static_cast<unsigned char>(path[i + 2])))
            return false;
        auto const octet = static_cast<unsigned>(hex(path[i + 1]) * 16 + hex(path[i + 2]));
        i += 2;
        if (owed != 0) {
            if (octet < lo || octet > hi)
                return false;
            lo = 0x80;
            hi = 0xBF;
            --owed;
        } else if (octet >= 0x80) {
            if (octet < 0xC2 || octet > 0xF4)
                return false; // a continuation octet first, an overlong lead, or past U+10FFFF
            owed = octet < 0xE0 ? 1 : octet < 0xF0 ? 2 : 3;
            lo = octet == 0xE0 ? 0xA0 : octet == 0xF0 ? 0x90 : 0x80; // overlong 3- and 4-octet
            hi = octet == 0xED ? 0x9F : octet == 0xF4 ? 0x8F : 0xBF; // surrogates, > U+10FFFF
        }
    }
    return owed == 0;
}

void request_impl::start() {
    if (!decodable_path(path_)) {
        // fastify.js onBadUrl: a direct 400 before routing, no hooks.
        std::string const body = R"({"error":"Bad Request","code":"FST_ERR_BAD_URL","message":"')" +
                                 js_string_of_bytes(path_) +
                                 R"(' is not a valid url component","statusCode":400})";
        res_.status_code(400);
        headers_ = {{"Content-Type", "application/json"},
                    {"Content-Length", std::to_string(body.size())}};
        res_end(body);
        return;
    }
    if (st_->closing) {
        set_header("connection", "close");
        if (st_->app->options.return503_on_closing) {
            res_.status_code(503);
            headers_ = {{"Connection", "close"},
                        {"Content-Type", "application/json"},
                        {"Content-Length", "80"}};
            res_end(
                R"({"error":"Service Unavailable","message":"Service Unavailable","statusCode":503})");
            return;
        }
    }
    if (ctx_->handler_timeout_ms > 0)
        arm_handler_timeout();
    if (!ctx_->of(phase::on_response).empty())
        response_listeners_ = true;
    run_phase(phase::on_request, guard::per_hook, &request_impl::run_pre_parsing);
}

void request_impl::run_phase(phase ph, guard g, phase_done next) {
    if (ctx_->of(ph).empty()) {
        (this->*next)(nullptr);
        return;
    }
    auto self = shared_from_this();
    run_chain(ph, g, value{}, [self, next](auto err, value) { ((*self).*next)(std::move(err)); });
}

bool request_impl::phase_stops(std::shared_ptr<js_error> const& err) {
    if (sent())
        return true;
    if (err) {
        send_error(err);
        return true;
    }
    return false;
}

void request_impl::send_error(std::shared_ptr<js_error> err) {
    is_error_ = true;
    send(value::of_error(std::move(err)));
}

void request_impl::run_pre_parsing(std::shared_ptr<js_error> err) {
    if (phase_stops(err))
        return;
    run_phase(phase::pre_parsing, guard::pre_parsing, &request_impl::handle_request);
}

void request_impl::handle_request(std::shared_ptr<js_error> err) {
    // lib/handle-request.js
    if (phase_stops(err))
        return;
    std::string const& m = head_.method;
    if (m == "GET" || m == "HEAD" || m == "TRACE") {
        run_pre_validation();
        return;
    }
    std::string const* ct = find_header(head_.headers, "content-type");
    if (ct == nullptr) {
        bool const empty_body = !head_.chunked && head_.content_length <= 0;
        if (empty_body) {
            run_pre_validation();
            return;
        }
        if (ctx_->is_not_found) {
            run_pre_validation(); // content-type-parser.js: a 404 route skips the parser
            return;
        }
        send_error(fst_error("FST_ERR_CTP_INVALID_MEDIA_TYPE", "Unsupported Media Type", 415));
        return;
    }
    std::string media = ascii_lower(*ct);
    auto semi = media.find(';');
    if (semi != std::string::npos)
        media.resize(semi);
    while (!media.empty() && media.back() == ' ')
        media.pop_back();
    if (media != "application/json" && media != "text/plain") {
        if (ctx_->is_not_found) {
            run_pre_validation();
            return;
        }
        send_error(fst_error("FST_ERR_CTP_INVALID_MEDIA_TYPE", "Unsupported Media Type", 415));
        return;
    }
    parse_body();
}

void request_impl::parse_body() {
    // content-type-parser.js rawBody: the declared length is checked first.
    long long const limit = ctx_->body_limit;
    if (head_.content_length > limit) {
        body_done_ = true;
        body_parsed(fst_error("FST_ERR_CTP_BODY_TOO_LARGE", "Request body is too large", 413));
        return;
    }
    body_wanted_ = true;
    if (body_complete_) {
        auto self = shared_from_this();
        // resume() flows what was buffered on a nextTick, 'end' follows on another (endReadableNT):
        // both before the microtasks queued meanwhile (lifecheck prop: an async preSerialization
        // of a reply sent by an onRequest hook; Fastify 5.12.8 still runs the handler).
        loop* ev = st_->ev;
        ev->next_tick([self, ev] { ev->next_tick([self] { self->body_ended(); }); });
    }
}

void request_impl::body(std::string_view data) {
    if (body_done_)
        return;
    body_.append(data.data(), data.size());
    if (body_wanted_ && static_cast<long long>(body_.size()) > ctx_->body_limit) {
        body_done_ = true;
        body_parsed(fst_error("FST_ERR_CTP_BODY_TOO_LARGE", "Request body is too large", 413));
    }
}

void request_impl::body_end() {
    body_complete_ = true;
    // Node: a req destroyed with its socket emits no 'end' (a parser that starts reading after
    // the close waits for ever; one reading at the close gets the 'aborted' error instead).
    if (!body_wanted_ || body_done_ || res_.closed())
        return;
    // The parser is reading: push(null) emits 'end' on a nextTick (endReadableNT), after the
    // ticks queued before, such as a stream reply's first chunk (lifecheck prop seed 7,
    // Finding 43: a callback onRequest hook's sendThenContinue of a stream on a POST; Fastify
    // 5.12.8 writes its head before preValidation runs).
    auto self = shared_from_this();
    st_->ev->next_tick([self] { self->body_ended(); });
}

void request_impl::body_ended() {
    if (body_done_ || res_.closed())
        return;
    body_done_ = true;
    req_ended_ = true;
    // The body read to its end: Node destroys req (autoDestroy), and its 'close' is the
    // handler timeout's onAbort listener, which clears the timer (checked on Fastify 5.12.8).
    clear_handler_timeout();
    if (head_.content_length >= 0 && static_cast<long long>(body_.size()) != head_.content_length) {
        body_parsed(fst_error("FST_ERR_CTP_INVALID_CONTENT_LENGTH",
                              "Request body size did not match Content-Length",
                              400));
        return;
    }
    std::string const* ct = find_header(head_.headers, "content-type");
    if (ct != nullptr && ascii_lower(*ct).rfind("application/json", 0) == 0) {
        if (body_.empty()) {
            body_parsed(fst_error("FST_ERR_CTP_EMPTY_JSON_BODY",
                                  "Body cannot be empty when content-type is set to "
                                  "'application/json'",
                                  400));
            return;
        }
        if (!scenario::json::accept(body_)) {
            body_parsed(fst_error("FST_ERR_CTP_INVALID_JSON_BODY",
                                  "Body is not valid JSON but content-type is set to "
                                  "'application/json'",
                                  400));
            return;
        }
    }
    body_parsed(nullptr);
}

void request_impl::body_parsed(std::shared_ptr<js_error> err) {
    if (err) {
        // content-type-parser.js onDone: close the connection, the client may send more.
        set_header("connection", "close");
        send_error(std::move(err));
        return;
    }
    // content-type-parser.js: request.body = the parser's result (JSON.parse, or the text)
    std::string const* ct = find_header(head_.headers, "content-type");
    body_value_ =
        parsed_body(body_, ct != nullptr && ascii_lower(*ct).rfind("application/json", 0) == 0);
    run_pre_validation();
}

void request_impl::run_pre_validation() {
    run_phase(phase::pre_validation, guard::per_hook, &request_impl::pre_validation_done);
}

void request_impl::pre_validation_done(std::shared_ptr<js_error> err) {
    if (phase_stops(err))
        return;
    run_phase(phase::pre_handler, guard::per_hook, &request_impl::pre_handler_done);
}

void request_impl::pre_handler_done(std::shared_ptr<js_error> err) {
    if (phase_stops(err))
        return;
    call_handler();
}

void request_impl::call_handler() {
    auto self = shared_from_this();
    if (ctx_->handler == nullptr) {
        // four-oh-four.js basic404: Fastify's own handler, not a user callback (not traced).
        res_.status_code(404);
        value v;
        v.k = value::kind::json;
        v.js = scenario::json::object();
        v.js["message"] =
            js_string_of_bytes("Route " + head_.method + ":" + head_.target + " not found");
        v.js["error"] = "Not Found";
        v.js["statusCode"] = 404;
        send(std::move(v));
        return;
    }
    action const& a = *ctx_->handler;
    std::string const phase_name = ctx_->is_not_found ? "notFound" : "handler";
    st_->emit_cb(id_, a.label, phase_name, ctx_->handler_scope);
    if (a.when && st_->flag(a.when->flag) != a.when->is) {
        // async: resolves undefined (wrapThenable may send an empty reply); callback: nothing.
        if (a.how == style::async)
            st_->ev->microtask([self] { self->wrap_thenable_resolved(value{}); });
        return;
    }
    if (a.ops) {
        run_ops(std::make_shared<ops_frame>(
                    ops_frame{self, &a, ops_site::handler, nullptr, ctx_->owner}),
                0,
                true);
        return;
    }
    if (a.how == style::callback && a.what == verb::throw_ && !a.delay_ms) {
        // A synchronous throw: handle-request.js catch → kReplyIsError, send(err).
        if (a.set)
            st_->flags[a.set->flag] = a.set->value;
        send_error(thrown_by(a));
        return;
    }
    auto act = [self, &a] {
        auto& st = *self->st_;
        if (a.set)
            st.flags[a.set->flag] = a.set->value;
        bool const async = a.how == style::async;
        switch (a.what) {
        case verb::continue_: {
            value v = a.body ? st.materialize(*a.body) : value{};
            if (async)
                st.ev->microtask([self, v = std::move(v)]() mutable {
                    self->wrap_thenable_resolved(std::move(v));
                });
            else
                self->send(std::move(v));
            break;
        }
        case verb::throw_:
        case verb::rethrow: {
            auto err = thrown_by(a);
            if (async)
                st.ev->microtask([self, err] { self->wrap_thenable_rejected(err); });
            else
                self->send(value::of_error(err)); // callback style from a timer: reply.send(err)
            break;
        }
        case verb::send:
        case verb::send_then_continue:
            // async: `return reply` adopts the reply thenable; wrapThenable then sees undefined
            // with reply.sent true, so nothing more happens.
            if (auto err = self->hook_send(a)) {
                // reply.send() threw (another send's head went out, another lifecycle's onError
                // hooks run, a locked stream): the async handler rejects, wrapThenable sends the
                // error a microtask later; a callback handler throws into handle-request.js's
                // catch, or from a timer, where Fastify dies (the reference answers: D5)
                // (lifecycle fuzzer b173ad91, Fastify 5.12.8: onRequestAbort hooks interleave).
                if (async)
                    st.ev->microtask([self, err] { self->wrap_thenable_rejected(err); });
                else
                    self->send_error(err);
            }
            break;
        case verb::hijack:
            self->hijack_write(a);
            break;
        case verb::hang:
        case verb::replace_payload:
            break;
        }
    };
    after_delay(a, act);
}

void request_impl::call_not_found() {
    // lib/reply.js notFound (v2.6): a 404 context has no kFourOhFourContext, so Fastify warns
    // and answers a basic 404; else the request moves to the route's 404 context (its hooks,
    // error handler and the route's onSend from now on), whose preHandler hooks run before
    // preHandlerCallback: nothing when the reply went out meanwhile, else the 404 handler.
    if (ctx_->not_found == nullptr) {
        res_.status_code(404);
        send(value::of_string("404 Not Found"));
        return;
    }
    ctx_ = ctx_->not_found;
    run_phase(phase::pre_handler, guard::per_hook, &request_impl::pre_handler_done);
}

void request_impl::after_timer(action const& a, std::function<void()> fn) {
    if (a.how == style::async) {
        // `await sleep(ms)`: the timer resolves a promise; the function resumes in a microtask.
        loop* ev = st_->ev;
        ev->set_timeout(*a.delay_ms, [ev, fn] { ev->microtask(fn); });
    } else {
        st_->ev->set_timeout(*a.delay_ms, fn);
    }
}

void request_impl::send_end_throw(std::shared_ptr<js_error> err) {
    if (send_catch_ != nullptr) {
        *send_catch_ = std::move(err); // thrown out of reply.send() into the catching frame
        send_catch_ = nullptr;
        return;
    }
    on_error_hook(std::move(err));
}

std::shared_ptr<js_error> request_impl::hook_send(action const& a) {
    // With no preSerialization/onSend hook between (their runners catch it), what onSendEnd
    // throws synchronously leaves reply.send() into the calling hook (lifecheck prop: a second
    // send after a failed stream, a locked web stream; Fastify 5.12.8 stops the hook chain).
    if (in_on_error_) {
        // another lifecycle's onError hooks are running: reply.code().headers() apply, then
        // reply.send() throws FST_ERR_SEND_INSIDE_ONERR into this hook (lifecheck prop, 5.12.8)
        res_.status_code(a.status.value_or(200));
        for (auto const& [k, v] : a.headers)
            set_header(k, v);
        return fst_error(
            "FST_ERR_SEND_INSIDE_ONERR", "You cannot use `send` inside the `onError` hook", 500);
    }
    bool const serialized =
        a.body && a.body->kind == scenario::payload_kind::json_value && !a.body->value.is_string();
    std::shared_ptr<js_error> thrown;
    auto* const outer = send_catch_;
    bool const sync = ctx_->of(phase::on_send).empty() &&
                      (!serialized || ctx_->of(phase::pre_serialization).empty());
    send_catch_ = sync ? &thrown : nullptr;
    do_send_verb(a);
    send_catch_ = outer;
    return thrown;
}

std::shared_ptr<js_error> request_impl::hook_send_value(value v) {
    if (in_on_error_)
        return fst_error(
            "FST_ERR_SEND_INSIDE_ONERR", "You cannot use `send` inside the `onError` hook", 500);
    bool const serialized = v.k == value::kind::json || v.k == value::kind::null;
    std::shared_ptr<js_error> thrown;
    auto* const outer = send_catch_;
    bool const sync = ctx_->of(phase::on_send).empty() &&
                      (!serialized || ctx_->of(phase::pre_serialization).empty());
    send_catch_ = sync ? &thrown : nullptr;
    send(std::move(v));
    send_catch_ = outer;
    return thrown;
}

// ---------------------------------------------------------------------------------------------
// v2 ops (scenario-format §1.6): one user function's operations, in order

namespace {

/// reply.code(n): FST_ERR_BAD_STATUS_CODE outside 100-599 (lib/reply.js), else Node keeps the
/// integer part at writeHead.
std::shared_ptr<js_error> bad_status(scenario::json const& n) {
    double const d = n.get<double>();
    if (d >= 100 && d <= 599)
        return nullptr;
    std::string shown = n.dump(); // `code || String(code)`: JSON numbers print as JS does here
    return make_error("Called reply with an invalid status code: " + shown,
                      500,
                      std::string{"FST_ERR_BAD_STATUS_CODE"});
}

/// lib/hooks.js handleReject: a hook's promise rejected with a falsy value becomes
/// FST_ERR_SEND_UNDEFINED_ERR, in every hook runner.
std::shared_ptr<js_error> rejection(std::shared_ptr<js_error> err) {
    if (!falsy(*err))
        return err;
    return fst_error("FST_ERR_SEND_UNDEFINED_ERR", "Undefined error has occurred", 500);
}

} // namespace

void request_impl::run_ops(std::shared_ptr<ops_frame> const& f, std::size_t i, bool sync) {
    request_impl& self = *f->self;
    shared_state& st = *self.st_;
    action const& a = *f->a;
    std::vector<op> const& ops = *a.ops;
    bool const async = a.how == style::async;
    for (; i < ops.size(); ++i) {
        op const& o = ops[i];
        switch (o.kind) {
        case op_kind::code:
            if (auto err = bad_status(o.code)) {
                ops_fail(*f, std::move(err), sync);
                return;
            }
            self.res_.status_code(static_cast<int>(o.code.get<double>()));
            break;
        case op_kind::header:
        case op_kind::headers:
            for (auto const& [k, v] : o.headers)
                self.set_header(k, v);
            break;
        case op_kind::remove_header:
            self.remove_header(ascii_lower(o.name));
            break;
        case op_kind::type:
            self.set_header("content-type", o.name);
            break;
        case op_kind::send: {
            // What reply.send() throws leaves the function the same way from every site: a
            // hook's runner, handle-request.js (a rejection a microtask later for an async
            // handler) or handleError catch it (lifecycle fuzzer 05fd6db0, Fastify 5.12.8).
            value v = o.body ? self.op_value(*f, *o.body) : value{};
            if (auto err = self.hook_send_value(std::move(v))) {
                ops_fail(*f, std::move(err), sync);
                return;
            }
            break;
        }
        case op_kind::set:
            st.flags[o.flag.flag] = o.flag.value;
            break;
        case op_kind::await_: {
            auto next = [f, i] {
                run_ops(f, i + 1, false);
            };
            loop* ev = st.ev;
            if (async)
                ev->set_timeout(o.ms, [ev, next] { ev->microtask(next); });
            else
                ev->set_timeout(o.ms, next);
            return;
        }
        case op_kind::return_: {
            value v = o.body ? self.op_value(*f, *o.body) : value{};
            if (async) {
                ops_resolve(*f, std::move(v), o.return_reply);
            } else if (sync && f->at != ops_site::hook && v.k != value::kind::undefined) {
                // handle-request.js / handleError: a synchronous return value is sent
                self.send(std::move(v));
            }
            return; // a callback hook's return value is ignored (not a thenable)
        }
        case op_kind::throw_: {
            ops_fail(*f, thrown_of(self.op_value(*f, *o.body)), sync);
            return;
        }
        case op_kind::done: {
            auto const& s = f->chain;
            if (o.done == done_with::error) {
                // done(err): the runners' next() tests `if (err)`, so a falsy value is done()
                auto err = thrown_of(self.op_value(*f, *o.body));
                chain_next(s, falsy(*err) ? nullptr : std::move(err), std::nullopt);
            } else if (o.done == done_with::payload)
                chain_next(s, nullptr, self.op_value(*f, *o.body));
            else
                chain_next(s, nullptr, std::nullopt);
            break; // the function goes on after done()
        }
        case op_kind::hang:
            return;
        case op_kind::call_not_found:
            self.call_not_found();
            break;
        case op_kind::hijack: // reply.hijack(): `sent` from now on; nothing is written
            self.hijacked_ = true;
            break;
        case op_kind::ctx_status: // koa ops: the loader refuses them outside koa middleware
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
            break;
        case op_kind::assign:
            self.assign_ref(*f, *o.target, self.op_value(*f, *o.body));
            break;
        case op_kind::increment:
            self.assign_ref(*f, *o.target, incremented(self.read_ref(*f, *o.target)));
            break;
        }
    }
    if (async)
        ops_resolve(*f, value{}, false);
}

void request_impl::ops_fail(ops_frame const& f, std::shared_ptr<js_error> err, bool sync) {
    request_impl& self = *f.self;
    bool const async = f.a->how == style::async;
    if (!async && !sync) {
        self.on_error_hook(std::move(err)); // thrown from a timer: Fastify crashes here (D5)
        return;
    }
    switch (f.at) {
    case ops_site::hook:
        if (async) {
            settle(f.chain, true, rejection(std::move(err)), std::nullopt);
        } else if (nullish(*err)) {
            // The runner's catch calls its callback with the value, which tests `err != null`:
            // the phase's remaining hooks are skipped and the lifecycle goes on; onSend's and
            // preSerialization's callbacks get no payload (`cb(error, request, reply)`).
            phase const ph = f.chain->ph;
            bool const payload_lost = ph == phase::on_send || ph == phase::pre_serialization;
            f.chain->cb(nullptr, payload_lost ? value{} : f.chain->payload);
        } else {
            thrown_into_runner(f.chain, std::move(err)); // the runner's catch
        }
        break;
    case ops_site::handler:
        if (async) {
            auto self_ptr = f.self;
            self.st_->ev->microtask([self_ptr, err] { self_ptr->wrap_thenable_rejected(err); });
        } else {
            self.send_error(std::move(err)); // handle-request.js catch
        }
        break;
    case ops_site::error_handler:
        if (async) {
            auto self_ptr = f.self;
            self.st_->ev->microtask([self_ptr, err] { self_ptr->wrap_thenable_rejected(err); });
        } else {
            // handleError's catch: reply.send(err); a non-Error is sent as a payload
            self.send(sent_value_of(err));
        }
        break;
    }
}

void request_impl::ops_resolve(ops_frame const& f, value v, bool reply) {
    request_impl& self = *f.self;
    loop* ev = self.st_->ev;
    if (f.at == ops_site::hook) {
        auto s = f.chain;
        if (reply) // `return reply`: resolves once the response finished or the socket closed
            self.when_reply_settles(
                [ev, s] { ev->microtask([s] { chain_next(s, nullptr, std::nullopt); }); });
        else
            settle(s,
                   true,
                   nullptr,
                   v.k == value::kind::undefined ? std::nullopt
                                                 : std::optional<value>{std::move(v)});
        return;
    }
    auto self_ptr = f.self;
    if (reply) {
        self.when_reply_settles([ev, self_ptr] {
            ev->microtask([self_ptr] { self_ptr->wrap_thenable_resolved(value{}); });
        });
        return;
    }
    ev->microtask(
        [self_ptr, v = std::move(v)]() mutable { self_ptr->wrap_thenable_resolved(std::move(v)); });
}

void request_impl::do_send_verb(action const& a) {
    // scenario-format §1.2: reply.code(status ?? 200).headers(headers).send(payload)
    res_.status_code(a.status.value_or(200));
    for (auto const& [k, v] : a.headers)
        set_header(k, v);
    send(a.body ? st_->materialize(*a.body) : value{});
}

void request_impl::hijack_write(action const& a) {
    hijacked_ = true;
    clear_handler_timeout(); // reply.hijack() clears the handler timeout
    if (res_.headers_sent())
        return; // raw.writeHead throws ERR_HTTP_HEADERS_SENT first: nothing is written
    res_.status_code(a.status.value_or(200));
    headers_.clear();
    for (auto const& [k, v] : a.headers)
        headers_.emplace_back(k, v);
    std::string bytes;
    if (a.body) {
        value v = st_->materialize(*a.body);
        if (v.k == value::kind::json)
            bytes = js_stringify(v.js);
        else
            bytes = v.bytes;
    }
    res_end(bytes); // raw.writeHead(status, headers); raw.end(bytes)
}

// ---------------------------------------------------------------------------------------------
// v2.6 request data and state across callbacks (scenario-format §1.13)

namespace {

/// JavaScript's own-key order: array-index keys ascending first, then the rest as inserted.
scenario::json js_key_order(scenario::json const& v) {
    if (v.is_array()) {
        scenario::json out = scenario::json::array();
        for (auto const& e : v)
            out.push_back(js_key_order(e));
        return out;
    }
    if (!v.is_object())
        return v;
    auto index = [](std::string const& k) -> std::optional<unsigned long long> {
        if (k.empty() || k.size() > 10 || (k.size() > 1 && k[0] == '0'))
            return std::nullopt;
        unsigned long long n = 0;
        for (char c : k) {
            if (c < '0' || c > '9')
                return std::nullopt;
            n = n * 10 + static_cast<unsigned long long>(c - '0');
        }
        return n < 4294967295ULL ? std::optional{n} : std::nullopt;
    };
    std::vector<std::pair<unsigned long long, std::string>> indices;
    for (auto it = v.begin(); it != v.end(); ++it)
        if (auto n = index(it.key()))
            indices.emplace_back(*n, it.key());
    std::sort(indices.begin(), indices.end());
    scenario::json out = scenario::json::object();
    for (auto const& [n, k] : indices)
        out[k] = js_key_order(v.at(k));
    for (auto it = v.begin(); it != v.end(); ++it)
        if (!index(it.key()))
            out[it.key()] = js_key_order(it.value());
    return out;
}

value member_of(scenario::json const& obj, std::optional<std::string> const& key) {
    if (!key)
        return of_json(js_key_order(obj));
    auto it = obj.find(*key);
    return it == obj.end() ? value{} : of_json(js_key_order(*it));
}

} // namespace

void request_impl::init_props() {
    // lib/request.js, lib/reply.js: each new object gets its class's decorations
    for (auto const& [props, from] : {std::pair{&request_props_, &ctx_->owner->request_props},
                                      std::pair{&reply_props_, &ctx_->owner->reply_props}})
        for (auto it = from->begin(); it != from->end(); ++it)
            (*props)[it.key()] = of_json(it.value());
}

value request_impl::read_ref(ops_frame const& f, scenario::ref const& r) {
    using scenario::ref_kind;
    switch (r.kind) {
    case ref_kind::body:
        return body_value_;
    case ref_kind::query: {
        std::string_view const qs = query_string_of(head_.target);
        return member_of(qs.empty() ? scenario::json::object() : query_object(qs), r.key);
    }
    case ref_kind::params: {
        // find-my-way: the route's pattern; a 404 context's is its prefix's catch-all
        std::string pattern = ctx_->path;
        if (ctx_->is_not_found) {
            std::string const prefix = ctx_->owner->prefix.empty() ? "/" : ctx_->owner->prefix;
            if (prefix == "/")
                pattern = "/*";
            else if (path_ == prefix)
                pattern = prefix;
            else
                pattern = prefix + (prefix.back() == '/' ? "*" : "/*");
        }
        return member_of(params_object(pattern, path_), r.key);
    }
    case ref_kind::headers:
        return member_of(headers_object(head_.headers), r.key);
    case ref_kind::method:
        return value::of_string(head_.method);
    case ref_kind::url:
        return value::of_string(js_string_of_bytes(head_.target));
    case ref_kind::id:
        return value::of_string(id_);
    case ref_kind::route_url:
        return ctx_->is_not_found ? value{} : value::of_string(ctx_->url);
    case ref_kind::route_method:
        return ctx_->is_not_found ? value{} : value::of_string(ctx_->method);
    case ref_kind::request_prop:
    case ref_kind::reply_prop: {
        auto const& props = r.kind == ref_kind::request_prop ? request_props_ : reply_props_;
        auto it = props.find(*r.key);
        return it == props.end() ? value{} : it->second;
    }
    case ref_kind::this_prop:
        // the instance's own property, else its prototype's (Object.create(parent))
        for (instance const* i = f.this_inst; i != nullptr; i = i->parent) {
            auto const own = st_->this_props.find(i);
            if (own != st_->this_props.end()) {
                auto it = own->second.find(*r.key);
                if (it != own->second.end())
                    return it->second;
            }
            if (i->decorations.contains(*r.key))
                return of_json(i->decorations.at(*r.key));
        }
        return value{};
    }
    return value{};
}

void request_impl::assign_ref(ops_frame const& f, scenario::ref const& r, value v) {
    using scenario::ref_kind;
    switch (r.kind) {
    case ref_kind::body:
        body_value_ = std::move(v);
        break;
    case ref_kind::request_prop:
        request_props_[*r.key] = std::move(v);
        break;
    case ref_kind::reply_prop:
        reply_props_[*r.key] = std::move(v);
        break;
    case ref_kind::this_prop:
        st_->this_props[f.this_inst][*r.key] = std::move(v);
        break;
    default:
        break; // the loader allows no other target
    }
}

value request_impl::op_value(ops_frame const& f, scenario::payload const& p) {
    if (p.kind != payload_kind::read)
        return st_->materialize(p);
    if (p.read_of)
        return read_ref(f, *p.read_of);
    scenario::json out = scenario::json::object();
    for (auto const& [key, r] : p.read_object) {
        value const v = read_ref(f, r);
        if (v.k == value::kind::string)
            out[key] = v.bytes;
        else if (v.k == value::kind::json)
            out[key] = v.js;
        // undefined: JSON.stringify leaves the key out
    }
    return of_json(js_key_order(out));
}

// lib/wrap-thenable.js
void request_impl::wrap_thenable_resolved(value v) {
    if (hijacked_)
        return;
    if (v.k != value::kind::undefined ||
        (!sent() && !res_.headers_sent() && !aborted_ && !res_.closed())) {
        send(std::move(v));
    }
}

void request_impl::wrap_thenable_rejected(std::shared_ptr<js_error> err) {
    if (sent())
        return; // logged: "Promise errored, but reply.sent = true was set"
    send_error(std::move(err));
}

// ---------------------------------------------------------------------------------------------
// Hook runners (lib/hooks.js)

void request_impl::run_chain(phase ph, guard g, value payload, chain_cb cb) {
    auto s = std::make_shared<chain_state>();
    s->self = shared_from_this();
    s->ph = ph;
    s->hooks = &ctx_->of(ph);
    s->g = g;
    s->payload = std::move(payload);
    s->cb = std::move(cb);
    chain_next(s, nullptr, std::nullopt);
}

void request_impl::chain_next(std::shared_ptr<chain_state> const& s,
                              std::shared_ptr<js_error> err,
                              std::optional<value> np) {
    request_impl& self = *s->self;
    hook_list const& hooks = *s->hooks;
    if (s->g == guard::pre_parsing && self.sent())
        return; // preParsingHookRunner: silent stop, also after the last hook
    if (np && np->k != value::kind::undefined)
        s->payload = std::move(*np);
    if (err || s->i == hooks.size()) {
        // lib/hooks.js has no guard here: a hook that calls done() twice (a v2 `ops` hook can)
        // calls the continuation twice, and the rest of the lifecycle runs twice
        // (fastify-lifecycle.md §2.3 c; scenario
        // fastify/invariants/i2-done-twice-runs-the-chain-twice).
        s->cb(std::move(err), s->payload);
        return;
    }
    hook_fn const& fn = hooks[s->i++];
    if (s->g == guard::per_hook && self.sent())
        return; // hookIterator: `if (reply.sent === true) return undefined` — the chain stops
    self.call_hook(s, fn);
}

void request_impl::settle(std::shared_ptr<chain_state> const& s,
                          bool async,
                          std::shared_ptr<js_error> err,
                          std::optional<value> v) {
    if (!async) {
        chain_next(s, std::move(err), std::move(v));
        return;
    }
    loop& ev = *s->self->st_->ev;
    if (!err && !v) // `continue`, the common case: the reaction needs only the chain
        ev.microtask([s] { chain_next(s, nullptr, std::nullopt); });
    else
        ev.microtask([s, err = std::move(err), v = std::move(v)]() mutable {
            chain_next(s, std::move(err), std::move(v));
        });
}

void request_impl::thrown_into_runner(std::shared_ptr<chain_state> const& s,
                                      std::shared_ptr<js_error> err) {
    request_impl& self = *s->self;
    bool const outer = self.runner_catch_;
    self.runner_catch_ = true;
    chain_next(s, std::move(err), std::nullopt);
    self.runner_catch_ = outer;
}

void request_impl::call_hook(std::shared_ptr<chain_state> const& s, hook_fn const& fn) {
    phase const ph = s->ph;
    if (fn.act == nullptr) {
        // head-route.js headRouteOnSendHandler (untraced, calls done() synchronously): the
        // payload becomes null, so a stream is only drained (its failure is logged, the reply
        // still ends with its head) — lifecheck fuzz, checked on Fastify 5.12.8.
        value const& p = s->payload;
        if (p.k == value::kind::undefined) {
            set_header("content-length", "0");
        } else if (p.k == value::kind::string || p.k == value::kind::buffer) {
            set_header("content-length", std::to_string(p.bytes.size()));
        } else if (p.k != value::kind::stream) {
            chain_next(
                s,
                make_error(
                    "The \"string\" argument must be of type string or an instance of Buffer",
                    std::nullopt,
                    std::nullopt),
                std::nullopt);
            return;
        }
        value null_value;
        null_value.k = value::kind::null;
        chain_next(s, nullptr, std::move(null_value));
        return;
    }
    action const& a = *fn.act;
    st_->emit_cb(id_, a.label, scenario::to_string(ph), fn.scope);
    loop* ev = st_->ev;
    bool const async = a.how == style::async;
    // Settles the hook the way its style does: a promise reaction is a microtask; a callback
    // style `done` is a direct call.
    if (a.when && st_->flag(a.when->flag) != a.when->is) {
        settle(s, async, nullptr, std::nullopt);
        return;
    }
    if (a.ops) {
        run_ops(std::make_shared<ops_frame>(ops_frame{s->self, &a, ops_site::hook, s, ctx_->owner}),
                0,
                true);
        return;
    }
    if (!async && a.what == verb::throw_ && !a.delay_ms) {
        if (a.set)
            st_->flags[a.set->flag] = a.set->value;
        thrown_into_runner(s, thrown_by(a)); // sync throw: the runner's catch → cb(err)
        return;
    }
    // `s` is captured by value: with a delay the action runs after this frame is gone.
    auto act = [s, &a, ph, async, ev] {
        auto resolve = [&s, async](std::optional<value> v) {
            settle(s, async, nullptr, std::move(v));
        };
        auto reject = [&s, async](std::shared_ptr<js_error> e) {
            settle(s, async, std::move(e), std::nullopt);
        };
        request_impl* self = s->self.get();
        auto& st = *self->st_;
        if (a.set)
            st.flags[a.set->flag] = a.set->value;
        switch (a.what) {
        case verb::continue_:
            resolve(std::nullopt);
            break;
        case verb::replace_payload: {
            value v = a.body ? st.materialize(*a.body) : value{};
            if (v.k == value::kind::json) {
                if (v.js.is_null())
                    v.k = value::kind::null;
                // an object from onSend fails later in onSendEnd (invalid payload type)
            }
            resolve(v);
            break;
        }
        case verb::throw_:
        case verb::rethrow:
            reject(thrown_by(a));
            break;
        case verb::send:
        case verb::send_then_continue:
            if (ph == phase::on_error) {
                // FST_ERR_SEND_INSIDE_ONERR: reply.send() throws before done()/resolve, the hook
                // fails and the onError chain ends. The reply.code(status ?? 200).headers(...)
                // before send() did run (lifecheck prop found it; Fastify 5.12.8 answers the
                // error with that status).
                self->res_.status_code(a.status.value_or(200));
                for (auto const& [k, v] : a.headers)
                    self->set_header(k, v);
                reject(fst_error("FST_ERR_SEND_INSIDE_ONERR",
                                 "You cannot use `send` inside the `onError` hook",
                                 500));
                break;
            }
            if (auto err = self->hook_send(a)) {
                // reply.send() threw: the async hook rejects; a callback hook throws, caught by
                // the runner without a delay, else from a timer (a crash in Fastify: the
                // reference answers through the error path, decisions.md D5)
                if (async)
                    reject(std::move(err));
                else if (!a.delay_ms)
                    thrown_into_runner(s, std::move(err));
                else
                    self->on_error_hook(std::move(err));
                break;
            }
            if (a.what == verb::send_then_continue) {
                resolve(std::nullopt);
            } else if (async) {
                // `return reply`: resolves once the response finished or the socket closed.
                self->when_reply_settles(
                    [ev, s] { ev->microtask([s] { chain_next(s, nullptr, std::nullopt); }); });
            }
            break;
        case verb::hijack:
            self->hijack_write(a);
            resolve(std::nullopt);
            break;
        case verb::hang:
            break;
        }
    };
    after_delay(a, act);
}

void request_impl::when_reply_settles(std::function<void()> fn) {
    // lib/reply.js then(): fulfilled now if sent, else on eos(res) (finish or premature close).
    // `return reply` calls then() in the thenable job, a microtask later: an eos(res) attached
    // meanwhile (sendWebStream after async onSend hooks) comes before it (lifecheck prop;
    // Fastify 5.12.8).
    auto self = shared_from_this();
    st_->ev->microtask([self, fn = std::move(fn)]() mutable {
        if (self->sent()) {
            fn();
            return;
        }
        if (self->res_.finished() || self->res_.closed()) {
            // eos(res) of a closed res calls back on a nextTick, after the microtasks queued
            // meanwhile (lifecheck prop, Fastify 5.12.8)
            self->st_->ev->next_tick(std::move(fn));
            return;
        }
        self->settle_waiters_.push_back(std::move(fn));
    });
}

// ---------------------------------------------------------------------------------------------
// reply.send (lib/reply.js)

void request_impl::send(value p) {
    if (in_on_error_)
        return; // FST_ERR_SEND_INSIDE_ONERR is raised where onError hooks call send
    if (sent())
        return; // warn FST_ERR_REP_ALREADY_SENT
    if (is_error_ || p.k == value::kind::error) {
        is_error_ = false;
        on_error_hook(p.err ? p.err : make_error("", std::nullopt, std::nullopt),
                      error_entry::send);
        return;
    }
    if (p.k == value::kind::undefined || p.is_stream_like()) {
        on_send_hooks(std::move(p));
        return;
    }
    std::string const* ct = find_header(headers_, "content-type");
    if (p.k == value::kind::buffer) {
        if (!ct)
            set_header("content-type", "application/octet-stream");
        on_send_hooks(std::move(p));
        return;
    }
    if (p.k == value::kind::string && !ct) {
        set_header("content-type", "text/plain; charset=utf-8");
        if (has(st_->faults, fault::pre_serialization_for_string)) {
            pre_serialization(std::move(p));
            return;
        }
        on_send_hooks(std::move(p));
        return;
    }
    std::string const ct_lower = ct ? ascii_lower(*ct) : std::string{};
    if (!ct || ct_lower.find("json") != std::string::npos) {
        if (!ct)
            set_header("content-type", "application/json; charset=utf-8");
        else if (ct_lower.find("charset") == std::string::npos)
            set_header("content-type", *ct + "; charset=utf-8");
        if (p.k != value::kind::string) {
            pre_serialization(std::move(p));
            return;
        }
    }
    on_send_hooks(std::move(p));
}

void request_impl::pre_serialization(value p) {
    auto self = shared_from_this();
    auto serialize = [self](std::shared_ptr<js_error> err, value v) {
        if (err) {
            self->on_error_hook(err);
            return;
        }
        // preSerializationHookEnd serializes whatever the hooks left: JSON.stringify (no
        // response schemas), so a string from done(null, "hello") goes out as "\"hello\""
        if (v.k != value::kind::undefined)
            v = value::of_string(json_of(v));
        self->on_send_hooks(std::move(v));
    };
    if (ctx_->of(phase::pre_serialization).empty()) {
        serialize(nullptr, std::move(p));
        return;
    }
    run_chain(phase::pre_serialization, guard::none, std::move(p), serialize);
}

void request_impl::on_send_hooks(value p) {
    auto self = shared_from_this();
    if (ctx_->of(phase::on_send).empty() ||
        (eh_ != eh_state::unset && has(st_->faults, fault::skip_on_send_after_error))) {
        on_send_end(std::move(p));
        return;
    }
    run_chain(phase::on_send, guard::none, std::move(p), [self](auto err, value v) {
        if (err) {
            self->on_error_hook(err);
            return;
        }
        self->on_send_end(std::move(v));
    });
}

void request_impl::on_send_end(value p) {
    // A write-time error is thrown here; in Fastify it reaches the error path through whichever
    // try/catch is on the stack — or crashes the process from a timer (fastify-lifecycle §2.7). The
    // reference always takes the error path (docs/decisions.md D5).
    if (p.k == value::kind::response) {
        auto const& r = *p.resp;
        res_.status_code(r.status);
        for (auto const& [k, v] : r.headers)
            set_header(k, v);
        if (r.body && r.body->disturbed) {
            send_end_throw(fst_error(
                "FST_ERR_REP_RESPONSE_BODY_CONSUMED", "Response.body is already consumed.", 500));
            return;
        }
        if (!r.body) {
            p = value{};
            p.k = value::kind::null;
        } else {
            value s;
            s.k = value::kind::stream;
            s.stream = r.body;
            p = s;
        }
    }
    if (p.k == value::kind::json && p.js.is_null())
        p.k = value::kind::null; // JS null from an onSend hook (`return null`): an empty body
    bool const head = head_.method == "HEAD";
    // onSendEnd pipes a stream without safeWriteHead (only 1xx/204 write the head first)
    int const status = res_.status_code();
    bool const piped = p.k == value::kind::stream && status >= 200 && status != 204;
    if (res_.headers_sent() && !piped) { // hijacked too: raw.writeHead sent them (lifecheck prop)
        // A second send whose pipeline started before the first ended (fastify-lifecycle §4.7):
        // safeWriteHead throws ERR_HTTP_HEADERS_SENT, which takes the error path.
        auto err = make_error("Cannot write headers after they are sent to the client",
                              std::nullopt,
                              std::string{"ERR_HTTP_HEADERS_SENT"});
        send_end_throw(std::move(err));
        return;
    }
    if (p.k == value::kind::undefined || p.k == value::kind::null) {
        if (status >= 200 && status != 204 && status != 304 && !head)
            set_header("content-length", "0");
        res_end();
        return;
    }
    if ((status >= 100 && status < 200) || status == 204) {
        remove_header("content-type");
        remove_header("content-length");
        res_end();
        return;
    }
    if (p.k == value::kind::stream) {
        if (p.stream->web && p.stream->locked) {
            send_end_throw(fst_error("FST_ERR_REP_READABLE_STREAM_LOCKED",
                                     "ReadableStream was locked. You should call releaseLock() "
                                     "method on reader before sending.",
                                     500));
            return;
        }
        send_stream(p.stream);
        return;
    }
    if (p.k != value::kind::string && p.k != value::kind::buffer) {
        char const* type =
            p.k == value::kind::json || p.k == value::kind::error ? "object" : "undefined";
        if (p.k == value::kind::json) {
            if (p.js.is_number())
                type = "number";
            else if (p.js.is_boolean())
                type = "boolean";
        }
        send_end_throw(make_error(std::string{"Attempted to send payload of invalid type '"} +
                                      type + "'. Expected a string or Buffer.",
                                  500,
                                  std::string{"FST_ERR_REP_INVALID_PAYLOAD_TYPE"}));
        return;
    }
    std::string const len = std::to_string(p.bytes.size());
    std::string const* cl = find_header(headers_, "content-length");
    if (!cl || (!head && *cl != len))
        set_header("content-length", len);
    res_end(head ? std::string_view{} : std::string_view{p.bytes});
}

void request_impl::send_stream(std::shared_ptr<stream_obj> s) {
    // sendStream / sendWebStream: headers go out with the first chunk; an error before any
    // byte takes the error path, after it the socket is destroyed (fastify-lifecycle §6).
    s->disturbed = true;
    s->locked = true; // Fastify's reader is never released
    auto self = shared_from_this();
    std::size_t const n = s->chunks.size();
    auto total =
        s->fail_after ? std::min<std::size_t>(static_cast<std::size_t>(*s->fail_after), n) : n;
    bool const fails = s->fail_after.has_value();
    auto step = std::make_shared<std::function<void(std::size_t)>>();
    std::weak_ptr<std::function<void(std::size_t)>> weak_step = step;
    // sendWebStream's eos(res) on a res already closed calls back on a nextTick: a first read
    // that fails in the microtasks before it still reaches onReadError, which takes the error
    // path when req.aborted is false (a read body; lifecheck prop seed 13, Fastify 5.12.8).
    // A stream whose start() has not settled keeps the first read waiting: when that tick comes
    // first (the send ran in a macrotask or a tick, not in a microtask), its reader.cancel()
    // settles the read with done and onRead calls res.end(): reply.sent turns true and the chain
    // stops (prop seeds 5, 12, Finding 42). A started stream's first read has its chunk at once.
    auto cancel_pending = std::make_shared<bool>(s->web && res_.closed());
    if (*cancel_pending) {
        if (!s->started)
            web_read_pending_ = s.get();
        st_->ev->next_tick([self, cancel_pending, src = s.get()] {
            *cancel_pending = false;
            if (self->web_read_pending_ != src)
                return; // the first read settled in the microtasks before
            self->web_read_pending_ = nullptr;
            self->st_->ev->microtask([self] { self->res_end(); });
        });
    }
    *step = [self, s, total, fails, weak_step, cancel_pending](std::size_t k) {
        bool const cancelled = k == 0 && s->web && self->res_.closed() && !*cancel_pending &&
                               self->web_read_pending_ != s.get();
        if (self->web_read_pending_ == s.get())
            self->web_read_pending_ = nullptr;
        if (cancelled)
            return; // eos(res)'s tick cancelled the reader first: the read settled with done
        bool const read_fails_first = *cancel_pending && fails && k >= total;
        if (self->res_.closed() && !read_fails_first)
            return; // eos(res): the source is destroyed with the socket
        if (k >= total && self->node_source_ == s.get())
            self->node_source_ = nullptr; // the source ends or fails now
        if (k < total) {
            if (!self->res_.headers_sent() && self->head_.method == "HEAD") {
                self->write_head();
            } else {
                self->res_write(s->chunks[k]);
            }
        } else if (fails) {
            if (self->res_.headers_sent() || self->aborted_)
                self->res_.destroy();
            else
                self->on_error_hook(make_error("stream failed", std::nullopt, std::nullopt));
            return;
        } else {
            // Node: a response that ends before its implicit header went out gets
            // content-length for what end() carries (nothing), not chunked framing.
            if (!self->res_.headers_sent() && !find_header(self->headers_, "content-length") &&
                !find_header(self->headers_, "transfer-encoding"))
                self->set_header("content-length", "0");
            self->res_end();
            return;
        }
        auto next = weak_step.lock();
        if (!next)
            return;
        double const delay = s->chunk_delay_ms;
        self->st_->ev->set_timeout(delay, [next, k] { (*next)(k + 1); });
        if (s->web)
            self->web_read_pending_ = s.get(); // onRead called reader.read() again
    };
    if (!s->web) {
        if (res_.closed()) {
            // eos(res) of a closed res calls back on a nextTick and destroys the source, whose
            // 'close' (a premature close for eos(payload)) comes a tick later.
            loop* ev = st_->ev;
            ev->next_tick([self, ev] { ev->next_tick([self] { self->premature_close(); }); });
        } else {
            node_source_ = s.get();
        }
    }
    if (s->web && !res_.closed() && !res_.finished()) {
        // sendWebStream's eos(res): a close while reader.read() waits cancels the reader; the
        // read then settles with done and onRead calls res.end(), so reply.sent turns true
        // before a reply.then attached later resumes its hook chain (Fastify 5.12.8).
        settle_waiters_.push_back([self, src = s.get()] {
            if (!self->res_.closed() || self->web_read_pending_ != src)
                return;
            self->web_read_pending_ = nullptr;
            self->st_->ev->microtask([self] { self->res_end(); });
        });
    }
    // Each pending timer owns the step function; it is freed after the last one. The first
    // chunk flows when pipe() resumes the source (a nextTick) or reader.read() settles, not a
    // timer later (lifecheck prop; as the model and Fastify 5.12.8). A web stream whose start()
    // has not settled yet (made in this same turn) pulls only once it settles (a microtask);
    // onRead/onReadError are the read promise's reaction, one more: an async hook's `return`
    // (one microtask) resumes its chain first, so a 404 handler's send beats a first read that
    // fails (prop seed 4). A started stream (sent after async onSend hooks) pulls at once: its
    // first read settles one microtask after sendWebStream (prop seeds 1, 2, 7).
    if (s->web && s->started)
        st_->ev->microtask([step] { (*step)(0); });
    else if (s->web)
        st_->ev->microtask([ev = st_->ev, step] { ev->microtask([step] { (*step)(0); }); });
    else
        st_->ev->next_tick([step] { (*step)(0); });
}

// ---------------------------------------------------------------------------------------------
// The error path (lib/reply.js onErrorHook, lib/error-handler.js)

void request_impl::on_error_hook(std::shared_ptr<js_error> err, error_entry how) {
    auto self = shared_from_this();
    bool const chain_fresh = eh_ == eh_state::unset || eh_ == eh_state::final;
    if (!ctx_->of(phase::on_error).empty() && chain_fresh) {
        in_on_error_ = true;
        value v = value::of_error(err);
        bool const via_send = how == error_entry::send;
        run_chain(phase::on_error, guard::none, v, [self, err, via_send](auto, value) {
            // always with the original error; hook failures end the chain. What onSendEnd
            // throws synchronously out of handleError (ERR_HTTP_HEADERS_SENT from the error
            // reply's send, after handleError's own catch sent it on) leaves the completion:
            // - into the runner's try around the last hook when it called done() (or
            //   handleResolve's), whose catch calls the completion once more: handleError
            //   again, on the error handler chain as it stands (lifecycle fuzzer 64eb577f,
            //   9e7babf5; Fastify 5.12.8 runs onError once);
            // - past the runner when a hook threw (the completion runs in the runner's catch),
            //   to the frame around reply.send(err) (wrapThenable's catch sends it: onError
            //   runs again; lifecycle fuzzer 3d0b4151).
            // A done() called from a timer is uncaught in Fastify (a crash, decisions.md D5);
            // the reference answers the same way there. With onSend or preSerialization hooks
            // their runners catch it first (as in hook_send).
            auto const entry = via_send ? error_entry::send : error_entry::on_error_done;
            std::shared_ptr<js_error> thrown;
            auto* const outer = self->send_catch_;
            bool const caught = !self->runner_catch_ && self->ctx_->of(phase::on_send).empty() &&
                                self->ctx_->of(phase::pre_serialization).empty();
            bool const in_catch = self->runner_catch_;
            self->runner_catch_ = false;
            self->send_catch_ = caught ? &thrown : outer;
            self->handle_error(err, entry);
            self->send_catch_ = outer;
            self->runner_catch_ = in_catch;
            if (thrown)
                self->handle_error(err, entry);
        });
        return;
    }
    handle_error(err, how);
}

void request_impl::handle_error(std::shared_ptr<js_error> err, error_entry how) {
    in_on_error_ = false;
    if (eh_ == eh_state::final) {
        final_write(err);
        return;
    }
    error_handler_node const* node = nullptr;
    if (eh_ == eh_state::node)
        node = next_eh_;
    else if (eh_ == eh_state::unset) {
        node = ctx_->error_handler;
        if (has(st_->faults, fault::parent_error_handler_first) && node && node->act &&
            node->parent)
            node = node->parent;
    }
    // eh_ == sentinel → node stays nullptr
    if (node != nullptr) {
        next_eh_ = node->parent;
        eh_ = node->parent ? eh_state::node : eh_state::sentinel;
    }
    remove_header("content-type");
    remove_header("content-length");
    if (node == nullptr) {
        // Past the default handler: FINAL, then fallbackErrorHandler(error, reply, cb) sends the
        // default JSON through cb = onSendHook — which only reply.send passes. Reached from
        // anywhere else (another lifecycle of the reply used the default handler already),
        // Fastify 5.12.8 throws `TypeError: cb is not a function` (lifecycle fuzzer f6648d9c):
        // - as the onError chain's completion, the runner catches it and calls the completion
        //   again: handleError with FINAL writes the JSON directly (or destroys the socket);
        // - else it leaves through the caller: an onSend or preSerialization runner that
        //   catches it passes it on as a new error (onError hooks, then the final writer); from
        //   a promise reaction or a stream callback it is uncaught and the process dies, where
        //   the reference answers the same way (decisions.md D5, D27).
        eh_ = eh_state::final;
        if (how == error_entry::on_error_done) {
            final_write(err);
            return;
        }
        if (how == error_entry::no_cb) {
            on_error_hook(make_error("cb is not a function", std::nullopt, std::nullopt));
            return;
        }
        set_header("content-type", "application/json; charset=utf-8");
        std::string body = default_error_json(*err);
        set_header("content-length", std::to_string(body.size()));
        on_send_hooks(value::of_string(std::move(body)));
        return;
    }
    // handleError calls the handler in a try and sends what it throws: a throw out of a
    // reply.send() inside it (onSendEnd's ERR_HTTP_HEADERS_SENT, no onSend hook between) ends
    // there, and the hook whose send started the error path goes on (lifecycle fuzzer 04cb2df7,
    // Fastify 5.12.8). An async handler rejects instead (wrapThenable, a microtask later).
    std::shared_ptr<js_error> thrown;
    auto* const outer = send_catch_;
    bool const sync = ctx_->of(phase::on_send).empty() &&
                      (node->act == nullptr || (node->act->how != style::async &&
                                                ctx_->of(phase::pre_serialization).empty()));
    send_catch_ = sync ? &thrown : nullptr;
    if (node->act == nullptr)
        default_error_handler(err);
    else
        call_error_handler(*node, err);
    send_catch_ = outer;
    if (thrown)
        send(value::of_error(std::move(thrown)));
}

void request_impl::default_error_handler(std::shared_ptr<js_error> err) {
    // setErrorHeaders: status from res.statusCode if 4xx/5xx, else 500; err.headers are set;
    // err.statusCode wins, then err.status.
    int const current = res_.status_code();
    int status = (current >= 400 && current <= 599) ? current : 500;
    for (auto const& [k, v] : err->headers)
        set_header(k, v);
    auto in_range = [](std::optional<int> s) {
        return s && *s >= 400 && *s <= 599;
    };
    if (in_range(err->status_code))
        status = *err->status_code;
    else if (in_range(err->status))
        status = *err->status;
    res_.status_code(status);
    send(sent_value_of(err)); // an Error goes on to the fallback; any other value is a payload
}

std::string request_impl::default_error_json(js_error const& err) const {
    scenario::json j = scenario::json::object();
    j["statusCode"] = res_.status_code();
    if (err.code)
        j["code"] = *err.code;
    // JSON.stringify drops `error: undefined` for a status Node has no text for (599).
    if (auto text = status_text(res_.status_code()); !text.empty())
        j["error"] = text;
    // a non-Error has a message only as a plain object's own string property
    if (is_error_object(err) ||
        (err.non_error && err.non_error->is_object() && err.non_error->contains("message")))
        j["message"] = err.message;
    return js_stringify(j);
}

void request_impl::final_write(std::shared_ptr<js_error> err) {
    // handleError with FINAL: fallbackErrorHandler sets content-type and content-length on the
    // reply, then its callback writes the JSON directly, no hooks, or destroys the socket if
    // headers went out or it is gone. The headers stay set either way: a later send of another
    // lifecycle of the reply sees them (lifecycle fuzzer f2fef9c0, Fastify 5.12.8).
    if (find_header(headers_, "content-type") == nullptr)
        set_header("content-type", "application/json; charset=utf-8");
    std::string body = default_error_json(*err);
    set_header("content-length", std::to_string(body.size()));
    if (res_.headers_sent() || res_.closed()) {
        res_.destroy();
        return;
    }
    res_end(body);
}

void request_impl::call_error_handler(error_handler_node const& node,
                                      std::shared_ptr<js_error> err) {
    auto self = shared_from_this();
    action const& a = *node.act;
    if (has(st_->faults, fault::error_handler_status_500))
        res_.status_code(500);
    st_->emit_cb(id_, a.label, "errorHandler", node.scope);
    loop* ev = st_->ev;
    bool const async = a.how == style::async;
    if (a.when && st_->flag(a.when->flag) != a.when->is) {
        if (async)
            ev->microtask([self] { self->wrap_thenable_resolved(value{}); });
        return; // callback: returns undefined, never answers
    }
    if (a.ops) {
        run_ops(std::make_shared<ops_frame>(
                    ops_frame{self, &a, ops_site::error_handler, nullptr, node.owner}),
                0,
                true);
        return;
    }
    if (!async && !a.delay_ms && (a.what == verb::throw_ || a.what == verb::rethrow)) {
        if (a.set)
            st_->flags[a.set->flag] = a.set->value;
        // handleError's catch: reply.send(err) — an Error goes up the chain.
        send(sent_value_of(a.what == verb::rethrow ? err : thrown_by(a)));
        return;
    }
    if (!async && !a.delay_ms && a.what == verb::continue_) {
        if (a.set)
            st_->flags[a.set->flag] = a.set->value;
        value v = a.body ? st_->materialize(*a.body) : value{};
        if (v.k != value::kind::undefined)
            send(v); // handleError: a returned value is sent
        return;
    }
    auto act = [self, &a, err, async, ev] {
        auto& st = *self->st_;
        if (a.set)
            st.flags[a.set->flag] = a.set->value;
        switch (a.what) {
        case verb::continue_: {
            value v = a.body ? st.materialize(*a.body) : value{};
            if (async)
                ev->microtask([self, v] { self->wrap_thenable_resolved(v); });
            else
                self->send(v);
            break;
        }
        case verb::throw_:
        case verb::rethrow: {
            auto e = a.what == verb::rethrow ? err : thrown_by(a);
            if (async)
                ev->microtask([self, e] { self->wrap_thenable_rejected(e); });
            else
                self->send(sent_value_of(e));
            break;
        }
        case verb::send:
            self->do_send_verb(a);
            break;
        case verb::hijack:
            self->hijack_write(a);
            break;
        default:
            break;
        }
    };
    after_delay(a, act);
}

// ---------------------------------------------------------------------------------------------
// The socket's side: finish, close, timeout

void request_impl::finished() {
    // Node: resOnFinish schedules res 'close' on nextTick before Fastify's 'finish' listener
    // runs onResponse; so `end` follows the first onResponse callback's synchronous part.
    clear_handler_timeout(); // onResFinished
    if (!res_.on_finish(shared_from_this()))
        return;
    auto waiters = std::move(settle_waiters_);
    settle_waiters_.clear();
    for (auto& w : waiters)
        st_->ev->microtask(w);
    if (response_listeners_)
        run_on_response();
}

void request_impl::run_on_response() {
    auto self = shared_from_this();
    run_chain(phase::on_response, guard::none, value{}, [](auto, value) {});
    if (has(st_->faults, fault::on_response_twice))
        run_chain(phase::on_response, guard::none, value{}, [](auto, value) {});
}

void request_impl::closed(bool by_client) {
    clear_handler_timeout(); // req 'close': the handler timeout's onAbort
    if (!res_.on_close(by_client))
        return; // an idle keep-alive socket closing after the response: nothing
    auto self = shared_from_this();
    // Node IncomingMessage._destroy: req.aborted only when the body was not read to its end.
    aborted_ = !req_ended_;
    // Node: abortIncoming → req.destroy (error/close on nextTick); res 'close' now → `end`.
    // A pipelined response still queued was never assigned the socket: no 'close', no `end`,
    // no eos for reply.then (lifecheck prop; Fastify 5.12.8 reports no end either).
    bool const lose_end =
        body_wanted_ && !body_done_ && has(st_->faults, fault::lose_end_on_upload_abort);
    if (!queued_ && !lose_end)
        res_.emit_end();
    auto waiters = std::move(settle_waiters_);
    settle_waiters_.clear();
    // eos(res) calls reply.then's fulfilled() inside res 'close'; each waiter queues the
    // promise reaction itself (lifecheck prop: onRequestAbort hooks interleave with it)
    for (auto& w : waiters)
        if (!queued_)
            w();
    st_->ev->next_tick([self] {
        if (self->body_wanted_ && !self->body_done_) {
            self->body_done_ = true;
            auto err = aborted_error();
            err->status_code = 400; // rawBody onEnd forces 400
            self->body_parsed(err);
        }
        self->on_close_listeners();
    });
    if (node_source_ != nullptr) {
        // sendStream's eos(res) destroyed the source; its 'close' comes on the next tick, after
        // the request's (socketOnClose ran abortIncoming before res 'close').
        node_source_ = nullptr;
        st_->ev->next_tick([self] { self->premature_close(); });
    }
}

void request_impl::premature_close() {
    // sendStream's eos(payload) on a destroyed source: with the head out or req.aborted,
    // res.destroy() (nothing left to do on a closed res); else onErrorHook with Node's
    // ERR_STREAM_PREMATURE_CLOSE: onError hooks and error handlers run though nobody listens
    // (lifecheck fuzz lifecycle 03ea4f9d, Fastify 5.12.8: a PUT whose body was read).
    if (res_.headers_sent() || aborted_)
        return;
    on_error_hook(
        make_error("Premature close", std::nullopt, std::string{"ERR_STREAM_PREMATURE_CLOSE"}));
}

void request_impl::on_close_listeners() {
    // route.js: req.on('close') → onRequestAbort hooks when req.aborted.
    if (!aborted_ || ctx_->of(phase::on_request_abort).empty() ||
        has(st_->faults, fault::lose_on_request_abort))
        return;
    run_chain(phase::on_request_abort, guard::none, value{}, [](auto, value) {});
}

void request_impl::timed_out() {
    // Node's socketOnTimeout destroys the socket first; Fastify's listener then runs
    // onTimeout hooks (guarded by reply.sent); the close follows on the next turn.
    if (!res_.on_timeout())
        return;
    if (!ctx_->of(phase::on_timeout).empty())
        run_chain(phase::on_timeout, guard::per_hook, value{}, [](auto, value) {});
}

// ---------------------------------------------------------------------------------------------
// handlerTimeout (v2.6, scenario-format §1.11): route.js routeHandler's timer

void request_impl::arm_handler_timeout() {
    auto self = shared_from_this();
    handler_timer_ =
        st_->ev->set_timeout(ctx_->handler_timeout_ms, [self] { self->handler_timed_out(); });
}

void request_impl::clear_handler_timeout() {
    if (handler_timer_)
        st_->ev->clear_timeout(*handler_timer_);
    handler_timer_.reset();
}

void request_impl::handler_timed_out() {
    handler_timer_.reset();
    if (sent())
        return;
    if (in_on_error_) {
        // Fastify's reply.send throws FST_ERR_SEND_INSIDE_ONERR out of the timer: an uncaught
        // exception that ends the process. The reference goes on with the error path in flight.
        return;
    }
    auto err = fst_error("FST_ERR_HANDLER_TIMEOUT",
                         ("Request timed out after " + std::to_string(ctx_->handler_timeout_ms) +
                          " ms on route '" + ctx_->config_url.value_or("undefined") + "'")
                             .c_str(),
                         503);
    is_error_ = true;
    if (res_.headers_sent()) {
        res_.destroy(); // a response already streaming: reply.raw.destroy(err)
        return;
    }
    send(value::of_error(std::move(err)));
}

} // namespace

// ---------------------------------------------------------------------------------------------
// server

std::shared_ptr<compiled_app const> compile_app(scenario::app const& a, fault_set faults) {
    auto c = std::make_shared<compiled_app>();
    c->app = a;
    c->built = std::make_unique<built_app>(c->app, faults);
    return c;
}

server::server(scenario::app const& a, loop& l, event_sink sink, fault_set faults)
    : server(compile_app(a, faults), l, std::move(sink), faults) {}

server::server(std::shared_ptr<compiled_app const> c, loop& l, event_sink sink, fault_set faults)
    : state_{std::make_shared<shared_state>()} {
    state_->compiled = std::move(c);
    state_->app = &state_->compiled->app;
    state_->built = state_->compiled->built.get();
    state_->ev = &l;
    state_->sink = std::move(sink);
    state_->faults = faults;
}

server::~server() = default;

bool server::closing() const {
    return state_->closing;
}

loop& server::events_loop() {
    return *state_->ev;
}

std::shared_ptr<request> server::begin(request_head head, exchange& out) {
    auto r = std::make_shared<request_impl>(state_, std::move(head), out);
    r->start();
    return r;
}

namespace {

/// How an application hook hands over to the next: from a timer after its delay, a microtask
/// later when async (the promise's then), at once when it calls done synchronously or is a sync
/// function that returned or threw (v2.6: hooks.js wrap calls done itself).
void finish_app_hook(std::shared_ptr<shared_state> const& st,
                     action const& a,
                     bool acts,
                     std::function<void()> cont) {
    if (acts && a.delay_ms)
        st->ev->set_timeout(*a.delay_ms, [st, cont] { st->ev->microtask(cont); });
    else if (a.how == style::async)
        st->ev->microtask(std::move(cont));
    else
        cont();
}

/// Runs application hooks one after another (hooks.js hookRunnerApplication); stops at an error
/// and calls `done` with the hook that failed (nullptr when all ran).
void run_app_hooks(std::shared_ptr<shared_state> st,
                   char const* phase_name,
                   std::vector<hook_fn> hooks,
                   std::size_t i,
                   std::function<void(action const* failed)> done) {
    if (i >= hooks.size()) {
        done(nullptr);
        return;
    }
    hook_fn const fn = hooks[i];
    action const& a = *fn.act;
    st->emit_cb("app", a.label, phase_name, fn.scope);
    bool const acts = !a.when || st->flag(a.when->flag) == a.when->is;
    auto cont = [st, phase_name, hooks, i, done, &a, acts] {
        if (acts && a.set)
            st->flags[a.set->flag] = a.set->value;
        if (acts && a.what == verb::throw_) {
            done(&a);
            return;
        }
        run_app_hooks(st, phase_name, hooks, i + 1, done);
    };
    finish_app_hook(st, a, acts, std::move(cont));
}

void collect_per_instance(instance const& inst, bool ready, std::vector<hook_fn>& out) {
    auto const& own = ready ? inst.on_ready : inst.pre_close;
    out.insert(out.end(), own.begin(), own.end());
    for (instance const* c : inst.children)
        collect_per_instance(*c, ready, out);
}

/// hooks.js onListenHookRunner: an instance's own onListen hooks one after another (an error is
/// logged and the next hook runs), then each child's runner, started one after the other
/// without waiting for the previous child's hooks to finish.
void run_on_listen(std::shared_ptr<shared_state> st, instance const* inst, std::size_t i) {
    if (i >= inst->on_listen.size()) {
        for (instance const* c : inst->children)
            run_on_listen(st, c, 0);
        return;
    }
    hook_fn const& fn = inst->on_listen[i];
    action const& a = *fn.act;
    st->emit_cb("app", a.label, "onListen", fn.scope);
    bool const acts = !a.when || st->flag(a.when->flag) == a.when->is;
    auto cont = [st, inst, i, &a, acts] {
        if (acts && a.set)
            st->flags[a.set->flag] = a.set->value;
        run_on_listen(st, inst, i + 1); // a throw is only logged (server.log.error)
    };
    finish_app_hook(st, a, acts, std::move(cont));
}

startup_failure failure_of(action const& a) {
    // the adapter's makeError: new Error(message ?? "boom"), with `code` when given
    startup_failure f;
    f.message = a.error && a.error->message ? *a.error->message : "boom";
    if (a.error && a.error->code)
        f.code = a.error->code;
    return f;
}

} // namespace

void server::ready(ready_callback done) {
    auto st = state_;
    // v2.6 (§1.9): the onRoute and onRegister calls Fastify made while the app registered
    for (auto const& [fn, ph] : st->built->registration()) {
        action const& a = *fn.act;
        st->emit_cb("app", a.label, scenario::to_string(ph), fn.scope);
        if (a.set && (!a.when || st->flag(a.when->flag) == a.when->is))
            st->flags[a.set->flag] = a.set->value;
    }
    if (auto const& refused = st->built->refusal()) {
        done(refused); // avvio: a plugin that threw; no onReady hook runs
        return;
    }
    std::vector<hook_fn> hooks;
    collect_per_instance(st->built->root(), true, hooks);
    run_app_hooks(st, "onReady", hooks, 0, [st, done](action const* failed) {
        if (failed) {
            done(failure_of(*failed));
            return;
        }
        done(std::nullopt);
        run_on_listen(st, &st->built->root(), 0); // server.js: after listen() resolves
    });
}

void server::close(std::function<void(std::function<void()>)> drained, std::function<void()> done) {
    auto st = state_;
    st->closing = true;
    std::vector<hook_fn> pre;
    collect_per_instance(st->built->root(), false, pre);
    run_app_hooks(st, "preClose", pre, 0, [st, drained, done](action const*) {
        drained([st, done] {
            run_app_hooks(
                st, "onClose", st->built->on_close(), 0, [done](action const*) { done(); });
        });
    });
}

} // namespace lifecheck::engine

namespace lifecheck::engine {

namespace {

/// What of a thrown non-Error value the reference does not follow: a Buffer, a stream, a
/// Response or `reply.send()`'s nothing, and a plain object whose statusCode, status, headers,
/// code or message JavaScript would coerce (a string status compares as a number).
std::optional<std::string> thrown_unsupported(scenario::payload const& p) {
    switch (p.kind) {
    case payload_kind::error:
    case payload_kind::undefined:
    case payload_kind::string:
        return std::nullopt;
    case payload_kind::json_value:
        break;
    default:
        return "a " + std::string{scenario::to_string(p.kind)} + " value";
    }
    if (!p.value.is_object())
        return std::nullopt;
    for (char const* key : {"statusCode", "status"})
        if (auto it = p.value.find(key); it != p.value.end() && !it->is_number_integer())
            return std::string{"a plain object whose "} + key + " is not an integer";
    for (char const* key : {"code", "message"})
        if (auto it = p.value.find(key); it != p.value.end() && !it->is_string())
            return std::string{"a plain object whose "} + key + " is not a string";
    if (auto it = p.value.find("headers"); it != p.value.end()) {
        if (!it->is_object())
            return std::string{"a plain object whose headers are not an object"};
        for (auto const& h : *it)
            if (!h.is_string())
                return std::string{"a plain object with a header value that is not a string"};
    }
    return std::nullopt;
}

/// What the reference does not implement yet of the v2 ops of one ACTION (§1.6).
std::optional<std::string>
ops_unsupported(action const& a, std::string const& where, std::optional<scenario::phase> ph) {
    if (!a.ops)
        return std::nullopt;
    if (ph && scenario::is_application_phase(*ph))
        return where + ": ops in application hooks";
    for (std::size_t i = 0; i < a.ops->size(); ++i) {
        op const& o = (*a.ops)[i];
        std::string const at = where + ".ops[" + std::to_string(i) + "]";
        bool const raises =
            o.kind == op_kind::throw_ || (o.kind == op_kind::done && o.done == done_with::error);
        if (raises && o.body)
            if (auto why = thrown_unsupported(*o.body))
                return at + ": throwing " + *why;
        bool const gives =
            (o.kind == op_kind::return_ && o.body && o.body->kind != payload_kind::undefined) ||
            (o.kind == op_kind::done && o.done == done_with::payload);
        if (gives && ph == scenario::phase::pre_parsing)
            return at + ": a new request stream from preParsing";
        if (o.kind == op_kind::return_ && o.return_reply && a.how == style::callback)
            return at + ": returning the reply from a callback-style function";
    }
    return std::nullopt;
}

std::optional<std::string> scope_unsupported(scenario::scope const& s) {
    std::string const at = "scope " + s.name;
    auto hooks = [&](scenario::hook_map const& m,
                     std::string const& w) -> std::optional<std::string> {
        for (auto const& [ph, list] : m)
            for (auto const& a : list)
                if (auto why = ops_unsupported(a, w + " " + scenario::to_string(ph), ph))
                    return why;
        return std::nullopt;
    };
    if (auto why = hooks(s.hooks, at))
        return why;
    if (s.error_handler)
        if (auto why = ops_unsupported(*s.error_handler, at + " errorHandler", std::nullopt))
            return why;
    if (s.not_found_handler)
        if (auto why = ops_unsupported(*s.not_found_handler, at + " notFoundHandler", std::nullopt))
            return why;
    if (auto why = hooks(s.not_found_hooks, at + " notFoundOptions"))
        return why;
    if (s.not_found_error_handler)
        if (auto why = ops_unsupported(
                *s.not_found_error_handler, at + " notFoundOptions.errorHandler", std::nullopt))
            return why;
    for (auto const& r : s.routes) {
        if (auto why = ops_unsupported(r.handler, at + " " + r.method + " " + r.url, std::nullopt))
            return why;
        if (auto why = hooks(r.hooks, at + " " + r.method + " " + r.url))
            return why;
    }
    if (s.late) {
        if (auto why = hooks(s.late->hooks, at + " late"))
            return why;
        if (s.late->error_handler)
            if (auto why = ops_unsupported(
                    *s.late->error_handler, at + " late errorHandler", std::nullopt))
                return why;
    }
    for (auto const& p : s.plugins)
        if (auto why = scope_unsupported(p))
            return why;
    return std::nullopt;
}

} // namespace

std::optional<std::string> unsupported(scenario::app const& a, scenario::dialect d) {
    if (d == scenario::dialect::koa)
        return koa_unsupported(a);
    auto const npm = scenario::npm_plugins_in(a.root);
    if (npm.empty())
        return scope_unsupported(a.root);
    std::string names;
    for (scenario::npm_plugin const* p : npm)
        names += (names.empty() ? "" : ", ") + p->name;
    return "npmPlugins (" + names + "): real npm packages run on real Fastify only";
}

std::unique_ptr<app_server> make_server(
    scenario::app const& a, scenario::dialect d, loop& l, event_sink sink, fault_set faults) {
    if (unsupported(a, d))
        return nullptr;
    if (d == scenario::dialect::koa)
        return make_koa_server(a, l, std::move(sink));
    if (unsupported(a, d))
        return nullptr;
    return std::make_unique<server>(a, l, std::move(sink), faults);
}

} // namespace lifecheck::engine
