// Builds the model of a Fastify app from a scenario's scope tree: the plugin loading order
// (avvio), hook arrays per instance, error-handler chains, routes and not-found contexts.
#pragma once

#include "harness/scenario/scenario.hpp"

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace lifecheck::model::detail {

/// One node of an error-handler chain (fastify-lifecycle §4.3). `act == nullptr` is Fastify's
/// default handler; its parent is the sentinel (nullptr), after which the fallback writer answers.
struct eh_node {
    scenario::action const* act = nullptr;
    std::shared_ptr<eh_node const> parent;
    struct instance const* owner = nullptr; // v2.6: `this` of the handler (fastify.js binds it)
};

/// A hook function in a hook array: a scenario ACTION or Fastify's own HEAD onSend step.
struct hook_fn {
    scenario::action const* act = nullptr; // null for the internal HEAD onSend step
};

using hook_arrays = std::map<scenario::phase, std::vector<hook_fn>>;

/// A Fastify instance (the root or an encapsulated plugin) while plugins load.
struct instance {
    std::string name;
    instance* parent = nullptr;
    std::string prefix;                             // kRoutePrefix: the joined prefixes
    bool not_found_level = false;                   // created with a prefix (arrange404)
    bool can_set_not_found = true;                  // kCanSetNotFoundHandler of a level instance
    hook_arrays hooks;                              // request hooks, in application order (§3.2)
    std::vector<scenario::action const*> on_ready;  // own, not inherited (§3.4)
    std::vector<scenario::action const*> on_listen; // own, not inherited (v2.5)
    std::vector<scenario::action const*> on_route;  // v2.6: own + the parent's at creation
    std::vector<scenario::action const*> pre_close; // own, not inherited (§3.4)
    std::shared_ptr<eh_node const> own_eh;          // set by this instance's setErrorHandler
    std::vector<instance*> children;                // kChildren, in creation order
    // v2.6 (§1.13): own `decorate` properties; the props its Request and Reply classes copy into
    // every new object (decorateRequest/decorateReply here and, copied at creation, above)
    scenario::json own_props = scenario::json::object();
    scenario::json request_decorations = scenario::json::object();
    scenario::json reply_decorations = scenario::json::object();
};

/// What a request runs with: Fastify's route Context, or a not-found Context.
struct context {
    std::string method;                        // "GET", ... ("*" for not-found contexts)
    std::string path;                          // full pattern: prefix + url
    scenario::action const* handler = nullptr; // null on a not-found context = basic404
    bool not_found = false;
    bool auto_head = false;                       // exposeHeadRoutes copy of a GET route
    std::string scope;                            // the instance that owns it (for diagnostics)
    hook_arrays hooks;                            // final per-phase arrays (computed at preReady)
    std::shared_ptr<eh_node const> error_handler; // the chain start captured for this context
    // v2.6 (scenario-format §1.11): route options
    scenario::action const* route_error_handler = nullptr; // the route's errorHandler option
    int route_handler_timeout_ms = 0;                      // the route's own handlerTimeout
    long long route_body_limit = 0;                        // the route's own bodyLimit
    std::string config_url; // context.config.url (route.js routeConfigUrl); "" on not-found
    /// v2.6: kFourOhFourContext, where reply.callNotFound() moves a route's request: the
    /// not-found context its instance sees, with the route's onSend hooks; null on not-found
    /// contexts (callNotFound there answers a basic 404).
    context const* call_not_found = nullptr;
    instance const* bound = nullptr; // v2.6: what route.js / four-oh-four.js bind `this` to

    std::vector<hook_fn> const& hooks_of(scenario::phase p) const;
};

/// The loaded app.
struct app_model {
    std::vector<std::unique_ptr<instance>> instances;
    std::vector<std::unique_ptr<context>> routes; // registration order, incl. auto HEAD
    std::map<std::string, std::unique_ptr<context>> not_found; // by prefix; "/" always present
    std::vector<std::unique_ptr<context>> route_not_found;     // each route's call_not_found
    std::vector<scenario::action const*> on_ready;             // run order
    /// v2.6: the onRoute and onRegister calls while the app registers, in order (up to a
    /// refusal: Fastify stops loading there).
    std::vector<scenario::action const*> registration;
    std::vector<scenario::action const*> pre_close; // run order
    std::vector<scenario::action const*> on_close;  // run order (LIFO of registration)
    std::vector<std::string> build_errors;          // the app would fail to load
    /// v2.5: the first registration-time error Fastify refuses the app with (code, message):
    /// ready() rejects with it and no onReady hook runs.
    std::optional<std::pair<std::string, std::string>> refusal;
    /// v2.6: the instance each error handler ACTION is bound to (its `this`).
    std::map<scenario::action const*, instance const*> error_handler_owner;
};

/// Loads `a` the way Fastify + avvio would (scenario-format §1.1, fastify-lifecycle §3.2–§3.4,
/// §4.3).
app_model build_app(scenario::app const& a);

/// The route matching `method` and `path` (no query string), or null (find-my-way rules:
/// static segments before parameters before wildcards; no trailing-slash folding).
context const* find_route(app_model const& m, std::string const& method, std::string const& path);

/// The not-found context of the longest matching prefix (fastify-lifecycle §10).
context const* find_not_found(app_model const& m, std::string const& path);

} // namespace lifecheck::model::detail
