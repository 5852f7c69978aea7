// Rewrites steps' `expect` in a scenario file's text, member by member, keeping every other byte.
#include "harness/scenario/rewrite.hpp"

#include <algorithm>
#include <cstddef>
#include <optional>
#include <stdexcept>
#include <utility>

namespace lifecheck::scenario {
namespace {

/// One member of an object in the text: offsets into it.
struct member_span {
    std::string key;
    std::size_t key_start = 0;   // the key's opening quote
    std::size_t key_end = 0;     // one past its closing quote
    std::size_t value_start = 0; // the value's first byte
    std::size_t value_end = 0;   // one past its last byte
};

/// An object in the text: its braces and members.
struct object_span {
    std::size_t open = 0;  // '{'
    std::size_t close = 0; // '}'
    std::vector<member_span> members;
};

/// One change to the text: [start, end) becomes `with`.
struct change {
    std::size_t start = 0;
    std::size_t end = 0;
    std::string with;
};

/// Where the JSON of a text is, without building it. The text is JSON the loader read, so the
/// scanner trusts its shape and only throws when it meets something else.
class scanner {
public:
    explicit scanner(std::string const& text)
        : t_{text} {}

    std::size_t skip_space(std::size_t at) const {
        while (at < t_.size() &&
               (t_[at] == ' ' || t_[at] == '\t' || t_[at] == '\n' || t_[at] == '\r'))
            ++at;
        return at;
    }

    /// One past the value that starts at `at`.
    std::size_t value_end(std::size_t at) const {
        if (at >= t_.size())
            throw std::runtime_error{"a value expected at the end of the text"};
        char const c = t_[at];
        if (c == '"')
            return string_end(at);
        if (c == '{' || c == '[') {
            std::size_t depth = 0;
            for (std::size_t i = at; i < t_.size(); ++i) {
                if (t_[i] == '"') {
                    i = string_end(i) - 1;
                } else if (t_[i] == '{' || t_[i] == '[') {
                    ++depth;
                } else if (t_[i] == '}' || t_[i] == ']') {
                    if (--depth == 0)
                        return i + 1;
                }
            }
            throw std::runtime_error{"an unclosed object or array"};
        }
        std::size_t i = at;
        while (i < t_.size() && std::string_view{" \t\r\n,]}"}.find(t_[i]) == std::string::npos)
            ++i;
        return i;
    }

    object_span object_at(std::size_t open) const {
        expect(open, '{');
        object_span o;
        o.open = open;
        std::size_t at = skip_space(open + 1);
        if (at < t_.size() && t_[at] == '}') {
            o.close = at;
            return o;
        }
        while (true) {
            member_span m;
            m.key_start = at;
            expect(at, '"');
            m.key_end = string_end(at);
            m.key = json::parse(t_.substr(at, m.key_end - at)).get<std::string>();
            at = skip_space(m.key_end);
            expect(at, ':');
            m.value_start = skip_space(at + 1);
            m.value_end = value_end(m.value_start);
            o.members.push_back(std::move(m));
            at = skip_space(o.members.back().value_end);
            if (at < t_.size() && t_[at] == ',') {
                at = skip_space(at + 1);
                continue;
            }
            expect(at, '}');
            o.close = at;
            return o;
        }
    }

    /// The start of each element of the array at `open`.
    std::vector<std::size_t> elements_at(std::size_t open) const {
        expect(open, '[');
        std::vector<std::size_t> out;
        std::size_t at = skip_space(open + 1);
        if (at < t_.size() && t_[at] == ']')
            return out;
        while (true) {
            out.push_back(at);
            at = skip_space(value_end(at));
            if (at < t_.size() && t_[at] == ',') {
                at = skip_space(at + 1);
                continue;
            }
            expect(at, ']');
            return out;
        }
    }

private:
    std::size_t string_end(std::size_t open) const {
        for (std::size_t i = open + 1; i < t_.size(); ++i) {
            if (t_[i] == '\\')
                ++i;
            else if (t_[i] == '"')
                return i + 1;
        }
        throw std::runtime_error{"an unterminated string"};
    }

