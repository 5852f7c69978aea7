// The app as Fastify builds it: per-route hook lists in application order, error-handler chains,
// 404s.
#pragma once

#include "harness/scenario/scenario.hpp"
#include "server_under_test/reference/engine/faults.hpp"

#include <array>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace lifecheck::engine {

using scenario::phase;

struct instance;

constexpr std::size_t phase_count = static_cast<std::size_t>(phase::on_register) + 1;

/// One registered hook: the ACTION and the scope that declared it (for the `cb` event).
struct hook_fn {
    scenario::action const* act = nullptr;
    std::string scope;
};

using hook_list = std::vector<hook_fn>;

/// A node of an error-handler chain. `act == nullptr` is Fastify's default handler; its parent
/// is the sentinel (nullptr), after which the chain is used up (FINAL).
struct error_handler_node {
    scenario::action const* act = nullptr;
    std::string scope;
    error_handler_node const* parent = nullptr;
    instance const* owner = nullptr; // v2.6: the handler's `this` (setErrorHandler's)
};

/// A route context: what one request runs through (lib/context.js).
struct context {
    std::array<hook_list, phase_count> hooks; // final lists per phase, route hooks last
    error_handler_node const* error_handler = nullptr;
    scenario::action const* handler = nullptr; // nullptr on a 404 context = the basic 404
    std::string handler_scope;
    bool is_not_found = false;
    std::string method;       // "GET"..., "*" for 404 contexts
    std::string path;         // full path with prefix
    bool head_of_get = false; // an automatic HEAD route
    // v2.6 (scenario-format §1.11): the route's handlerTimeout, else the server's (context.js)
    int handler_timeout_ms = 0;
    long long body_limit = 1048576;        // the route's bodyLimit, else the server's
    std::optional<std::string> config_url; // context.config.url; none on a 404 context
    /// kFourOhFourContext (v2.6): what reply.callNotFound() switches a route's request to — its
    /// instance's 404 context with the route's own onSend hooks (four-oh-four.js setContext);
    /// null on a 404 context, where callNotFound sends a basic '404 Not Found'.
    context const* not_found = nullptr;
    // v2.6 (§1.13): the instance every callback of this context has as `this` (route.js binds
    // the route's hooks and handler to the instance that declared the route; four-oh-four.js
    // to the one that set the not-found handler), and the pattern its params come from.
    instance const* owner = nullptr;
    std::string url; // routeOptions.url (Fastify's config.url); "" on 404 contexts

    hook_list const& of(phase p) const { return hooks[static_cast<std::size_t>(p)]; }
};

/// One encapsulation context (a Fastify instance): the root or an encapsulated plugin.
struct instance {
    std::string name;
    std::string prefix;
    instance* parent = nullptr;
    std::vector<instance*> children;
    std::array<hook_list, phase_count> hooks; // request hooks (inherited copies + own)
    std::vector<hook_fn> on_ready;            // application hooks: own only
    std::vector<hook_fn> on_listen;           // v2.5
    std::vector<hook_fn> on_route;            // v2.6: own + the parent's when it was created
    std::vector<hook_fn> pre_close;
    error_handler_node const* own_error_handler = nullptr; // set by setErrorHandler here
    context* not_found = nullptr;                          // set by setNotFoundHandler here
    bool not_found_level = false;       // the root, or a plugin with a prefix (arrange404)
    context* level_not_found = nullptr; // on a 404 level: its kFourOhFourContext (v2.6)
    // v2.6 (§1.13): `decorate` values set on this instance (an fp plugin's land here too), and the
    // request/reply decorations its Request/Reply classes copy into each new object.
    scenario::json decorations = scenario::json::object();
    scenario::json request_props = scenario::json::object();
    scenario::json reply_props = scenario::json::object();

    /// Fastify's prototype lookup of kErrorHandler: own, else the parent's current one.
    error_handler_node const* error_handler() const;
};

/// v2.5 (scenario-format §1.8): why ready()/listen() rejects, as Fastify's error has it.
struct startup_failure {
    std::optional<std::string> code;
    std::string message;
};

/// Result of routing one request.
struct match {
    context const* ctx = nullptr;
};

