// Tests for first_divergence and the side-by-side trace rendering.
#include "harness/check/trace_diff.hpp"

#include <gtest/gtest.h>

namespace lifecheck::check {
namespace {

TEST(TraceDiff, EqualTracesHaveNoDivergence) {
    EXPECT_FALSE(first_divergence({"onRequest@root", "handler"}, {"onRequest@root", "handler"}));
    EXPECT_FALSE(first_divergence({}, {}));
}

TEST(TraceDiff, NamesFirstDivergingPosition) {
    auto const d = first_divergence({"onRequest@root", "preHandler@root", "handler"},
                                    {"onRequest@root", "handler", "preHandler@root"});
    ASSERT_TRUE(d);
    EXPECT_EQ(d->position, 1u);
    EXPECT_EQ(d->expected, "preHandler@root");
    EXPECT_EQ(d->actual, "handler");
}

TEST(TraceDiff, ShorterActualHasNoLabelAtDivergence) {
    auto const d = first_divergence({"onRequest@root", "handler"}, {"onRequest@root"});
    ASSERT_TRUE(d);
    EXPECT_EQ(d->position, 1u);
    EXPECT_EQ(d->expected, "handler");
    EXPECT_FALSE(d->actual);
}

TEST(TraceDiff, LongerActualHasNoExpectedLabel) {
    auto const d = first_divergence({"handler"}, {"handler", "onSend@root"});
    ASSERT_TRUE(d);
    EXPECT_EQ(d->position, 1u);
    EXPECT_FALSE(d->expected);
    EXPECT_EQ(d->actual, "onSend@root");
}

TEST(TraceDiff, SideBySideMarksDivergingLine) {
    std::string const text =
        side_by_side({"onRequest@root", "handler", "onSend@root"},
                     {"onRequest@root", "preHandler@root", "handler", "onSend@root"});
    EXPECT_EQ(text,
              "   #  expected       | actual\n"
              "   0  onRequest@root | onRequest@root\n"
              ">> 1  handler        | preHandler@root\n"
              "   2  onSend@root    | handler\n"
              "   3  (none)         | onSend@root\n");
}

TEST(TraceDiff, SideBySideElidesBeyondContext) {
    std::vector<std::string> expected;
    std::vector<std::string> actual;
    for (int i = 0; i < 12; ++i) {
        expected.push_back("h" + std::to_string(i));
        actual.push_back(i == 6 ? "x" : "h" + std::to_string(i));
    }
    std::string const text = side_by_side(expected, actual, 2);
    EXPECT_EQ(text,
              "   #   expected | actual\n"
              "   ...\n"
              "   4   h4       | h4\n"
              "   5   h5       | h5\n"
              ">> 6   h6       | x\n"
              "   7   h7       | h7\n"
              "   8   h8       | h8\n"
              "   ...\n");
}

TEST(TraceDiff, SideBySideShowsEqualTracesWhole) {
    std::string const text = side_by_side({"a", "b"}, {"a", "b"});
    EXPECT_EQ(text,
              "   #  expected | actual\n"
              "   0  a        | a\n"
              "   1  b        | b\n");
    EXPECT_EQ(text.find(">>"), std::string::npos);
}

TEST(TraceDiff, SideBySideOfEmptyTraces) {
    EXPECT_EQ(side_by_side({}, {}), "   #  expected | actual\n      (empty)  | (empty)\n");
}

} // namespace
} // namespace lifecheck::check
