// JUnit XML for a run: testsuites per target, testcases per scenario, escaped for XML 1.0.
#include "harness/report/junit.hpp"

#include <cstdint>
#include <cstdio>

namespace lifecheck::report {
namespace {

void append_hex_byte(std::string& out, unsigned char b) {
    char buf[8];
    std::snprintf(buf, sizeof buf, "\\x%02X", static_cast<unsigned>(b));
    out += buf;
}

/// Decodes one UTF-8 sequence at `s[i]`; its length in `len`, or 0 when it is not valid UTF-8.
std::uint32_t decode(std::string_view s, std::size_t i, std::size_t& len) {
    auto const byte = [&](std::size_t k) {
        return static_cast<unsigned char>(s[i + k]);
    };
    unsigned char const b0 = byte(0);
    len = 0;
    if (b0 < 0x80) {
        len = 1;
        return b0;
    }
    std::size_t need = 0; // continuation bytes after the lead byte
    std::uint32_t cp = 0;
    if ((b0 & 0xE0) == 0xC0) {
        need = 1;
        cp = b0 & 0x1Fu;
    } else if ((b0 & 0xF0) == 0xE0) {
        need = 2;
        cp = b0 & 0x0Fu;
    } else if ((b0 & 0xF8) == 0xF0) {
        need = 3;
        cp = b0 & 0x07u;
    } else {
        return 0;
    }
    if (i + need >= s.size())
        return 0;
    for (std::size_t k = 1; k <= need; ++k) {
        if ((byte(k) & 0xC0) != 0x80)
            return 0;
        cp = (cp << 6) | (byte(k) & 0x3Fu);
    }
    // Overlong forms and values beyond Unicode are not UTF-8.
    static constexpr std::uint32_t min_for[] = {0, 0x80, 0x800, 0x10000};
    if (cp < min_for[need] || cp > 0x10FFFF)
        return 0;
    len = need + 1;
    return cp;
}

bool xml_char(std::uint32_t cp) {
    // XML 1.0 §2.2 Char.
    return cp == 0x9 || cp == 0xA || cp == 0xD || (cp >= 0x20 && cp <= 0xD7FF) ||
           (cp >= 0xE000 && cp <= 0xFFFD) || (cp >= 0x10000 && cp <= 0x10FFFF);
}

std::string seconds(double ms) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.3f", ms / 1000.0);
    return buf;
}

std::string attr(char const* name, std::string_view value) {
    return std::string{" "} + name + "=\"" + xml_escape(value, true) + "\"";
}

std::string class_name(std::string const& id) {
    auto const slash = id.rfind('/');
    if (slash == std::string::npos)
        return "scenarios";
    std::string out = id.substr(0, slash);
    for (char& c : out)
        if (c == '/')
            c = '.';
    return out;
}

std::string base_name(std::string const& id) {
    auto const slash = id.rfind('/');
    return slash == std::string::npos ? id : id.substr(slash + 1);
}

std::string first_message(check::scenario_result const& r) {
    if (!r.findings.empty())
        return check::describe(r.findings.front());
    return check::to_string(r.v);
}

std::string testcase(check::scenario_result const& r) {
    std::string out = "    <testcase" + attr("classname", class_name(r.scenario_id)) +
                      attr("name", base_name(r.scenario_id)) + attr("time", seconds(r.duration_ms));
    if (!r.file.empty())
        out += attr("file", r.file);
    std::string body;
    std::string const text = xml_escape(failure_text(r), false);
    switch (r.v) {
    case check::verdict::pass:
        break;
    case check::verdict::fail:
        body = "      <failure" + attr("message", first_message(r)) + attr("type", "fail") + ">" +
               text + "</failure>\n";
        break;
    case check::verdict::crash:
    case check::verdict::hang:
    case check::verdict::error:
        body = "      <error" + attr("message", first_message(r)) +
               attr("type", check::to_string(r.v)) + ">" + text + "</error>\n";
        break;
    case check::verdict::skip:
        body = "      <skipped" + attr("message", r.skip_reason) + "/>\n";
        break;
    case check::verdict::divergence:
        body = "      <skipped" +
               attr("message",
                    "divergence (" + r.divergence_class + ", shows " + check::to_string(r.shown) +
                        "): " + r.divergence_note) +
               "/>\n      <system-out>" + text + "</system-out>\n";
        break;
    }
    if (body.empty())
        return out + "/>\n";
    return out + ">\n" + body + "    </testcase>\n";
}

std::string
counts(std::size_t tests, std::size_t failures, std::size_t errors, std::size_t skipped) {
    return attr("tests", std::to_string(tests)) + attr("failures", std::to_string(failures)) +
           attr("errors", std::to_string(errors)) + attr("skipped", std::to_string(skipped));
}

std::string counts(tally const& t, std::size_t more_tests = 0, std::size_t more_failures = 0) {
    using check::verdict;
    return counts(t.total + more_tests,
                  t.of(verdict::fail) + more_failures,
                  t.of(verdict::crash) + t.of(verdict::hang) + t.of(verdict::error),
                  t.of(verdict::skip) + t.of(verdict::divergence));
}

/// run --with-plugin (D35): one testcase per scenario that changed with the plugins; a failure
/// when a change breaks the lifecycle, the changes as system-out otherwise.
std::string delta_suite(plugin_delta const& d, std::string const& started) {
    std::string names;
    std::string installed;
    for (plugin_info const& p : d.plugins) {
        names += (names.empty() ? "" : " + ") + p.name;
        installed += (installed.empty() ? "" : ", ") + p.name +
                     (p.installed.empty() ? "" : "@" + p.installed);
    }
    std::string out = "  <testsuite" + attr("name", "plugin delta: " + names) +
                      counts(d.changed.size(), broken_count(d), 0, 0) + attr("time", seconds(0));
    if (!started.empty())
        out += attr("timestamp", started);
    out += ">\n    <properties>\n";
    out += "      <property" + attr("name", "plugins") + attr("value", installed) + "/>\n";
    out += "      <property" + attr("name", "without") + attr("value", d.without) + "/>\n";
    out += "      <property" + attr("name", "with") + attr("value", d.with) + "/>\n";
    out += "      <property" + attr("name", "compared") +
           attr("value", std::to_string(d.compared)) + "/>\n";
    out += "    </properties>\n";
    for (plugin_change const& c : d.changed) {
        std::string text;
        std::string first_break;
        for (check::change const& one : c.changes) {
            text += check::describe(one) + "\n";
            if (one.breaks && first_break.empty())
                first_break = check::describe(one);
        }
        out += "    <testcase" + attr("classname", class_name(c.scenario_id)) +
               attr("name", base_name(c.scenario_id)) + attr("time", seconds(0));
        if (!c.file.empty())
            out += attr("file", c.file);
        out += ">\n";
        if (c.broken)
            out += "      <failure" + attr("message", first_break) + attr("type", "plugin-delta") +
                   ">" + xml_escape(text, false) + "</failure>\n";
        else
            out += "      <system-out>" + xml_escape(text, false) + "</system-out>\n";
        out += "    </testcase>\n";
    }
    return out + "  </testsuite>\n";
}

} // namespace

