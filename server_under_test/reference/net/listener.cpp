// Asio sockets for the reference server: read into the connection, write what it sends, pump the
// loop.
#include "server_under_test/reference/net/listener.hpp"

#include <boost/asio/post.hpp>
#include <boost/asio/write.hpp>

#include <deque>

namespace lifecheck::net {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;

/// One accepted socket: the wire of an http_connection.
struct listener::session final : wire, std::enable_shared_from_this<session> {
    session(listener& l, tcp::socket s)
        : owner{l}
        , sock{std::move(s)} {}

    listener& owner;
    tcp::socket sock;
    std::shared_ptr<http_connection> conn;
    std::array<char, 16 * 1024> buf{};
    std::deque<std::string> outq; // bytes waiting for the socket
    bool writing = false;
    bool close_after_write = false;
    bool closed = false;

    void start() {
        boost::system::error_code ignored;
        sock.non_blocking(true,
                          ignored); // for the synchronous first tries in send() and read_ready()
        conn = std::make_shared<http_connection>(owner.srv_, *this, owner.opts_);
        read_ready();
    }

    /// Feeds what the socket already holds without waiting (a request written before the close
    /// command that overtook its accept), then reads on asynchronously.
    void read_ready() {
        boost::system::error_code ec;
        while (!closed) {
            std::size_t const n = sock.read_some(asio::buffer(buf), ec);
            if (ec == asio::error::would_block || ec == asio::error::try_again)
                break;
            if (ec) {
                closed = true;
                conn->peer_closed();
                owner.pump();
                return;
            }
            conn->feed(std::string_view{buf.data(), n});
            owner.pump(); // each read is its own I/O callback, as for read()
        }
        if (!closed)
            read();
    }

    void read() {
        auto self = shared_from_this();
        sock.async_read_some(
            asio::buffer(buf), [self](boost::system::error_code ec, std::size_t n) {
                if (self->closed)
                    return;
                self->owner
                    .sync_clock(); // timers the bytes start count from now, not the last pump
                if (ec) {
                    // EOF or reset from the client: Node aborts the requests in flight.
                    self->closed = true;
                    self->conn->peer_closed();
                    self->owner.pump();
                    self->owner.check_drained();
                    return;
                }
                self->conn->feed(std::string_view{self->buf.data(), n});
                self->owner.pump();
                self->read();
            });
    }

    void send(std::string bytes) override {
        if (closed || bytes.empty())
            return;
        if (!writing && outq.empty()) {
            // libuv's uv_try_write: Node hands bytes to the kernel at once when it can, so a
            // res.destroy() right after res.end() still delivers what end() wrote. Only what
            // the kernel did not take waits for an asynchronous write.
            boost::system::error_code ec;
            std::size_t const n = sock.write_some(asio::buffer(bytes), ec);
            if (ec && ec != asio::error::would_block && ec != asio::error::try_again)
                return; // the peer is gone; the read side reports it
            if (!ec && n == bytes.size()) {
                asio::post(sock.get_executor(), [self = shared_from_this()] { self->written(); });
                return;
            }
            if (!ec)
                bytes.erase(0, n);
        }
        outq.push_back(std::move(bytes));
        flush();
    }

    /// Everything queued reached the kernel.
    void written() {
        if (closed || writing || !outq.empty())
            return;
        owner.sync_clock();
        if (close_after_write) {
            shutdown_now();
            return;
        }
        if (conn)
            conn->flushed();
        owner.pump();
    }

    void flush() {
        if (writing || outq.empty())
            return;
        writing = true;
        auto self = shared_from_this();
        asio::async_write(
            sock, asio::buffer(outq.front()), [self](boost::system::error_code ec, std::size_t) {
                self->writing = false;
                if (!self->outq.empty())
                    self->outq.pop_front();
                if (ec) {
                    self->outq.clear();
                    return;
                }
                if (!self->outq.empty()) {
                    self->flush();
                    return;
                }
                self->written();
            });
    }

    void close(bool graceful) override {
        if (closed)
            return;
        if (graceful && (writing || !outq.empty())) {
            close_after_write = true;
            return;
        }
        shutdown_now();
    }

