// First divergence of two traces and their side-by-side rendering for failure reports.
#include "harness/check/trace_diff.hpp"

#include <algorithm>
#include <string>

namespace lifecheck::check {

std::optional<trace_divergence> first_divergence(trace_labels const& expected,
                                                 trace_labels const& actual) {
    std::size_t const n = std::max(expected.size(), actual.size());
    for (std::size_t i = 0; i < n; ++i) {
        bool const has_e = i < expected.size();
        bool const has_a = i < actual.size();
        if (has_e && has_a && expected[i] == actual[i])
            continue;
        trace_divergence d;
        d.position = i;
        if (has_e)
            d.expected = expected[i];
        if (has_a)
            d.actual = actual[i];
        return d;
    }
    return std::nullopt;
}

namespace {

constexpr char const* missing = "(none)"; // a side that has no label at this position

std::string pad(std::string s, std::size_t width) {
    if (s.size() < width)
        s.append(width - s.size(), ' ');
    return s;
}

std::string cell(trace_labels const& t, std::size_t i) {
    return i < t.size() ? t[i] : std::string{missing};
}

} // namespace

std::string
side_by_side(trace_labels const& expected, trace_labels const& actual, std::size_t context) {
    std::size_t const n = std::max(expected.size(), actual.size());
    auto const diff = first_divergence(expected, actual);

    std::size_t first = 0;
    std::size_t last = n; // exclusive
    if (diff) {
        first = diff->position > context ? diff->position - context : 0;
        last = std::min(n, diff->position + context + 1);
    }

    std::string const head_e = "expected";
    std::size_t width = head_e.size();
    for (std::size_t i = first; i < last; ++i)
        width = std::max(width, cell(expected, i).size());
    std::size_t const index_width = std::max<std::size_t>(1, std::to_string(n).size());

    std::string out;
    out += "   " + pad("#", index_width) + "  " + pad(head_e, width) + " | actual\n";
    if (n == 0)
        out += "   " + pad("", index_width) + "  " + pad("(empty)", width) + " | (empty)\n";
    if (first > 0)
        out += "   " + pad("...", index_width) + "\n";
    for (std::size_t i = first; i < last; ++i) {
        bool const marked = diff && diff->position == i;
        out += marked ? ">> " : "   ";
        out += pad(std::to_string(i), index_width) + "  " + pad(cell(expected, i), width) + " | " +
               cell(actual, i) + "\n";
    }
    if (last < n)
        out += "   " + pad("...", index_width) + "\n";
    return out;
}

} // namespace lifecheck::check
