// Default trace labels, scenario-format §2 and decisions.md D1: PHASE@SCOPE#N, PHASE@route#N,
// handler, ...
#include "harness/trace/label.hpp"

#include <map>
#include <vector>

namespace lifecheck::trace {
namespace {

using scenario::action;
using scenario::hook_map;
using scenario::phase;

/// How many hooks of each phase the lists hold together.
std::map<phase, int> count_hooks(std::vector<hook_map const*> const& lists) {
    std::map<phase, int> count;
    for (hook_map const* hooks : lists)
        for (auto const& [ph, actions] : *hooks)
            count[ph] += static_cast<int>(actions.size());
    return count;
}

void label_if_missing(action& a, std::string label) {
    if (!a.label_given)
        a.label = std::move(label);
}

/// Labels the hooks of `lists` in order: the N of #N runs across all lists (D1: a scope's
/// `hooks` first, then its `late.hooks`).
void label_hooks(std::vector<hook_map*> const& lists, std::string const& owner) {
    std::vector<hook_map const*> const readonly(lists.begin(), lists.end());
    std::map<phase, int> const count = count_hooks(readonly);
    std::map<phase, int> next;
    for (hook_map* hooks : lists)
        for (auto& [ph, actions] : *hooks)
            for (action& a : actions)
                label_if_missing(a, hook_label(ph, owner, next[ph]++, count.at(ph)));
}

void label_scope(scenario::scope& s) {
    std::vector<hook_map*> lists{&s.hooks};
    if (s.late)
        lists.push_back(&s.late->hooks);
    label_hooks(lists, s.name);
    if (s.error_handler)
        label_if_missing(*s.error_handler, "errorHandler@" + s.name);
    if (s.late && s.late->error_handler)
        label_if_missing(*s.late->error_handler, "errorHandler@" + s.name);
    if (s.not_found_handler)
        label_if_missing(*s.not_found_handler, "notFound@" + s.name);
    for (scenario::route& r : s.routes) {
        label_if_missing(r.handler, "handler");
        label_hooks({&r.hooks}, "route");
    }
    for (scenario::scope& child : s.plugins)
        label_scope(child);
}

} // namespace

std::string hook_label(phase p, std::string const& scope, int index, int count) {
    std::string label = std::string{scenario::to_string(p)} + "@" + scope;
    if (count > 1)
        label += "#" + std::to_string(index);
    return label;
}

void assign_labels(scenario::app& a, scenario::dialect d) {
    if (d == scenario::dialect::koa) {
        // scenario-format §1.5: a middleware is traced by its own label (LABEL:down / LABEL:up),
        // which the loader requires; its before/after ACTIONs carry no label of their own.
        if (a.koa.on_error)
            label_if_missing(*a.koa.on_error, "onError");
        return;
    }
    label_scope(a.root);
}

} // namespace lifecheck::trace
