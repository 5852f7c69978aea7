// Default trace labels, scenario-format §2 and decisions.md D1: PHASE@SCOPE#N, PHASE@route#N,
// handler, ...
#include "harness/trace/label.hpp"

#include <map>
#include <unordered_set>
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
    label_hooks({&s.not_found_hooks}, "notFound@" + s.name); // v2.6: preHandler@notFound@root
    if (s.not_found_error_handler)
        label_if_missing(*s.not_found_error_handler, "errorHandler@notFound@" + s.name);
    for (scenario::route& r : s.routes) {
        label_if_missing(r.handler, "handler");
        label_hooks({&r.hooks}, "route");
        if (r.error_handler)
            label_if_missing(*r.error_handler, "errorHandler@route");
    }
    for (scenario::scope& child : s.plugins)
        label_scope(child);
}

/// Collects labels once each, in first-seen order.
class label_list {
public:
    explicit label_list(std::vector<std::string>& out)
        : out_{out} {}

    void add(std::string const& label) {
        if (seen_.insert(label).second)
            out_.push_back(label);
    }

private:
    std::vector<std::string>& out_;
    std::unordered_set<std::string> seen_;
};

/// Where each kind of label goes.
struct label_lists {
    label_list request;
    label_list on_ready;
    label_list closing;
};

void collect_hooks(hook_map const& hooks, label_lists& out) {
    for (auto const& [ph, actions] : hooks) {
        bool const start_up = ph == phase::on_ready || ph == phase::on_listen ||
                              ph == phase::on_route || ph == phase::on_register;
        label_list& to = start_up                             ? out.on_ready
                         : scenario::is_application_phase(ph) ? out.closing
                                                              : out.request;
        for (action const& a : actions)
            to.add(a.label);
    }
}

void collect_scope(scenario::scope const& s, label_lists& out) {
    collect_hooks(s.hooks, out);
    if (s.late)
        collect_hooks(s.late->hooks, out);
    if (s.error_handler)
        out.request.add(s.error_handler->label);
    if (s.late && s.late->error_handler)
        out.request.add(s.late->error_handler->label);
    if (s.not_found_handler)
        out.request.add(s.not_found_handler->label);
    collect_hooks(s.not_found_hooks, out);
    if (s.not_found_error_handler)
        out.request.add(s.not_found_error_handler->label);
    for (scenario::route const& r : s.routes) {
        out.request.add(r.handler.label);
        collect_hooks(r.hooks, out);
        if (r.error_handler)
            out.request.add(r.error_handler->label);
    }
    for (scenario::scope const& child : s.plugins)
        collect_scope(child, out);
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

app_labels labels_of(scenario::app const& a, scenario::dialect d) {
    app_labels out;
    label_lists lists{label_list{out.request}, label_list{out.on_ready}, label_list{out.closing}};
    if (d == scenario::dialect::koa) {
        // decisions.md D12: LABEL:down when a middleware starts, LABEL:up after its next().
        for (scenario::middleware const& m : a.koa.chain) {
            lists.request.add(m.label + ":down");
            lists.request.add(m.label + ":up");
            if (m.on_catch) // v2.3: LABEL:catch when its catch block starts
                lists.request.add(m.label + ":catch");
        }
        if (a.koa.on_error)
            lists.request.add(a.koa.on_error->label);
        return out;
    }
    collect_scope(a.root, lists);
    return out;
}

} // namespace lifecheck::trace
