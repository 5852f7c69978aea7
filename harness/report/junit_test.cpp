// Tests for the JUnit writer: golden output, XML 1.0 well-formedness, escaping, verdict mapping.
#include "harness/report/junit.hpp"

#include "harness/report/test_support.hpp"

#include <gtest/gtest.h>

#include <cctype>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <vector>

namespace lifecheck::report {
namespace {

//----------------------------------------------------------------------------------------------
// A small XML 1.0 well-formedness checker (no DTDs): enough to prove what the writer emits
// parses, without depending on xmllint.

class xml_checker {
public:
    explicit xml_checker(std::string const& doc)
        : s_{doc} {}

    /// Nothing when the document is well-formed; else what is wrong and where.
    std::optional<std::string> check() {
        if (!chars_valid())
            return error_;
        if (s_.compare(0, 5, "<?xml") == 0 && !pi())
            return error_;
        misc();
        if (!element())
            return error_;
        misc();
        if (i_ != s_.size())
            return fail("content after the root element");
        return std::nullopt;
    }

private:
    std::optional<std::string> fail(std::string const& what) {
        if (error_.empty())
            error_ = what + " at byte " + std::to_string(i_);
        return error_;
    }

    bool bad(std::string const& what) {
        fail(what);
        return false;
    }

    static bool xml_char(std::uint32_t c) {
        return c == 0x9 || c == 0xA || c == 0xD || (c >= 0x20 && c <= 0xD7FF) ||
               (c >= 0xE000 && c <= 0xFFFD) || (c >= 0x10000 && c <= 0x10FFFF);
    }

    bool chars_valid() {
        for (std::size_t k = 0; k < s_.size();) {
            auto const b = static_cast<unsigned char>(s_[k]);
            std::size_t n = b < 0x80         ? 1
                            : (b >> 5) == 6  ? 2
                            : (b >> 4) == 14 ? 3
                            : (b >> 3) == 30 ? 4
                                             : 0;
            if (n == 0 || k + n > s_.size()) {
                i_ = k;
                return bad("byte that is not UTF-8");
            }
            std::uint32_t c = n == 1 ? b : b & (0x7Fu >> n);
            for (std::size_t j = 1; j < n; ++j) {
                auto const cb = static_cast<unsigned char>(s_[k + j]);
                if ((cb & 0xC0) != 0x80) {
                    i_ = k;
                    return bad("broken UTF-8 sequence");
                }
                c = (c << 6) | (cb & 0x3Fu);
            }
            if (!xml_char(c)) {
                i_ = k;
                return bad("character not allowed in XML 1.0");
            }
            k += n;
        }
        return true;
    }

    bool at(char const* lit) const { return s_.compare(i_, std::strlen(lit), lit) == 0; }

    void spaces() {
        while (i_ < s_.size() &&
               (s_[i_] == ' ' || s_[i_] == '\t' || s_[i_] == '\n' || s_[i_] == '\r'))
            ++i_;
    }

    static bool name_char(char c, bool first) {
        auto const u = static_cast<unsigned char>(c);
        if (std::isalpha(u) || c == '_' || c == ':' || u >= 0x80)
            return true;
        return !first && (std::isdigit(u) || c == '-' || c == '.');
    }

    bool name(std::string& out) {
        std::size_t const start = i_;
        if (i_ >= s_.size() || !name_char(s_[i_], true))
            return bad("expected a name");
        while (i_ < s_.size() && name_char(s_[i_], false))
            ++i_;
        out = s_.substr(start, i_ - start);
        return true;
    }