std::string xml_escape(std::string_view s, bool attribute) {
    std::string out;
    out.reserve(s.size());
    for (std::size_t i = 0; i < s.size();) {
        std::size_t len = 0;
        std::uint32_t const cp = decode(s, i, len);
        if (len == 0) {
            append_hex_byte(out, static_cast<unsigned char>(s[i]));
            ++i;
            continue;
        }
        if (!xml_char(cp)) {
            if (cp < 0x80) {
                append_hex_byte(out, static_cast<unsigned char>(cp));
            } else {
                char buf[16];
                std::snprintf(buf, sizeof buf, "\\u{%04X}", static_cast<unsigned>(cp));
                out += buf;
            }
            i += len;
            continue;
        }
        switch (cp) {
        case '&':
            out += "&amp;";
            break;
        case '<':
            out += "&lt;";
            break;
        case '>':
            out += "&gt;";
            break;
        case '"':
            out += attribute ? "&quot;" : "\"";
            break;
        case '\r':
            out += "&#13;"; // parsers turn a raw CR into LF
            break;
        case '\n':
            out += attribute ? "&#10;" : "\n";
            break;
        case '\t':
            out += attribute ? "&#9;" : "\t";
            break;
        default:
            out.append(s.substr(i, len));
        }
        i += len;
    }
    return out;
}

std::string to_junit(run_report const& r) {
    tally const all = count(r.results);
    double total_ms = 0;
    for (check::scenario_result const& s : r.results)
        total_ms += s.duration_ms;
    // The plugin-delta suite's testcases count too.
    std::string const totals =
        r.delta ? counts(all, r.delta->changed.size(), broken_count(*r.delta)) : counts(all);

    std::string out = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";
    out += "<testsuites" + attr("name", "lifecheck") + totals +
           attr("time", seconds(r.run.duration_ms > 0 ? r.run.duration_ms : total_ms)) + ">\n";
    for (std::string const& target : target_order(r)) {
        std::string version;
        for (target_info const& t : r.run.targets)
            if (t.name == target)
                version = t.version;
        double suite_ms = 0;
        for (check::scenario_result const& s : r.results)
            if (s.target == target) {
                suite_ms += s.duration_ms;
                if (version.empty())
                    version = s.target_version;
            }
        out += "  <testsuite" + attr("name", target) + counts(count(r.results, target)) +
               attr("time", seconds(suite_ms));
        if (!r.run.started.empty())
            out += attr("timestamp", r.run.started);
        out += ">\n    <properties>\n";
        out += "      <property" + attr("name", "target.version") + attr("value", version) + "/>\n";
        out += "      <property" + attr("name", "run.id") + attr("value", r.run.id) + "/>\n";
        if (r.run.seed)
            out += "      <property" + attr("name", "run.seed") +
                   attr("value", std::to_string(*r.run.seed)) + "/>\n";
        out += "    </properties>\n";
        for (check::scenario_result const& s : r.results)
            if (s.target == target)
                out += testcase(s);
        out += "  </testsuite>\n";
    }
    if (r.delta)
        out += delta_suite(*r.delta, r.run.started);
    out += "</testsuites>\n";
    return out;
}

result<std::filesystem::path> write_junit(std::filesystem::path const& file, run_report const& r) {
    return write_text(file, to_junit(r));
}

} // namespace lifecheck::report