    void expect(std::size_t at, char c) const {
        if (at >= t_.size() || t_[at] != c)
            throw std::runtime_error{std::string{"'"} + c + "' expected at byte " +
                                     std::to_string(at)};
    }

    std::string const& t_;
};

/// How new values are written: the file's line ending and indent unit, and how objects around
/// the change separate their members.
struct layout {
    std::string nl = "\n";
    std::string unit = "  ";
    std::string colon = ": ";
    std::string comma = ", "; // between members or elements on one line
    bool spread = true;       // nested objects and arrays one element per line
};

/// `v` written at a line indented by `indent`; `lines`: its elements one per line (nested ones
/// too when the layout spreads), else all on one line.
std::string render(json const& v, std::string const& indent, bool lines, layout const& l) {
    if (!v.is_structured() || v.empty())
        return v.dump(-1, ' ', false, json::error_handler_t::replace);
    bool const object = v.is_object();
    std::string out{object ? "{" : "["};
    std::string const inner = indent + l.unit;
    bool first = true;
    for (auto it = v.begin(); it != v.end(); ++it) {
        if (!first)
            out += lines ? "," : l.comma;
        first = false;
        if (lines)
            out += l.nl + inner;
        if (object)
            out += json(it.key()).dump(-1, ' ', false, json::error_handler_t::replace) + l.colon;
        out += render(it.value(), inner, lines && l.spread, l);
    }
    if (lines)
        out += l.nl + indent;
    out += object ? "}" : "]";
    return out;
}

/// Equal as JSON, key order inside objects ignored (the checker reads them so).
bool same(json const& a, json const& b) {
    return nlohmann::json::parse(a.dump(-1, ' ', false, json::error_handler_t::replace)) ==
           nlohmann::json::parse(b.dump(-1, ' ', false, json::error_handler_t::replace));
}

class rewriter {
public:
    explicit rewriter(std::string const& text)
        : t_{text}
        , scan_{text} {
        if (text.find("\r\n") != std::string::npos)
            base_.nl = "\r\n";
        base_.unit = file_unit();
        base_.spread = arrays_spread();
    }

    /// Sets the `expect` of the step object at `at` to `want`.
    void set_expect(std::size_t at, json const& want) {
        object_span const step = scan_.object_at(at);
        for (member_span const& m : step.members) {
            if (m.key != "expect")
                continue;
            json const old = json::parse(t_.substr(m.value_start, m.value_end - m.value_start));
            if (old.is_object() && want.is_object())
                merge(scan_.object_at(m.value_start), old, want);
            else if (!same(old, want))
                replace(step, m, want);
            return;
        }
        append(step, {}, {{"expect", want}}, true);
    }

    /// The JSON offset of the value at `path` ("$.steps[1].parallel[0]").
    std::size_t find(std::string const& path) const {
        if (path.empty() || path[0] != '$')
            throw std::runtime_error{"not a JSONPath: " + path};
        std::size_t at = scan_.skip_space(0);
        std::size_t i = 1;
        while (i < path.size()) {
            if (path[i] == '.') {
                std::size_t const end = path.find_first_of(".[", i + 1);
                std::string const key = path.substr(i + 1, end - i - 1);
                i = end == std::string::npos ? path.size() : end;
                std::optional<std::size_t> next;
                for (member_span const& m : scan_.object_at(at).members)
                    if (m.key == key)
                        next = m.value_start;
                if (!next)
                    throw std::runtime_error{"no member " + key + " on the way to " + path};
                at = *next;
            } else if (path[i] == '[') {
                std::size_t const end = path.find(']', i);
                if (end == std::string::npos)
                    throw std::runtime_error{"not a JSONPath: " + path};
                std::size_t const index = std::stoul(path.substr(i + 1, end - i - 1));
                std::vector<std::size_t> const elements = scan_.elements_at(at);
                if (index >= elements.size())
                    throw std::runtime_error{"no element " + std::to_string(index) +
                                             " on the way to " + path};
                at = elements[index];
                i = end + 1;
            } else {
                throw std::runtime_error{"not a JSONPath: " + path};
            }
        }
        return at;
    }

