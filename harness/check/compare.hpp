// What changed between two results of one scenario: the class, each step's status, trace and
// body, and which invariants broke (lifecheck changelog; lifecheck run --with-plugin, D35).
#pragma once

#include "harness/check/verdict.hpp"

#include <string>
#include <vector>

namespace lifecheck::check {

/// What a change is about.
enum class change_kind { result, status, trace, body, invariant };

/// One difference between a result `before` and a result `after` of the same scenario.
struct change {
    change_kind kind = change_kind::result;
    std::string step;   // the step id; "" for `result`
    std::string before; // as printed: "pass", "200", "[a, b]", "\"text\"", "" (invariant held)
    std::string after;
    std::string invariant_id; // `invariant`: "I1".."I6"
    bool breaks = false; // the lifecycle broke in `after` where it held in `before` (an invariant
                         // that broke, or a result that became crash or hang)
};

/// "result: crash -> pass", "step r1: status 200 -> 204", "step r1: I6 breaks: MESSAGE",
/// "step r1: I6 no longer breaks".
std::string describe(change const& c);

/// Per step (matched by position, as both results ran the same steps): the status (or "no
/// response"), the trace and, when `bodies`, the body (quoted, at most 80 bytes).
std::vector<change>
step_changes(scenario_result const& before, scenario_result const& after, bool bodies);

/// The result class for lifecycle integrity: crash, hang, skip and error as they are, otherwise
/// fail when an invariant finding is left (expect findings do not count), else pass.
verdict lifecycle_verdict(scenario_result const& r);

/// What `lifecheck run --with-plugin` reports for one scenario run without (`before`) and with
/// (`after`) the plugin: the lifecycle_verdict when either is crash, hang, skip or error and they
/// differ; status and trace per step; invariants (step and id) broken on one side only.
std::vector<change> lifecycle_changes(scenario_result const& before, scenario_result const& after);

} // namespace lifecheck::check
