// Tests the Node layer's `res` on a recording exchange: what reaches the transport, and when.
#include "server_under_test/reference/engine/node_response.hpp"

#include "server_under_test/reference/engine/lifecycle.hpp"
#include "server_under_test/reference/net/http_connection.hpp"

#include <gtest/gtest.h>

#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace lifecheck::engine {

namespace {

/// An exchange that logs each call as one line: `head 200 a: 1, b: 2`, `write x`, `end`,
/// `destroy`.
struct recording_exchange final : exchange {
    std::vector<std::string> log;

    void write_head(int status, scenario::header_list const& headers, bool te_removed) override {
        std::string line = "head " + std::to_string(status) + (te_removed ? " (te removed)" : "");
        char const* sep = " ";
        for (auto const& [k, v] : headers) {
            line += sep + k + ": " + v;
            sep = ", ";
        }
        log.push_back(line);
    }

    void write(std::string_view data) override { log.push_back("write " + std::string{data}); }

    void end() override { log.emplace_back("end"); }

    void destroy() override { log.emplace_back("destroy"); }
};

using strings = std::vector<std::string>;

/// A response on a recording exchange, with the `end` events it emits.
struct fixture {
    recording_exchange out;
    loop ev;
    std::vector<event> ends;
    event_sink sink = [this](event const& e) {
        ends.push_back(e);
    };
    std::string id = "r1";
    node_response res{out, ev, sink, id};
};

/// `http.createServer((req, res) => handler(res))`: the Node layer alone behind the real
/// transport, so a test sees the bytes Node's framing puts on the wire.
struct bare_node_server final : app_server {
    using handler_fn = std::function<void(node_response&)>;

    struct bare_request final : request, std::enable_shared_from_this<bare_request> {
        bare_request(exchange& out, loop& ev, event_sink const& sink)
            : res{out, ev, sink, req_id} {}

        std::string req_id = "r1";
        node_response res;

        void body(std::string_view) override {}

        void body_end() override {}

        void finished() override { res.on_finish(shared_from_this()); }

        void closed(bool by_client) override {
            if (res.on_close(by_client))
                res.emit_end();
        }

        void timed_out() override { res.on_timeout(); }

        std::string const& id() const override { return req_id; }

        bool done() const override { return res.end_emitted(); }
    };

    loop ev;
    std::vector<event> events;
    event_sink sink = [this](event const& e) {
        events.push_back(e);
    };
    handler_fn handler;

    void ready(ready_callback done) override { done(std::nullopt); }

    void close(std::function<void(std::function<void()>)> drained,
               std::function<void()> done) override {
        drained(std::move(done));
    }

    std::shared_ptr<request> begin(request_head, exchange& out) override {
        auto r = std::make_shared<bare_request>(out, ev, sink);
        handler(r->res);
        return r;
    }

    bool closing() const override { return false; }

    loop& events_loop() override { return ev; }
};

/// The bytes a bare Node server writes for one GET answered by `handler`.
struct wire_capture final : net::wire {
    std::string out;

    void send(std::string bytes) override { out += bytes; }

    void close(bool) override {}
};

std::string wire_of(bare_node_server::handler_fn handler,
                    std::vector<event>* events = nullptr,
                    net::connection_options opts = {},
                    bool* closed = nullptr) {
    bare_node_server srv;
    srv.handler = std::move(handler);
    wire_capture w;
    auto conn = std::make_shared<net::http_connection>(srv, w, opts);
    conn->feed("GET / HTTP/1.1\r\nhost: x\r\n\r\n");
    conn->flushed();
    srv.ev.run_until_idle(1000);
    if (events != nullptr)
        *events = srv.events;
    if (closed != nullptr)
        *closed = conn->closed();
    return w.out;
}

bool has(std::string const& s, std::string const& piece) {
    return s.find(piece) != std::string::npos;
}

} // namespace

