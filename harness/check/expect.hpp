// Checks one request's observation against the `expect` fields of its step (scenario-format §1.4).
#pragma once

#include "harness/check/observation.hpp"
#include "harness/check/verdict.hpp"
#include "harness/scenario/scenario.hpp"

#include <vector>

namespace lifecheck::check {

/// Returns one finding per `expect` field that the observation does not meet; empty when all
/// hold. Findings carry `o.req_id` as their step and the field name as their kind.
///
/// Header names compare case-insensitively; a header received several times matches when one
/// of its values (or all of them joined with ", ") equals the expected value. A `json` body is
/// parsed and compared deep-equal, object key order ignored; a body that does not parse is a
/// mismatch. `aborted` and `endAt` need the `end` event: without one they are mismatches.
std::vector<finding> check_expect(scenario::expectation const& expect,
                                  request_observation const& o);

} // namespace lifecheck::check
