// The scenario types of scenario-format.md v2.6 as plain structs: app, scope, action, payload,
// step.
#pragma once

#include <nlohmann/json.hpp>

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace lifecheck::scenario {

/// JSON with insertion-ordered objects: key order is observable (JSON.stringify keeps it).
using json = nlohmann::ordered_json;

/// Ordered header list: (name as written, value). Names compare case-insensitively.
using header_list = std::vector<std::pair<std::string, std::string>>;

/// Hook phases, scenario-format §1.1: ten request phases, then the six application phases.
enum class phase {
    on_request,
    pre_parsing,
    pre_validation,
    pre_handler,
    pre_serialization,
    on_send,
    on_response,
    on_error,
    on_timeout,
    on_request_abort,
    on_ready,
    on_listen, // v2.5
    pre_close,
    on_close,
    on_route,    // v2.6: at each route's registration (start-up trace)
    on_register, // v2.6: at each encapsulated plugin's registration (start-up trace)
};

/// The spelling used in scenario files and traces ("onRequest", "preHandler", ...).
char const* to_string(phase p);

/// Parses a phase name; nothing for an unknown name.
std::optional<phase> parse_phase(std::string const& name);

/// True for onReady, onListen, preClose, onClose, onRoute, onRegister (request id `app`).
bool is_application_phase(phase p);

/// How a callback completes (§1.2): a returned promise, `done`, or (v2.6, application hooks run
/// by hooks.js only: onReady, onListen, preClose) a plain function that returns or throws.
enum class style { async, callback, sync };

/// Verbs of an ACTION's `do`, scenario-format §1.2.
enum class verb {
    continue_,
    throw_,
    rethrow,
    send,
    send_then_continue,
    hang,
    replace_payload,
    hijack,
};

char const* to_string(verb v);
std::optional<verb> parse_verb(std::string const& name);

/// PAYLOAD kinds: what a callback hands to Fastify. `error` and `undefined` (v2) are JavaScript
/// values an `ops` sequence sends, returns or throws (scenario-format §1.6).
enum class payload_kind {
    json_value,
    string,
    buffer,
    empty,
    stream,
    web_stream,
    response,
    error,
    undefined,
    read, // v2.6 (§1.13): request data, decorations and state read when the op runs
};

char const* to_string(payload_kind k);
std::optional<payload_kind> parse_payload_kind(std::string const& name);

/// `error` of an ACTION (what a v1 `throw` raises), and an `error` PAYLOAD: `new Error(message)`
/// with the properties given. `status`, `headers` and `props` are v2 (scenario-format §1.6).
struct error_spec {
    std::optional<std::string> message;
    std::optional<int> status_code;
    std::optional<std::string> code;
    std::optional<int> status{}; // err.status (Fastify reads statusCode, then status)
    header_list headers{};       // err.headers: copied to the error reply
    json props = json::object(); // other own properties, e.g. {"expose": true}
};

/// v2.6 (scenario-format §1.13): a place a callback reads (`read` PAYLOAD) or writes (`assign`,
/// `increment`), named after the JavaScript expression: `request.body`, `request.query.a`,
/// `request.headers.x-a`, `request.routeOptions.url`, `request.hello`, `reply.n`, `this.foo`.
enum class ref_kind {
    body,         // request.body
    query,        // request.query, request.query.KEY
    params,       // request.params, request.params.KEY
    headers,      // request.headers, request.headers.KEY
    method,       // request.method
    url,          // request.url
    id,           // request.id
    route_url,    // request.routeOptions.url
    route_method, // request.routeOptions.method
    request_prop, // request.NAME: a request decoration or a property a callback set
    reply_prop,   // reply.NAME
    this_prop,    // this.NAME: an instance decoration (the callback's `this`)
};

struct ref {
    ref_kind kind = ref_kind::body;
    std::optional<std::string> key; // query/params/headers: the member read; *_prop: the name
    std::string text;               // as written
};

/// Parses a REF's grammar (§1.13); nothing when it is not one. Names are checked by the loader.
std::optional<ref> parse_ref(std::string const& text);

/// PAYLOAD, scenario-format §1.3. Fields not used by `kind` stay at their defaults.
struct payload {
    payload_kind kind = payload_kind::empty;
    json value;                      // json_value: the value to serialize
    std::string bytes;               // string: the text; buffer: the decoded bytes
    std::vector<std::string> chunks; // stream, webStream
    int chunk_delay_ms = 0;          // stream, webStream: wait before every chunk after the first
    std::optional<int> fail_after_chunks; // stream, webStream: error after N chunks
    bool locked = false;                  // webStream: getReader() was called before send
    std::optional<int> status;            // response
    header_list headers;                  // response
    std::shared_ptr<payload> body;        // response: a string or webStream payload, or null
    std::optional<std::string> shared;    // response: name of a shared instance
    error_spec error;                     // error: the Error object
    // read (v2.6): `of` (one value) or `object` (an object of KEY: value, in order)
    std::optional<ref> read_of;
    std::vector<std::pair<std::string, ref>> read_object;
};

struct flag_condition {
    std::string flag;
    bool is = false;
};

struct flag_assignment {
    std::string flag;
    bool value = false;
};

/// One operation of an ACTION's `ops` (scenario-format §1.6), named after the API call.
enum class op_kind {
    code,          // reply.code(n)
    header,        // reply.header(name, value)
    headers,       // reply.headers({...})
    remove_header, // reply.removeHeader(name)
    type,          // reply.type(t)
    send,          // reply.send(payload)
    set,           // an app flag, as `set` of v1
    await_,        // await sleep(ms) / the rest runs from setTimeout(ms) in callback style
    return_,       // return value (or `return reply`)
    throw_,        // throw value
    done,          // done() / done(err) / done(null, payload): callback-style hooks
    hang,          // await a promise that never settles
    // koa ops (scenario-format §1.7, v2.3), named after the Koa call
    ctx_status,   // ctx.status = n (or = err.statusCode || err.status || 500 in a catch)
    ctx_body,     // ctx.body = value (or = err.message in a catch)
    ctx_throw,    // ctx.throw(status, message, props)
    ctx_assert,   // ctx.assert(value, status, message, props)
    rethrow,      // throw err (catch only)
    ctx_app_emit, // ctx.app.emit('error', err, ctx) (catch only)
    // the koa response API (§1.7, v2.4); their argument is `op::arg`
    ctx_set,           // ctx.set(name, value): a string, an integer or an array of them
    ctx_append,        // ctx.append(name, value)
    ctx_remove,        // ctx.remove(name)
    ctx_type,          // ctx.type = t (one of koa_type_table)
    ctx_length,        // ctx.length = n
    ctx_message,       // ctx.message = text (res.statusMessage)
    ctx_redirect,      // ctx.redirect(url)
    ctx_attachment,    // ctx.attachment(filename?) (null: no filename)
    ctx_flush_headers, // ctx.flushHeaders()
    // raw control (§1.10, v2.6); their argument is `op::arg`
    ctx_respond,         // ctx.respond = false
    ctx_res_status_code, // ctx.res.statusCode = n
    ctx_res_set_header,  // ctx.res.setHeader(name, value)
    ctx_res_write,       // ctx.res.write(text)
    ctx_res_end,         // ctx.res.end(text?)
    // v2.6 (§1.6): the not-found handler from a request hook or a handler
    call_not_found, // reply.callNotFound()
    hijack,         // reply.hijack(): Fastify leaves the response to the callback
    // v2.6 (§1.13): state across callbacks
    assign,    // TARGET = value (request.body, request.NAME, reply.NAME, this.NAME)
    increment, // TARGET++ (request.NAME, reply.NAME, this.NAME)
};

char const* to_string(op_kind k);
std::optional<op_kind> parse_op_kind(std::string const& name);

/// What a `done` op passes: done(), done(error) or done(null, payload).
enum class done_with { nothing, error, payload };

struct op {
    op_kind kind = op_kind::hang;
    json code;                   // code: the number as written (may be fractional or out of range)
    header_list headers;         // header (one pair), headers
    std::string name;            // removeHeader: the header name; type: the content type
    std::optional<payload> body; // send/return/throw/done: the value (nothing = send() / done())
    bool return_reply = false;   // return: `return reply`
    int ms = 0;                  // await
    flag_assignment flag;        // set
    done_with done = done_with::nothing;
    // koa ops (§1.7)
    bool from_error = false;            // ctx.status "err", ctx.body "err.message"
    int status = 500;                   // ctx.throw, ctx.assert
    std::optional<std::string> message; // ctx.throw, ctx.assert
    json props = json::object();        // ctx.throw, ctx.assert: expose, headers, code
    bool holds = false;                 // ctx.assert: the asserted value
    json arg; // v2.4 response ops (ctx.set ... ctx.flushHeaders): as written
    // ctx.set, ctx.append: `name` and each value as Koa stringifies it; `array` for an array
    // (Node sends one header line per element; a client sees them joined with ", ")
    std::vector<std::string> values;
    bool array = false;
    std::optional<ref> target; // assign, increment (v2.6); assign's value is `body`
};

/// ACTION, scenario-format §1.2: what one user callback does.
struct action {
    std::string label; // filled by trace::assign_labels when the file gives none
    bool label_given = false;
    style how = style::async;
    std::optional<int> delay_ms;
    std::optional<flag_condition> when;
    std::optional<flag_assignment> set;
    verb what = verb::continue_;
    std::optional<int> status;
    header_list headers;
    std::optional<payload> body; // `payload` in the file
    std::optional<error_spec> error;
    /// v2 (§1.6): the operations the callback performs, in order; when set, the v1 keys
    /// delayMs/set/do/status/headers/payload/error are absent and `what` is unused.
    std::optional<std::vector<op>> ops;
};

/// Hooks of one scope or route: phases in the order the file lists them, each list in order.
using hook_map = std::vector<std::pair<phase, std::vector<action>>>;

/// An optional value kept on the heap, copied deeply: a pointer's size where most objects have
/// none. A route's errorHandler (an ACTION is some 800 bytes) would otherwise double the memory of
/// a 400,000-route file (ctest scenario.validate-big, bench/validate_big.sh).
template <class T>
class heap_optional {
public:
    heap_optional() = default;

    heap_optional(std::nullopt_t) {}

    heap_optional(T v)
        : p_(std::make_unique<T>(std::move(v))) {}

    heap_optional(std::optional<T> v)
        : p_(v ? std::make_unique<T>(std::move(*v)) : nullptr) {}

    heap_optional(heap_optional const& o)
        : p_(o.p_ ? std::make_unique<T>(*o.p_) : nullptr) {}

    heap_optional(heap_optional&&) noexcept = default;

    heap_optional& operator=(heap_optional const& o) {
        if (this != &o)
            p_ = o.p_ ? std::make_unique<T>(*o.p_) : nullptr;
        return *this;
    }

    heap_optional& operator=(heap_optional&&) noexcept = default;
    ~heap_optional() = default;

    explicit operator bool() const { return p_ != nullptr; }

    bool has_value() const { return p_ != nullptr; }

    T& operator*() { return *p_; }

    T const& operator*() const { return *p_; }

    T* operator->() { return p_.get(); }

    T const* operator->() const { return p_.get(); }

    void reset() { p_.reset(); }

private:
    std::unique_ptr<T> p_;
};

struct route {
    std::string method = "GET";
    std::string url;
    action handler;
    hook_map hooks; // route-level hooks, run after every scope hook of the same phase
    // v2.6 (scenario-format §1.11): route options
    heap_optional<action> error_handler; // the route's errorHandler, traced errorHandler@route
    int handler_timeout_ms = 0;          // handlerTimeout; 0: the server's
    long long body_limit = 0;            // bodyLimit; 0: the server's
};

/// `late`: calls written after the scope's register() calls (scenario-format §1.1 step 5).
struct late_entries {
    hook_map hooks;
    std::optional<action> error_handler;
};

/// An `npmPlugins` entry (scenario-format §1.1): a real npm package the scope registers before
/// anything else, `await register(require(name), options)`. Only real Fastify builds it.
struct npm_plugin {
    std::string name;                   // an npm package name, or an absolute path
    std::optional<std::string> version; // the installed version must be this or start with it
    json options = json::object();      // register()'s options, as written
};

/// One scope: the app (name "root") or a plugin.
struct scope {
    std::string name = "root";
    std::string prefix; // "" for none; ignored when !encapsulate
    bool encapsulate = true;
    bool await_register = false;         // `await register(...)`
    std::vector<npm_plugin> npm_plugins; // registered first, in order
    // v2.6 (§1.13): decorate / decorateRequest / decorateReply calls, NAME: a JSON scalar, in order
    json decorate = json::object();
    json decorate_request = json::object();
    json decorate_reply = json::object();
    hook_map hooks;
    std::optional<action> error_handler;
    std::optional<action> not_found_handler;
    /// v2.6: setNotFoundHandler(opts, handler)'s preValidation and preHandler options (hooks
    /// of the not-found context, after the scope's own); only with `not_found_handler`.
    hook_map not_found_hooks;
    /// v2.6: its errorHandler option (the not-found context's error handler, whose parent is
    /// the scope's error handler at preReady); only with `not_found_handler`.
    std::optional<action> not_found_error_handler;
    std::vector<route> routes;
    std::vector<scope> plugins;
    std::optional<late_entries> late;
};

/// Every `npmPlugins` entry of a scope and its descendants, in registration order (tree order).
std::vector<npm_plugin const*> npm_plugins_in(scope const& s);

struct app_options {
    int connection_timeout_ms = 0;
    int request_timeout_ms = 0;
    long long body_limit = 1048576;
    bool return503_on_closing = true;
    int handler_timeout_ms = 0; // v2.6 (§1.11): Fastify's handlerTimeout; 0 is off
};

enum class next_mode { once, never, twice };

/// Koa dialect, scenario-format §1.5.
struct middleware {
    std::string label;
    std::optional<action> before;
    next_mode next = next_mode::once;
    /// v2.3 (§1.7): `try { await next() } catch (err) { LABEL:catch; ACTION }`.
    std::optional<action> on_catch;
    std::optional<action> after;
};

struct koa_app {
    std::vector<middleware> chain;
    std::optional<action> on_error;
};

enum class dialect { fastify, koa };

struct app {
    scope root; // dialect fastify
    app_options options;
    koa_app koa; // dialect koa
};

struct request_spec {
    std::string method = "GET";
    std::string url = "/";
    header_list headers;
    std::optional<std::string> body; // bytes (from `body` or `bodyBase64`)
    bool chunked = false;
};

/// `client` options of a step (scenario-format §1.4); at most one abort key is set.
struct client_options {
    std::optional<int> abort_after_ms;
    std::optional<long long> abort_after_request_bytes;
    std::optional<long long> abort_after_body_bytes;
    std::optional<long long> abort_after_response_bytes;
    std::optional<long long> abort_after_response_body_bytes;
    std::optional<int> bytes_per_write;
    std::optional<int> write_delay_ms;
    bool expect_no_response = false;

    bool aborts() const {
        return abort_after_ms || abort_after_request_bytes || abort_after_body_bytes ||
               abort_after_response_bytes || abort_after_response_body_bytes;
    }
};

enum class body_match { json_value, text, contains };

struct expected_body {
    body_match how = body_match::text;
    json value;       // json_value
    std::string text; // text, contains
};

enum class connection_fate { kept, closed, reset };

char const* to_string(connection_fate f);

/// A header expectation: a value, "*" (present, any value) or absent (null in the file).
struct expected_header {
    std::string name;
    std::optional<std::string> value; // nothing = must be absent
};

/// v2.5 (scenario-format §1.8): the error `ready()`/`listen()` rejects with, as far as given.
struct expected_startup_error {
    std::optional<std::string> code;
    std::optional<std::string> message;
};

struct expectation {
    // `startup` only (v2.5): `error` written; an object = start-up fails with that error, null =
    // the app starts.
    bool error_given = false;
    std::optional<expected_startup_error> error;
    std::optional<int> status;
    std::vector<expected_header> headers;
    std::optional<expected_body> body;
    std::optional<bool> complete;
    std::optional<connection_fate> connection;
    std::optional<bool> aborted;
    std::optional<bool> reached;
    std::optional<std::vector<std::string>> trace;
    std::optional<int> end_at;
};

enum class step_kind { request, raw, parallel, sleep, close, startup };

struct step {
    step_kind kind = step_kind::request;
    std::string id;                        // request, raw
    request_spec request;                  // request
    std::string raw;                       // raw: bytes sent as they are
    std::optional<std::string> connection; // request: named keep-alive connection
    client_options client;                 // request, raw
    std::optional<expectation> expect;
    std::vector<step> children; // parallel
    int sleep_ms = 0;           // sleep
    std::string json_path;      // where the step is in the file, e.g. "$.steps[2]"
};

enum class divergence_class { framework_bug, doc_gap, deliberate };

char const* to_string(divergence_class c);

/// `divergence`, scenario-format §4: a documented difference of one target (decisions.md D3).
struct divergence {
    std::string target; // "fastify" or "fastify@5.2.0": a target name, optionally a version prefix
    divergence_class cls = divergence_class::deliberate;
    std::string note;
    std::optional<std::string> result; // the result class the target shows instead ("crash"...)
};

struct scenario {
    std::string id;   // path below scenarios/ without .json
    std::string file; // the file it was loaded from
    std::string description;
    dialect lang = dialect::fastify;
    std::vector<std::string> tags;
    app application;
    std::vector<step> steps;
    std::vector<divergence> divergences;
    /// v2.5 `startup` (scenario-format §1.8): kind startup, id "startup", path "$.startup"; its
    /// `expect` holds `error` and the `trace` of the application hooks run at start.
    std::optional<step> startup;
};

/// The wire bytes of a request step, scenario-format §1.4: request line, host, x-lifecheck-req, the
/// step's headers in order, then content-length (or chunked framing).
std::string wire_bytes(std::string const& id, request_spec const& req);

} // namespace lifecheck::scenario