// On the wire: writeHead with content-length frames the body as identity; without one, Node
// frames it chunked (lib/_http_outgoing.js _storeHeader); `end` follows 'finish' on a tick.
TEST(NodeResponse, WriteHeadWithOrWithoutContentLengthFramesTheWire) {
    std::vector<event> events;
    std::string const identity = wire_of(
        [](node_response& res) {
            res.write_head({{"content-length", "5"}});
            res.end("hello");
        },
        &events);
    EXPECT_TRUE(has(identity, "HTTP/1.1 200 OK\r\n")) << identity;
    EXPECT_TRUE(has(identity, "content-length: 5\r\n")) << identity;
    EXPECT_FALSE(has(identity, "Transfer-Encoding")) << identity;
    EXPECT_EQ(identity.substr(identity.size() - 9), "\r\n\r\nhello");
    ASSERT_EQ(events.size(), 1u);
    EXPECT_EQ(events[0].what, event::kind::end);
    EXPECT_FALSE(events[0].aborted);

    std::string const chunked = wire_of([](node_response& res) {
        res.write_head({});
        res.write("a");
        res.end("b");
    });
    EXPECT_TRUE(has(chunked, "Transfer-Encoding: chunked\r\n")) << chunked;
    EXPECT_TRUE(has(chunked, "\r\n\r\n1\r\na\r\n1\r\nb\r\n0\r\n\r\n")) << chunked;

    // end(data) before any head: the implicit Content-Length gives identity framing.
    std::string const implicit = wire_of([](node_response& res) { res.end("abc"); });
    EXPECT_TRUE(has(implicit, "Content-Length: 3\r\n")) << implicit;
    EXPECT_FALSE(has(implicit, "Transfer-Encoding")) << implicit;
}

// Node's _storeHeader when the app removed both Content-Length and Transfer-Encoding (Koa's
// `ctx.body = null`, then a status that may carry a body): no framing header, the head still says
// keep-alive, and the server closes the connection after the response (_last). Removing only one
// of them keeps the connection (checked on Node 20 under Koa 2.16.4).
TEST(NodeResponse, RemovedContentLengthAndTransferEncodingCloseTheConnection) {
    bool closed = false;
    std::string const unframed = wire_of(
        [](node_response& res) {
            res.remove_header("content-length");
            res.remove_header("Transfer-Encoding");
            res.status_code(404);
            res.end();
        },
        nullptr,
        {},
        &closed);
    EXPECT_TRUE(has(unframed, "HTTP/1.1 404 Not Found\r\n")) << unframed;
    EXPECT_TRUE(has(unframed, "Connection: keep-alive\r\n")) << unframed;
    EXPECT_FALSE(has(unframed, "Transfer-Encoding")) << unframed;
    EXPECT_FALSE(has(unframed, "Content-Length")) << unframed;
    EXPECT_TRUE(closed);

    std::string const chunked = wire_of(
        [](node_response& res) {
            res.remove_header("content-length");
            res.end();
        },
        nullptr,
        {},
        &closed);
    EXPECT_TRUE(has(chunked, "Transfer-Encoding: chunked\r\n")) << chunked;
    EXPECT_FALSE(closed);

    // end(data) after only Transfer-Encoding was removed: the implicit Content-Length frames it.
    std::string const length = wire_of(
        [](node_response& res) {
            res.remove_header("transfer-encoding");
            res.end("ab");
        },
        nullptr,
        {},
        &closed);
    EXPECT_TRUE(has(length, "Content-Length: 2\r\n")) << length;
    EXPECT_FALSE(closed);
}

// `Keep-Alive: timeout=` is server.keepAliveTimeout: Fastify's 72 s, Node's default 5 s for Koa.
TEST(NodeResponse, KeepAliveTimeoutIsTheDialectsServerSetting) {
    auto answer = [](node_response& res) {
        res.end("x");
    };
    std::string const fastify = wire_of(answer);
    EXPECT_TRUE(has(fastify, "Keep-Alive: timeout=72\r\n")) << fastify;
    net::connection_options koa;
    koa.keep_alive_timeout_s = net::keep_alive_timeout_s(scenario::dialect::koa);
    std::string const under_koa = wire_of(answer, nullptr, koa);
    EXPECT_TRUE(has(under_koa, "Keep-Alive: timeout=5\r\n")) << under_koa;
}

// Node lib/_http_outgoing.js end → write_(fromEnd) → _contentLength: end(data) before the head
// frames the body with Content-Length (the transport then writes identity framing).
TEST(NodeResponse, EndWithDataBeforeTheHeadAddsContentLength) {
    fixture f;
    f.res.set_header("Content-Type", "text/plain");
    f.res.end("hello");
    EXPECT_EQ(
        f.out.log,
        (strings{"head 200 Content-Type: text/plain, Content-Length: 5", "write hello", "end"}));
    EXPECT_TRUE(f.res.headers_sent());
    EXPECT_TRUE(f.res.writable_ended());
}

