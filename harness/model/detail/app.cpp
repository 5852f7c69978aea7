// Plugin loading (avvio's queue order), hook application and error-handler capture, written as a
// direct walk of scenario-format §1.1 steps 1–5 over the rules of fastify-lifecycle §3.2–§3.4 and
// §4.3.
#include "harness/model/detail/app.hpp"

#include "harness/scenario/route_path.hpp"

#include <algorithm>
#include <deque>
#include <optional>

namespace lifecheck::model::detail {

using scenario::action;
using scenario::phase;
using scenario::scope;

std::vector<hook_fn> const& context::hooks_of(phase p) const {
    static std::vector<hook_fn> const none;
    auto const it = hooks.find(p);
    return it == hooks.end() ? none : it->second;
}

namespace {

bool is_request_phase(phase p) {
    return !scenario::is_application_phase(p);
}

std::string upper(std::string s) {
    for (auto& c : s)
        c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    return s;
}

/// One deferred call in an avvio plugin queue.
struct queued {
    enum class kind { add_hook, capture_route, load_plugin, set_not_found } what;
    instance* target = nullptr;
    phase ph = phase::on_request;
    action const* act = nullptr;
    context* ctx = nullptr;
    scope const* plugin = nullptr;
    std::string prefix;
    scope const* options = nullptr; // set_not_found: the scope whose notFoundOptions apply (v2.6)
};

struct pending_not_found {
    context* ctx;
    instance* owner;
};

struct route_binding {
    context* ctx;
    instance* owner;
    scenario::route const* r;
};

class loader {
public:
    explicit loader(app_model& m)
        : m_{m} {}

    void load(scope const& root_scope) {
        auto root = std::make_unique<instance>();
        root->name = root_scope.name.empty() ? "root" : root_scope.name;
        root->not_found_level = true;
        instance* r = root.get();
        m_.instances.push_back(std::move(root));
        root_ = r;

        // fastify.js: the constructor calls setNotFoundHandler() with basic404; its context
        // takes the root's final hooks and error handler at preReady.
        auto nf = std::make_unique<context>();
        nf->method = "*";
        nf->path = "/";
        nf->not_found = true;
        nf->scope = r->name;
        not_found_owner_["/"] = r;
        level_not_found_[r] = nf.get();
        m_.not_found["/"] = std::move(nf);

        run_body(r, root_scope);
        pre_ready();
    }

private:
    std::shared_ptr<eh_node const> current_eh(instance const* i) const {
        // kErrorHandler is inherited through the prototype chain: the nearest own one.
        for (; i != nullptr; i = i->parent) {
            if (i->own_eh)
                return i->own_eh;
        }
        return default_eh_;
    }

    instance* not_found_level(instance* i) const {
        for (; i != nullptr; i = i->parent) {
            if (i->not_found_level)
                return i;
        }
        return root_;
    }

    /// fastify.js _addHook: the instance and every descendant that exists now (§3.2 rule 2).
    void apply_hook(instance* i, phase p, action const* a) {
        i->hooks[p].push_back(hook_fn{a});
        for (instance* c : i->children)
            apply_hook(c, p, a);
    }

    void add_hook_call(instance* self, phase p, action const* a, std::deque<queued>& q) {
        switch (p) {
        case phase::on_ready:
            self->on_ready.push_back(a); // kHooks.add, immediate
            return;
        case phase::on_listen:
            self->on_listen.push_back(a); // kHooks.add, immediate
            return;
        case phase::on_route:
            self->on_route.push_back(a); // kHooks.add, immediate; not the existing children
            return;
        case phase::pre_close:
            self->pre_close.push_back(a);
            return;
        case phase::on_close:
            on_close_registered_.push_back(a); // avvio onClose: unshift now → LIFO
            return;
        default:
            break;
        }
        queued it;
        it.what = queued::kind::add_hook; // request hooks are deferred with instance.after
        it.target = self;
        it.ph = p;
        it.act = a;
        q.push_back(it);
    }

    void set_error_handler(instance* self, action const* a) {
        // fastify.js setErrorHandler: immediate; the new node's parent is the handler the
        // scope sees right now (§4.3 "bound at setErrorHandler time").
        auto node = std::make_shared<eh_node>();
        node->act = a;
        node->owner = self;
        m_.error_handler_owner[a] = self;
        node->parent = current_eh(self);
        self->own_eh = node;
    }

    void set_not_found_call(instance* self,
                            action const* a,
                            scope const* options,
                            std::deque<queued>& q) {
        instance* level = not_found_level(self);
        std::string const prefix = scenario::not_found_prefix(self->prefix);
        if (!level->can_set_not_found) {
            m_.build_errors.push_back(
                "Not found handler already set for Fastify instance with prefix: '" + prefix + "'");
            return;
        }
        level->can_set_not_found = false;
        queued it;
        it.what = queued::kind::set_not_found;
        it.target = self;
        it.act = a;
        it.options = options;
        it.prefix = prefix;
        q.push_back(it);
    }

