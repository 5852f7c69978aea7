// Tests of rewrite_expectations: `record` changes only the expect parts that changed, in the
// file's own layout, and keeps every other byte (issue 19).
#include "harness/scenario/rewrite.hpp"

#include "harness/scenario/load.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <sstream>
#include <string>
#include <vector>

namespace lifecheck::scenario {
namespace {

std::vector<std::string> lines_of(std::string const& text) {
    std::vector<std::string> out;
    std::istringstream in{text};
    for (std::string line; std::getline(in, line);)
        out.push_back(line);
    return out;
}

/// The lines of `after` that a line diff against `before` shows as new (those outside a longest
/// common subsequence of lines).
std::vector<std::string> changed_lines(std::string const& before, std::string const& after) {
    std::vector<std::string> const a = lines_of(before);
    std::vector<std::string> const b = lines_of(after);
    // lcs[i][j]: the longest common subsequence of a[i..] and b[j..].
    std::vector<std::vector<std::size_t>> lcs(a.size() + 1, std::vector<std::size_t>(b.size() + 1));
    for (std::size_t i = a.size(); i-- > 0;)
        for (std::size_t j = b.size(); j-- > 0;)
            lcs[i][j] =
                a[i] == b[j] ? lcs[i + 1][j + 1] + 1 : std::max(lcs[i + 1][j], lcs[i][j + 1]);
    std::vector<std::string> out;
    std::size_t i = 0;
    std::size_t j = 0;
    while (j < b.size()) {
        if (i < a.size() && a[i] == b[j]) {
            ++i;
            ++j;
        } else if (i < a.size() && lcs[i + 1][j] >= lcs[i][j + 1]) {
            ++i;
        } else {
            out.push_back(b[j++]);
        }
    }
    return out;
}

/// Rewrites, checks that the result loads and that each step's `expect` reads back as wanted.
std::string rewritten(std::string const& text, std::vector<expect_edit> const& edits) {
    auto const out = rewrite_expectations(text, edits);
    if (!out) {
        ADD_FAILURE() << describe(out.error().front());
        return text;
    }
    auto const loaded = parse(*out, "<rewritten>", "t");
    EXPECT_TRUE(loaded.has_value()) << (loaded ? "" : describe(loaded.error().front())) << *out;
    json const doc = json::parse(*out);
    for (expect_edit const& e : edits) {
        std::string pointer;
        for (char c : e.step_path.substr(1))
            pointer += c == '.' || c == '[' ? '/' : c == ']' ? '\0' : c;
        pointer.erase(std::remove(pointer.begin(), pointer.end(), '\0'), pointer.end());
        EXPECT_EQ(nlohmann::json::parse(doc.at(json::json_pointer{pointer}).at("expect").dump()),
                  nlohmann::json::parse(e.expect.dump()))
            << e.step_path << "\n"
            << *out;
    }
    return *out;
}

// A hand-written file: aligned keys, one-line objects, a trailing comment-like description,
// two-space and four-space indents mixed, keys in an unusual order.
std::string const unusual = R"({ "steps": [
    { "id": "r1",   "request": { "url": "/", "method":"GET" },
      "expect": { "trace": ["onRequest@root", "handler"],   "status" : 200,
                  "endAt": 1 } },
    {"id":"r2","request":{"url":"/"}}
  ],
  "app": {"hooks": {"onRequest": [{}]},
          "routes": [ {"url": "/", "handler": {}} ]},
  "description":   "unusual but valid formatting"
}
)";

TEST(RewriteExpectations, OnlyTheChangedExpectValuesChangeAndEveryOtherByteStays) {
    json const want_r1 = json::parse(R"({"status": 200, "trace": ["onRequest@root", "handler"],
                                         "endAt": 2})");
    std::string const out = rewritten(unusual, {{"$.steps[0]", want_r1}});
    EXPECT_EQ(changed_lines(unusual, out),
              (std::vector<std::string>{"                  \"endAt\": 2 } },"}))
        << out;
    std::string expected = unusual;
    expected.replace(expected.find("\"endAt\": 1"), 10, "\"endAt\": 2");
    EXPECT_EQ(out, expected);
}

TEST(RewriteExpectations, AnUnchangedExpectLeavesTheTextAsItWas) {
    // Same values in another key order: nothing to write.
    json const same = json::parse(R"({"endAt": 1, "status": 200,
                                      "trace": ["onRequest@root", "handler"]})");
    EXPECT_EQ(rewritten(unusual, {{"$.steps[0]", same}}), unusual);
}

TEST(RewriteExpectations, NewExpectMembersFollowTheirSiblingsAndRemovedOnesGoWithTheirComma) {
    json const want = json::parse(R"({"status": 200, "trace": ["onRequest@root", "handler"],
        "headers": {"content-type": "text/plain; charset=utf-8"}, "complete": true})");
    std::string const out = rewritten(unusual, {{"$.steps[0]", want}});
    EXPECT_EQ(changed_lines(unusual, out),
              (std::vector<std::string>{
                  R"(                  "headers": {"content-type": "text/plain; charset=utf-8"},)",
                  R"(                  "complete": true } },)"}))
        << out;
}