    bool reference() { // at '&'
        std::size_t const end = s_.find(';', i_);
        if (end == std::string::npos)
            return bad("unterminated reference");
        std::string const ref = s_.substr(i_ + 1, end - i_ - 1);
        static std::set<std::string> const predefined{"amp", "lt", "gt", "quot", "apos"};
        if (!predefined.count(ref)) {
            if (ref.size() < 2 || ref[0] != '#')
                return bad("unknown entity &" + ref + ";");
            bool const hex = ref[1] == 'x';
            std::string const digits = ref.substr(hex ? 2 : 1);
            if (digits.empty() || digits.find_first_not_of(hex ? "0123456789abcdefABCDEF"
                                                               : "0123456789") != std::string::npos)
                return bad("bad character reference");
            if (!xml_char(static_cast<std::uint32_t>(std::stoul(digits, nullptr, hex ? 16 : 10))))
                return bad("character reference to a character XML forbids");
        }
        i_ = end + 1;
        return true;
    }

    bool attribute_value() {
        if (i_ >= s_.size() || (s_[i_] != '"' && s_[i_] != '\''))
            return bad("expected a quoted attribute value");
        char const quote = s_[i_++];
        while (i_ < s_.size() && s_[i_] != quote) {
            if (s_[i_] == '<')
                return bad("'<' in an attribute value");
            if (s_[i_] == '&') {
                if (!reference())
                    return false;
                continue;
            }
            ++i_;
        }
        if (i_ >= s_.size())
            return bad("unterminated attribute value");
        ++i_;
        return true;
    }

    bool pi() { // <? ... ?>
        std::size_t const end = s_.find("?>", i_);
        if (end == std::string::npos)
            return bad("unterminated processing instruction");
        i_ = end + 2;
        return true;
    }

    bool comment() { // <!-- ... -->
        std::size_t const end = s_.find("-->", i_ + 4);
        if (end == std::string::npos)
            return bad("unterminated comment");
        i_ = end + 3;
        return true;
    }

    void misc() {
        for (;;) {
            spaces();
            if (at("<!--") && comment())
                continue;
            if (at("<?") && pi())
                continue;
            return;
        }
    }

    bool element() {
        if (!at("<"))
            return bad("expected an element");
        ++i_;
        std::string tag;
        if (!name(tag))
            return false;
        std::set<std::string> seen;
        for (;;) {
            std::size_t const before = i_;
            spaces();
            if (at("/>")) {
                i_ += 2;
                return true;
            }
            if (at(">")) {
                ++i_;
                break;
            }
            if (i_ == before)
                return bad("expected whitespace before an attribute");
            std::string attr;
            if (!name(attr))
                return false;
            if (!seen.insert(attr).second)
                return bad("duplicate attribute " + attr);
            spaces();
            if (!at("="))
                return bad("expected '='");
            ++i_;
            spaces();
            if (!attribute_value())
                return false;
        }
        for (;;) { // content
            if (i_ >= s_.size())
                return bad("unclosed element <" + tag + ">");
            if (at("</")) {
                i_ += 2;
                std::string closing;
                if (!name(closing))
                    return false;
                if (closing != tag)
                    return bad("</" + closing + "> closes <" + tag + ">");
                spaces();
                if (!at(">"))
                    return bad("expected '>'");
                ++i_;
                return true;
            }
            if (at("<!--")) {
                if (!comment())
                    return false;
            } else if (at("<![CDATA[")) {
                std::size_t const end = s_.find("]]>", i_);
                if (end == std::string::npos)
                    return bad("unterminated CDATA");
                i_ = end + 3;
            } else if (at("<?")) {
                if (!pi())
                    return false;
            } else if (at("<")) {
                if (!element())
                    return false;
            } else if (at("&")) {
                if (!reference())
                    return false;
            } else if (at("]]>")) {
                return bad("']]>' in character data");
            } else {
                ++i_;
            }
        }
    }

