// Tests line splitting of a target's stdout at every byte split.
#include "harness/protocol/jsonl.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace lifecheck::protocol {
namespace {

std::vector<std::string> drain(line_splitter& s) {
    std::vector<std::string> out;
    while (auto l = s.next())
        out.push_back(*l);
    return out;
}

TEST(LineSplitter, SameLinesAtEverySplit) {
    std::string const text =
        "{\"t\":\"hello\"}\r\n{\"t\":\"ready\",\"port\":1}\n\n{\"t\":\"closed\"}";
    std::vector<std::string> const want = {
        "{\"t\":\"hello\"}", "{\"t\":\"ready\",\"port\":1}", "", "{\"t\":\"closed\"}"};
    for (std::size_t cut = 0; cut <= text.size(); ++cut) {
        SCOPED_TRACE(::testing::Message() << "split at byte " << cut);
        line_splitter s;
        s.feed(std::string_view{text}.substr(0, cut));
        auto got = drain(s);
        s.feed(std::string_view{text}.substr(cut));
        auto more = drain(s);
        got.insert(got.end(), more.begin(), more.end());
        EXPECT_EQ(s.pending(), "{\"t\":\"closed\"}");
        s.finish();
        more = drain(s);
        got.insert(got.end(), more.begin(), more.end());
        EXPECT_EQ(got, want);
    }
}

TEST(LineSplitter, FinishWithoutPendingAddsNothing) {
    line_splitter s;
    s.feed("a\n");
    s.finish();
    EXPECT_EQ(drain(s), (std::vector<std::string>{"a"}));
}

} // namespace
} // namespace lifecheck::protocol
