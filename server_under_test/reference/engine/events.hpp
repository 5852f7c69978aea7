// What the engine emits (cb, end) and the seam to the transport that carries one HTTP exchange.
#pragma once

#include "harness/scenario/scenario.hpp"

#include <functional>
#include <string>
#include <string_view>

namespace lifecheck::engine {

/// A traced event: a callback starting (`cb`) or the framework being done with a request (`end`).
struct event {
    enum class kind { cb, end } what = kind::cb;
    std::string req;      // request id, `app` for application hooks
    std::string label;    // cb
    std::string phase;    // cb: "onSend", "handler", "errorHandler", "notFound"
    std::string scope;    // cb
    int status = 0;       // end
    bool aborted = false; // end: the client closed before the response finished
};

using event_sink = std::function<void(event const&)>;

/// The parsed head of a request, as the transport hands it to the engine.
struct request_head {
    std::string method;
    std::string target;            // path and query as sent
    scenario::header_list headers; // names lower-cased, in order
    bool has_body = false;         // content-length > 0 or chunked
    long long content_length = -1; // -1 when absent
    bool chunked = false;
};

/// The transport side of one request/response (Node's `res` and socket). The engine writes
/// through it; the transport reports back through engine::request::{finished, closed}.
class exchange {
public:
    virtual ~exchange() = default;
    /// Sends the status line and headers (names as given). Framing is the transport's job:
    /// identity with content-length, chunked without, and neither when `te_removed` (the app
    /// called res.removeHeader('transfer-encoding'), Node's _removedTE) and no content-length
    /// is among `headers`: then the body runs until the server closes the connection (Node's
    /// _storeHeader sets _last).
    virtual void write_head(int status, scenario::header_list const& headers, bool te_removed) = 0;
    /// Body bytes (after write_head).
    virtual void write(std::string_view data) = 0;

    /// Puts a head written but not yet sent on the wire now (Node's flushHeaders: `_send('')`);
    /// without it the head goes out with the first body bytes or the end.
    virtual void flush_head() {}

    /// The last byte: the transport calls request::finished() once it is flushed.
    virtual void end() = 0;
    /// Cuts the connection now (a server-side destroy); the transport calls request::closed.
    virtual void destroy() = 0;
};

} // namespace lifecheck::engine
