// Tests the client options read once: writes, pauses, closes and the read limits' cut.
#include "harness/client/client_plan.hpp"

#include <gtest/gtest.h>

#include <string>

namespace lifecheck::client {
namespace {

raw_request post(std::string const& body) {
    scenario::step s;
    s.id = "r1";
    s.request.method = "POST";
    s.request.url = "/";
    s.request.body = body;
    return make_raw_request(s);
}

TEST(ClientPlan, WritesEverythingAtOnceWithoutOptions) {
    raw_request const r = post("hello");
    client_plan const p = plan_of(r);
    ASSERT_EQ(p.writes.size(), 1u);
    EXPECT_EQ(p.writes[0].offset, 0u);
    EXPECT_EQ(p.writes[0].size, r.bytes.size());
    EXPECT_FALSE(p.close_after_writing);
    EXPECT_FALSE(p.abort_after);
    EXPECT_FALSE(response_reader{r}.limited());
}

TEST(ClientPlan, BodyBytesCutTheWritesAndCloseWithoutReading) {
    raw_request r = post("0123456789");
    r.options.abort_after_body_bytes = 4;
    client_plan const p = plan_of(r);
    ASSERT_EQ(p.writes.size(), 1u);
    EXPECT_EQ(p.writes[0].size, r.body_offset + 4);
    EXPECT_TRUE(p.close_after_writing);
}

TEST(ClientPlan, SlowWriterSplitsAndPausesBetweenWrites) {
    raw_request r = post("0123456789");
    r.options.bytes_per_write = 16;
    r.options.write_delay_ms = 15;
    client_plan const p = plan_of(r);
    ASSERT_GE(p.writes.size(), 2u);
    std::size_t next = 0;
    for (std::size_t i = 0; i < p.writes.size(); ++i) {
        EXPECT_EQ(p.writes[i].offset, next);
        EXPECT_LE(p.writes[i].size, 16u);
        EXPECT_EQ(p.writes[i].pause_before, milliseconds{i == 0 ? 0 : 15});
        next += p.writes[i].size;
    }
    EXPECT_EQ(next, r.bytes.size());
}

TEST(ClientPlan, AbortAfterRequestBytesZeroWritesNothing) {
    raw_request r = post("x");
    r.options.abort_after_request_bytes = 0;
    client_plan const p = plan_of(r);
    EXPECT_TRUE(p.writes.empty());
    EXPECT_TRUE(p.close_after_writing);
}

std::string const response = "HTTP/1.1 200 OK\r\ncontent-length: 8\r\n\r\naaaabbbb";

// Every split of the response: the reader stops at the limit, whichever way bytes come.
TEST(ResponseReader, BodyLimitCutsAfterThatManyBodyBytesAtEverySplit) {
    raw_request r = post("");
    r.options.abort_after_response_body_bytes = 6;
    std::size_t const head = response.find("\r\n\r\n") + 4;
    for (std::size_t split = 1; split < response.size(); ++split) {
        response_reader reader{r};
        std::size_t at = 0;
        for (std::string_view chunk : {std::string_view{response}.substr(0, split),
                                       std::string_view{response}.substr(split)}) {
            while (reader.want() > 0 && !chunk.empty()) {
                std::size_t const n = std::min(reader.want(), chunk.size());
                std::size_t const used = reader.take(chunk.substr(0, n));
                chunk.remove_prefix(used);
                at += used;
            }
        }
        EXPECT_TRUE(reader.cut()) << split;
        EXPECT_EQ(at, head + 6) << split;
        EXPECT_EQ(reader.parser().body(), "aaaabb") << split;
    }
}

TEST(ResponseReader, ResponseThatFitsTheLimitIsNotCut) {
    raw_request r = post("");
    r.options.abort_after_response_bytes = static_cast<long long>(response.size());
    response_reader reader{r};
    EXPECT_EQ(reader.want(), response.size());
    EXPECT_EQ(reader.take(response), response.size());
    EXPECT_EQ(reader.want(), 0u);
    EXPECT_FALSE(reader.cut());
    EXPECT_TRUE(reader.parser().done());
}

} // namespace
} // namespace lifecheck::client
