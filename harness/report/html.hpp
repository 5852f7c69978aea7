// Writes a run as one self-contained HTML page: summary, filters, and lifecycle diagrams per step.
#pragma once

#include "harness/common/result.hpp"
#include "harness/report/report.hpp"

#include <cstddef>
#include <filesystem>
#include <string>
#include <vector>

namespace lifecheck::report {

/// Response and request bodies are shown up to this many bytes (the page stays small).
constexpr std::size_t html_body_limit = 2048;

/// The report page for a run: inline CSS, JS and SVG, nothing fetched (a CSP forbids it).
///
/// Summary by result class, per target (when several ran) and by tag; the run's command, id,
/// seed and duration; filters (result, tag, target) and a search box. One section per scenario
/// id, anchored `#s-ID`, with one column per target: findings (expected | actual), and per step
/// the request, the response and the trace as an SVG diagram — phases as lanes, scopes as nested
/// bands, each callback a box coloured by its verb, error-handler hops as arrows, end/abort/
/// timeout marks. A trace that differs from `expect` is drawn twice, expected beside actual,
/// with the first diverging position highlighted. All scenario text is escaped.
std::string to_html(run_report const& r);

/// Writes to_html(r) to `file` (folders created). This is what every command that produces a
/// run_report calls to write `reports/index.html`.
result<std::filesystem::path> write_html(std::filesystem::path const& file, run_report const& r);

namespace detail {

/// One box of a lifecycle diagram, as laid out (exposed for tests).
struct diagram_box {
    std::size_t position = 0; // in the trace
    std::string label;
    std::string lane;  // phase
    std::string scope; // band
    std::string does;  // the callback's verb, "" when unknown
    std::string note;  // the rest of the ACTION (delay, when, style, ...)
    int x = 0;
    int y = 0;
};

/// A scope band: rows first..last (its subtree), nested `depth` levels deep.
struct diagram_band {
    std::string name;
    int depth = 0;
    int first = 0;
    int last = 0;
};

/// The lanes and bands a set of traces needs and where each box of one trace goes.
struct diagram_layout {
    std::vector<std::string> lanes; // lifecycle order
    std::vector<int> lane_x;        // where each lane starts
    std::vector<diagram_band> bands;
    std::vector<diagram_box> boxes;
    int width = 0;
    int height = 0;
};

/// Lays out `trace` of one step of `r`; `all_traces` (every trace drawn side by side with it)
/// fixes the lanes so diagrams beside each other line up.
diagram_layout layout_trace(check::scenario_result const& r,
                            std::string const& request,
                            std::vector<std::string> const& trace,
                            std::vector<std::vector<std::string>> const& all_traces);

} // namespace detail

} // namespace lifecheck::report