    std::string const& s_;
    std::size_t i_ = 0; // read position
    std::string error_; // the first problem found
};

std::optional<std::string> xml_problem(std::string const& doc) {
    return xml_checker{doc}.check();
}

//----------------------------------------------------------------------------------------------

TEST(XmlChecker, RejectsMalformedDocuments) {
    EXPECT_FALSE(xml_problem("<a><b/></a>"));
    EXPECT_FALSE(xml_problem("<?xml version=\"1.0\"?>\n<a x=\"&lt;&#10;\">t&amp;</a>\n"));
    EXPECT_TRUE(xml_problem("<a><b></a>"));
    EXPECT_TRUE(xml_problem("<a x=\"1\" x=\"2\"/>"));
    EXPECT_TRUE(xml_problem("<a x=\"<\"/>"));
    EXPECT_TRUE(xml_problem("<a>&nbsp;</a>"));
    EXPECT_TRUE(xml_problem("<a>&#1;</a>"));
    EXPECT_TRUE(xml_problem(std::string{"<a>\x01</a>"}));
    EXPECT_TRUE(xml_problem("<a>\xff</a>"));
    EXPECT_TRUE(xml_problem("<a>x & y</a>"));
    EXPECT_TRUE(xml_problem("<a/><b/>"));
}

TEST(JUnit, SampleRunIsWellFormed) {
    std::string const xml = to_junit(test_support::sample_run());
    auto const problem = xml_problem(xml);
    EXPECT_FALSE(problem) << *problem;
}

TEST(JUnit, MatchesGolden) {
    test_support::expect_golden("run.golden.xml",
                                test_support::normalize_xml(to_junit(test_support::sample_run())));
}

TEST(JUnit, EscapesMarkupAndQuotes) {
    EXPECT_EQ(xml_escape("a<b>&\"c\"", false), "a&lt;b&gt;&amp;\"c\"");
    EXPECT_EQ(xml_escape("a<b>&\"c\"", true), "a&lt;b&gt;&amp;&quot;c&quot;");
    EXPECT_EQ(xml_escape("l1\nl2\tx\r", true), "l1&#10;l2&#9;x&#13;");
    EXPECT_EQ(xml_escape("l1\nl2\tx\r", false), "l1\nl2\tx&#13;");
}

TEST(JUnit, WritesCharactersXmlCannotCarryAsVisibleText) {
    EXPECT_EQ(xml_escape(std::string{"a\x01"
                                     "b\x1b"
                                     "c"},
                         false),
              "a\\x01b\\x1Bc");
    EXPECT_EQ(xml_escape(std::string{"nul\0!", 5}, false), "nul\\x00!");
    EXPECT_EQ(xml_escape("\xff\xfe", false), "\\xFF\\xFE");
    EXPECT_EQ(xml_escape("\xc3", false), "\\xC3");             // truncated sequence
    EXPECT_EQ(xml_escape("\xc0\xaf", false), "\\xC0\\xAF");    // overlong '/'
    EXPECT_EQ(xml_escape("\xed\xa0\x80", false), "\\u{D800}"); // a surrogate
    EXPECT_EQ(xml_escape("\xef\xbf\xbe", false), "\\u{FFFE}");
    EXPECT_EQ(xml_escape("caf\xc3\xa9 \xe2\x9c\x93 \xf0\x9f\x98\x80", false),
              "caf\xc3\xa9 \xe2\x9c\x93 \xf0\x9f\x98\x80");
}

TEST(JUnit, HostileTextStaysWellFormed) {
    run_report rep = test_support::sample_run();
    std::string hostile = "]]> <!-- & \"' ";
    for (int c = 0; c < 256; ++c)
        hostile += static_cast<char>(c);
    for (check::scenario_result& r : rep.results) {
        r.scenario_id += hostile;
        r.skip_reason += hostile;
        r.divergence_note += hostile;
        for (check::finding& f : r.findings)
            f.message += hostile;
    }
    rep.run.id = hostile;
    std::string const xml = to_junit(rep);
    auto const problem = xml_problem(xml);
    EXPECT_FALSE(problem) << *problem;
}

// Issue 19: a crashed target's stderr is in the <error> text.
TEST(JUnit, CrashCarriesTheTargetsStderr) {
    std::string const xml = to_junit(test_support::sample_run());
    EXPECT_NE(xml.find("target stderr:\n      Error: Response body object locked &lt;&amp;&gt;"),
              std::string::npos)
        << xml;
}

TEST(JUnit, PluginDeltaIsASuiteOfTheChangedScenarios) {
    std::string const xml = to_junit(test_support::sample_delta_run());
    auto const problem = xml_problem(xml);
    EXPECT_FALSE(problem) << *problem;
    EXPECT_NE(xml.find("<testsuite name=\"plugin delta: @fastify/cors\" tests=\"2\" failures=\"1\" "
                       "errors=\"0\" skipped=\"0\""),
              std::string::npos)
        << xml;
    EXPECT_NE(xml.find("<property name=\"plugins\" value=\"@fastify/cors@11.4.3\"/>"),
              std::string::npos);
    EXPECT_NE(xml.find("<system-out>step r1: status 404 -&gt; 204\n</system-out>"),
              std::string::npos)
        << xml;
    EXPECT_NE(xml.find("<failure message=\"step r1: I6 breaks: onResponse ran &lt;twice&gt;\" "
                       "type=\"plugin-delta\">"),
              std::string::npos)
        << xml;
    // The totals count the delta's testcases: 7 results + 2, 1 failure + 1.
    EXPECT_NE(xml.find("<testsuites name=\"lifecheck\" tests=\"9\" failures=\"2\""),
              std::string::npos);
}

TEST(JUnit, MapsVerdictsToElements) {
    std::string const xml = to_junit(test_support::sample_run());
    EXPECT_NE(xml.find("<testcase classname=\"fastify.hooks\" name=\"on-request-order\" "
                       "time=\"0.015\" file=\"scenarios/fastify/hooks/on-request-order.json\"/>"),
              std::string::npos);
    EXPECT_NE(
        xml.find("<failure message=\"step r1: status: expected 500, got 200\" type=\"fail\">"),
        std::string::npos);
    EXPECT_NE(xml.find("type=\"crash\""), std::string::npos);
    EXPECT_NE(xml.find("type=\"hang\""), std::string::npos);
    EXPECT_NE(xml.find("type=\"error\""), std::string::npos);
    EXPECT_NE(xml.find("<skipped message=\"target does not support: dialect koa\"/>"),
              std::string::npos);
    EXPECT_NE(xml.find("<skipped message=\"divergence (framework-bug, shows crash): "),
              std::string::npos);
    EXPECT_NE(xml.find("    &gt;&gt; 4  errorHandler@root"), std::string::npos);
    EXPECT_NE(xml.find("replay: lifecheck run --target reference "
                       "scenarios/fastify/errors/preserialization-throws.json"),
              std::string::npos);
    EXPECT_NE(xml.find("<testsuite name=\"reference\" tests=\"4\" failures=\"1\" errors=\"2\" "
                       "skipped=\"0\""),
              std::string::npos);
    EXPECT_NE(xml.find("<testsuite name=\"fastify\" tests=\"3\" failures=\"0\" errors=\"1\" "
                       "skipped=\"2\""),
              std::string::npos);
}

TEST(JUnit, WritesFile) {
    auto const dir = std::filesystem::temp_directory_path() / "lifecheck-junit-test";
    std::filesystem::remove_all(dir);
    auto const written = write_junit(dir / "sub" / "junit.xml", test_support::sample_run());
    ASSERT_TRUE(written.has_value());
    std::ifstream in(written.value(), std::ios::binary);
    std::stringstream text;
    text << in.rdbuf();
    EXPECT_EQ(text.str(), to_junit(test_support::sample_run()));
    std::filesystem::remove_all(dir);
}

TEST(JUnit, UnwritablePathIsADiagnostic) {
    auto const written = write_junit("/proc/lifecheck-no/junit.xml", test_support::sample_run());
    ASSERT_FALSE(written.has_value());
    EXPECT_EQ(written.error().front().file, "/proc/lifecheck-no/junit.xml");
}

} // namespace
} // namespace lifecheck::report