    void add_route(instance* self,
                   scenario::route const& r,
                   std::string const& method,
                   std::string const& url,
                   bool auto_head,
                   std::deque<queued>& q) {
        for (auto const& existing : m_.routes) {
            if (existing->method == method && existing->path == url) {
                if (auto_head)
                    return;      // Fastify ignores its own duplicate HEAD routes
                if (!m_.refusal) // errors.js FST_ERR_DUPLICATED_ROUTE, from find-my-way's on()
                    m_.refusal = std::make_pair(std::string{"FST_ERR_DUPLICATED_ROUTE"},
                                                "Method '" + method +
                                                    "' already declared for route '" + url + "'");
                return;
            }
        }
        auto ctx = std::make_unique<context>();
        ctx->method = method;
        ctx->path = url;
        ctx->handler = &r.handler;
        ctx->auto_head = auto_head;
        ctx->scope = self->name;
        ctx->route_error_handler = r.error_handler ? &*r.error_handler : nullptr;
        ctx->route_handler_timeout_ms = r.handler_timeout_ms;
        ctx->route_body_limit = r.body_limit;
        // route.js addNewRoute({ path: '/', prefixing: true }) for "/" under a prefix: config.url
        // is the bare prefix; every other route's is prefix + path
        bool const prefixing =
            method != "HEAD" && r.url == "/" && !self->prefix.empty() && url == self->prefix + "/";
        ctx->config_url = prefixing ? self->prefix : url;
        context* raw = ctx.get();
        m_.routes.push_back(std::move(ctx));
        bindings_.push_back(route_binding{raw, self, &r});
        queued it; // route.js: the error handler is captured in this.after(...)
        it.what = queued::kind::capture_route;
        it.target = self;
        it.ctx = raw;
        q.push_back(it);
    }

    /// v2.6: route.js addNewRoute calls the instance's onRoute hooks, in order, before find-my-way
    /// takes the route (a refused duplicate still saw them).
    void call_on_route(instance const* self) {
        if (m_.refusal)
            return; // the plugin threw there: nothing after it registers
        for (action const* a : self->on_route)
            m_.registration.push_back(a);
    }

    void register_route(instance* self, scenario::route const& r, std::deque<queued>& q) {
        std::string const method = upper(r.method);
        call_on_route(self);
        // route.js: the paths of the route, then (exposeHeadRoutes, §10) those of its HEAD twin;
        // add_route ignores a twin where a HEAD route exists, as Fastify ignores its own. v2.6:
        // each GET path without a HEAD route yet gets its twin through route() again, so
        // onRoute once more (even where find-my-way then ignores the twin).
        for (auto const& url : scenario::route_paths(self->prefix, r.url, method)) {
            bool const twin = method == "GET" &&
                              std::none_of(m_.routes.begin(), m_.routes.end(), [&](auto const& c) {
                                  return c->method == "HEAD" && c->path == url;
                              });
            add_route(self, r, method, url, false, q);
            if (twin)
                call_on_route(self);
        }
        if (method == "GET") {
            for (auto const& url : scenario::head_route_paths(self->prefix, r.url))
                add_route(self, r, "HEAD", url, true, q);
        }
    }

    void run_body(instance* self, scope const& s) {
        std::deque<queued> q; // this plugin's avvio queue
        // v2.6 (§1.13): decorate, decorateRequest and decorateReply act at once, first.
        for (auto it = s.decorate.begin(); it != s.decorate.end(); ++it)
            self->own_props[it.key()] = it.value();
        for (auto it = s.decorate_request.begin(); it != s.decorate_request.end(); ++it)
            self->request_decorations[it.key()] = it.value();
        for (auto it = s.decorate_reply.begin(); it != s.decorate_reply.end(); ++it)
            self->reply_decorations[it.key()] = it.value();
        // scenario-format §1.1 step 1: addHook for each entry of `hooks`.
        for (auto const& [ph, list] : s.hooks) {
            for (auto const& a : list)
                add_hook_call(self, ph, &a, q);
        }
        // step 2: setErrorHandler, then setNotFoundHandler.
        if (s.error_handler)
            set_error_handler(self, &*s.error_handler);
        if (s.not_found_handler)
            set_not_found_call(self, &*s.not_found_handler, &s, q);
        // step 3: routes.
        for (auto const& r : s.routes)
            register_route(self, r, q);
        // step 4: register each plugin; `await register` loads everything queued so far now
        // (avvio loadedSoFar).
        for (auto const& p : s.plugins) {
            queued it;
            it.what = queued::kind::load_plugin;
            it.target = self;
            it.plugin = &p;
            q.push_back(it);
            if (p.await_register)
                drain(q);
        }
        // step 5: `late` calls written after the register() calls.
        if (s.late) {
            for (auto const& [ph, list] : s.late->hooks) {
                for (auto const& a : list)
                    add_hook_call(self, ph, &a, q);
            }
            if (s.late->error_handler)
                set_error_handler(self, &*s.late->error_handler);
        }
        // The body returned: avvio processes the rest of the queue, depth first.
        drain(q);
    }

