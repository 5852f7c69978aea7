// Tests raw_client against a real loopback server: exact byte offsets of aborts, the slow
// writer, truncated and chunked responses, connection fates, keep-alive reuse and pipelining.
#include "harness/client/raw_client.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

namespace lifecheck::client {
namespace {

using namespace std::chrono_literals;
using clock = std::chrono::steady_clock;

/// A loopback server that records what each connection sent and how it ended. `on_bytes` is
/// called with everything received so far on a connection; it may write a reply (`send`),
/// close (`close`) or reset (`reset`) the connection.
class test_server {
public:
    struct conn {
        int fd = -1;
        std::string received;
        std::vector<std::size_t> segments; // sizes of the reads
        bool ended_by_peer = false;        // EOF or reset seen
        bool reset_by_peer = false;
        bool closed_here = false;
        std::size_t replies = 0; // how many replies `on_bytes` sent
    };

    using handler = std::function<void(conn&, test_server&)>;

    explicit test_server(handler on_bytes)
        : on_bytes_{std::move(on_bytes)} {
        fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        sockaddr_in addr{};
        addr.sin_family = AF_INET;
        addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        EXPECT_EQ(::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
        EXPECT_EQ(::listen(fd_, 16), 0);
        socklen_t len = sizeof addr;
        ::getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len);
        port_ = ntohs(addr.sin_port);
        thread_ = std::thread{[this] {
            loop();
        }};
    }

    ~test_server() {
        stop_ = true;
        thread_.join();
        ::close(fd_);
    }

    int port() const { return port_; }

    void send(conn& c, std::string const& bytes) {
        ::send(c.fd, bytes.data(), bytes.size(), MSG_NOSIGNAL);
        ++c.replies;
    }

    void close(conn& c) {
        ::shutdown(c.fd, SHUT_WR);
        c.closed_here = true;
    }

    void reset(conn& c) {
        linger l{1, 0};
        ::setsockopt(c.fd, SOL_SOCKET, SO_LINGER, &l, sizeof l);
        ::close(c.fd);
        c.fd = -1;
        c.closed_here = true;
    }

    /// Waits until every accepted connection has ended (or 5 s); returns them.
    std::vector<conn> connections(std::size_t at_least = 1) {
        auto const deadline = clock::now() + 5s;
        for (;;) {
            {
                std::lock_guard lock{mu_};
                bool all_done = conns_.size() >= at_least;
                for (conn const& c : conns_)
                    all_done = all_done && (c.ended_by_peer || c.fd < 0);
                if (all_done || clock::now() > deadline)
                    return conns_;
            }
            std::this_thread::sleep_for(5ms);
        }
    }

private:
    void loop() {
        while (!stop_) {
            std::vector<pollfd> fds{{fd_, POLLIN, 0}};
            {
                std::lock_guard lock{mu_};
                for (conn const& c : conns_)
                    fds.push_back({c.ended_by_peer ? -1 : c.fd, POLLIN, 0});
            }
            if (::poll(fds.data(), fds.size(), 10) <= 0)
                continue;
            std::lock_guard lock{mu_};
            if (fds[0].revents & POLLIN) {
                conn c;
                c.fd = ::accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC);
                conns_.push_back(c);
                on_bytes_(conns_.back(), *this);
            }
            for (std::size_t i = 1; i < fds.size(); ++i) {
                conn& c = conns_[i - 1];
                if (!(fds[i].revents & (POLLIN | POLLHUP | POLLERR)) || c.fd < 0)
                    continue;
                char buf[65536];
                ssize_t const n = ::recv(c.fd, buf, sizeof buf, 0);
                if (n <= 0) {
                    c.ended_by_peer = true;
                    c.reset_by_peer = n < 0 && errno == ECONNRESET;
                    continue;
                }
                c.received.append(buf, static_cast<std::size_t>(n));
                c.segments.push_back(static_cast<std::size_t>(n));
                on_bytes_(c, *this);
            }
        }
        std::lock_guard lock{mu_};
        for (conn& c : conns_)
            if (c.fd >= 0)
                ::close(c.fd);
    }

