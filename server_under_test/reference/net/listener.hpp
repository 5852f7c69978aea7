// The reference server on real sockets: an Asio acceptor on 127.0.0.1 driving the engine's loop.
#pragma once

#include "server_under_test/reference/net/http_connection.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>

#include <chrono>
#include <functional>
#include <memory>
#include <vector>

namespace lifecheck::net {

/// Accepts connections for one app and keeps the engine's loop in step with real time.
class listener {
public:
    listener(boost::asio::io_context& io,
             engine::app_server& srv,
             engine::loop& ev,
             connection_options opts,
             unsigned short port = 0);
    ~listener();

    unsigned short port() const;

    /// Accepts the connections already waiting in the backlog and feeds the bytes they already
    /// sent, so a close command that overtakes them in the event loop still serves them.
    void take_pending();

    /// Stops accepting, closes idle connections, calls `drained` once no request is in flight.
    void shutdown(std::function<void()> drained);

    /// v2.6 (§3.1): nothing left to run for this app: no bytes waiting for a socket, no
    /// nextTick or microtask, no timer but the sockets' own timeouts.
    bool quiescent() const;

    /// Runs the engine's due work now and re-arms the timer for the next due time.
    void pump();

    /// Moves the engine's clock to now (running what is due) before the engine is entered from
    /// I/O: a timer set while handling bytes must count from their arrival, not from the last
    /// pump (lifecheck prop found a 30 ms hook delay that fired at once after an idle second).
    void sync_clock();

private:
    double now_ms() const;
    struct session;
    void accept();
    void adopt(boost::asio::ip::tcp::socket sock);
    void check_drained();

    boost::asio::io_context& io_;
    engine::app_server& srv_;
    engine::loop& ev_;
    connection_options opts_;
    boost::asio::ip::tcp::acceptor acceptor_;
    boost::asio::steady_timer timer_;
    std::chrono::steady_clock::time_point start_;
    std::vector<std::weak_ptr<session>> sessions_;
    std::function<void()> drained_;
    bool accepting_ = true;
};

} // namespace lifecheck::net