    void drain(std::deque<queued>& q) {
        while (!q.empty()) {
            queued it = q.front();
            q.pop_front();
            execute(it);
        }
    }

    void execute(queued const& it) {
        switch (it.what) {
        case queued::kind::add_hook:
            apply_hook(it.target, it.ph, it.act);
            return;
        case queued::kind::capture_route:
            it.ctx->error_handler = current_eh(it.target);
            if (it.ctx->route_error_handler != nullptr) {
                // route.js this.after: buildErrorHandler(this[kErrorHandler], opts.errorHandler)
                auto node = std::make_shared<eh_node>();
                node->act = it.ctx->route_error_handler;
                node->parent = it.ctx->error_handler;
                it.ctx->error_handler = node;
            }
            return;
        case queued::kind::set_not_found: {
            // four-oh-four.js _setNotFoundHandler: "/" replaces the root's 404 context;
            // other prefixes get their own context (prefix/* and prefix).
            auto& slot = m_.not_found[it.prefix];
            if (!slot) {
                slot = std::make_unique<context>();
                slot->method = "*";
                slot->path = it.prefix;
                slot->not_found = true;
            }
            slot->handler = it.act;
            slot->scope = it.target->name;
            not_found_options_[slot.get()] = it.options;
            not_found_owner_[it.prefix] = it.target;
            // kFourOhFourLevelInstance[kFourOhFourContext] = context
            level_not_found_[not_found_level(it.target)] = slot.get();
            return;
        }
        case queued::kind::load_plugin:
            load_plugin(it.target, *it.plugin);
            return;
        }
    }

    void load_plugin(instance* parent, scope const& p) {
        if (!p.encapsulate) {
            // fastify-plugin: the body runs on the registering instance; prefix ignored (§3.3).
            run_body(parent, p);
            return;
        }
        // plugin-override.js: a child whose hook arrays are copies of the parent's now.
        auto child = std::make_unique<instance>();
        child->name = p.name;
        child->parent = parent;
        child->prefix = scenario::join_prefix(parent->prefix, p.prefix);
        child->not_found_level = !p.prefix.empty();
        child->request_decorations = parent->request_decorations; // buildRequest: props copied
        child->reply_decorations = parent->reply_decorations;
        for (auto const& [ph, list] : parent->hooks) {
            if (is_request_phase(ph) || ph == phase::on_register)
                child->hooks[ph] = list;
        }
        child->on_route = parent->on_route; // hooks.js buildHooks: onRoute.slice()
        instance* c = child.get();
        m_.instances.push_back(std::move(child));
        parent->children.push_back(c);
        // v2.6: plugin-override.js ends by calling the new instance's onRegister hooks (copies
        // of the parent's, added through `after` like request hooks); a fastify-plugin plugin
        // skips the override and them.
        if (!m_.refusal)
            for (hook_fn const& h : c->hooks[phase::on_register])
                m_.registration.push_back(h.act);
        run_body(c, p);
    }

    void pre_ready() {
        // route.js preReady: scope arrays + route-level hooks (+ the HEAD onSend step).
        for (auto const& b : bindings_) {
            hook_arrays h = b.owner->hooks;
            for (auto const& [ph, list] : b.r->hooks) {
                for (auto const& a : list)
                    h[ph].push_back(hook_fn{&a});
            }
            if (b.ctx->auto_head)
                h[phase::on_send].push_back(hook_fn{nullptr});
            b.ctx->hooks = std::move(h);
            b.ctx->bound = b.owner;
        }
        for (auto& [prefix, ctx] : m_.not_found) {
            instance* owner = not_found_owner_[prefix];
            ctx->bound = owner;
            ctx->hooks = owner->hooks;
            ctx->error_handler = current_eh(owner);
            // four-oh-four.js preReady (v2.6): this[kHooks][hook].concat(opts[hook] || []), and
            // buildErrorHandler(this[kErrorHandler], opts.errorHandler)
            auto const opts = not_found_options_.find(ctx.get());
            if (opts != not_found_options_.end() && opts->second != nullptr) {
                for (auto const& [ph, list] : opts->second->not_found_hooks)
                    for (auto const& a : list)
                        ctx->hooks[ph].push_back(hook_fn{&a});
                if (opts->second->not_found_error_handler) {
                    auto node = std::make_shared<eh_node>();
                    node->act = &*opts->second->not_found_error_handler;
                    node->parent = ctx->error_handler;
                    ctx->error_handler = node;
                }
            }
        }
        link_call_not_found();
        // §3.4: onReady / preClose: own hooks in order, then each child (parent first).
        collect_app_hooks(root_);
        m_.on_close.assign(on_close_registered_.rbegin(), on_close_registered_.rend());
    }

