// The invariants of scenario-format §4 (I1–I7), checked on every request of every target.
#pragma once

#include "harness/check/observation.hpp"
#include "harness/check/verdict.hpp"
#include "harness/scenario/scenario.hpp"

#include <string>
#include <vector>

namespace lifecheck::check {

/// Checks I1–I6 on one request; returns one finding (kind "invariant") per violation.
///
/// A request "reached the framework" when the target reported at least one event for it; one
/// that did not (an HTTP-level 400/408/431, an abort inside the head) is exempt from I1.
/// A callback's phase is its cb event's `phase` ("handler", "notFound" and "errorHandler" for
/// non-hooks), or, when that is empty, the phase of the app's ACTION with that label.
/// `app` must be labelled (trace::assign_labels) and outlive the call. The checks only flag
/// what they can attribute with certainty (fastify-lifecycle.md §12): I5 traces a run back to
/// the payload's producer when one send is in flight at a time, counts runs against possible
/// JSON sends when several overlap, and stays silent where it cannot tell.
std::vector<finding> check_invariants(scenario::app const& app, request_observation const& o);

/// The I7 finding for a target process that died (the runner sees the process; `how` is its
/// exit status or signal and what it was doing).
finding target_died(std::string const& how);

} // namespace lifecheck::check
