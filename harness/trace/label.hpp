// Trace labels, scenario-format §2: PHASE@SCOPE#N, handler, notFound@SCOPE, errorHandler@SCOPE.
#pragma once

#include "harness/scenario/scenario.hpp"

#include <string>
#include <vector>

namespace lifecheck::trace {

/// Default label of a hook: "onSend@v1", or "onSend@v1#2" when the scope has several hooks of
/// that phase (`count` = how many, counting `hooks` then `late.hooks`).
std::string hook_label(scenario::phase p, std::string const& scope, int index, int count);

/// Fills in the default label of every ACTION of `a` whose file gives none (scenario-format §2).
/// Route-level hooks are "PHASE@route"; handlers "handler"; "notFound@S"; "errorHandler@S";
/// koa middleware keep their `label` (the :down/:up suffix is added when traced).
void assign_labels(scenario::app& a, scenario::dialect d);

/// The labels the callbacks of a labelled app (assign_labels) are traced with, each once, in
/// the order the app declares them: what a step's expected trace may name (scenario-format §1.4).
struct app_labels {
    /// Traced per request: hooks of the ten request phases, handlers, not-found and error
    /// handlers; koa: `L:down` and `L:up` of every middleware and the error listener.
    std::vector<std::string> request;
    /// onRoute, onRegister (v2.6), onReady and onListen hooks (start-up): traced with request id
    /// `app`, in the trace of
    /// `startup` when the file has one (v2.5), else in the first step's trace.
    std::vector<std::string> on_ready;
    /// preClose and onClose hooks: traced with request id `app`, in the close step's trace.
    std::vector<std::string> closing;
};

app_labels labels_of(scenario::app const& a, scenario::dialect d);

} // namespace lifecheck::trace