/// Builds Fastify's runtime structures from a scenario app (dialect fastify).
class built_app {
public:
    explicit built_app(scenario::app const& a, fault_set faults = 0);
    built_app(built_app const&) = delete;
    built_app& operator=(built_app const&) = delete;

    /// The route for a method and path (query already stripped); the 404 context otherwise.
    context const& route(std::string const& method, std::string const& path) const;

    instance const& root() const { return *root_; }

    /// onClose hooks in the order they run (LIFO by registration).
    std::vector<hook_fn> const& on_close() const { return on_close_; }

    scenario::app_options const& options() const { return options_; }

    /// A registration-time error Fastify refuses the app for (the first, in registration
    /// order): ready() rejects with it before any onReady hook runs.
    std::optional<startup_failure> const& refusal() const { return refusal_; }

    /// v2.6 (§1.9): the onRoute and onRegister hooks Fastify called while the app registered, in
    /// call order (up to a refusal).
    std::vector<std::pair<hook_fn, phase>> const& registration() const { return registration_; }

private:
    struct queued; // an avvio queue entry
    void load_scope(instance& inst, scenario::scope const& s);
    void run_body(instance& inst, scenario::scope const& s, std::vector<queued>& queue);
    void flush(std::vector<queued>& queue);
    void add_hook(instance& inst, phase p, hook_fn const& fn);
    void add_route(instance& inst, scenario::route const& r, std::string const& scope_name);
    void set_not_found(instance& inst,
                       scenario::action const* act,
                       std::string const& scope,
                       scenario::scope const* options = nullptr);
    void finalize();
    void declare_route(instance& inst, scenario::route const& r);
    void link_not_found_contexts();

    scenario::app_options options_;
    fault_set faults_ = 0;
    std::vector<std::unique_ptr<instance>> instances_;
    std::vector<std::unique_ptr<error_handler_node>> handlers_;
    std::vector<std::unique_ptr<context>> contexts_;
    std::vector<std::pair<context*, instance*>> route_owner_; // for the preReady hook copy
    std::vector<std::pair<context*, instance*>> not_found_owner_;
    std::vector<std::pair<context const*, scenario::scope const*>> not_found_options_; // v2.6
    std::vector<
        std::pair<std::vector<std::pair<phase, std::vector<scenario::action>>> const*, context*>>
        route_hooks_;
    std::vector<hook_fn> on_close_;
    instance* root_ = nullptr;
    error_handler_node const* default_handler_ = nullptr;
    std::vector<context*> routes_;                                      // in registration order
    std::vector<std::pair<std::string, context*>> not_found_by_prefix_; // longest first
    std::optional<startup_failure> refusal_;
    std::vector<std::pair<hook_fn, phase>> registration_;
    // v2.6: method and path of every route as route() declares it (routes_ fills at `after`
    // time), for the HEAD twin's onRoute call
    std::vector<std::pair<std::string, std::string>> declared_;
    bool duplicate_seen_ = false; // v2.6: a route() find-my-way refuses (refusal_ comes later)
};

/// Matches a find-my-way style pattern ("/items/:id", "/files/*") against a path.
bool path_matches(std::string const& pattern, std::string const& path);

/// The prefix of a plugin registered with prefix `inner` on an instance with prefix `outer`:
/// exactly one '/' between them (`"/a/"` + `"/b"` → `"/a/b"`; `""` leaves `outer`).
std::string join_prefix(std::string const& outer, std::string const& inner);

/// The full paths a route `url` with `method` is registered under on an instance with prefix
/// `prefix`: "/" under "/v1" is "/v1" and "/v1/" (not for HEAD), "/x" under "/v1/" is "/v1/x".
/// With `head_twin`, the paths of the HEAD route Fastify adds beside a GET route.
std::vector<std::string> route_paths(std::string const& prefix,
                                     std::string const& url,
                                     std::string const& method,
                                     bool head_twin = false);

/// True when a request for `path` reaches the not-found handler set under `prefix` ("/" for an
/// unprefixed scope): "/v1" takes "/v1" and "/v1/…", "/v1/" takes "/v1/…" but not "/v1".
bool not_found_matches(std::string const& prefix, std::string const& path);

} // namespace lifecheck::engine
