// JavaScript values the lifecycle passes around: payloads, errors, Node and WHATWG streams,
// Responses.
#pragma once

#include "harness/scenario/scenario.hpp"

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace lifecheck::engine {

/// An `Error` object as Fastify sees it.
struct js_error {
    std::string message;
    std::optional<int> status_code;  // err.statusCode
    std::optional<std::string> code; // err.code
    std::optional<int> status;       // err.status (setErrorHeaders reads it after statusCode)
    scenario::header_list headers;   // err.headers (setErrorHeaders copies them to the reply)
    std::optional<bool> expose;      // err.expose: Koa answers with the message when true
    /// Not an Error (koa ops `throw`, scenario-format §1.7): the JSON value thrown (a string,
    /// null, ...), or undefined when `undefined_thrown`; the fields above are unused then.
    std::optional<scenario::json> non_error;
    bool undefined_thrown = false;
};

/// A new `Error` with `message`, err.statusCode and err.code.
std::shared_ptr<js_error>
make_error(std::string message, std::optional<int> status, std::optional<std::string> code);

/// What a JS `throw` in a user callback raises (scenario-format §1.2 `throw`): new Error(message
/// ?? "boom") with statusCode = error.statusCode ?? status, and error.code.
std::shared_ptr<js_error> thrown_by(scenario::action const& a);

/// The Error an `error` PAYLOAD stands for (scenario-format §1.6); of its `props` only `expose`
/// is kept (Koa reads it; nothing else a client sees depends on them).
std::shared_ptr<js_error> error_of(scenario::error_spec const& e);

/// True for an Error object, false for a non-Error value thrown (`non_error`, `undefined_thrown`).
bool is_error_object(js_error const& e);

/// `!value`: undefined, null, false, 0, "" (a rejection with such a value becomes
/// FST_ERR_SEND_UNDEFINED_ERR in Fastify's hook runners; `done(value)` continues).
bool falsy(js_error const& e);

/// `value == null`: undefined or null (a synchronous throw of one is no error to the hook
/// runners' callers, which test `err != null`).
bool nullish(js_error const& e);

/// A Node Readable or a WHATWG ReadableStream made from a stream PAYLOAD.
struct stream_obj {
    std::vector<std::string> chunks;
    int chunk_delay_ms = 0;
    std::optional<int> fail_after;
    bool web = false;
    bool locked = false;    // a reader holds it
    bool disturbed = false; // reading has started (Response.bodyUsed)
    bool started = false;   // a web stream's start() has settled (a microtask after it was made)
};

/// A WHATWG Response.
struct response_obj {
    int status = 200;
    scenario::header_list headers;    // lower-case names, sorted (Headers iterates sorted)
    std::shared_ptr<stream_obj> body; // null body when empty
};

/// A value handed to reply.send or returned from a hook.
struct value {
    enum class kind { undefined, null, string, buffer, json, error, stream, response };
    kind k = kind::undefined;
    std::string bytes;                  // string, buffer
    scenario::json js;                  // json
    std::shared_ptr<js_error> err;      // error
    std::shared_ptr<stream_obj> stream; // stream (Node or web)
    std::shared_ptr<response_obj> resp; // response

    static value undefined() { return {}; }

    static value of_error(std::shared_ptr<js_error> e) {
        value v;
        v.k = kind::error;
        v.err = std::move(e);
        return v;
    }

    static value of_string(std::string s) {
        value v;
        v.k = kind::string;
        v.bytes = std::move(s);
        return v;
    }

    bool is_stream_like() const { return k == kind::stream || k == kind::response; }
};

/// What `throw v` raises in Fastify's dialect (scenario-format §1.6): an Error stays itself; a
/// non-Error (undefined, a string, any JSON value) is carried as it is. A JSON object's own
/// `statusCode`, `status` (integers) and `headers` (an object) are what setErrorHeaders reads,
/// its `code` and `message` (strings) what the fallback error serializer reads.
std::shared_ptr<js_error> thrown_of(value const& v);

/// The value `reply.send(x)` gets for a thrown non-Error `x` (the default error handler and an
/// error handler's synchronous throw send it as a payload); an Error stays an error value.
value sent_value_of(std::shared_ptr<js_error> const& e);

/// The JS value of a json, string or buffer PAYLOAD: a JSON string is a JS string, any other
/// JSON value (null too) stays JSON. Empty, stream and Response payloads are each dialect's.
value plain_value(scenario::payload const& p);

/// A fresh Node Readable or WHATWG ReadableStream for a stream PAYLOAD (locked as it says).
std::shared_ptr<stream_obj> make_stream(scenario::payload const& p);

/// JSON.stringify of a JSON value (key order kept, integral numbers without ".0").
std::string js_stringify(scenario::json const& v);

/// JSON.stringify(v) of a value that is not undefined (Fastify's default serializer,
/// preSerializationHookEnd): a string is quoted, a Buffer is {"type":"Buffer","data":[...]},
/// an Error shows its own enumerable properties in the order the adapter sets them
/// (statusCode, status, code, headers), a WHATWG stream or Response is {}. A Node Readable
/// shows Node's internals (not generated; treated as {}).
std::string json_of(value const& v);

/// The JS string Node makes of request-line or header bytes (it decodes them as latin1: one
/// character per byte), as UTF-8: bytes >= 0x80 become two bytes. Request bytes are not UTF-8,
/// so they must pass through this before they go into a JSON value (crash fuzz-251f61b7).
std::string js_string_of_bytes(std::string_view bytes);

/// Node's http.STATUS_CODES text for a status ("Internal Server Error"), "" if unknown.
std::string status_text(int status);

} // namespace lifecheck::engine
