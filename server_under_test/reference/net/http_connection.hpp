// One HTTP/1.1 connection without I/O: Beast parses the bytes fed in; responses leave through a
// wire.
#pragma once

#include "server_under_test/reference/engine/lifecycle.hpp"

#include <deque>
#include <memory>
#include <string>
#include <string_view>

namespace lifecheck::net {

/// Where a connection's output goes: a socket, or a buffer in tests and fuzzers.
class wire {
public:
    virtual ~wire() = default;
    /// Queues bytes for the peer. The owner calls http_connection::flushed() once they left.
    virtual void send(std::string bytes) = 0;
    /// Closes the connection from the server side (after queued bytes when `graceful`).
    virtual void close(bool graceful) = 0;
};

struct connection_options {
    int connection_timeout_ms = 0;        // Fastify connectionTimeout: idle socket while processing
    int request_timeout_ms = 0;           // Node requestTimeout: the head must arrive within this
    std::size_t header_limit = 16 * 1024; // Node's --max-http-header-size
    int keep_alive_timeout_s = 72; // `Keep-Alive: timeout=`: server.keepAliveTimeout in seconds
};

/// server.keepAliveTimeout in seconds for a dialect: Fastify sets 72; Koa's app.listen keeps
/// Node's http.createServer default, 5.
inline int keep_alive_timeout_s(scenario::dialect d) {
    return d == scenario::dialect::koa ? 5 : 72;
}

/// Parses requests, hands them to the engine in order, frames responses like Node's http module
/// (pipelined responses wait for the one before), and reports the socket's fate to requests.
class http_connection : public std::enable_shared_from_this<http_connection> {
public:
    http_connection(engine::app_server& srv, wire& out, connection_options opts);
    ~http_connection();
    http_connection(http_connection const&) = delete;
    http_connection& operator=(http_connection const&) = delete;

    /// Bytes from the client.
    void feed(std::string_view data);

    /// The client closed or reset its side (Node: abortIncoming; half-close counts too).
    void peer_closed();

    /// Everything sent so far has left (a socket write completed).
    void flushed();

    bool closed() const { return closed_; }

    /// No request is in flight and no partial request is buffered.
    bool idle() const;

    /// How many of this connection's socket timers (connection and request timeouts) are armed.
    std::size_t socket_timers() const;

    /// Server shutdown: closes the connection now if idle (forceCloseConnections 'idle').
    void close_if_idle();

    struct exchange_impl;

private:
    friend struct exchange_impl;
    class parser;

    void start_request();
    void deliver(exchange_impl& x); // write what the head-of-line exchange has buffered
    void exchange_done(exchange_impl& x);
    void client_error(int status);
    void close_now(bool graceful);
    void mark_closed(); // no more reads, no idle timer
    /// Takes the requests still in flight and calls `notify(req, queued, in_flight)` for each,
    /// oldest first; `queued` is true behind the first (Node's state.outgoing).
    template <class Notify>
    void notify_closed(Notify notify);
    void touch(); // socket activity: re-arm the connection timeout
    void on_timeout();

    engine::app_server& srv_;
    engine::loop& loop_;
    wire& out_;
    connection_options opts_;
    std::unique_ptr<parser> parser_;                   // the message being parsed
    std::string pending_;                              // bytes not consumed by the parser yet
    std::deque<std::shared_ptr<exchange_impl>> queue_; // in-flight exchanges, oldest first
    std::shared_ptr<exchange_impl> receiving_;         // the exchange whose body is arriving
    bool closed_ = false;
    bool close_after_ = false; // close once the queue drains
    bool head_timer_armed_ = false;
    engine::loop::timer_id idle_timer_ = 0;
    engine::loop::timer_id head_timer_ = 0;
};

} // namespace lifecheck::net
