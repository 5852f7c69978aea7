// The koa dialect (scenario-format §1.5) on the model's event loop: koa-compose's onion, Koa 2's
// respond() and ctx.onerror(), as real Koa 2.16.4 behind server_under_test/koa/adapter.mjs runs
// them.
#pragma once

#include "harness/model/model.hpp"
#include "harness/scenario/scenario.hpp"

#include <string>
#include <vector>

namespace lifecheck::model::detail {

/// Predicts every request, raw and close step of a koa-dialect scenario, like model::predict.
std::vector<step_prediction> predict_koa(scenario::scenario const& sc);

/// The reason phrase of the `statuses` package Koa uses (codes.json), "" when it has none.
/// It differs from Node's table in places (418 "I'm a teapot", 425 "Unordered Collection").
std::string koa_status_text(int status);

} // namespace lifecheck::model::detail
