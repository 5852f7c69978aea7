// The HTML report: one self-contained page (inline CSS/JS/SVG) with lifecycle diagrams per step.
#include "harness/report/html.hpp"

#include "harness/common/text.hpp"
#include "harness/report/assets.hpp" // generated from assets/report.css, report.js (CMakeLists.txt)
#include "harness/report/junit.hpp"
#include "harness/scenario/vocabulary.hpp"

#include <algorithm>
#include <cstdio>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string_view>

namespace lifecheck::report {
namespace {

using check::scenario_result;
using check::step_record;
using check::verdict;

//----------------------------------------------------------------------------------------------
// Escaping. Every piece of scenario, target or run text goes through one of these.

/// Text content (also inside SVG <text>): & < > " escaped; bad UTF-8 and controls made visible.
std::string esc(std::string_view s) {
    return xml_escape(s, false);
}

/// A double-quoted attribute value.
std::string attr(std::string_view s) {
    return xml_escape(s, true);
}

/// `s` cut to `limit` bytes (at a UTF-8 boundary), escaped, with a note when it was cut.
std::string esc_cut(std::string const& s, std::size_t limit) {
    std::string_view const head = utf8_prefix(s, limit);
    std::string out = esc(head);
    if (head.size() < s.size())
        out += "<span class=\"cut\">\xE2\x80\xA6 (" + std::to_string(s.size() - head.size()) +
               " more bytes)</span>";
    return out;
}

std::string num(double v, char const* format) {
    char buf[48];
    std::snprintf(buf, sizeof buf, format, v);
    return buf;
}

std::string duration_text(double ms) {
    if (ms >= 10000)
        return num(ms / 1000, "%.1f s");
    if (ms >= 1000)
        return num(ms / 1000, "%.2f s");
    return num(ms, "%.0f ms");
}

std::string badge(verdict v, std::string const& extra = "") {
    return std::string{"<span class=\"b v-"} + check::to_string(v) + "\">" + check::to_string(v) +
           extra + "</span>";
}

//----------------------------------------------------------------------------------------------
// Lifecycle diagrams.

constexpr int label_w = 92; // the band-name column
constexpr int head_h = 22;  // lane titles
constexpr int row_h = 46;   // one scope band row
constexpr int box_w = 120;
constexpr int box_h = 34;
constexpr int box_gap = 6;
constexpr int lane_pad = 6;
constexpr int band_inset = 5; // each nesting level insets its band by this much
constexpr int hop_room = 22;  // extra width of the errorHandler lane for the hop arrows

/// Lanes in lifecycle order (fastify, then koa). Phases not listed go after them. onRoute and
/// onRegister (v2.6) run while the app registers, before onReady.
constexpr char const* lane_order[] = {
    "onRoute",          "onRegister", "onReady",    "onListen",  "onRequest",      "preParsing",
    "preValidation",    "preHandler", "handler",    "notFound",  "onError",        "errorHandler",
    "preSerialization", "onSend",     "onResponse", "onTimeout", "onRequestAbort", "preClose",
    "onClose",          "down",       "up",
};

std::size_t lane_rank(std::string const& lane) {
    std::size_t i = 0;
    for (char const* l : lane_order) {
        if (lane == l)
            return i;
        ++i;
    }
    return i;
}

struct placed {
    std::string lane;
    std::string scope;
    std::string does;
    std::string note;
};

/// Where a label goes when the app does not know it: PHASE@SCOPE#N, handler, NAME:down.
placed guess(std::string const& label) {
    placed p;
    auto const at = label.find('@');
    auto const colon = label.rfind(':');
    if (at != std::string::npos) {
        p.lane = label.substr(0, at);
        p.scope = label.substr(at + 1, label.find('#', at) - at - 1);
    } else if (colon != std::string::npos) {
        p.lane = label.substr(colon + 1);
        p.scope = label.substr(0, colon);
    } else {
        p.lane = label == "handler" ? "handler" : label;
    }
    return p;
}

placed place_of(scenario_result const& r, std::string const& request, std::string const& label) {
    if (check::callback_info const* c = check::find_callback(r, label, request))
        return {c->phase, c->scope, c->does, c->note};
    return guess(label);
}

/// What a box says the callback did (past tense), from its verb (scenario::verb_table).
std::string did(std::string const& does) {
    for (scenario::verb_entry const& v : scenario::verb_table)
        if (does == v.name)
            return v.past;
    return does.empty() ? "?" : does;
}

/// The operation names of an ops note ("code 201 → send json; callback style" → "code→send"),
/// what fits a box; the tooltip has the whole note.
std::string op_names(std::string const& note) {
    std::string_view const arrow = " \xE2\x86\x92 ";
    std::string_view rest = std::string_view{note}.substr(0, note.find(';'));
    std::string out;
    for (;;) {
        auto const step = rest.substr(0, rest.find(arrow));
        out += std::string{step.substr(0, step.find(' '))};
        if (step.size() == rest.size())
            return out;
        out += "\xE2\x86\x92";
        rest.remove_prefix(step.size() + arrow.size());
    }
}

/// Text that fits a box: at most `n` characters (code points), with an ellipsis when cut.
std::string fit(std::string const& s, std::size_t n) {
    std::size_t chars = 0;
    for (std::size_t i = 0; i < s.size(); ++i) {
        if ((static_cast<unsigned char>(s[i]) & 0xC0) == 0x80)
            continue;
        if (++chars > n)
            return s.substr(0, i) + "\xE2\x80\xA6";
    }
    return s;
}

/// The name a box shows: the label without "@SCOPE" (lane and band say it), "#N" kept.
std::string short_label(std::string const& label, std::string const& scope) {
    auto const at = label.find('@');
    if (at == std::string::npos)
        return label;
    std::string const s = label.substr(at + 1, label.find('#', at) - at - 1);
    if (s != scope && s != "route")
        return label;
    auto const hash = label.find('#', at);
    return label.substr(0, at) + (hash == std::string::npos ? "" : label.substr(hash));
}

using band_row = detail::diagram_band;

std::vector<band_row> bands_of(scenario_result const& r, std::set<std::string> const& extra) {
    std::vector<band_row> rows;
    std::map<std::string, std::size_t> index;
    // Tree order with depths; a child's row range ends at its last descendant.
    std::function<void(std::string const&, int)> visit = [&](std::string const& name, int depth) {
        std::size_t const me = rows.size();
        index[name] = me;
        rows.push_back({name, depth, static_cast<int>(me), static_cast<int>(me)});
        for (check::scope_info const& s : r.scopes)
            if (s.parent == name && !index.count(s.name))
                visit(s.name, depth + 1);
        rows[me].last = static_cast<int>(rows.size()) - 1;
    };
    for (check::scope_info const& s : r.scopes)
        if (s.parent.empty() && !index.count(s.name))
            visit(s.name, 0);
    for (check::scope_info const& s : r.scopes) // a parent that is not a scope of the app
        if (!index.count(s.name))
            visit(s.name, 0);
    for (std::string const& name : extra)
        if (!index.count(name)) {
            index[name] = rows.size();
            int const row = static_cast<int>(rows.size());
            rows.push_back({name, 0, row, row});
        }
    return rows;
}

} // namespace

namespace detail {

diagram_layout layout_trace(scenario_result const& r,
                            std::string const& request,
                            std::vector<std::string> const& trace,
                            std::vector<std::vector<std::string>> const& all_traces) {
    diagram_layout out;
    // Lanes, bands and the widest cell of each lane over every trace drawn side by side, so
    // diagrams beside each other line up.
    std::set<std::string> lanes;
    std::set<std::string> known;
    std::set<std::string> unknown_scopes;
    for (check::scope_info const& s : r.scopes)
        known.insert(s.name);
    std::map<std::string, std::size_t> widest;
    auto const measure = [&](std::vector<std::string> const& t) {
        std::map<std::pair<std::string, std::string>, std::size_t> cells;
        for (std::string const& label : t) {
            placed const p = place_of(r, request, label);
            lanes.insert(p.lane);
            if (!known.count(p.scope))
                unknown_scopes.insert(p.scope);
            std::size_t const n = ++cells[{p.lane, p.scope}];
            widest[p.lane] = std::max(widest[p.lane], n);
        }
    };
    measure(trace);
    for (std::vector<std::string> const& t : all_traces)
        measure(t);
    out.lanes.assign(lanes.begin(), lanes.end());
    // koa: the app's onError listener runs after the onion unwinds, so its lane comes last.
    bool const koa = r.dialect == "koa";
    auto const rank = [koa](std::string const& lane) {
        return koa && lane == "onError" ? std::size_t{1000} : lane_rank(lane);
    };
    std::stable_sort(out.lanes.begin(), out.lanes.end(), [&](auto const& a, auto const& b) {
        return rank(a) < rank(b);
    });
    out.bands = bands_of(r, unknown_scopes);

    std::map<std::string, int> lane_x;
    int x = label_w;
    for (std::string const& lane : out.lanes) {
        lane_x[lane] = x;
        out.lane_x.push_back(x);
        auto const n = static_cast<int>(std::max<std::size_t>(widest[lane], 1));
        x += lane_pad * 2 + n * box_w + (n - 1) * box_gap + (lane == "errorHandler" ? hop_room : 0);
    }
    out.width = std::max(x, label_w + 120) + 2;
    out.height = head_h + static_cast<int>(out.bands.size()) * row_h + 4;

    std::map<std::string, int> row_of;
    for (diagram_band const& b : out.bands)
        row_of[b.name] = b.first;
    std::map<std::pair<std::string, std::string>, int> used;
    for (std::size_t i = 0; i < trace.size(); ++i) {
        placed const p = place_of(r, request, trace[i]);
        int const k = used[{p.lane, p.scope}]++;
        diagram_box b;
        b.position = i;
        b.label = trace[i];
        b.lane = p.lane;
        b.scope = p.scope;
        b.does = p.does;
        b.note = p.note;
        b.x = lane_x[p.lane] + lane_pad + k * (box_w + box_gap);
        b.y = head_h + row_of[p.scope] * row_h + (row_h - box_h) / 2;
        out.boxes.push_back(b);
    }
    return out;
}

} // namespace detail

namespace {

std::string str(int v) {
    return std::to_string(v);
}

struct diagram_marks {
    std::optional<int> end_at;            // boxes from here on ran after `end`
    std::optional<std::size_t> highlight; // the first diverging position
};

std::string css_class_of(std::string const& does) {
    return scenario::parse_verb(does) || does == "ops" ? does : "unknown";
}

/// One lifecycle diagram as inline SVG (markers come from the page's shared <defs>).
std::string svg_diagram(scenario_result const& r,
                        std::string const& request,
                        std::vector<std::string> const& trace,
                        std::vector<std::vector<std::string>> const& all_traces,
                        diagram_marks const& m) {
    detail::diagram_layout const d = detail::layout_trace(r, request, trace, all_traces);
    std::string o = "<svg class=\"dg\" width=\"" + str(d.width) + "\" height=\"" + str(d.height) +
                    "\" viewBox=\"0 0 " + str(d.width) + " " + str(d.height) + "\">";
    // Scope bands: nested rectangles inset by depth; the name in the left column.
    for (detail::diagram_band const& b : d.bands) {
        int const inset = b.depth * band_inset;
        int const y = head_h + b.first * row_h + 2 + b.depth * 2;
        int const h = (b.last - b.first + 1) * row_h - 4 - b.depth * 4;
        o += "<rect class=\"bd d" + str(b.depth % 4) + "\" x=\"" + str(inset + 1) + "\" y=\"" +
             str(y) + "\" width=\"" + str(d.width - 2 * inset - 2) + "\" height=\"" +
             str(std::max(h, 10)) + "\" rx=\"7\"/>";
        o += "<text class=\"bn\" x=\"" + str(inset + 8) + "\" y=\"" +
             str(head_h + b.first * row_h + row_h / 2 + 4) + "\"><title>scope " + esc(b.name) +
             "</title>" + esc(fit(b.name, 11 - static_cast<std::size_t>(std::min(b.depth, 4)))) +
             "</text>";
    }
    // Phase lanes: a separator and a title each.
    for (std::size_t i = 0; i < d.lanes.size(); ++i) {
        int const x = d.lane_x[i];
        o += "<line class=\"ln\" x1=\"" + str(x) + "\" y1=\"4\" x2=\"" + str(x) + "\" y2=\"" +
             str(d.height - 2) + "\"/>";
        o += "<text class=\"lt\" x=\"" + str(x + lane_pad) + "\" y=\"15\">" +
             esc(fit(d.lanes[i], 17)) + "</text>";
    }
    // The order callbacks ran in: a thin arrow from each box to the next; an error handler that
    // hands the error on to another one is a bold arrow (from a scope to its parent).
    auto const centre = [](detail::diagram_box const& b) {
        return std::pair<int, int>{b.x + box_w / 2, b.y + box_h / 2};
    };
    std::optional<std::size_t> last_handler;
    for (std::size_t i = 0; i < d.boxes.size(); ++i) {
        detail::diagram_box const& b = d.boxes[i];
        if (i > 0) {
            auto const [x1, y1] = centre(d.boxes[i - 1]);
            auto const [x2, y2] = centre(b);
            o += "<path class=\"sq\" d=\"M" + str(x1) + " " + str(y1) + " L" + str((x1 + x2) / 2) +
                 " " + str((y1 + y2) / 2) + " L" + str(x2) + " " + str(y2) + "\"/>";
        }
        if (b.lane == "errorHandler") {
            if (last_handler) {
                detail::diagram_box const& a = d.boxes[*last_handler];
                int const x1 = a.x + box_w;
                int const y1 = a.y + box_h / 2;
                int const x2 = b.x + box_w + 4;
                int const y2 = b.y + box_h / 2;
                int const bend = std::max(x1, x2) + hop_room - 2;
                o += "<path class=\"hop\" d=\"M" + str(x1) + " " + str(y1) + " C" + str(bend) +
                     " " + str(y1) + " " + str(bend) + " " + str(y2) + " " + str(x2) + " " +
                     str(y2) + "\"><title>error handed on from " + esc(a.scope) + " to " +
                     esc(b.scope) + "</title></path>";
            }
            last_handler = i;
        }
    }
    // Boxes.
    for (detail::diagram_box const& b : d.boxes) {
        bool const late = m.end_at && static_cast<int>(b.position) >= *m.end_at;
        bool const hl = m.highlight && *m.highlight == b.position;
        std::string cls = "cb c-" + css_class_of(b.does);
        if (late)
            cls += " late";
        if (hl)
            cls += " hl";
        std::string tip = b.label + ": " + (b.does.empty() ? "?" : b.does);
        if (!b.note.empty())
            tip += " (" + b.note + ")";
        if (late)
            tip += ", after end";
        if (hl)
            tip += ", first divergence";
        o += "<g class=\"" + cls + "\" transform=\"translate(" + str(b.x) + "," + str(b.y) +
             ")\"><title>" + esc(tip) +
             "</title><rect/><text x=\"6\" y=\"14\"><tspan class=\"n\">" +
             std::to_string(b.position) + "</tspan> " +
             esc(fit(short_label(b.label, b.scope), 17 - std::to_string(b.position).size())) +
             "</text>";
        std::string what = did(b.does);
        if (b.does == "ops")
            what = op_names(b.note);
        if (b.lane == "onTimeout")
            what = "timeout: " + what;
        if (b.lane == "onRequestAbort")
            what = "abort: " + what;
        o += "<text class=\"w\" x=\"6\" y=\"28\">" + esc(fit(what, 18)) + "</text>";
        if (b.lane == "onRequestAbort" || b.lane == "onTimeout")
            o += "<circle class=\"mk\" cx=\"" + str(box_w - 8) +
                 "\" cy=\"24\" r=\"6\"/><text class=\"mkt\" x=\"" + str(box_w - 8) +
                 "\" y=\"27.5\">" + (b.lane == "onTimeout" ? "T" : "\xC3\x97") + "</text>";
        o += "</g>";
    }
    if (m.highlight && *m.highlight >= d.boxes.size()) {
        // This side ended before the diverging position: say so where the next box would be.
        o += "<text class=\"miss\" x=\"" + str(label_w + 6) + "\" y=\"" + str(d.height - 6) +
             "\">(ends before position " + std::to_string(*m.highlight) + ")</text>";
    }
    o += "</svg>";
    return o;
}

/// The caption under a diagram: end, abort, hang.
std::string diagram_caption(scenario_result const& r,
                            step_record const& s,
                            std::optional<int> end_at,
                            std::size_t n) {
    std::string out;
    bool const hung = std::any_of(r.findings.begin(), r.findings.end(), [&](auto const& f) {
        return f.kind == check::finding_kind::hang && f.step_id == s.id;
    });
    if (s.end_count == 0) {
        if (s.request != "close") // the close step's application hooks have no `end`
            out += std::string{"<span class=\"mark hang\">no end event"} + (hung ? " (hang)" : "") +
                   "</span> ";
    } else {
        out += "<span class=\"mark\">end";
        if (end_at)
            out += " after " + std::to_string(*end_at) + " of " + std::to_string(n) + " callbacks";
        if (s.end_status)
            out += ", status " + std::to_string(*s.end_status);
        out += "</span> ";
        if (s.end_count > 1)
            out +=
                "<span class=\"mark bad\">" + std::to_string(s.end_count) + " end events</span> ";
    }
    if (s.aborted && *s.aborted)
        out += "<span class=\"mark abort\">\xC3\x97 aborted (end.aborted)</span> ";
    if (s.client_aborted)
        out += "<span class=\"mark abort\">client closed on purpose</span> ";
    return out;
}

//----------------------------------------------------------------------------------------------
// Per step and per target.

check::finding const* trace_finding(scenario_result const& r, std::string const& step) {
    for (check::finding const& f : r.findings)
        if (f.kind == check::finding_kind::trace && f.step_id == step && f.divergence)
            return &f;
    return nullptr;
}

std::string headers_table(scenario::header_list const& h) {
    if (h.empty())
        return "";
    std::string o = "<table class=\"hd\">";
    for (auto const& [name, value] : h)
        o += "<tr><th>" + esc(name) + "</th><td>" + esc_cut(value, 512) + "</td></tr>";
    return o + "</table>";
}

/// Expected | actual labels, one row per position, the first divergence highlighted.
std::string trace_table(std::vector<std::string> const& want,
                        std::vector<std::string> const& got,
                        std::size_t position) {
    std::string o = "<table class=\"tt\"><tr><th>#</th><th>expected</th><th>actual</th></tr>";
    std::size_t const n = std::max(want.size(), got.size());
    for (std::size_t i = 0; i < n; ++i) {
        o += std::string{"<tr"} + (i == position ? " class=\"dv\"" : "") + "><td>" +
             std::to_string(i) + "</td><td>" + (i < want.size() ? esc(want[i]) : "\xE2\x80\x94") +
             "</td><td>" + (i < got.size() ? esc(got[i]) : "\xE2\x80\x94") + "</td></tr>";
    }
    return o + "</table>";
}

std::string step_block(scenario_result const& r, step_record const& s) {
    std::string o = "<div class=\"st\"><div class=\"sh\"><b>step " + esc(s.id) + "</b>";
    if (!s.request.empty())
        o += " <code>" + esc(s.request) + "</code>";
    if (!s.client.empty())
        o += " <span class=\"cl\">client: " + esc(s.client) + "</span>";
    o += "</div>";
    if (!s.request_text.empty())
        o += "<details class=\"rq\"><summary>request bytes (" +
             std::to_string(s.request_text.size()) + ")</summary><pre>" +
             esc_cut(s.request_text, html_body_limit) + "</pre></details>";

    // The response as the client saw it.
    o += "<div class=\"rs\">";
    if (s.got_response) {
        bool const status_off = s.expected_status && *s.expected_status != s.status;
        o += std::string{"<span class=\"status"} + (status_off ? " off" : "") + "\">" +
             std::to_string(s.status) + "</span>";
        if (status_off)
            o += " <span class=\"exp\">expected " + std::to_string(*s.expected_status) + "</span>";
    } else if (s.request != "close") {
        o += "<span class=\"status none\">no response</span>";
    }
    if (s.request != "close") {
        o += " <span class=\"fate\">connection " + esc(s.connection) + "</span>";
        o += s.complete ? " <span class=\"fate\">body complete</span>"
                        : " <span class=\"fate off\">body incomplete</span>";
    }
    if (!s.client_error.empty())
        o += " <span class=\"fate off\">" + esc(s.client_error) + "</span>";
    o += "</div>";
    if (s.got_response) {
        o += "<details class=\"rb\"><summary>headers (" + std::to_string(s.headers.size()) +
             "), body (" + std::to_string(s.body.size()) + " bytes)</summary>" +
             headers_table(s.headers) + "<pre>" + esc_cut(s.body, html_body_limit) +
             "</pre></details>";
    }

    // The trace: one diagram, or expected beside actual when they differ.
    diagram_marks marks;
    marks.end_at = s.end_at;
    check::finding const* tf = trace_finding(r, s.id);
    if (tf && s.expected_trace) {
        std::vector<std::vector<std::string>> const both{*s.expected_trace, s.trace};
        diagram_marks want_marks;
        want_marks.highlight = tf->divergence->position;
        marks.highlight = tf->divergence->position;
        o += "<div class=\"dvg\">first divergence at position " +
             std::to_string(tf->divergence->position) + ": expected <b>" +
             esc(tf->divergence->expected.value_or("(nothing)")) + "</b>, actual <b>" +
             esc(tf->divergence->actual.value_or("(nothing)")) + "</b></div>";
        o += "<div class=\"pair\"><figure><figcaption>expected</figcaption>" +
             svg_diagram(r, s.request, *s.expected_trace, both, want_marks) +
             "</figure><figure><figcaption>actual</figcaption>" +
             svg_diagram(r, s.request, s.trace, both, marks) + "<div class=\"cap\">" +
             diagram_caption(r, s, s.end_at, s.trace.size()) + "</div></figure></div>";
        o += "<details class=\"tl\"><summary>trace labels side by side</summary>" +
             trace_table(*s.expected_trace, s.trace, tf->divergence->position) + "</details>";
    } else if (tf) {
        o += "<pre class=\"diff\">" + esc(tf->detail) + "</pre>";
        o += "<figure>" + svg_diagram(r, s.request, s.trace, {}, marks) + "<div class=\"cap\">" +
             diagram_caption(r, s, s.end_at, s.trace.size()) + "</div></figure>";
    } else if (!s.trace.empty()) {
        o += "<figure>" + svg_diagram(r, s.request, s.trace, {}, marks) + "<div class=\"cap\">" +
             diagram_caption(r, s, s.end_at, s.trace.size()) + "</div></figure>";
    } else {
        o += "<div class=\"cap\"><span class=\"mark\">no callback ran</span> " +
             diagram_caption(r, s, s.end_at, 0) + "</div>";
    }
    return o + "</div>";
}

std::string findings_block(scenario_result const& r) {
    std::string o;
    if (r.v == verdict::skip && !r.skip_reason.empty())
        o += "<p class=\"note\">skipped: " + esc(r.skip_reason) + "</p>";
    if (r.v == verdict::divergence)
        o += "<p class=\"note\">documented divergence (" + esc(r.divergence_class) + ", shows " +
             check::to_string(r.shown) + "): " + esc(r.divergence_note) + "</p>";
    if (r.findings.empty())
        return o;
    o += "<table class=\"fd\"><tr><th>finding</th><th>expected</th><th>actual</th></tr>";
    for (check::finding const& f : r.findings) {
        o += "<tr><td>" + esc(check::describe(f)) + "</td><td>" + esc_cut(f.expected, 512) +
             "</td><td>" + esc_cut(f.actual, 512) + "</td></tr>";
        // A trace diff is drawn under its step; other detail (a crashed target's stderr) here.
        if (!f.detail.empty() && f.kind != check::finding_kind::trace)
            o += "<tr><td colspan=\"3\"><pre class=\"diff\">" + esc_cut(f.detail, 8192) +
                 "</pre></td></tr>";
    }
    return o + "</table>";
}

std::string target_column(scenario_result const& r) {
    std::string o = "<div class=\"tc\" data-target=\"" + attr(r.target) + "\" data-v=\"" +
                    check::to_string(r.v) + "\"><div class=\"th\">" + badge(r.v) + " <b>" +
                    esc(r.target) + "</b>";
    if (!r.target_version.empty())
        o += " <span class=\"ver\">" + esc(r.target_version) + "</span>";
    o += " <span class=\"dur\">" + duration_text(r.duration_ms) + "</span></div>";
    o += findings_block(r);
    for (step_record const& s : r.steps)
        o += step_block(r, s);
    if (!r.replay_command.empty())
        o += "<div class=\"rp\">replay: <code>" + esc(r.replay_command) + "</code></div>";
    return o + "</div>";
}

bool problem(verdict v) {
    return v == verdict::fail || v == verdict::crash || v == verdict::hang || v == verdict::error;
}

std::string scenario_section(std::vector<scenario_result const*> const& rs) {
    scenario_result const& first = *rs.front();
    std::string verdicts;
    std::string targets;
    bool open = false;
    for (scenario_result const* r : rs) {
        verdicts += std::string{verdicts.empty() ? "" : " "} + check::to_string(r->v);
        targets += (targets.empty() ? "" : "\n") + r->target;
        open = open || problem(r->v);
    }
    std::string tags;
    for (std::string const& t : first.tags)
        tags += (tags.empty() ? "" : "\n") + t;
    std::string const query =
        lower(first.scenario_id + " " + first.description + " " + tags + " " + first.file);
    std::string o = "<section class=\"sc\" id=\"s-" + attr(first.scenario_id) + "\" data-v=\"" +
                    verdicts + "\" data-tags=\"" + attr(tags) + "\" data-targets=\"" +
                    attr(targets) + "\" data-q=\"" + attr(query) + "\"><details" +
                    (open ? " open" : "") + "><summary>";
    for (scenario_result const* r : rs)
        o += badge(r->v) + " ";
    o += "<a class=\"id\" href=\"#s-" + attr(first.scenario_id) + "\">" + esc(first.scenario_id) +
         "</a>";
    if (!first.description.empty())
        o += " <span class=\"desc\">" + esc(first.description) + "</span>";
    for (std::string const& t : first.tags)
        o += " <span class=\"tag\">" + esc(t) + "</span>";
    o += "</summary><div class=\"cols\">";
    for (scenario_result const* r : rs)
        o += target_column(*r);
    return o + "</div></details></section>\n";
}

//----------------------------------------------------------------------------------------------
// The page.

std::string counts_row(tally const& t) {
    std::string o;
    for (verdict v : all_verdicts())
        o += "<td class=\"" + std::string{t.of(v) ? "nz v-" : "z v-"} + check::to_string(v) +
             "\">" + std::to_string(t.of(v)) + "</td>";
    return o;
}

std::string counts_head(char const* first) {
    std::string o = std::string{"<tr><th>"} + first + "</th>";
    for (verdict v : all_verdicts())
        o += std::string{"<th>"} + check::to_string(v) + "</th>";
    return o + "<th>total</th></tr>";
}

std::string summary(run_report const& r, std::vector<std::string> const& targets) {
    tally const all = count(r.results);
    std::string o = "<div class=\"cards\">";
    for (verdict v : all_verdicts())
        o += std::string{"<button class=\"card v-"} + check::to_string(v) + "\" data-only=\"" +
             check::to_string(v) + "\" title=\"show only " + check::to_string(v) +
             "\"><span class=\"cn\" id=\"n-" + check::to_string(v) + "\">" +
             std::to_string(all.of(v)) + "</span><span class=\"cl\">" + check::to_string(v) +
             "</span></button>";
    o += "<div class=\"card tot\"><span class=\"cn\" id=\"n-total\">" + std::to_string(all.total) +
         "</span><span class=\"cl\">results</span></div></div>";

    if (targets.size() > 1) {
        o += "<h2>per target</h2><table class=\"ct\">" + counts_head("target");
        for (std::string const& t : targets) {
            tally const c = count(r.results, t);
            o += "<tr><th>" + esc(t) + "</th>" + counts_row(c) + "<td>" + std::to_string(c.total) +
                 "</td></tr>";
        }
        o += "</table>";
    }

    std::map<std::string, std::vector<scenario_result>> by_tag;
    for (scenario_result const& s : r.results)
        for (std::string const& t : s.tags)
            by_tag[t].push_back(s);
    if (!by_tag.empty()) {
        o += "<details class=\"tags\"><summary><h2>by tag (" + std::to_string(by_tag.size()) +
             ")</h2></summary><table class=\"ct\">" + counts_head("tag");
        for (auto const& [tag, results] : by_tag) {
            tally const c = count(results);
            o += "<tr><th><a href=\"#\" data-tag=\"" + attr(tag) + "\">" + esc(tag) + "</a></th>" +
                 counts_row(c) + "<td>" + std::to_string(c.total) + "</td></tr>";
        }
        o += "</table></details>";
    }

    std::string problems;
    for (scenario_result const& s : r.results)
        if (problem(s.v))
            problems +=
                "<li>" + badge(s.v) + " <a href=\"#s-" + attr(s.scenario_id) + "\">" +
                esc(s.scenario_id) + "</a>" +
                (targets.size() > 1 ? " <span class=\"ver\">" + esc(s.target) + "</span>" : "") +
                (s.findings.empty()
                     ? ""
                     : " <span class=\"desc\">" +
                           esc(fit(check::describe(s.findings.front()), 140)) + "</span>") +
                "</li>";
    if (!problems.empty())
        o += "<h2>problems</h2><ul class=\"pr\">" + problems + "</ul>";
    return o;
}

std::string filters(run_report const& r, std::vector<std::string> const& targets) {
    std::string o = "<div class=\"fl\" id=\"filters\"><span class=\"fg\">";
    for (verdict v : all_verdicts())
        o += std::string{"<label class=\"v-"} + check::to_string(v) +
             "\"><input type=\"checkbox\" name=\"v\" value=\"" + check::to_string(v) +
             "\" checked> " + check::to_string(v) + "</label>";
    o += "</span><select id=\"f-tag\"><option value=\"\">all tags</option>";
    std::set<std::string> tags;
    for (scenario_result const& s : r.results)
        tags.insert(s.tags.begin(), s.tags.end());
    for (std::string const& t : tags)
        o += "<option value=\"" + attr(t) + "\">" + esc(t) + "</option>";
    o += "</select><select id=\"f-target\"><option value=\"\">all targets</option>";
    for (std::string const& t : targets)
        o += "<option value=\"" + attr(t) + "\">" + esc(t) + "</option>";
    o += "</select><input type=\"search\" id=\"f-q\" placeholder=\"search id, description, tag\" "
         "size=\"32\"><button id=\"f-open\">expand all</button><button id=\"f-close\">collapse "
         "all</button><button id=\"f-reset\">reset</button><span id=\"shown\"></span></div>";
    return o;
}

std::string legend() {
    std::string o = "<div class=\"lg\"><span class=\"lgt\">boxes:</span>";
    for (scenario::verb_entry const& v : scenario::verb_table)
        o += std::string{"<span class=\"sw c-"} + v.name + "\">" + v.past + "</span>";
    o += "<span class=\"sw c-ops\">ran ops (hover: the sequence)</span>";
    o += "<span class=\"sw late\">after end (dashed)</span><span class=\"sw hlk\">first "
         "divergence</span><span class=\"lgt\">bold red arrow: error handed to the parent "
         "scope's handler; bands: scopes, nested; columns: phases</span></div>";
    return o;
}

} // namespace

std::string to_html(run_report const& r) {
    std::vector<std::string> const targets = target_order(r);
    std::string const version =
        r.run.lifecheck_version.empty() ? lifecheck_version() : r.run.lifecheck_version;

    std::string o = "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
                    "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; "
                    "style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:\">"
                    "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
                    "<title>lifecheck report " +
                    esc(r.run.id) + "</title><style>" + assets::report_css +
                    "</style></head>\n<body>";
    // Shared arrowheads for every diagram.
    o +=
        "<svg width=\"0\" height=\"0\" style=\"position:absolute\" aria-hidden=\"true\"><defs>"
        "<marker id=\"lc-arr\" viewBox=\"0 0 10 10\" refX=\"6\" refY=\"5\" markerWidth=\"7\" "
        "markerHeight=\"7\" orient=\"auto\"><path d=\"M0 1L9 5L0 9z\" fill=\"#7d8799\"/></marker>"
        "<marker id=\"lc-hop\" viewBox=\"0 0 10 10\" refX=\"8\" refY=\"5\" markerWidth=\"6\" "
        "markerHeight=\"6\" orient=\"auto\"><path d=\"M0 0L10 5L0 10z\" fill=\"#d32f2f\"/></marker>"
        "</defs></svg>\n";

    o += "<header><h1>lifecheck report</h1><div class=\"run\">";
    o += "<div>command: <code>" + esc(r.run.command) + "</code></div><div>run <code>" +
         esc(r.run.id) + "</code>";
    if (r.run.seed)
        o += " \xC2\xB7 seed <code>" + std::to_string(*r.run.seed) + "</code>";
    o += " \xC2\xB7 started " + esc(r.run.started) + " \xC2\xB7 duration " +
         duration_text(r.run.duration_ms) + " \xC2\xB7 lifecheck " + esc(version) + "</div>";
    if (!r.run.interrupted.empty())
        o += "<div><b>interrupted by " + esc(r.run.interrupted) +
             "</b>: the scenarios it left unrun are skipped</div>";
    o += "<div>target(s): ";
    for (std::size_t i = 0; i < r.run.targets.size(); ++i)
        o += (i ? ", " : "") + std::string{"<b>"} + esc(r.run.targets[i].name) + "</b>" +
             (r.run.targets[i].version.empty()
                  ? ""
                  : " <span class=\"ver\">" + esc(r.run.targets[i].version) + "</span>");
    o += "</div></div></header>\n";
    o += "<div id=\"summary\">" + summary(r, targets) + "</div>";
    o += filters(r, targets) + legend() + "\n<main>\n";

    // One section per scenario id (first appearance order), one column per target.
    std::vector<std::string> order;
    std::map<std::string, std::vector<scenario_result const*>> by_id;
    for (scenario_result const& s : r.results) {
        auto& slot = by_id[s.scenario_id];
        if (slot.empty())
            order.push_back(s.scenario_id);
        slot.push_back(&s);
    }
    for (std::string const& id : order) {
        auto& rs = by_id[id];
        std::stable_sort(rs.begin(), rs.end(), [&](auto const* a, auto const* b) {
            auto const ia = std::find(targets.begin(), targets.end(), a->target);
            auto const ib = std::find(targets.begin(), targets.end(), b->target);
            return ia < ib;
        });
        o += scenario_section(rs);
    }
    o += "</main>\n<script>" + std::string{assets::report_js} + "</script></body></html>\n";
    return o;
}

result<std::filesystem::path> write_html(std::filesystem::path const& file, run_report const& r) {
    return write_text(file, to_html(r));
}

} // namespace lifecheck::report