    std::string apply() && {
        std::sort(changes_.begin(), changes_.end(), [](change const& a, change const& b) {
            return a.start != b.start ? a.start > b.start : a.end > b.end;
        });
        std::string out = t_;
        std::size_t limit = out.size();
        for (change const& c : changes_) {
            if (c.end > limit)
                throw std::runtime_error{"overlapping changes"};
            out.replace(c.start, c.end - c.start, c.with);
            limit = c.start;
        }
        return out;
    }

private:
    /// Makes the object `o` (whose JSON is `old`) equal to `want`, member by member.
    void merge(object_span const& o, json const& old, json const& want) {
        bool const keeps_one =
            std::any_of(o.members.begin(), o.members.end(), [&](member_span const& m) {
                return want.contains(m.key);
            });
        if (!keeps_one && !o.members.empty()) { // nothing to keep: write the object anew
            changes_.push_back(
                {o.open, o.close + 1, render(want, indent_of(o.open), multiline(o), layout_of(o))});
            return;
        }
        std::vector<bool> kept(o.members.size(), false);
        for (std::size_t i = 0; i < o.members.size(); ++i) {
            member_span const& m = o.members[i];
            auto const w = want.find(m.key);
            if (w == want.end())
                continue;
            kept[i] = true;
            json const& was = old.at(m.key);
            if (same(was, *w))
                continue;
            if (was.is_object() && w->is_object() && t_[m.value_start] == '{')
                merge(scan_.object_at(m.value_start), was, *w);
            else
                replace(o, m, *w);
        }
        // A removed member goes with the comma before it, or after it when no kept one precedes.
        bool kept_before = false;
        for (std::size_t i = 0; i < o.members.size(); ++i) {
            member_span const& m = o.members[i];
            if (kept[i]) {
                kept_before = true;
                continue;
            }
            if (kept_before)
                changes_.push_back({o.members[i - 1].value_end, m.value_end, ""});
            else
                changes_.push_back(
                    {m.key_start,
                     i + 1 < o.members.size() ? o.members[i + 1].key_start : m.value_end,
                     ""});
        }
        json added = json::object();
        for (auto it = want.begin(); it != want.end(); ++it)
            if (!old.contains(it.key()))
                added[it.key()] = it.value();
        if (!added.empty())
            append(o, kept, added, false);
    }

    /// Rewrites member `m` of `o` with the value `v`, in the layout of what it replaces.
    void replace(object_span const& o, member_span const& m, json const& v) {
        layout const l = layout_of(o);
        std::string_view const was{t_.data() + m.value_start, m.value_end - m.value_start};
        bool const old_lines = was.find('\n') != std::string_view::npos;
        bool const was_empty = was.size() <= 2 || (was[0] != '{' && was[0] != '[');
        bool const lines = old_lines || (was_empty && multiline(o) && l.spread);
        changes_.push_back(
            {m.value_start, m.value_end, render(v, indent_of(m.key_start), lines, l)});
    }

    /// Adds the members of `added` to `o` after its last kept member (`kept` empty: all are).
    /// `own_lines`: an object value is written one member per line even where nested values
    /// stay on one line (a whole new `expect`).
    void
    append(object_span const& o, std::vector<bool> const& kept, json const& added, bool own_lines) {
        layout const l = layout_of(o);
        bool const lines = multiline(o);
        std::optional<std::size_t> last;
        for (std::size_t i = 0; i < o.members.size(); ++i)
            if (kept.empty() || kept[i])
                last = i;
        std::string const indent = member_indent(o);
        std::string text;
        bool first = !last;
        for (auto it = added.begin(); it != added.end(); ++it) {
            if (!first)
                text += lines ? "," : l.comma;
            first = false;
            if (lines)
                text += l.nl + indent;
            text += json(it.key()).dump(-1, ' ', false, json::error_handler_t::replace) + l.colon;
            bool const spread = lines && (l.spread || (own_lines && it.value().is_object()));
            text += render(it.value(), indent, spread, l);
        }
        std::size_t const at = last ? o.members[*last].value_end : o.open + 1;
        changes_.push_back({at, at, text});
    }