TEST(RewriteExpectations, AStepWithoutExpectGetsOneAfterItsLastMember) {
    json const want = json::parse(R"({"status": 200, "trace": ["onRequest@root", "handler"]})");
    EXPECT_EQ(
        changed_lines(unusual, rewritten(unusual, {{"$.steps[1]", want}})),
        (std::vector<std::string>{
            R"(    {"id":"r2","request":{"url":"/"},"expect":{"status":200,"trace":["onRequest@root","handler"]}})"}))
        << "a compact one-line step gets a compact one-line expect";

    std::string const spread = "{\n"
                               "    \"app\": {\"routes\": [{\"url\": \"/\", \"handler\": {}}]},\n"
                               "    \"steps\": [\n"
                               "        {\n"
                               "            \"id\": \"r1\",\n"
                               "            \"request\": {\"url\": \"/\"}\n"
                               "        }\n"
                               "    ]\n"
                               "}\n";
    json const handler_only = json::parse(R"({"status": 200, "trace": ["handler"]})");
    std::string const out = rewritten(spread, {{"$.steps[0]", handler_only}});
    EXPECT_EQ(out,
              "{\n"
              "    \"app\": {\"routes\": [{\"url\": \"/\", \"handler\": {}}]},\n"
              "    \"steps\": [\n"
              "        {\n"
              "            \"id\": \"r1\",\n"
              "            \"request\": {\"url\": \"/\"},\n"
              "            \"expect\": {\n"
              "                \"status\": 200,\n"
              "                \"trace\": [\"handler\"]\n"
              "            }\n"
              "        }\n"
              "    ]\n"
              "}\n")
        << "its own lines at the siblings' indent; nested values on one line, as the request is";
}

TEST(RewriteExpectations, AFileWrittenByDumpKeepsItsLayout) {
    // What `record` used to write for every file: two-space indent, arrays spread over lines.
    json const doc = json::parse(R"({"app": {"routes": [{"url": "/", "handler": {}}]},
        "steps": [{"id": "r1", "request": {"url": "/"},
                   "expect": {"status": 200, "headers": {"content-type": "text/plain", "x-a": "1"},
                              "trace": ["handler"]}}]})");
    std::string const text = doc.dump(2) + "\n";
    json const want = json::parse(R"({"status": 200, "headers": {"content-type": "text/html",
        "x-a": "1"}, "trace": ["handler"], "aborted": false, "endAt": 1})");
    std::string const out = rewritten(text, {{"$.steps[0]", want}});
    json with_want = doc;
    with_want["steps"][0]["expect"] = want;
    EXPECT_EQ(out, with_want.dump(2) + "\n") << "dump's layout";
    EXPECT_EQ(changed_lines(text, out),
              (std::vector<std::string>{"          \"content-type\": \"text/html\",",
                                        "        ],",
                                        "        \"aborted\": false,",
                                        "        \"endAt\": 1"}))
        << out;
}

TEST(RewriteExpectations, RemovingEveryMemberWritesTheObjectAnew) {
    std::string const text = R"({"app": {}, "steps": [{"id": "r1", "request": {},
  "expect": {"reached": false}}]})";
    json const want = json::parse(R"({"status": 404, "trace": []})");
    EXPECT_EQ(rewritten(text, {{"$.steps[0]", want}}),
              R"({"app": {}, "steps": [{"id": "r1", "request": {},
  "expect": {"status": 404, "trace": []}}]})");
}

TEST(RewriteExpectations, ParallelChildrenCloseStepsAndCrLfLines) {
    std::string const text = "{\r\n  \"app\": {\"hooks\": {\"onClose\": [{}]}},\r\n"
                             "  \"steps\": [\r\n"
                             "    {\"parallel\": [{\"id\": \"a\", \"request\": {}},\r\n"
                             "                  {\"id\": \"b\", \"request\": {}}]},\r\n"
                             "    {\"close\": true,\r\n"
                             "     \"expect\": {\"trace\": []}}\r\n"
                             "  ]\r\n}\r\n";
    std::string const out =
        rewritten(text,
                  {{"$.steps[0].parallel[1]", json::parse(R"({"status": 404})")},
                   {"$.steps[1]", json::parse(R"({"trace": ["onClose@root"]})")}});
    EXPECT_EQ(changed_lines(text, out),
              (std::vector<std::string>{
                  "                  {\"id\": \"b\", \"request\": {}, \"expect\": {\"status\": "
                  "404}}]},\r",
                  "     \"expect\": {\"trace\": [\"onClose@root\"]}}\r"}))
        << out;
}

TEST(RewriteExpectations, APathNotInTheTextIsADiagnostic) {
    auto const out = rewrite_expectations(unusual, {{"$.steps[5]", json::object()}});
    ASSERT_FALSE(out.has_value());
    EXPECT_NE(out.error().front().got.find("no element 5"), std::string::npos)
        << describe(out.error().front());
}

} // namespace
} // namespace lifecheck::scenario
