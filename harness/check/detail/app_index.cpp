// Builds the label → ACTION index and the encapsulation tree of a fastify-dialect app.
#include "harness/check/detail/app_index.hpp"

#include "harness/scenario/route_path.hpp"

#include <cstddef>

namespace lifecheck::check::detail {
namespace {

std::vector<std::string> segments(std::string const& path) {
    std::vector<std::string> out;
    std::string cur;
    for (char c : path) {
        if (c == '/') {
            out.push_back(cur);
            cur.clear();
        } else {
            cur += c;
        }
    }
    out.push_back(cur);
    return out;
}

bool path_matches(std::string const& pattern, std::string const& path) {
    std::vector<std::string> const want = segments(pattern);
    std::vector<std::string> const got = segments(path);
    for (std::size_t i = 0; i < want.size(); ++i) {
        if (want[i] == "*" && i + 1 == want.size())
            return got.size() >= want.size() - 1;
        if (i >= got.size())
            return false;
        if (!want[i].empty() && want[i][0] == ':') {
            if (got[i].empty())
                return false;
            continue;
        }
        if (want[i] != got[i])
            return false;
    }
    return want.size() == got.size();
}

} // namespace

bool route_matches(std::string const& method,
                   std::string const& path,
                   std::string const& request_method,
                   std::string const& request_url) {
    bool const method_ok =
        method == request_method || (request_method == "HEAD" && method == "GET");
    if (!method_ok)
        return false;
    return path_matches(path, request_url.substr(0, request_url.find('?')));
}

bool route_matches(std::string const& method,
                   std::vector<std::string> const& paths,
                   std::string const& request_method,
                   std::string const& request_url) {
    for (std::string const& path : paths)
        if (route_matches(method, path, request_method, request_url))
            return true;
    return false;
}

app_index::app_index(scenario::app const& a) {
    add_scope(a.root, "", "", true);
}

void app_index::add(scenario::action const& a,
                    callback_kind kind,
                    std::optional<scenario::phase> ph,
                    place const& where) {
    if (a.label.empty())
        return; // unlabelled (assign_labels not run): cannot be matched to a trace
    indexed_action entry;
    entry.act = &a;
    entry.kind = kind;
    entry.phase = ph;
    entry.scope = where.scope;
    entry.effective_scope = where.effective;
    entry.route = where.route;
    entry.route_paths = where.route_paths;
    by_label_.emplace(a.label, entry);
}

void app_index::add_hooks(scenario::hook_map const& hooks, place const& where) {
    for (auto const& [ph, actions] : hooks)
        for (scenario::action const& a : actions)
            add(a, callback_kind::hook, ph, where);
}

void app_index::add_scope(scenario::scope const& s,
                          std::string const& effective_parent,
                          std::string const& parent_prefix,
                          bool is_root) {
    // scenario-format §1.1: an `encapsulate: false` plugin runs on its parent and its prefix is
    // ignored.
    bool const encapsulates = is_root || s.encapsulate;
    std::string const effective = encapsulates ? s.name : effective_parent;
    std::string const prefix =
        encapsulates ? scenario::join_prefix(parent_prefix, s.prefix) : parent_prefix;
    effective_[s.name] = effective;
    if (encapsulates)
        parent_[s.name] = is_root ? std::string{} : effective_parent;

    place const here{s.name, effective, nullptr, {}};
    add_hooks(s.hooks, here);
    if (s.error_handler)
        add(*s.error_handler, callback_kind::error_handler, std::nullopt, here);
    if (s.not_found_handler)
        add(*s.not_found_handler, callback_kind::not_found, std::nullopt, here);
    add_hooks(s.not_found_hooks, here); // v2.6: setNotFoundHandler's hook options
    if (s.not_found_error_handler)
        add(*s.not_found_error_handler, callback_kind::error_handler, std::nullopt, here);
    for (scenario::route const& r : s.routes) {
        place const in_route{s.name, effective, &r, scenario::route_paths(prefix, r.url, r.method)};
        add(r.handler, callback_kind::handler, std::nullopt, in_route);
        add_hooks(r.hooks, in_route);
        if (r.error_handler)
            add(*r.error_handler, callback_kind::error_handler, std::nullopt, in_route);
    }
    for (scenario::scope const& child : s.plugins)
        add_scope(child, effective, prefix, false);
    if (s.late) {
        add_hooks(s.late->hooks, here);
        if (s.late->error_handler)
            add(*s.late->error_handler, callback_kind::error_handler, std::nullopt, here);
    }
}

std::vector<indexed_action const*> app_index::find(std::string const& label) const {
    std::vector<indexed_action const*> out;
    auto const [lo, hi] = by_label_.equal_range(label);
    for (auto it = lo; it != hi; ++it)
        out.push_back(&it->second);
    return out;
}

std::vector<indexed_action const*> app_index::find_for(std::string const& label,
                                                       std::string const& method,
                                                       std::string const& url) const {
    std::vector<indexed_action const*> all = find(label);
    if (all.size() < 2)
        return all;
    std::vector<indexed_action const*> kept;
    for (indexed_action const* a : all)
        if (!a->route || route_matches(a->route->method, a->route_paths, method, url))
            kept.push_back(a);
    return kept.empty() ? all : kept;
}

bool app_index::routes(std::string const& method, std::string const& url) const {
    for (auto const& [label, a] : by_label_)
        if (a.kind == callback_kind::handler && a.route &&
            route_matches(a.route->method, a.route_paths, method, url))
            return true;
    return false;
}

std::optional<std::string> app_index::effective_scope(std::string const& scope) const {
    auto const it = effective_.find(scope);
    if (it == effective_.end())
        return std::nullopt;
    return it->second;
}

bool app_index::encloses(std::string const& outer, std::string const& inner) const {
    std::string at = inner;
    for (std::size_t guard = 0; guard <= parent_.size(); ++guard) {
        if (at == outer)
            return true;
        auto const it = parent_.find(at);
        if (it == parent_.end() || it->second.empty())
            return false;
        at = it->second;
    }
    return false; // a cycle cannot come from a tree; stop anyway
}

} // namespace lifecheck::check::detail
