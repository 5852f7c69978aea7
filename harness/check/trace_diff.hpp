// Compares an observed lifecycle trace with the expected one and names the first divergence.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <vector>

namespace lifecheck::check {

/// A trace: callback labels in the order they started (scenario-format §2).
using trace_labels = std::vector<std::string>;

/// Where two traces first differ, with both sides of that position.
///
/// `position` indexes the trace labels (0-based); a side that ended early has no label there.
struct trace_divergence {
    std::size_t position = 0;
    std::optional<std::string> expected;
    std::optional<std::string> actual;
};

/// Returns the first position at which `actual` departs from `expected`, or nothing if equal.
std::optional<trace_divergence> first_divergence(trace_labels const& expected,
                                                 trace_labels const& actual);

/// Renders both traces in two columns, "expected | actual", one position per line, the first
/// diverging line prefixed with `>>`. Only `context` lines either side of that position are
/// shown (elided runs become `...`); equal traces are shown whole. Ends with a newline.
std::string
side_by_side(trace_labels const& expected, trace_labels const& actual, std::size_t context = 3);

} // namespace lifecheck::check
