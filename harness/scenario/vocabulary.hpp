// The scenario vocabulary declared once: verbs and where each may be used, hook phases, payload
// kinds, step kinds, scope keys, npm plugin keys, ACTION keys and option names
// (scenario-format.md §1.1–§1.5).
//
// One table, many readers (style B.13 item 3): the loader (validate.cpp, scenario.cpp) reads it,
// the HTML report's legend (harness/report/html.cpp) shows it, and schema_test.cpp checks that
// docs/schema/scenario.schema.json and docs/scenario-format.md list exactly these names. A new
// verb is one row here plus its semantics in the engine, the model and the adapters.
#pragma once

#include "harness/scenario/scenario.hpp"

#include <cstddef>
#include <iterator>

namespace lifecheck::scenario {

/// Places an ACTION can sit, as bits: which verbs each place takes (scenario-format §1.2 table,
/// §1.4 for application hooks, §1.5 for koa).
namespace verb_site {
constexpr unsigned hook = 1u << 0;          // a request hook of a scope or a route, any phase
constexpr unsigned on_send_hook = 1u << 1;  // a request hook in the onSend phase only
constexpr unsigned app_hook = 1u << 2;      // onReady, preClose, onClose
constexpr unsigned handler = 1u << 3;       // a route handler or a notFoundHandler
constexpr unsigned error_handler = 1u << 4; // an errorHandler (scope or late)
constexpr unsigned koa_step = 1u << 5;      // `before` / `after` of a koa middleware
constexpr unsigned koa_on_error = 1u << 6;  // the koa app's onError listener (it only observes)
constexpr unsigned koa_catch = 1u << 7;     // the `catch` of a koa middleware (v2.3)
} // namespace verb_site

/// One verb of an ACTION's `do`.
struct verb_entry {
    verb value;
    char const* name; // as written in scenario files and the report's `does`
    char const* past; // what a report box says the callback did
    unsigned sites;   // verb_site bits: where the verb may be used
};

/// Every verb, in the order of the §1.2 table (diagnostics list allowed verbs in this order).
inline constexpr verb_entry verb_table[] = {
    {verb::continue_,
     "continue",
     "continued",
     verb_site::hook | verb_site::app_hook | verb_site::handler | verb_site::error_handler |
         verb_site::koa_step | verb_site::koa_on_error | verb_site::koa_catch},
    {verb::throw_,
     "throw",
     "threw",
     verb_site::hook | verb_site::app_hook | verb_site::handler | verb_site::error_handler |
         verb_site::koa_step | verb_site::koa_catch},
    {verb::rethrow, "rethrow", "rethrew", verb_site::error_handler},
    {verb::send,
     "send",
     "sent",
     verb_site::hook | verb_site::handler | verb_site::error_handler | verb_site::koa_step |
         verb_site::koa_catch},
    {verb::send_then_continue, "sendThenContinue", "sent + continued", verb_site::hook},
    {verb::hang,
     "hang",
     "hung",
     verb_site::hook | verb_site::handler | verb_site::koa_step | verb_site::koa_catch},
    {verb::replace_payload, "replacePayload", "replaced payload", verb_site::on_send_hook},
    {verb::hijack, "hijack", "hijacked", verb_site::hook | verb_site::handler},
};

/// One hook phase.
struct phase_entry {
    phase value;
    char const* name;
    bool application; // onReady, preClose, onClose: traced with request id `app`, not per route
};

/// Every hook phase: the ten request phases, then the six application phases (§1.1).
inline constexpr phase_entry phase_table[] = {
    {phase::on_request, "onRequest", false},
    {phase::pre_parsing, "preParsing", false},
    {phase::pre_validation, "preValidation", false},
    {phase::pre_handler, "preHandler", false},
    {phase::pre_serialization, "preSerialization", false},
    {phase::on_send, "onSend", false},
    {phase::on_response, "onResponse", false},
    {phase::on_error, "onError", false},
    {phase::on_timeout, "onTimeout", false},
    {phase::on_request_abort, "onRequestAbort", false},
    {phase::on_ready, "onReady", true},
    {phase::on_listen, "onListen", true},
    {phase::pre_close, "preClose", true},
    {phase::on_close, "onClose", true},
    {phase::on_route, "onRoute", true},       // v2.6 (§1.9)
    {phase::on_register, "onRegister", true}, // v2.6 (§1.9)
};

/// One PAYLOAD kind.
struct payload_kind_entry {
    payload_kind value;
    char const* name;
};

/// Every PAYLOAD kind, in the order of the §1.3 table.
inline constexpr payload_kind_entry payload_kind_table[] = {
    {payload_kind::json_value, "json"},
    {payload_kind::string, "string"},
    {payload_kind::buffer, "buffer"},
    {payload_kind::empty, "empty"},
    {payload_kind::stream, "stream"},
    {payload_kind::web_stream, "webStream"},
    {payload_kind::response, "response"},
    {payload_kind::error, "error"},
    {payload_kind::undefined, "undefined"},
    {payload_kind::read, "read"},
};

/// The PAYLOAD kinds only an `ops` sequence may use (§1.6): JavaScript values, not replies.
constexpr bool is_v2_kind(payload_kind k) {
    return k == payload_kind::error || k == payload_kind::undefined || k == payload_kind::read;
}

/// One operation of an ACTION's `ops` (§1.6) and where it may be used (verb_site bits; the
/// onRequestAbort phase has no reply, so reply operations are refused there).
struct op_entry {
    op_kind value;
    char const* name; // the key of the op object in scenario files
    bool reply;       // calls a reply method (not in onRequestAbort or application hooks)
    unsigned sites;   // verb_site bits
};

namespace detail {
constexpr unsigned fastify_sites =
    verb_site::hook | verb_site::app_hook | verb_site::handler | verb_site::error_handler;
constexpr unsigned reply_sites = verb_site::hook | verb_site::handler | verb_site::error_handler;
constexpr unsigned koa_sites = verb_site::koa_step | verb_site::koa_catch;
} // namespace detail

/// Every op, in the order of the §1.6 table.
inline constexpr op_entry op_table[] = {
    {op_kind::code, "code", true, detail::reply_sites},
    {op_kind::header, "header", true, detail::reply_sites},
    {op_kind::headers, "headers", true, detail::reply_sites},
    {op_kind::remove_header, "removeHeader", true, detail::reply_sites},
    {op_kind::type, "type", true, detail::reply_sites},
    {op_kind::send, "send", true, detail::reply_sites},
    {op_kind::set, "set", false, detail::fastify_sites | detail::koa_sites},
    {op_kind::await_, "await", false, detail::fastify_sites | detail::koa_sites},
    {op_kind::return_, "return", false, detail::reply_sites},
    {op_kind::throw_, "throw", false, detail::fastify_sites | detail::koa_sites},
    {op_kind::done, "done", false, verb_site::hook | verb_site::app_hook},
    {op_kind::hang, "hang", false, detail::fastify_sites | detail::koa_sites},
    {op_kind::ctx_status, "ctx.status", false, detail::koa_sites},
    {op_kind::ctx_body, "ctx.body", false, detail::koa_sites},
    {op_kind::ctx_throw, "ctx.throw", false, detail::koa_sites},
    {op_kind::ctx_assert, "ctx.assert", false, detail::koa_sites},
    {op_kind::rethrow, "rethrow", false, verb_site::koa_catch},
    {op_kind::ctx_app_emit, "ctx.app.emit", false, verb_site::koa_catch},
    {op_kind::ctx_set, "ctx.set", false, detail::koa_sites},
    {op_kind::ctx_append, "ctx.append", false, detail::koa_sites},
    {op_kind::ctx_remove, "ctx.remove", false, detail::koa_sites},
    {op_kind::ctx_type, "ctx.type", false, detail::koa_sites},
    {op_kind::ctx_length, "ctx.length", false, detail::koa_sites},
    {op_kind::ctx_message, "ctx.message", false, detail::koa_sites},
    {op_kind::ctx_redirect, "ctx.redirect", false, detail::koa_sites},
    {op_kind::ctx_attachment, "ctx.attachment", false, detail::koa_sites},
    {op_kind::ctx_flush_headers, "ctx.flushHeaders", false, detail::koa_sites},
    {op_kind::ctx_respond, "ctx.respond", false, detail::koa_sites},
    {op_kind::ctx_res_status_code, "ctx.res.statusCode", false, detail::koa_sites},
    {op_kind::ctx_res_set_header, "ctx.res.setHeader", false, detail::koa_sites},
    {op_kind::ctx_res_write, "ctx.res.write", false, detail::koa_sites},
    {op_kind::ctx_res_end, "ctx.res.end", false, detail::koa_sites},
    // v2.6: request hooks before the handler (the loader checks the phase) and handlers
    {op_kind::call_not_found, "callNotFound", true, verb_site::hook | verb_site::handler},
    {op_kind::hijack, "hijack", true, verb_site::hook | verb_site::handler},
    {op_kind::assign, "assign", false, detail::reply_sites},
    {op_kind::increment, "increment", false, detail::reply_sites},
};

/// What Koa 2.16.4's `ctx.type = t` (cache-content-type, mime-types) sets for each value the
/// format takes (§1.7 `ctx.type`; `ctx.attachment` reads the row of its file's extension). Data
/// only: the reference and the model read it, as the llhttp method table.
struct koa_type_entry {
    char const* value;        // what the middleware assigns
    char const* content_type; // the Content-Type Koa sets ("" : none, Koa removes the header)
};

inline constexpr koa_type_entry koa_type_table[] = {
    {"text/plain", "text/plain; charset=utf-8"},
    {"text/html", "text/html; charset=utf-8"},
    {"application/json", "application/json; charset=utf-8"},
    {"application/xml", "application/xml"},
    {"application/javascript", "application/javascript; charset=utf-8"},
    {"image/png", "image/png"},
    {"text/html; charset=foo", "text/html; charset=foo"},
    {"text", "text/plain; charset=utf-8"},
    {"html", "text/html; charset=utf-8"},
    {"json", "application/json; charset=utf-8"},
    {"xml", "application/xml"},
    {"png", "image/png"},
    {"bin", "application/octet-stream"},
    {".txt", "text/plain; charset=utf-8"},
    {".html", "text/html; charset=utf-8"},
    {".json", "application/json; charset=utf-8"},
    {".png", "image/png"},
    {"", ""},
    {"asdf", ""},
};

/// One step kind: the key that makes a step that kind (§1.4; a step has exactly one).
struct step_kind_entry {
    step_kind value;
    char const* key;
};

inline constexpr step_kind_entry step_kind_table[] = {
    {step_kind::request, "request"},
    {step_kind::raw, "raw"},
    {step_kind::parallel, "parallel"},
    {step_kind::sleep, "sleepMs"},
    {step_kind::close, "close"},
};

/// One key of an ACTION object (§1.2).
struct action_key_entry {
    char const* name;
    bool koa; // also a key of a koa middleware's before/after (the middleware's label names those)
};

inline constexpr action_key_entry action_key_table[] = {
    {"label", false},
    {"style", true},
    {"delayMs", true},
    {"when", true},
    {"set", true},
    {"do", true},
    {"ops", true},
    {"status", true},
    {"headers", true},
    {"payload", true},
    {"error", true},
};

/// One ACTION `style` (§1.2); koa middleware are async only (§1.5).
struct style_entry {
    style value;
    char const* name;
};

inline constexpr style_entry style_table[] = {
    {style::async, "async"},
    {style::callback, "callback"},
    {style::sync, "sync"}, // v2.6: application hooks run by hooks.js only (§1.9)
};

/// One key of a step's `client` object (§1.4).
struct client_option_entry {
    char const* name;
    bool abort; // an abort key: at most one per step
};

inline constexpr client_option_entry client_option_table[] = {
    {"abortAfterMs", true},
    {"abortAfterRequestBytes", true},
    {"abortAfterBodyBytes", true},
    {"abortAfterResponseBytes", true},
    {"abortAfterResponseBodyBytes", true},
    {"bytesPerWrite", false},
    {"writeDelayMs", false},
    {"expectNoResponse", false},
};

/// One key of a fastify scope (§1.1): the app object (`root`) or a plugin.
struct scope_key_entry {
    char const* name;
    bool root;   // a key of the app object
    bool plugin; // a key of a plugin
};

/// Every scope key: a plugin's own keys, then the keys of what a scope registers, in the order
/// §1.1 registers them (npm plugins, hooks, error and not-found handlers, routes, plugins, late),
/// then the app's `options`.
inline constexpr scope_key_entry scope_key_table[] = {
    {"name", false, true},
    {"prefix", false, true},
    {"encapsulate", false, true},
    {"await", false, true},
    {"npmPlugins", true, true},
    {"decorate", true, true},
    {"decorateRequest", true, true},
    {"decorateReply", true, true},
    {"hooks", true, true},
    {"errorHandler", true, true},
    {"notFoundHandler", true, true},
    {"notFoundOptions", true, true}, // v2.6: setNotFoundHandler's preValidation/preHandler
    {"routes", true, true},
    {"plugins", true, true},
    {"late", true, true},
    {"options", true, false},
};

/// Keys of an `npmPlugins` entry (§1.1).
inline constexpr char const* npm_plugin_key_table[] = {
    "name",
    "version",
    "options",
};

/// Keys of a fastify app's `options` (§1.1).
inline constexpr char const* app_option_table[] = {
    "connectionTimeoutMs",
    "requestTimeoutMs",
    "bodyLimit",
    "return503OnClosing",
    "handlerTimeoutMs",
};

// v2.6 (§1.13): names Fastify 5.12.8 (or Object.prototype) already gives the request, the reply and
// the instance. A decoration or an assigned property of that name would change Fastify itself, or
// throw (a getter without a setter), so the loader refuses them; the rest are the app's own.
/// Request: own fields, lib/request.js accessors and methods, v4 leftovers.
inline constexpr char const* request_property_table[] = {
    "__defineGetter__",
    "__defineSetter__",
    "__lookupGetter__",
    "__lookupSetter__",
    "__proto__",
    "additionalHeaders",
    "body",
    "compileValidationSchema",
    "connection",
    "constructor",
    "context",
    "getDecorator",
    "getValidationFunction",
    "hasOwnProperty",
    "headers",
    "host",
    "hostname",
    "id",
    "ip",
    "ips",
    "is404",
    "isPrototypeOf",
    "log",
    "mediaType",
    "method",
    "originalUrl",
    "params",
    "port",
    "propertyIsEnumerable",
    "protocol",
    "query",
    "raw",
    "routeConfig",
    "routeOptions",
    "routeSchema",
    "routerMethod",
    "routerPath",
    "server",
    "setDecorator",
    "signal",
    "socket",
    "toLocaleString",
    "toString",
    "url",
    "validateInput",
    "valueOf",
};

/// Reply: own fields, lib/reply.js accessors and methods.
inline constexpr char const* reply_property_table[] = {
    "__defineGetter__",
    "__defineSetter__",
    "__lookupGetter__",
    "__lookupSetter__",
    "__proto__",
    "callNotFound",
    "code",
    "compileSerializationSchema",
    "constructor",
    "context",
    "elapsedTime",
    "getDecorator",
    "getHeader",
    "getHeaders",
    "getResponseTime",
    "getSerializationFunction",
    "hasHeader",
    "hasOwnProperty",
    "hasTrailer",
    "header",
    "headers",
    "hijack",
    "isPrototypeOf",
    "log",
    "mediaType",
    "propertyIsEnumerable",
    "raw",
    "redirect",
    "removeHeader",
    "removeTrailer",
    "request",
    "routeOptions",
    "send",
    "sent",
    "serialize",
    "serializeInput",
    "serializer",
    "server",
    "setDecorator",
    "status",
    "statusCode",
    "then",
    "toLocaleString",
    "toString",
    "trailer",
    "type",
    "valueOf",
    "writeEarlyHints",
};

/// The Fastify instance: fastify.js members and accessors, avvio's.
inline constexpr char const* instance_property_table[] = {
    "__defineGetter__",
    "__defineSetter__",
    "__lookupGetter__",
    "__lookupSetter__",
    "__proto__",
    "addConstraintStrategy",
    "addContentTypeParser",
    "addHook",
    "addHttpMethod",
    "addSchema",
    "addresses",
    "after",
    "all",
    "childLoggerFactory",
    "close",
    "constructor",
    "currentPlugin",
    "decorate",
    "decorateReply",
    "decorateRequest",
    "defaultTextParser",
    "delete",
    "errorHandler",
    "findRoute",
    "genReqId",
    "get",
    "getDecorator",
    "getDefaultJsonParser",
    "getSchema",
    "getSchemas",
    "hasConstraintStrategy",
    "hasContentTypeParser",
    "hasDecorator",
    "hasOwnProperty",
    "hasPlugin",
    "hasReplyDecorator",
    "hasRequestDecorator",
    "hasRoute",
    "head",
    "initialConfig",
    "inject",
    "isPrototypeOf",
    "listen",
    "listeningOrigin",
    "log",
    "onClose",
    "options",
    "override",
    "patch",
    "pluginName",
    "post",
    "prefix",
    "printPlugins",
    "printRoutes",
    "propertyIsEnumerable",
    "put",
    "query",
    "ready",
    "register",
    "removeAllContentTypeParsers",
    "removeContentTypeParser",
    "route",
    "routing",
    "serializerCompiler",
    "server",
    "setChildLoggerFactory",
    "setErrorHandler",
    "setGenReqId",
    "setNotFoundHandler",
    "setReplySerializer",
    "setSchemaController",
    "setSchemaErrorFormatter",
    "setSerializerCompiler",
    "setValidatorCompiler",
    "supportedMethods",
    "then",
    "toLocaleString",
    "toString",
    "trace",
    "use",
    "validatorCompiler",
    "valueOf",
    "version",
    "withTypeProvider",
};

/// Route methods real Fastify 5.12.8 accepts, in the order of its `supportedMethods`: a route's
/// `method` is one of these in any case (Fastify upper-cases it, then refuses the rest at start
/// with FST_ERR_ROUTE_METHOD_NOT_SUPPORTED; decisions.md D34). A request step may send any token.
inline constexpr char const* route_method_table[] = {
    "GET",
    "HEAD",
    "TRACE",
    "DELETE",
    "OPTIONS",
    "PATCH",
    "PUT",
    "POST",
    "QUERY",
};

/// The request methods Node's HTTP parser (llhttp, Node 20) knows: on the wire, a method that is
/// not a prefix of one of these is refused with 400 before the head is complete. Data only: the
/// reference (net/http_connection.cpp) and the model (detail/node.cpp) each apply it themselves.
inline constexpr char const* llhttp_method_table[] = {
    "ACL",    "ANNOUNCE",      "BIND",     "CHECKOUT", "CONNECT",       "COPY",
    "DELETE", "DESCRIBE",      "FLUSH",    "GET",      "GET_PARAMETER", "HEAD",
    "LINK",   "LOCK",          "M-SEARCH", "MERGE",    "MKACTIVITY",    "MKCALENDAR",
    "MKCOL",  "MOVE",          "NOTIFY",   "OPTIONS",  "PATCH",         "PAUSE",
    "PLAY",   "POST",          "PRI",      "PROPFIND", "PROPPATCH",     "PURGE",
    "PUT",    "QUERY",         "REBIND",   "RECORD",   "REDIRECT",      "REPORT",
    "SEARCH", "SET_PARAMETER", "SETUP",    "SOURCE",   "SUBSCRIBE",     "TEARDOWN",
    "TRACE",  "UNBIND",        "UNLINK",   "UNLOCK",   "UNSUBSCRIBE"};

/// One `next` mode of a koa middleware (§1.5).
struct next_mode_entry {
    next_mode value;
    char const* name;
};

inline constexpr next_mode_entry next_mode_table[] = {
    {next_mode::once, "once"},
    {next_mode::never, "never"},
    {next_mode::twice, "twice"},
};

namespace detail {

/// True when `table` lists every enumerator once, in declaration order (row i holds value i).
template <typename Table, std::size_t N>
constexpr bool in_enum_order(Table const (&table)[N]) {
    for (std::size_t i = 0; i < N; ++i)
        if (static_cast<std::size_t>(table[i].value) != i)
            return false;
    return true;
}

} // namespace detail

static_assert(detail::in_enum_order(verb_table) &&
                  std::size(verb_table) == static_cast<std::size_t>(verb::hijack) + 1,
              "verb_table: one row per verb, in enum order");
static_assert(detail::in_enum_order(phase_table) &&
                  std::size(phase_table) == static_cast<std::size_t>(phase::on_register) + 1,
              "phase_table: one row per phase, in enum order");
static_assert(detail::in_enum_order(payload_kind_table) &&
                  std::size(payload_kind_table) == static_cast<std::size_t>(payload_kind::read) + 1,
              "payload_kind_table: one row per kind, in enum order");
static_assert(detail::in_enum_order(op_table) &&
                  std::size(op_table) == static_cast<std::size_t>(op_kind::increment) + 1,
              "op_table: one row per op, in enum order");
static_assert(detail::in_enum_order(step_kind_table) &&
                  std::size(step_kind_table) == static_cast<std::size_t>(step_kind::close) + 1,
              "step_kind_table: one row per step kind, in enum order");
static_assert(detail::in_enum_order(style_table) &&
                  std::size(style_table) == static_cast<std::size_t>(style::sync) + 1,
              "style_table: one row per style, in enum order");
static_assert(detail::in_enum_order(next_mode_table) &&
                  std::size(next_mode_table) == static_cast<std::size_t>(next_mode::twice) + 1,
              "next_mode_table: one row per mode, in enum order");

} // namespace lifecheck::scenario
