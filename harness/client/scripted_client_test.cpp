// Tests the scripted (cpp-httplib) client against a real httplib server on loopback.
#include "harness/client/scripted_client.hpp"

#include "harness/common/text.hpp"

#include <gtest/gtest.h>
#include <httplib.h>

#include <chrono>
#include <string>
#include <thread>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

namespace lifecheck::client {
namespace {

using namespace std::chrono_literals;

/// An httplib server on a free loopback port, running on its own thread.
class server_fixture {
public:
    server_fixture() {
        port_ = server.bind_to_any_port("127.0.0.1");
        thread_ = std::thread{[this] {
            server.listen_after_bind();
        }};
        while (!server.is_running())
            std::this_thread::sleep_for(1ms);
    }

    ~server_fixture() {
        server.stop();
        thread_.join();
    }

    int port() const { return port_; }

    httplib::Server server;

private:
    int port_ = 0;
    std::thread thread_;
};

std::string header(check::response_observation const& o, std::string const& name) {
    for (auto const& [n, v] : o.headers)
        if (lower(n) == lower(name))
            return v;
    return "";
}

TEST(ScriptedClient, SendsIdHostAndStepHeaders) {
    server_fixture f;
    std::string seen_id, seen_host, seen_custom, seen_body;
    f.server.Post("/items", [&](httplib::Request const& req, httplib::Response& res) {
        seen_id = req.get_header_value("x-lifecheck-req");
        seen_host = req.get_header_value("host");
        seen_custom = req.get_header_value("x-custom");
        seen_body = req.body;
        res.status = 201;
        res.set_header("retry-after", "5");
        res.set_content(R"({"ok":true})", "application/json");
    });
    scenario::request_spec spec;
    spec.method = "POST";
    spec.url = "/items";
    spec.headers = {{"x-custom", "1"}, {"content-type", "application/json"}};
    spec.body = R"({"a":1})";
    scripted_client client{f.port()};
    auto const obs = client.send("r7", spec);
    EXPECT_EQ(seen_id, "r7");
    EXPECT_EQ(seen_host, "127.0.0.1");
    EXPECT_EQ(seen_custom, "1");
    EXPECT_EQ(seen_body, R"({"a":1})");
    EXPECT_TRUE(obs.got_response);
    EXPECT_EQ(obs.status, 201);
    EXPECT_EQ(obs.body, R"({"ok":true})");
    EXPECT_EQ(header(obs, "retry-after"), "5");
    EXPECT_EQ(header(obs, "content-type"), "application/json");
    EXPECT_TRUE(obs.complete);
    EXPECT_TRUE(obs.client_error.empty()) << obs.client_error;
}

TEST(ScriptedClient, ResponseCutShortKeepsStatusAndBytes) {
    server_fixture f;
    f.server.Get("/stream", [](httplib::Request const&, httplib::Response& res) {
        res.set_chunked_content_provider(
            "text/plain", [](std::size_t offset, httplib::DataSink& sink) {
                if (offset > 0)
                    return false; // a stream failing midway: httplib drops the connection
                sink.write("hello", 5);
                return true;
            });
    });
    scenario::request_spec spec;
    spec.url = "/stream";
    scripted_client client{f.port()};
    auto const obs = client.send("r1", spec);
    EXPECT_TRUE(obs.got_response);
    EXPECT_EQ(obs.status, 200);
    EXPECT_EQ(obs.body, "hello");
    EXPECT_FALSE(obs.complete);
    EXPECT_EQ(obs.connection, scenario::connection_fate::closed);
    EXPECT_FALSE(obs.client_error.empty());
}

TEST(ScriptedClient, ResponsesWithoutBodyAreObserved) {
    server_fixture f;
    f.server.Get("/none",
                 [](httplib::Request const&, httplib::Response& res) { res.status = 204; });
    f.server.Get("/json", [](httplib::Request const&, httplib::Response& res) {
        res.set_content(R"({"a":1})", "application/json");
    });
    scripted_client client{f.port()};
    scenario::request_spec none;
    none.url = "/none";
    auto const a = client.send("r1", none);
    EXPECT_TRUE(a.got_response);
    EXPECT_EQ(a.status, 204);
    EXPECT_TRUE(a.complete);
    scenario::request_spec head;
    head.method = "HEAD";
    head.url = "/json";
    auto const b = client.send("r2", head);
    EXPECT_TRUE(b.got_response);
    EXPECT_EQ(b.status, 200);
    EXPECT_EQ(header(b, "content-type"), "application/json");
    EXPECT_TRUE(b.body.empty());
}

/// What httplib puts on the wire for a plain step: read with a bare socket server.
std::string bytes_sent_for(scenario::request_spec const& spec) {
    int const fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
    ::listen(fd, 1);
    socklen_t len = sizeof addr;
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
    std::string got;
    std::thread server{[fd, &got] {
        int const c = ::accept(fd, nullptr, nullptr);
        char buf[4096];
        while (got.find("\r\n\r\n") == std::string::npos) {
            ssize_t const n = ::recv(c, buf, sizeof buf, 0);
            if (n <= 0)
                break;
            got.append(buf, static_cast<std::size_t>(n));
        }
        std::string const reply = "HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n";
        ::send(c, reply.data(), reply.size(), MSG_NOSIGNAL);
        ::close(c);
    }};
    scripted_client{ntohs(addr.sin_port)}.send("r1", spec);
    server.join();
    ::close(fd);
    return lower(got);
}

TEST(ScriptedClient, SendsNoConnectionHeaderOfItsOwn) {
    scenario::request_spec spec;
    spec.url = "/p?q=1";
    std::string const sent = bytes_sent_for(spec);
    EXPECT_EQ(sent.rfind("get /p?q=1 http/1.1\r\n", 0), 0u) << sent;
    EXPECT_NE(sent.find("\r\nhost: 127.0.0.1\r\n"), std::string::npos) << sent;
    EXPECT_NE(sent.find("\r\nx-lifecheck-req: r1\r\n"), std::string::npos) << sent;
    EXPECT_EQ(sent.find("connection:"), std::string::npos) << sent;
    EXPECT_EQ(sent.find("accept-encoding:"), std::string::npos) << sent;
}

TEST(ScriptedClient, NoServerIsAConnectError) {
    int port = 0;
    {
        server_fixture gone;
        port = gone.port();
    }
    scripted_client client{port, 500ms};
    auto const obs = client.send("r1", scenario::request_spec{});
    EXPECT_FALSE(obs.got_response);
    EXPECT_NE(obs.client_error.find("connect"), std::string::npos) << obs.client_error;
}

TEST(ScriptedClient, PlainStepsOnly) {
    scenario::step s;
    s.id = "r1";
    EXPECT_TRUE(is_plain(s));
    scenario::step aborting = s;
    aborting.client.abort_after_ms = 5;
    EXPECT_FALSE(is_plain(aborting));
    scenario::step slow = s;
    slow.client.bytes_per_write = 1;
    EXPECT_FALSE(is_plain(slow));
    scenario::step named = s;
    named.connection = "c1";
    EXPECT_FALSE(is_plain(named));
    scenario::step chunked = s;
    chunked.request.chunked = true;
    EXPECT_FALSE(is_plain(chunked));
    scenario::step fate = s;
    fate.expect = scenario::expectation{};
    fate.expect->connection = scenario::connection_fate::kept;
    EXPECT_FALSE(is_plain(fate));
    scenario::step framed = s;
    framed.request.headers = {{"Content-Length", "3"}};
    EXPECT_FALSE(is_plain(framed));
    scenario::step raw = s;
    raw.kind = scenario::step_kind::raw;
    EXPECT_FALSE(is_plain(raw));
}

} // namespace
} // namespace lifecheck::client
