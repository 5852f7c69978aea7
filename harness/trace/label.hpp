// Trace labels, scenario-format §2: PHASE@SCOPE#N, handler, notFound@SCOPE, errorHandler@SCOPE.
#pragma once

#include "harness/scenario/scenario.hpp"

#include <string>

namespace lifecheck::trace {

/// Default label of a hook: "onSend@v1", or "onSend@v1#2" when the scope has several hooks of
/// that phase (`count` = how many, counting `hooks` then `late.hooks`).
std::string hook_label(scenario::phase p, std::string const& scope, int index, int count);

/// Fills in the default label of every ACTION of `a` whose file gives none (scenario-format §2).
/// Route-level hooks are "PHASE@route"; handlers "handler"; "notFound@S"; "errorHandler@S";
/// koa middleware keep their `label` (the :down/:up suffix is added when traced).
void assign_labels(scenario::app& a, scenario::dialect d);

} // namespace lifecheck::trace
