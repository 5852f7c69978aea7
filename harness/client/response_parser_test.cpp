// Tests the response parser at every byte split, with truncated, pipelined and odd responses.
#include "harness/client/response_parser.hpp"

#include <gtest/gtest.h>

#include <string>

namespace lifecheck::client {
namespace {

/// Feeds `bytes` split at `cut`; returns how many bytes the parser used.
std::size_t feed_split(response_parser& p, std::string const& bytes, std::size_t cut) {
    std::size_t used = p.feed(std::string_view{bytes}.substr(0, cut));
    if (used == cut)
        used += p.feed(std::string_view{bytes}.substr(cut));
    return used;
}

TEST(ResponseParser, ContentLengthAtEverySplit) {
    std::string const r =
        "HTTP/1.1 201 Created\r\nContent-Type: text/plain\r\nContent-Length: 5\r\n"
        "X-A:  spaced \r\n\r\nhello";
    for (std::size_t cut = 0; cut <= r.size(); ++cut) {
        SCOPED_TRACE(::testing::Message() << "split at byte " << cut);
        response_parser p;
        EXPECT_EQ(feed_split(p, r, cut), r.size());
        ASSERT_TRUE(p.done());
        EXPECT_EQ(p.status(), 201);
        EXPECT_EQ(p.body(), "hello");
        ASSERT_EQ(p.headers().size(), 3u);
        EXPECT_EQ(p.headers()[0].first, "Content-Type");
        EXPECT_EQ(p.headers()[2].second, "spaced");
        EXPECT_TRUE(p.keep_alive());
    }
}

TEST(ResponseParser, ChunkedAtEverySplit) {
    std::string const r = "HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n"
                          "5;ext=1\r\nhello\r\n6\r\n world\r\n0\r\nx-trailer: t\r\n\r\n";
    for (std::size_t cut = 0; cut <= r.size(); ++cut) {
        SCOPED_TRACE(::testing::Message() << "split at byte " << cut);
        response_parser p;
        EXPECT_EQ(feed_split(p, r, cut), r.size());
        ASSERT_TRUE(p.done());
        EXPECT_EQ(p.body(), "hello world");
    }
}

TEST(ResponseParser, ChunkedWithoutLastChunkIsIncomplete) {
    std::string const r = "HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n5\r\nhello\r\n";
    for (std::size_t cut = 0; cut <= r.size(); ++cut) {
        SCOPED_TRACE(::testing::Message() << "cut after byte " << cut);
        response_parser p;
        p.feed(std::string_view{r}.substr(0, cut));
        p.finish_eof();
        EXPECT_FALSE(p.done());
        EXPECT_FALSE(p.broken());
        EXPECT_EQ(p.head_done(), cut >= r.find("\r\n\r\n") + 4);
        if (cut == r.size()) {
            EXPECT_EQ(p.body(), "hello");
        }
    }
}

TEST(ResponseParser, ShortContentLengthBodyIsIncomplete) {
    response_parser p;
    p.feed("HTTP/1.1 200 OK\r\ncontent-length: 10\r\n\r\nabc");
    p.finish_eof();
    EXPECT_TRUE(p.head_done());
    EXPECT_FALSE(p.done());
    EXPECT_EQ(p.body(), "abc");
    EXPECT_EQ(p.body_wire_bytes(), 3u);
}

TEST(ResponseParser, BodyUntilCloseCompletesOnEof) {
    response_parser p;
    p.feed("HTTP/1.0 200 OK\r\n\r\nsome ");
    p.feed("text");
    EXPECT_FALSE(p.done());
    EXPECT_TRUE(p.until_close());
    EXPECT_FALSE(p.keep_alive());
    p.finish_eof();
    EXPECT_TRUE(p.done());
    EXPECT_EQ(p.body(), "some text");
}

TEST(ResponseParser, NoBodyForHeadAnd204And304) {
    response_parser head{true};
    std::string const head_only = "HTTP/1.1 200 OK\r\ncontent-length: 42\r\n\r\n";
    EXPECT_EQ(head.feed(head_only + "next"), head_only.size());
    EXPECT_TRUE(head.done());
    EXPECT_TRUE(head.body().empty());
    for (char const* status : {"204 No Content", "304 Not Modified"}) {
        response_parser p;
        std::string const r = std::string{"HTTP/1.1 "} + status + "\r\ncontent-length: 3\r\n\r\n";
        EXPECT_EQ(p.feed(r + "abc"), r.size()) << status;
        EXPECT_TRUE(p.done()) << status;
    }
}

TEST(ResponseParser, SkipsInterimContinue) {
    response_parser p;
    p.feed("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok");
    ASSERT_TRUE(p.done());
    EXPECT_EQ(p.status(), 200);
    EXPECT_EQ(p.body(), "ok");
}

TEST(ResponseParser, PipelinedResponsesAreUsedOneAtATime) {
    std::string const one = "HTTP/1.1 200 OK\r\ncontent-length: 1\r\n\r\na";
    std::string const two =
        "HTTP/1.1 404 Not Found\r\ncontent-length: 1\r\nconnection: close\r\n\r\nb";
    std::string const both = one + two;
    response_parser first;
    std::size_t const used = first.feed(both);
    EXPECT_EQ(used, one.size());
    EXPECT_TRUE(first.done());
    response_parser second;
    EXPECT_EQ(second.feed(std::string_view{both}.substr(used)), two.size());
    EXPECT_EQ(second.status(), 404);
    EXPECT_FALSE(second.keep_alive());
}

TEST(ResponseParser, TransferEncodingOverridesContentLength) {
    response_parser p;
    p.feed("HTTP/1.1 200 OK\r\ncontent-length: 100\r\ntransfer-encoding: chunked\r\n\r\n"
           "2\r\nhi\r\n0\r\n\r\n");
    EXPECT_TRUE(p.done());
    EXPECT_EQ(p.body(), "hi");
}

TEST(ResponseParser, GarbageIsBroken) {
    for (char const* bad : {"SSH-2.0-OpenSSH\r\n\r\n",
                            "HTTP/1.1 2x0 OK\r\n\r\n",
                            "HTTP/1.1 200 OK\r\nno colon here\r\n\r\n",
                            "HTTP/1.1 200 OK\r\ncontent-length: x\r\n\r\n",
                            "HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\nzz\r\n"}) {
        response_parser p;
        p.feed(bad);
        EXPECT_TRUE(p.broken()) << bad;
        EXPECT_FALSE(p.error().empty()) << bad;
        EXPECT_FALSE(p.done()) << bad;
    }
}

TEST(ResponseParser, BareLineFeedsAreAccepted) {
    response_parser p;
    p.feed("HTTP/1.1 200 OK\ncontent-length: 2\n\nok");
    EXPECT_TRUE(p.done());
    EXPECT_EQ(p.body(), "ok");
}

} // namespace
} // namespace lifecheck::client
