// Label → ACTION index of a fastify-dialect app and its scope tree, for the invariant checks.
#pragma once

#include "harness/scenario/scenario.hpp"

#include <map>
#include <optional>
#include <string>
#include <vector>

namespace lifecheck::check::detail {

enum class callback_kind { hook, handler, error_handler, not_found };

/// One ACTION of the app with where it was declared.
struct indexed_action {
    scenario::action const* act = nullptr;
    callback_kind kind = callback_kind::hook;
    std::optional<scenario::phase> phase; // hooks only
    std::string scope;                    // the declaring scope's name
    std::string effective_scope; // the encapsulating scope it acts in (scenario-format §1.1: an
                                 // `encapsulate: false` plugin acts in its parent)
    scenario::route const* route = nullptr; // handlers and route-level hooks: their route
    std::vector<std::string> route_paths;   // the route's full paths (scenario::route_paths)
};

/// True when a request `method` and `url` (query ignored) would be routed to `method` and the
/// full route path `path` (`:name` matches one segment, a trailing `*` the rest; HEAD also
/// matches GET, i.e. the HEAD twin is taken to have the GET route's paths, which holds except
/// for "prefix//" of a "/" route under a prefix ending in '/': scenario::head_route_paths).
bool route_matches(std::string const& method,
                   std::string const& path,
                   std::string const& request_method,
                   std::string const& request_url);

/// As above, for a route registered under several full paths (scenario::route_paths: "/" under
/// the prefix "/v1" is "/v1" and "/v1/"): true when one of them matches.
bool route_matches(std::string const& method,
                   std::vector<std::string> const& paths,
                   std::string const& request_method,
                   std::string const& request_url);

/// Every labelled ACTION of an app (scope hooks, late hooks, error and not-found handlers,
/// routes' handlers and hooks, recursively), and the tree of encapsulating scopes.
/// Holds pointers into the app: the app must outlive the index.
class app_index {
public:
    explicit app_index(scenario::app const& a);

    /// The ACTIONs carrying `label` (several when labels collide; none when unknown).
    std::vector<indexed_action const*> find(std::string const& label) const;

    /// As find(), but when the label names several route ACTIONs (every handler defaults to
    /// "handler"), only those of routes that `method` + `url` would reach are kept.
    std::vector<indexed_action const*>
    find_for(std::string const& label, std::string const& method, std::string const& url) const;

    /// True when some route of the app would be reached by `method` + `url`; false means the
    /// request gets a not-found handler (the default one is not traced).
    bool routes(std::string const& method, std::string const& url) const;

    /// The encapsulating scope a scope name acts in; nothing for a name not in the app.
    std::optional<std::string> effective_scope(std::string const& scope) const;

    /// True when effective scope `outer` is `inner` or one of its ancestors.
    bool encloses(std::string const& outer, std::string const& inner) const;

private:
    /// Where an ACTION is declared: scope, encapsulating scope, route (if any).
    struct place {
        std::string scope;
        std::string effective;
        scenario::route const* route = nullptr;
        std::vector<std::string> route_paths;
    };

    void add_scope(scenario::scope const& s,
                   std::string const& effective_parent,
                   std::string const& parent_prefix,
                   bool is_root);
    void add_hooks(scenario::hook_map const& hooks, place const& where);
    void add(scenario::action const& a,
             callback_kind kind,
             std::optional<scenario::phase> ph,
             place const& where);

    std::multimap<std::string, indexed_action> by_label_; // label → declared ACTIONs
    std::map<std::string, std::string> effective_;        // scope name → encapsulating scope
    std::map<std::string, std::string> parent_;           // encapsulating scope → its parent ("")
};

} // namespace lifecheck::check::detail
