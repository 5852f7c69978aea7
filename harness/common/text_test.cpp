// Tests the harness's text helpers.
#include "harness/common/text.hpp"

#include <gtest/gtest.h>

#include <optional>
#include <string>
#include <vector>

namespace lifecheck {

TEST(Lower, AsciiLettersOnly) {
    EXPECT_EQ(lower("Content-Type"), "content-type");
    EXPECT_EQ(lower("HEAD"), "head");
    EXPECT_EQ(lower("x-1_Z@[`{"), "x-1_z@[`{");
    EXPECT_EQ(lower("\xC3\x89t\xC3\xA9"), "\xC3\x89t\xC3\xA9") << "UTF-8 bytes stay as they are";
    EXPECT_EQ(lower(""), "");
}

TEST(EditDistance, CountsInsertionsDeletionsSubstitutionsAndSwaps) {
    EXPECT_EQ(edit_distance("GETT", "GET"), 1u);
    EXPECT_EQ(edit_distance("sned", "send"), 1u) << "two neighbours swapped are one edit";
    EXPECT_EQ(edit_distance("onRequst", "onRequest"), 1u);
    EXPECT_EQ(edit_distance("kitten", "sitting"), 3u);
    EXPECT_EQ(edit_distance("", "abc"), 3u);
    EXPECT_EQ(edit_distance("get", "GET"), 0u) << "ASCII case is not an edit";
}

TEST(Closest, SuggestsANameOnlyWhenItIsALikelyTypo) {
    std::vector<std::string> const methods{"GET", "HEAD", "DELETE", "POST", "PUT"};
    EXPECT_EQ(closest("GETT", methods), "GET");
    EXPECT_EQ(closest("POTS", methods), "POST");
    EXPECT_EQ(closest("DELET", methods), "DELETE");
    EXPECT_EQ(closest("get", methods), "GET") << "a name in another case";
    EXPECT_EQ(closest("PROPFIND", methods), std::nullopt) << "no name is near";
    EXPECT_EQ(closest("FOO", methods), std::nullopt);
    EXPECT_EQ(closest("GET", methods), std::nullopt) << "a name is not a typo of itself";
    EXPECT_EQ(closest("x", {}), std::nullopt);
    EXPECT_EQ(closest("ab", {"ac", "ad"}), "ac") << "ties go to the first listed";
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