    void shutdown_now() {
        if (closed)
            return;
        closed = true;
        boost::system::error_code ignored;
        sock.shutdown(tcp::socket::shutdown_both, ignored);
        sock.close(ignored);
        owner.check_drained();
    }
};

listener::listener(asio::io_context& io,
                   engine::app_server& srv,
                   engine::loop& ev,
                   connection_options opts,
                   unsigned short port)
    : io_{io}
    , srv_{srv}
    , ev_{ev}
    , opts_{opts}
    , acceptor_{io, tcp::endpoint{asio::ip::make_address("127.0.0.1"), port}}
    , timer_{io}
    , start_{std::chrono::steady_clock::now()} {
    accept();
}

listener::~listener() {
    boost::system::error_code ignored;
    acceptor_.close(ignored);
    timer_.cancel();
    for (auto& w : sessions_)
        if (auto s = w.lock()) {
            s->closed = true;
            s->sock.close(ignored);
            s->conn.reset();
        }
}

unsigned short listener::port() const {
    return acceptor_.local_endpoint().port();
}

void listener::accept() {
    acceptor_.async_accept([this](boost::system::error_code ec, tcp::socket sock) {
        if (ec || !accepting_)
            return;
        adopt(std::move(sock));
        accept();
    });
}

void listener::adopt(tcp::socket sock) {
    boost::system::error_code ignored;
    sock.set_option(tcp::no_delay{true}, ignored);
    sync_clock();
    auto s = std::make_shared<session>(*this, std::move(sock));
    // Forget closed sessions now and then (at powers of two), so a server that has seen
    // millions of connections does not keep a slot for each.
    std::size_t const n = sessions_.size();
    if (n >= 64 && (n & (n - 1)) == 0)
        std::erase_if(sessions_, [](std::weak_ptr<session> const& w) { return w.expired(); });
    sessions_.push_back(s);
    s->start();
    pump();
}

void listener::take_pending() {
    // Node's libuv accepts as soon as the listening socket is readable, so a connection the
    // client opened (and wrote on) before the harness sent `close` is normally served; the
    // reference's io_context may run the close command first (lifecheck prop: a request written
    // just before a close step never reached the engine, 1 run in 5).
    if (!accepting_)
        return;
    boost::system::error_code ec;
    acceptor_.non_blocking(true, ec);
    if (ec)
        return;
    for (int i = 0; i < 1024; ++i) {
        tcp::socket sock{io_};
        acceptor_.accept(sock, ec);
        if (ec)
            break;
        adopt(std::move(sock));
    }
    pump();
}

double listener::now_ms() const {
    return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start_)
        .count();
}

void listener::sync_clock() {
    ev_.advance_to(now_ms());
}

void listener::pump() {
    double const now = now_ms();
    ev_.advance_to(now);
    if (auto due = ev_.next_due()) {
        double const wait = std::max(0.0, *due - now);
        timer_.expires_after(std::chrono::microseconds(static_cast<long long>(wait * 1000)));
        timer_.async_wait([this](boost::system::error_code ec) {
            if (!ec)
                pump();
        });
    }
    check_drained();
}

bool listener::quiescent() const {
    std::size_t socket_timers = 0;
    for (auto const& w : sessions_)
        if (auto const s = w.lock()) {
            if (!s->closed && (s->writing || !s->outq.empty()))
                return false;
            if (s->conn)
                socket_timers += s->conn->socket_timers();
        }
    return ev_.idle_except(socket_timers);
}

void listener::shutdown(std::function<void()> drained) {
    sync_clock();
    accepting_ = false;
    boost::system::error_code ignored;
    acceptor_.close(ignored);
    drained_ = std::move(drained);
    for (auto& w : sessions_)
        if (auto s = w.lock())
            if (s->conn)
                s->conn->close_if_idle();
    check_drained();
}

void listener::check_drained() {
    if (!drained_)
        return;
    for (auto& w : sessions_)
        if (auto s = w.lock())
            if (!s->closed && s->conn && !s->conn->idle())
                return;
    auto done = std::move(drained_);
    drained_ = nullptr;
    asio::post(io_, [this, done] {
        done();
        pump();
    });
}

} // namespace lifecheck::net