    bool multiline(object_span const& o) const { return t_.find('\n', o.open) < o.close; }

    /// The layout of new values inside `o`: its `:` and `,` spacing, and whether its object and
    /// array members spread over lines (the file's habit when it has none).
    layout layout_of(object_span const& o) const {
        layout l = base_;
        if (!o.members.empty()) {
            member_span const& m = o.members.front();
            l.colon = t_.substr(m.key_end, m.value_start - m.key_end);
            if (l.colon.find('\n') != std::string::npos)
                l.colon = ": ";
        }
        if (o.members.size() >= 2 && !multiline(o))
            l.comma =
                t_.substr(o.members[0].value_end, o.members[1].key_start - o.members[0].value_end);
        else
            l.comma = !l.colon.empty() && l.colon.back() == ' ' ? ", " : ",";
        for (member_span const& m : o.members) {
            char const c = t_[m.value_start];
            if ((c == '{' || c == '[') && m.value_end - m.value_start > 2) {
                l.spread = t_.find('\n', m.value_start) < m.value_end;
                break;
            }
        }
        return l;
    }

    /// The whitespace that starts the line holding `at`.
    std::string indent_of(std::size_t at) const {
        std::size_t const line = t_.rfind('\n', at == 0 ? 0 : at - 1);
        std::size_t const start = line == std::string::npos || at == 0 ? 0 : line + 1;
        std::size_t end = start;
        while (end < t_.size() && (t_[end] == ' ' || t_[end] == '\t'))
            ++end;
        return t_.substr(start, end - start);
    }

    /// The indent of a member of `o` on its own line: that of the first member that starts its
    /// line, else one unit more than the line of `{`.
    std::string member_indent(object_span const& o) const {
        for (member_span const& m : o.members) {
            std::string const indent = indent_of(m.key_start);
            std::size_t const line = t_.rfind('\n', m.key_start);
            if (line != std::string::npos && line + 1 + indent.size() == m.key_start)
                return indent;
        }
        return indent_of(o.open) + base_.unit;
    }

    /// The file's indent unit: the indent of the first indented line (two spaces if none).
    std::string file_unit() const {
        for (std::size_t at = t_.find('\n'); at != std::string::npos; at = t_.find('\n', at + 1)) {
            std::size_t end = at + 1;
            while (end < t_.size() && (t_[end] == ' ' || t_[end] == '\t'))
                ++end;
            if (end > at + 1 && end < t_.size() && t_[end] != '\n' && t_[end] != '\r')
                return t_.substr(at + 1, end - at - 1);
        }
        return "  ";
    }

    /// True when some non-empty array of the file has its elements on lines of their own.
    bool arrays_spread() const {
        for (std::size_t at = t_.find('['); at != std::string::npos; at = t_.find('[', at + 1)) {
            std::size_t const next = t_.find_first_not_of(" \t\r", at + 1);
            if (next != std::string::npos && t_[next] == '\n')
                return true;
        }
        return false;
    }

    std::string const& t_;
    scanner scan_;
    layout base_;
    std::vector<change> changes_;
};

} // namespace

result<std::string> rewrite_expectations(std::string const& text,
                                         std::vector<expect_edit> const& edits) {
    try {
        rewriter r{text};
        for (expect_edit const& e : edits)
            r.set_expect(r.find(e.step_path), e.expect);
        return std::move(r).apply();
    } catch (std::exception const& e) {
        return diagnostic{"", "$", "a scenario text whose steps can be rewritten", e.what()};
    }
}

} // namespace lifecheck::scenario