    /// four-oh-four.js setContext at preReady: a route's kFourOhFourContext is
    /// Object.create(instance[kFourOhFourContext]) (found up the prototype chain, i.e. the
    /// nearest 404 level above the route's instance that set one) with the route's onSend.
    void link_call_not_found() {
        for (auto const& b : bindings_) {
            context const* level = nullptr;
            for (instance const* i = b.owner; i != nullptr && level == nullptr; i = i->parent) {
                auto it = level_not_found_.find(i);
                if (it != level_not_found_.end())
                    level = it->second;
            }
            if (level == nullptr)
                continue;
            auto derived = std::make_unique<context>(*level);
            derived->hooks[phase::on_send] = b.ctx->hooks[phase::on_send];
            derived->call_not_found = nullptr;
            b.ctx->call_not_found = derived.get();
            m_.route_not_found.push_back(std::move(derived));
        }
    }

    void collect_app_hooks(instance const* i) {
        for (auto const* a : i->on_ready)
            m_.on_ready.push_back(a);
        for (auto const* a : i->pre_close)
            m_.pre_close.push_back(a);
        for (auto const* c : i->children)
            collect_app_hooks(c);
    }

    app_model& m_;
    instance* root_ = nullptr;
    std::shared_ptr<eh_node const> default_eh_ = std::make_shared<eh_node>(); // Fastify's default
    std::vector<route_binding> bindings_;
    std::map<std::string, instance*> not_found_owner_;
    std::map<instance const*, context*> level_not_found_;      // a 404 level's kFourOhFourContext
    std::map<context const*, scope const*> not_found_options_; // v2.6: notFoundOptions' scope
    std::vector<action const*> on_close_registered_;
};

std::vector<std::string> split_path(std::string const& path) {
    std::vector<std::string> out;
    std::string cur;
    for (std::size_t i = 1; i <= path.size(); ++i) {
        if (i == path.size() || path[i] == '/') {
            out.push_back(cur);
            cur.clear();
        } else {
            cur += path[i];
        }
    }
    return out;
}

/// Matches pattern segments against path segments. The result lists, per segment, 3 for a
/// static match, 2 for a parameter, 1 for a wildcard; find-my-way prefers the lexicographically
/// largest (static before ':param' before '*', decided at the first differing segment).
std::optional<std::vector<int>> match_rank(std::vector<std::string> const& pat,
                                           std::vector<std::string> const& segs) {
    std::vector<int> rank;
    std::size_t i = 0;
    for (; i < pat.size(); ++i) {
        std::string const& p = pat[i];
        if (p == "*") {
            rank.push_back(1);
            return rank;
        }
        if (i >= segs.size())
            return std::nullopt;
        if (!p.empty() && p.front() == ':') {
            if (segs[i].empty())
                return std::nullopt;
            rank.push_back(2);
        } else if (p == segs[i]) {
            rank.push_back(3);
        } else {
            return std::nullopt;
        }
    }
    if (i != segs.size())
        return std::nullopt;
    return rank;
}

} // namespace

app_model build_app(scenario::app const& a) {
    app_model m;
    loader l{m};
    l.load(a.root);
    return m;
}

context const* find_route(app_model const& m, std::string const& method, std::string const& path) {
    auto const segs = split_path(path.empty() ? "/" : path);
    context const* best = nullptr;
    std::vector<int> best_rank;
    for (auto const& r : m.routes) {
        if (r->method != method)
            continue;
        auto const rank = match_rank(split_path(r->path.empty() ? "/" : r->path), segs);
        if (rank && (best == nullptr || *rank > best_rank)) {
            best_rank = *rank;
            best = r.get();
        }
    }
    return best;
}

context const* find_not_found(app_model const& m, std::string const& path) {
    context const* best = nullptr;
    std::size_t best_len = 0;
    for (auto const& [prefix, ctx] : m.not_found) {
        bool const matches = scenario::not_found_matches(prefix, path);
        if (matches && (best == nullptr || prefix.size() > best_len)) {
            best = ctx.get();
            best_len = prefix.size();
        }
    }
    return best;
}

} // namespace lifecheck::model::detail
