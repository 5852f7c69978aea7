// Node's ServerResponse and its socket for one request: status, headers, writeHead, write, end,
// destroy, and the finish/close events that end a request's trace (the Node layer under both
// dialects, lifecycle.cpp and koa_onion.cpp).
#pragma once

#include "server_under_test/reference/engine/events.hpp"
#include "server_under_test/reference/engine/loop.hpp"

#include <memory>
#include <string>
#include <string_view>

namespace lifecheck::engine {

/// ASCII lower case, as Node folds header names.
std::string ascii_lower(std::string s);

/// One `res` (Node lib/_http_outgoing.js, lib/_http_server.js) over the transport's exchange.
///
/// Each rule of Node's `res` and socket lives here once: the head goes out once (headersSent is
/// set even when the socket is gone), end() writes nothing after a close, destroy() is a no-op
/// once finished, 'close' follows 'finish' on the next tick, and the `end` event (res 'close')
/// is emitted once with `aborted` only for a client close before the response finished.
/// The dialect owns the request; the transport's calls reach this through the dialect.
class node_response {
public:
    /// A response written through `out`, whose `end` event for request `id` goes to `sink`.
    /// NOTE: `ev`, `sink` and `id` are kept by reference; the owner keeps them alive.
    node_response(exchange& out, loop& ev, event_sink const& sink, std::string const& id)
        : out_{&out}
        , ev_{&ev}
        , sink_{&sink}
        , id_{&id} {}

    node_response(node_response const&) = delete;
    node_response& operator=(node_response const&) = delete;

    // --- res, as the application sees it -------------------------------------------------------

    /// `res.statusCode` (200 until set).
    int status_code() const { return status_; }

    /// Sets `res.statusCode`.
    void status_code(int code) { status_ = code; }

    /// `res.getHeader(name)`: the value, any case of the name, or null.
    std::string const* get_header(std::string const& name) const;

    /// `res.setHeader`: a name already present keeps its position and takes the new spelling.
    void set_header(std::string const& name, std::string v);

    /// `res.removeHeader`; removing content-length stops end(data) from adding one, removing
    /// transfer-encoding stops the transport from choosing chunked (Node's _removedContLen and
    /// _removedTE: set by the call, whether or not the header was there).
    void remove_header(std::string const& name);

    /// The headers setHeader stored, names as last set, in insertion order.
    scenario::header_list const& headers() const { return headers_; }

    /// `res.writeHead(statusCode, headers)`: the head goes out once, with `headers` as given
    /// (Node merges them with setHeader's; no dialect uses both). headersSent turns true even
    /// when the socket is gone (Node stores `_header` regardless), but nothing is written then.
    void write_head(scenario::header_list const& headers);

    /// `res.write(data)`: nothing once ended or closed; the implicit head (statusCode and the
    /// setHeader headers) goes out first.
    void write(std::string_view data);

    /// `res.flushHeaders()`: the implicit head goes out now, unless it went out already or the
    /// response ended (nothing is written once closed; headersSent turns true regardless).
    void flush_headers() {
        if (ended_)
            return;
        write_head(headers_);
        if (!closed_)
            out_->flush_head();
    }

    /// `res.end(data)`: once. A head not yet sent goes out first (end() runs _implicitHeader with
    /// or without a socket), with a Content-Length for `data` when non-empty and no
    /// content-length or transfer-encoding was set or removed (Node lib/_http_outgoing.js
    /// end → write_ → _contentLength). Nothing is written once closed. The transport reports
    /// 'finish' back once the last byte is flushed.
    void end(std::string_view data = {});

    /// `res.destroy()`: cuts the connection, unless closed or finished (a finished response has
    /// let go of its socket, res.detachSocket, and the exchange may already be gone).
    void destroy();

    /// `headersSent`.
    bool headers_sent() const { return headers_sent_; }

    /// `res.writableEnded`: end() was called.
    bool writable_ended() const { return ended_; }

    /// Neither ended nor closed: a write would reach the socket.
    bool writable() const { return !ended_ && !closed_; }

    /// 'finish' was emitted: the last byte went to the socket.
    bool finished() const { return finished_; }

    /// The socket closed (by either side).
    bool closed() const { return closed_; }

    // --- the socket's side (the transport, through the dialect's engine::request) -------------

    /// Node's 'finish'. Returns false when ignored (finished or closed before). Otherwise res
    /// 'close' (the `end` event) follows on the next tick; `owner` keeps this alive until then.
    bool on_finish(std::shared_ptr<void> owner);

    /// The socket closed; `by_client` false for a server cut. Returns true when it cut a
    /// response that had not finished (the dialect then emits `end`: res 'close' is now);
    /// false for a second close or an idle keep-alive socket closing after the response.
    bool on_close(bool by_client);

    /// The socket was idle for connectionTimeout. Returns true when it destroyed the response
    /// (Node's socketOnTimeout destroys a socket without a 'timeout' listener); false when the
    /// response is already closed or finished.
    bool on_timeout();

    /// Emits the `end` event once (res 'close'). scenario-format §3: `aborted` only when the
    /// client closed its side before the response finished.
    void emit_end();

    /// True once `end` was emitted.
    bool end_emitted() const { return end_emitted_; }

private:
    exchange* out_;                       // the transport; not written once closed
    loop* ev_;                            // schedules 'close' after 'finish'
    event_sink const* sink_;              // receives `end`
    std::string const* id_;               // the request id `end` carries
    int status_ = 200;                    // res.statusCode
    scenario::header_list headers_;       // setHeader's store: names as last set, in order
    bool removed_content_length_ = false; // res._removedContLen
    bool removed_te_ = false;             // res._removedTE
    bool headers_sent_ = false;           // res.headersSent
    bool ended_ = false;                  // res.writableEnded
    bool finished_ = false;               // 'finish' emitted
    bool closed_ = false;                 // the socket closed
    bool server_cut_ = false;             // we destroyed the socket, or the server closed it
    bool end_emitted_ = false;            // `end` sent to the sink
};

} // namespace lifecheck::engine
