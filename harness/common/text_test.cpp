// Tests the harness's text helpers.
#include "harness/common/text.hpp"

#include <gtest/gtest.h>

namespace lifecheck {

TEST(Lower, AsciiLettersOnly) {
    EXPECT_EQ(lower("Content-Type"), "content-type");
    EXPECT_EQ(lower("HEAD"), "head");
    EXPECT_EQ(lower("x-1_Z@[`{"), "x-1_z@[`{");
    EXPECT_EQ(lower("\xC3\x89t\xC3\xA9"), "\xC3\x89t\xC3\xA9") << "UTF-8 bytes stay as they are";
    EXPECT_EQ(lower(""), "");
}

TEST(Utf8Prefix, CutsAtALimitWithoutSplittingASequence) {
    EXPECT_EQ(utf8_prefix("abc", 5), "abc");
    EXPECT_EQ(utf8_prefix("abcdef", 3), "abc");
    std::string const e_acute = "a\xC3\xA9"
                                "b";
    EXPECT_EQ(utf8_prefix(e_acute, 2), "a") << "a 2-byte sequence is not split";
    EXPECT_EQ(utf8_prefix(e_acute, 3), "a\xC3\xA9");
}

} // namespace lifecheck