    handler on_bytes_;
    int fd_ = -1;
    int port_ = 0;
    std::thread thread_;
    std::atomic<bool> stop_{false};
    std::mutex mu_;
    std::vector<conn> conns_;
};

std::size_t heads_in(std::string const& s) {
    std::size_t n = 0;
    for (auto at = s.find("\r\n\r\n"); at != std::string::npos; at = s.find("\r\n\r\n", at + 4))
        ++n;
    return n;
}

/// Replies `response` to each complete request head.
test_server::handler reply_each(std::string response) {
    return [response](test_server::conn& c, test_server& s) {
        while (c.replies < heads_in(c.received))
            s.send(c, response);
    };
}

test_server::handler never_reply() {
    return [](test_server::conn&, test_server&) {
    };
}

std::string const ok_response =
    "HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ncontent-length: 2\r\n\r\nok";

raw_request get_request(std::string const& id) {
    scenario::step s;
    s.id = id;
    s.request.method = "GET";
    s.request.url = "/x";
    return make_raw_request(s);
}

raw_request post_request(std::string const& id, std::string const& body) {
    scenario::step s;
    s.id = id;
    s.request.method = "POST";
    s.request.url = "/upload";
    s.request.headers = {{"content-type", "text/plain"}};
    s.request.body = body;
    return make_raw_request(s);
}

TEST(RawClient, MakesTheSpecWireBytes) {
    raw_request const r = post_request("r1", "hello");
    EXPECT_EQ(r.bytes,
              "POST /upload HTTP/1.1\r\nhost: 127.0.0.1\r\nx-lifecheck-req: r1\r\n"
              "content-type: text/plain\r\ncontent-length: 5\r\n\r\nhello");
    EXPECT_EQ(r.bytes.substr(r.body_offset), "hello");
    scenario::step raw;
    raw.kind = scenario::step_kind::raw;
    raw.raw = "HEAD / HTTP/1.1\r\n\r\n";
    raw_request const h = make_raw_request(raw);
    EXPECT_TRUE(h.head);
    EXPECT_EQ(h.body_offset, h.bytes.size());
}

TEST(RawClient, GetsResponseAndKeepsConnection) {
    test_server server{reply_each(ok_response)};
    raw_client client{server.port()};
    auto const obs = client.send(get_request("r1"));
    EXPECT_TRUE(obs.got_response);
    EXPECT_EQ(obs.status, 200);
    EXPECT_EQ(obs.body, "ok");
    EXPECT_TRUE(obs.complete);
    EXPECT_EQ(obs.connection, scenario::connection_fate::kept);
    EXPECT_FALSE(obs.client_aborted);
    EXPECT_TRUE(obs.client_error.empty()) << obs.client_error;
    auto const conns = server.connections();
    ASSERT_EQ(conns.size(), 1u);
    EXPECT_EQ(conns[0].received, get_request("r1").bytes);
}

TEST(RawClient, ServerSeesExactlyNBytesForEveryRequestByteAbort) {
    raw_request base = post_request("r1", "0123456789");
    test_server server{never_reply()};
    raw_client client{server.port()};
    for (std::size_t n = 0; n <= base.bytes.size(); ++n) {
        SCOPED_TRACE(::testing::Message() << "abortAfterRequestBytes " << n);
        raw_request r = base;
        r.options.abort_after_request_bytes = static_cast<long long>(n);
        auto const obs = client.send(r);
        EXPECT_TRUE(obs.client_aborted);
        EXPECT_FALSE(obs.got_response);
        EXPECT_EQ(obs.connection, scenario::connection_fate::closed);
        auto const conns = server.connections(n + 1);
        ASSERT_EQ(conns.size(), n + 1);
        EXPECT_EQ(conns[n].received, base.bytes.substr(0, n));
        EXPECT_TRUE(conns[n].ended_by_peer);
    }
}

TEST(RawClient, AbortAfterBodyBytesCountsFromTheFirstBodyByte) {
    test_server server{never_reply()};
    raw_client client{server.port()};
    raw_request r = post_request("r1", "0123456789");
    r.options.abort_after_body_bytes = 4;
    auto const obs = client.send(r);
    EXPECT_TRUE(obs.client_aborted);
    auto const conns = server.connections();
    ASSERT_EQ(conns.size(), 1u);
    EXPECT_EQ(conns[0].received, r.bytes.substr(0, r.body_offset + 4));
    EXPECT_EQ(conns[0].received.substr(r.body_offset), "0123");
}

TEST(RawClient, SlowWriterSendsSmallWritesWithPauses) {
    test_server server{reply_each(ok_response)};
    raw_client client{server.port()};
    raw_request r = post_request("r1", "0123456789");
    r.options.bytes_per_write = 16;
    r.options.write_delay_ms = 15;
    auto const started = clock::now();
    auto const obs = client.send(r);
    auto const took = clock::now() - started;
    EXPECT_EQ(obs.status, 200);
    auto const conns = server.connections();
    ASSERT_EQ(conns.size(), 1u);
    EXPECT_EQ(conns[0].received, r.bytes);
    std::size_t const writes = (r.bytes.size() + 15) / 16;
    EXPECT_GE(took, std::chrono::milliseconds{15 * (writes - 1)});
    EXPECT_GE(conns[0].segments.size(), writes - 1) << "the pauses keep writes apart";
    for (std::size_t seg : conns[0].segments)
        EXPECT_LE(seg, 16u);
}

TEST(RawClient, TruncatedChunkedResponseIsIncomplete) {
    test_server server{[](test_server::conn& c, test_server& s) {
        if (heads_in(c.received) == 1 && c.replies == 0) {
            s.send(c, "HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n5\r\nhello\r\n");
            s.close(c); // a stream failing midway: no 0-chunk
        }
    }};
    raw_client client{server.port()};
    auto const obs = client.send(get_request("r1"));
    EXPECT_TRUE(obs.got_response);
    EXPECT_EQ(obs.status, 200);
    EXPECT_EQ(obs.body, "hello");
    EXPECT_FALSE(obs.complete);
    EXPECT_EQ(obs.connection, scenario::connection_fate::closed);
    EXPECT_FALSE(obs.client_aborted);
}

TEST(RawClient, CompleteChunkedResponse) {
    test_server server{reply_each(
        "HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n")};
    raw_client client{server.port()};
    auto const obs = client.send(get_request("r1"));
    EXPECT_EQ(obs.body, "abcde");
    EXPECT_TRUE(obs.complete);
    EXPECT_EQ(obs.connection, scenario::connection_fate::kept);
}

TEST(RawClient, ConnectionCloseResponseIsClosed) {
    test_server server{[](test_server::conn& c, test_server& s) {
        if (heads_in(c.received) == 1 && c.replies == 0) {
            s.send(c,
                   "HTTP/1.1 503 Service Unavailable\r\nconnection: close\r\ncontent-length: "
                   "0\r\n\r\n");
            s.close(c);
        }
    }};
    raw_client client{server.port()};
    auto const obs = client.send(get_request("r1"));
    EXPECT_EQ(obs.status, 503);
    EXPECT_TRUE(obs.complete);
    EXPECT_EQ(obs.connection, scenario::connection_fate::closed);
}

TEST(RawClient, ResetAfterResponseIsReset) {
    test_server server{[](test_server::conn& c, test_server& s) {
        if (heads_in(c.received) == 1 && c.replies == 0) {
            s.send(c, ok_response);
            std::this_thread::sleep_for(100ms); // let the client read the response first
            s.reset(c);
        }
    }};
    client_timing timing;
    timing.keep_grace = 1000ms;
    raw_client client{server.port(), timing};
    auto const obs = client.send(get_request("r1"));
    EXPECT_EQ(obs.status, 200);
    EXPECT_TRUE(obs.complete);
    EXPECT_EQ(obs.connection, scenario::connection_fate::reset);
}

TEST(RawClient, AbortAfterResponseBytesReadsThatMuchThenCloses) {
    std::string const big =
        "HTTP/1.1 200 OK\r\ncontent-length: 26\r\n\r\nabcdefghijklmnopqrstuvwxyz";
    for (long long n : {1LL, 10LL, 40LL}) {
        SCOPED_TRACE(::testing::Message() << "abortAfterResponseBytes " << n);
        test_server server{reply_each(big)};
        raw_client client{server.port()};
        raw_request r = get_request("r1");
        r.options.abort_after_response_bytes = n;
        auto const obs = client.send(r);
        EXPECT_TRUE(obs.client_aborted);
        EXPECT_FALSE(obs.complete);
        EXPECT_EQ(obs.connection, scenario::connection_fate::closed);
        auto const head = big.find("\r\n\r\n") + 4;
        EXPECT_EQ(obs.got_response, static_cast<std::size_t>(n) >= head);
        if (static_cast<std::size_t>(n) > head) {
            EXPECT_EQ(obs.body, big.substr(head, static_cast<std::size_t>(n) - head));
        }
        auto const conns = server.connections();
        ASSERT_EQ(conns.size(), 1u);
        EXPECT_TRUE(conns[0].ended_by_peer) << "the client closed its side";
    }
}

TEST(RawClient, AbortAfterResponseBodyBytesCountsBodyBytes) {
    test_server server{
        reply_each("HTTP/1.1 200 OK\r\ncontent-length: 26\r\n\r\nabcdefghijklmnopqrstuvwxyz")};
    raw_client client{server.port()};
    raw_request r = get_request("r1");
    r.options.abort_after_response_body_bytes = 7;
    auto const obs = client.send(r);
    EXPECT_TRUE(obs.got_response);
    EXPECT_EQ(obs.body, "abcdefg");
    EXPECT_TRUE(obs.client_aborted);
    EXPECT_FALSE(obs.complete);
}

TEST(RawClient, AbortAfterMsClosesOnTime) {
    test_server server{never_reply()};
    raw_client client{server.port()};
    raw_request r = get_request("r1");
    r.options.abort_after_ms = 100;
    auto const started = clock::now();
    auto const obs = client.send(r);
    auto const took = clock::now() - started;
    EXPECT_GE(took, 100ms);
    EXPECT_LT(took, 2s);
    EXPECT_TRUE(obs.client_aborted);
    EXPECT_FALSE(obs.got_response);
    auto const conns = server.connections();
    ASSERT_EQ(conns.size(), 1u);
    EXPECT_EQ(conns[0].received, r.bytes);
    EXPECT_TRUE(conns[0].ended_by_peer);
}

TEST(RawClient, NoResponseWithinTimeoutIsReported) {
    test_server server{never_reply()};
    client_timing timing;
    timing.response_timeout = 200ms;
    raw_client client{server.port(), timing};
    auto const obs = client.send(get_request("r1"));
    EXPECT_FALSE(obs.got_response);
    EXPECT_NE(obs.client_error.find("timeout"), std::string::npos) << obs.client_error;
    EXPECT_EQ(obs.connection, scenario::connection_fate::kept);
}

TEST(RawClient, ExpectNoResponseSeesTheClose) {
    test_server server{[](test_server::conn& c, test_server& s) {
        if (heads_in(c.received) == 1 && !c.closed_here)
            s.close(c);
    }};
    raw_client client{server.port()};
    raw_request r = get_request("r1");
    r.options.expect_no_response = true;
    auto const obs = client.send(r);
    EXPECT_FALSE(obs.got_response);
    EXPECT_EQ(obs.connection, scenario::connection_fate::closed);
}

TEST(RawClient, NamedConnectionIsReused) {
    test_server server{reply_each(ok_response)};
    raw_client client{server.port()};
    auto const a = client.send(get_request("a"), std::string{"c1"});
    auto const b = client.send(get_request("b"), std::string{"c1"});
    EXPECT_EQ(a.connection, scenario::connection_fate::kept);
    EXPECT_EQ(b.status, 200);
    client.close_all();
    auto const conns = server.connections();
    ASSERT_EQ(conns.size(), 1u);
    EXPECT_EQ(conns[0].received, get_request("a").bytes + get_request("b").bytes);
}

TEST(RawClient, PipelineWritesBackToBack) {
    // The server answers only once both heads are in: a client that waited for the first
    // response before writing the second would time out here.
    test_server server{[](test_server::conn& c, test_server& s) {
        if (heads_in(c.received) == 2 && c.replies == 0) {
            s.send(c, ok_response);
            s.send(c, "HTTP/1.1 404 Not Found\r\ncontent-length: 1\r\n\r\nn");
        }
    }};
    client_timing timing;
    timing.response_timeout = 1000ms;
    raw_client client{server.port(), timing};
    auto const obs = client.pipeline({get_request("a"), get_request("b")}, std::string{"p"});
    ASSERT_EQ(obs.size(), 2u);
    EXPECT_EQ(obs[0].status, 200);
    EXPECT_EQ(obs[0].body, "ok");
    EXPECT_EQ(obs[0].connection, scenario::connection_fate::kept);
    EXPECT_EQ(obs[1].status, 404);
    EXPECT_EQ(obs[1].body, "n");
}

TEST(RawClient, RefusedConnectionIsAnError) {
    int port = 0;
    {
        test_server gone{never_reply()};
        port = gone.port();
    }
    raw_client client{port};
    auto const obs = client.send(get_request("r1"));
    EXPECT_FALSE(obs.got_response);
    EXPECT_NE(obs.client_error.find("connect"), std::string::npos) << obs.client_error;
}

} // namespace
} // namespace lifecheck::client