// Without a Content-Length in the head, the transport frames the body chunked: write() sends
// the implicit head as set, and a removed content-length is not added back by end(data).
TEST(NodeResponse, WriteSendsTheImplicitHeadWithoutContentLength) {
    fixture f;
    f.res.status_code(201);
    f.res.write("a");
    f.res.end("b");
    EXPECT_EQ(f.out.log, (strings{"head 201", "write a", "write b", "end"}));

    fixture g;
    g.res.set_header("content-length", "3");
    g.res.remove_header("Content-Length");
    g.res.end("abc");
    EXPECT_EQ(g.out.log, (strings{"head 200", "write abc", "end"}));
}

// Node's writeHead(status, headers): the head goes out once, with the headers as given.
TEST(NodeResponse, WriteHeadSendsTheGivenHeadersOnce) {
    fixture f;
    f.res.status_code(404);
    f.res.write_head({{"content-length", "2"}});
    f.res.write_head({{"x", "y"}});
    f.res.end("no");
    EXPECT_EQ(f.out.log, (strings{"head 404 content-length: 2", "write no", "end"}));
}

// setHeader keeps a name's first position and takes its last spelling; getHeader ignores case.
TEST(NodeResponse, SetHeaderKeepsPositionAndTakesTheLastSpelling) {
    fixture f;
    f.res.set_header("content-type", "a");
    f.res.set_header("X-One", "1");
    f.res.set_header("Content-Type", "b");
    EXPECT_EQ(f.res.headers(), (scenario::header_list{{"Content-Type", "b"}, {"X-One", "1"}}));
    ASSERT_NE(f.res.get_header("x-one"), nullptr);
    EXPECT_EQ(*f.res.get_header("x-one"), "1");
    EXPECT_EQ(f.res.get_header("x-two"), nullptr);
}

// end() after the socket closed writes nothing, yet headersSent turns true (Node stores _header
// with or without a socket); `end` was already emitted at the close, aborted by the client.
TEST(NodeResponse, EndAfterACloseWritesNothing) {
    fixture f;
    EXPECT_TRUE(f.res.on_close(true));
    f.res.emit_end();
    f.res.end("late");
    f.res.write("later");
    EXPECT_TRUE(f.out.log.empty());
    EXPECT_TRUE(f.res.headers_sent());
    ASSERT_EQ(f.ends.size(), 1u);
    EXPECT_TRUE(f.ends[0].aborted);
    EXPECT_EQ(f.ends[0].req, "r1");
}

// res.destroy() cuts the socket once; the close it causes is the server's, so `end` is not
// aborted; a later end() writes nothing.
TEST(NodeResponse, DestroyThenEndIsAServerCut) {
    fixture f;
    f.res.write("part");
    f.res.destroy();
    EXPECT_TRUE(f.res.on_close(true)); // the transport reports the close it was asked for
    f.res.emit_end();
    f.res.end("rest");
    f.res.destroy();
    EXPECT_EQ(f.out.log, (strings{"head 200", "write part", "destroy"}));
    ASSERT_EQ(f.ends.size(), 1u);
    EXPECT_FALSE(f.ends[0].aborted);
}

// Node lib/_http_server.js resOnFinish: res 'close' (our `end`) comes on the nextTick after
// 'finish'; a close of the idle socket afterwards changes nothing, destroy() is a no-op.
TEST(NodeResponse, CloseFollowsFinishOnTheNextTick) {
    fixture f;
    f.res.status_code(204);
    f.res.end();
    EXPECT_TRUE(f.res.on_finish(nullptr));
    EXPECT_FALSE(f.res.on_finish(nullptr));
    EXPECT_TRUE(f.ends.empty()) << "'close' must wait for the next tick";
    f.ev.drain();
    ASSERT_EQ(f.ends.size(), 1u);
    EXPECT_EQ(f.ends[0].status, 204);
    EXPECT_FALSE(f.ends[0].aborted);
    EXPECT_FALSE(f.res.on_close(true));
    f.res.destroy();
    EXPECT_FALSE(f.res.on_timeout());
    EXPECT_EQ(f.out.log, (strings{"head 204", "end"}));
    EXPECT_TRUE(f.res.end_emitted());
}

// An idle socket's timeout destroys an unfinished response (no 'timeout' listener in Node).
TEST(NodeResponse, TimeoutDestroysAnUnfinishedResponse) {
    fixture f;
    EXPECT_TRUE(f.res.on_timeout());
    EXPECT_EQ(f.out.log, (strings{"destroy"}));
}

} // namespace lifecheck::engine
