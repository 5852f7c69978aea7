// What changed between two results of one scenario (compare.hpp).
#include "harness/check/compare.hpp"

#include "harness/common/text.hpp"

#include <algorithm>
#include <cstddef>
#include <map>
#include <utility>

namespace lifecheck::check {
namespace {

std::string quoted_body(std::string const& body) {
    std::string out = "\"";
    for (char c : utf8_prefix(body, 80)) {
        if (c == '\n')
            out += "\\n";
        else if (c == '"')
            out += "\\\"";
        else
            out += c;
    }
    out += body.size() > 80 ? "...\"" : "\"";
    return out;
}

std::string joined(std::vector<std::string> const& v) {
    std::string out = "[";
    for (std::size_t i = 0; i < v.size(); ++i)
        out += (i ? ", " : "") + v[i];
    return out + "]";
}

std::string status_of(step_record const& s) {
    return s.got_response ? std::to_string(s.status) : std::string{"no response"};
}

bool broken(verdict v) {
    return v == verdict::fail || v == verdict::crash || v == verdict::hang;
}

/// (step, invariant id) → the first message of each invariant a result found broken; I7 (the
/// target died) is the result `crash` and is compared as such.
std::map<std::pair<std::string, std::string>, std::string>
broken_invariants(scenario_result const& r) {
    std::map<std::pair<std::string, std::string>, std::string> out;
    for (finding const& f : r.findings)
        if (f.kind == finding_kind::invariant && f.invariant_id != "I7")
            out.emplace(std::make_pair(f.step_id, f.invariant_id), f.message);
    return out;
}

} // namespace

std::string describe(change const& c) {
    std::string const at = c.step.empty() ? "" : "step " + c.step + ": ";
    switch (c.kind) {
    case change_kind::result:
        return "result: " + c.before + " -> " + c.after;
    case change_kind::status:
        return at + "status " + c.before + " -> " + c.after;
    case change_kind::trace:
        return at + "trace " + c.before + " -> " + c.after;
    case change_kind::body:
        return at + "body " + c.before + " -> " + c.after;
    case change_kind::invariant:
        return c.breaks ? at + c.invariant_id + " breaks: " + c.after
                        : at + c.invariant_id + " no longer breaks (was: " + c.before + ")";
    }
    return at;
}

std::vector<change>
step_changes(scenario_result const& before, scenario_result const& after, bool bodies) {
    std::vector<change> out;
    std::size_t const n = std::max(before.steps.size(), after.steps.size());
    for (std::size_t i = 0; i < n; ++i) {
        step_record const empty;
        step_record const& x = i < before.steps.size() ? before.steps[i] : empty;
        step_record const& y = i < after.steps.size() ? after.steps[i] : empty;
        std::string const id = x.id.empty() ? y.id : x.id;
        if (x.got_response != y.got_response || x.status != y.status)
            out.push_back({change_kind::status, id, status_of(x), status_of(y), "", false});
        if (x.trace != y.trace)
            out.push_back({change_kind::trace, id, joined(x.trace), joined(y.trace), "", false});
        if (bodies && x.body != y.body)
            out.push_back(
                {change_kind::body, id, quoted_body(x.body), quoted_body(y.body), "", false});
    }
    return out;
}

verdict lifecycle_verdict(scenario_result const& r) {
    if (r.shown == verdict::crash || r.shown == verdict::hang || r.shown == verdict::skip ||
        r.shown == verdict::error)
        return r.shown;
    bool const invariant = std::any_of(r.findings.begin(), r.findings.end(), [](finding const& f) {
        return f.kind == finding_kind::invariant;
    });
    return invariant ? verdict::fail : verdict::pass;
}

std::vector<change> lifecycle_changes(scenario_result const& before, scenario_result const& after) {
    std::vector<change> out;
    verdict const a = lifecycle_verdict(before);
    verdict const b = lifecycle_verdict(after);
    bool const ran_both =
        (a == verdict::pass || a == verdict::fail) && (b == verdict::pass || b == verdict::fail);
    if (a != b && !ran_both) // pass <-> fail: the invariant changes below say which and where
        out.push_back({change_kind::result,
                       "",
                       to_string(a),
                       to_string(b),
                       "",
                       (b == verdict::crash || b == verdict::hang) && !broken(a)});
    std::vector<change> steps = step_changes(before, after, false);
    out.insert(out.end(), steps.begin(), steps.end());
    auto const was = broken_invariants(before);
    auto const now = broken_invariants(after);
    for (auto const& [key, message] : now)
        if (was.count(key) == 0)
            out.push_back({change_kind::invariant, key.first, "", message, key.second, true});
    for (auto const& [key, message] : was)
        if (now.count(key) == 0)
            out.push_back({change_kind::invariant, key.first, message, "", key.second, false});
    return out;
}

} // namespace lifecheck::check
