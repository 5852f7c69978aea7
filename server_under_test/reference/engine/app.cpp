// Builds the app the way Fastify 5 does: avvio's plugin queue decides the order hooks are applied.
#include "server_under_test/reference/engine/app.hpp"

#include <algorithm>
#include <string_view>

namespace lifecheck::engine {

namespace {

std::size_t index_of(phase p) {
    return static_cast<std::size_t>(p);
}

bool is_request_phase(phase p) {
    return !scenario::is_application_phase(p);
}

std::vector<std::string> split_path(std::string const& path) {
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

} // namespace

error_handler_node const* instance::error_handler() const {
    for (instance const* i = this; i != nullptr; i = i->parent)
        if (i->own_error_handler != nullptr)
            return i->own_error_handler;
    return nullptr;
}

bool path_matches(std::string const& pattern, std::string const& path) {
    // Segment by segment, as split_path would cut them, without building the segments (this
    // runs for every route on every request).
    std::string_view p{pattern};
    std::string_view s{path};
    auto next = [](std::string_view& rest, bool& more) {
        std::size_t const slash = rest.find('/');
        std::string_view const seg = rest.substr(0, slash);
        more = slash != std::string_view::npos;
        rest = more ? rest.substr(slash + 1) : std::string_view{};
        return seg;
    };
    bool p_more = true;
    bool s_more = true;
    while (p_more) {
        std::string_view const ps = next(p, p_more);
        if (ps == "*")
            return true; // wildcard: the rest, including nothing
        if (!s_more)
            return false;
        std::string_view const ss = next(s, s_more);
        if (!ps.empty() && ps[0] == ':') {
            if (ss.empty())
                return false;
            continue;
        }
        if (ps != ss)
            return false;
    }
    return !s_more;
}

// Fastify 5.12.8 lib/plugin-override.js:76-91 buildRoutePrefix(instancePrefix, pluginPrefix).
std::string join_prefix(std::string const& outer, std::string const& inner) {
    if (inner.empty())
        return outer;
    bool const outer_slash = !outer.empty() && outer.back() == '/';
    if (outer_slash && inner.front() == '/')
        return outer + inner.substr(1); // "avoid: '/first//second'"
    if (!outer_slash && inner.front() != '/')
        return outer + "/" + inner; // "avoid: '/firstsecond'"
    return outer + inner;
}

std::vector<std::string> route_paths(std::string const& prefix,
                                     std::string const& url,
                                     std::string const& method,
                                     bool head_twin) {
    // Fastify 5.12.8 lib/route.js:251-280 route(), defaults prefixTrailingSlash 'both' and
    // ignoreTrailingSlash false. `tails` are the `path`s addNewRoute() is called with; it
    // registers `prefix + path`.
    std::vector<std::string> tails;
    if (url == "/" && !prefix.empty() && method != "HEAD") {
        tails = {"", "/"}; // `addNewRoute({ path: '' })`, then `{ path, prefixing: true }`
    } else if (!url.empty() && url[0] == '/' && !prefix.empty() && prefix.back() == '/') {
        tails = {url.substr(1)}; // "'/prefix/' + '/route' gets registered as '/prefix/route'"
    } else {
        tails = {url};
    }
    std::vector<std::string> out;
    for (std::string const& tail : tails) {
        if (!head_twin) {
            out.push_back(prefix + tail);
            continue;
        }
        // The HEAD twin of a GET route (lib/route.js:457-459): `prepareRoute.call(this,
        // { method: 'HEAD', url: path ... })` with each tail, routed again as a HEAD route;
        // Fastify ignores the duplicates of its own routes (`/v1/` + "/": only "/v1/", the
        // GET's "/v1//" has no twin).
        for (std::string& p : route_paths(prefix, tail, "HEAD", false))
            if (std::find(out.begin(), out.end(), p) == out.end())
                out.push_back(std::move(p));
    }
    return out;
}

bool not_found_matches(std::string const& prefix, std::string const& path) {
    // Fastify 5.12.8 lib/four-oh-four.js:149-157 _setNotFoundHandler: "/" replaces the root's
    // 404 context; any other prefix owns `prefix + (prefix.endsWith('/') ? '*' : '/*')` and
    // `prefix` (find-my-way's trailing '*' matches an empty rest too).
    if (prefix == "/" || path == prefix)
        return true;
    std::string_view const p{path};
    if (prefix.back() == '/')
        return p.substr(0, prefix.size()) == prefix;
    return p.size() > prefix.size() && p.substr(0, prefix.size()) == prefix &&
           p[prefix.size()] == '/';
}

// One entry of an avvio queue: an `after` callback (hook, route, 404) or a plugin to load.
struct built_app::queued {
    enum class kind { hook, route, not_found, plugin } what = kind::hook;
    instance* inst = nullptr;
    phase ph = phase::on_request;
    hook_fn fn;
    scenario::route const* r = nullptr;
    scenario::scope const* child = nullptr;
    std::string scope_name;
    scenario::scope const* not_found_options = nullptr; // v2.6: notFoundOptions of this scope
};

built_app::built_app(scenario::app const& a, fault_set faults)
    : options_{a.options}
    , faults_{faults} {
    auto root = std::make_unique<instance>();
    root->name = a.root.name.empty() ? "root" : a.root.name;
    root_ = root.get();
    root_->not_found_level = true;
    instances_.push_back(std::move(root));
    auto def = std::make_unique<error_handler_node>();
    default_handler_ = def.get();
    handlers_.push_back(std::move(def));
    root_->own_error_handler = default_handler_;
    // fastify.js: the default 404 is set (an `after`) before any user code runs.
    std::vector<queued> queue;
    queued nf;
    nf.what = queued::kind::not_found;
    nf.inst = root_;
    nf.scope_name = root_->name;
    queue.push_back(nf);
    run_body(*root_, a.root, queue);
    flush(queue);
    finalize();
}

void built_app::run_body(instance& inst, scenario::scope const& s, std::vector<queued>& queue) {
    // scenario-format §1.1 steps 1-5, each call with Fastify's timing: request hooks, routes and
    // 404 handlers are `after` callbacks; setErrorHandler and application hooks act at once.
    auto add_hooks = [&](scenario::hook_map const& hooks) {
        for (auto const& [ph, actions] : hooks) {
            for (auto const& act : actions) {
                hook_fn fn{&act, s.name};
                if (ph == phase::on_ready)
                    inst.on_ready.push_back(fn);
                else if (ph == phase::on_listen)
                    inst.on_listen.push_back(fn);
                else if (ph == phase::on_route)
                    inst.on_route.push_back(fn); // kHooks.add: this instance only, at once
                else if (ph == phase::pre_close)
                    inst.pre_close.push_back(fn);
                else if (ph == phase::on_close)
                    on_close_.push_back(fn);
                else {
                    queued q;
                    q.what = queued::kind::hook;
                    q.inst = &inst;
                    q.ph = ph;
                    q.fn = fn;
                    queue.push_back(q);
                }
            }
        }
    };
    auto set_error_handler = [&](scenario::action const& act) {
        // fastify.js setErrorHandler: the new node's parent is the handler in force now.
        auto node = std::make_unique<error_handler_node>();
        node->act = &act;
        node->scope = s.name;
        node->parent = inst.error_handler();
        node->owner = &inst;
        inst.own_error_handler = node.get();
        handlers_.push_back(std::move(node));
    };

    // v2.6 (§1.13): decorate, decorateRequest, decorateReply act at once (before any hook).
    for (auto const& [into, from] : {std::pair{&inst.decorations, &s.decorate},
                                     std::pair{&inst.request_props, &s.decorate_request},
                                     std::pair{&inst.reply_props, &s.decorate_reply}})
        for (auto it = from->begin(); it != from->end(); ++it)
            (*into)[it.key()] = it.value();
    add_hooks(s.hooks);
    if (s.late && has(faults_, fault::late_hooks_in_tree_order))
        add_hooks(s.late->hooks); // seeded fault: `late` treated as written before register()
    if (s.error_handler)
        set_error_handler(*s.error_handler);
    if (s.not_found_handler) {
        queued q;
        q.what = queued::kind::not_found;
        q.inst = &inst;
        q.fn = hook_fn{&*s.not_found_handler, s.name};
        q.scope_name = s.name;
        q.not_found_options = &s;
        queue.push_back(q);
    }
    for (auto const& r : s.routes) {
        declare_route(inst, r);
        queued q;
        q.what = queued::kind::route;
        q.inst = &inst;
        q.r = &r;
        q.scope_name = s.name;
        queue.push_back(q);
    }
    for (auto const& child : s.plugins) {
        queued q;
        q.what = queued::kind::plugin;
        q.inst = &inst;
        q.child = &child;
        queue.push_back(q);
        if (child.await_register)
            flush(queue); // `await register()` loads the queue up to and including the child
    }
    if (s.late) {
        if (!has(faults_, fault::late_hooks_in_tree_order))
            add_hooks(s.late->hooks);
        if (s.late->error_handler)
            set_error_handler(*s.late->error_handler);
    }
}

void built_app::flush(std::vector<queued>& queue) {
    // Entries may append to `queue` while it runs; index access stays valid.
    for (std::size_t i = 0; i < queue.size(); ++i) {
        queued const q = queue[i];
        switch (q.what) {
        case queued::kind::hook:
            add_hook(*q.inst, q.ph, q.fn);
            break;
        case queued::kind::route:
            add_route(*q.inst, *q.r, q.scope_name);
            break;
        case queued::kind::not_found:
            set_not_found(*q.inst, q.fn.act, q.scope_name, q.not_found_options);
            break;
        case queued::kind::plugin:
            load_scope(*q.inst, *q.child);
            break;
        }
    }
    queue.clear();
}

void built_app::load_scope(instance& parent, scenario::scope const& s) {
    std::vector<queued> queue;
    if (!s.encapsulate) {
        // fastify-plugin: the body runs on the registering instance; prefix ignored.
        run_body(parent, s, queue);
        flush(queue);
        return;
    }
    // lib/plugin-override.js: the child starts with copies of the parent's hook arrays.
    auto child = std::make_unique<instance>();
    child->name = s.name;
    child->prefix = join_prefix(parent.prefix, s.prefix);
    child->parent = &parent;
    child->not_found_level = !s.prefix.empty(); // plugin-override.js: arrange404 on a prefix
    child->hooks = parent.hooks;
    child->on_route = parent.on_route; // lib/hooks.js buildHooks: onRoute.slice()
    // lib/request.js buildRegularRequest: a child's Request copies the parent's props now.
    child->request_props = parent.request_props;
    child->reply_props = parent.reply_props;
    parent.children.push_back(child.get());
    instance& inst = *child;
    instances_.push_back(std::move(child));
    // v2.6: the override ends with the new instance's onRegister hooks (copied from the parent;
    // fastify-plugin plugins skip the override, so they never see them).
    if (!refusal_)
        for (hook_fn const& fn : inst.hooks[index_of(phase::on_register)])
            registration_.emplace_back(fn, phase::on_register);
    run_body(inst, s, queue);
    flush(queue);
}

void built_app::declare_route(instance& inst, scenario::route const& r) {
    // v2.6 lib/route.js route(): addNewRoute runs the instance's onRoute hooks for the route,
    // then, for a GET path with no HEAD route yet, prepareRoute's HEAD twin runs them again. A
    // duplicate is refused after its onRoute call; nothing registers after a refusal.
    std::string method = r.method;
    std::transform(method.begin(), method.end(), method.begin(), [](unsigned char c) {
        return static_cast<char>(std::toupper(c));
    });
    auto call_hooks = [&] {
        if (!refusal_ && !duplicate_seen_)
            for (hook_fn const& fn : inst.on_route)
                registration_.emplace_back(fn, phase::on_route);
    };
    auto has = [&](std::string const& m, std::string const& p) {
        return std::find(declared_.begin(), declared_.end(), std::make_pair(m, p)) !=
               declared_.end();
    };
    call_hooks();
    for (auto const& p : route_paths(inst.prefix, r.url, method)) {
        duplicate_seen_ = duplicate_seen_ || has(method, p);
        declared_.emplace_back(method, p);
        if (method != "GET" || has("HEAD", p))
            continue;
        call_hooks();
        for (auto const& head : route_paths(inst.prefix, p.substr(inst.prefix.size()), "HEAD"))
            declared_.emplace_back("HEAD", head);
    }
}

void built_app::add_hook(instance& inst, phase p, hook_fn const& fn) {
    // fastify.js _addHook: the instance and every descendant that exists now.
    inst.hooks[index_of(p)].push_back(fn);
    for (instance* c : inst.children)
        add_hook(*c, p, fn);
}

void built_app::add_route(instance& inst, scenario::route const& r, std::string const& scope) {
    auto declared = [&](std::string const& path, std::string const& method) {
        return std::any_of(routes_.begin(), routes_.end(), [&](context const* c) {
            return c->method == method && c->path == path;
        });
    };
    auto make = [&](std::string path, std::string method, bool head_of_get) {
        if (declared(path, method)) {
            // route.js: find-my-way refuses a second route with the same method and path; the
            // HEAD route Fastify adds for a GET is skipped when a HEAD route is already there.
            if (!head_of_get && !refusal_)
                refusal_ = startup_failure{"FST_ERR_DUPLICATED_ROUTE",
                                           "Method '" + method + "' already declared for route '" +
                                               path + "'"};
            return;
        }
        auto ctx = std::make_unique<context>();
        ctx->method = std::move(method);
        ctx->path = std::move(path);
        ctx->handler = &r.handler;
        ctx->handler_scope = scope;
        ctx->head_of_get = head_of_get;
        ctx->owner = &inst;
        // route.js: config.url is the full path, except for the `prefix + "/"` path of a "/"
        // route under a prefix (addNewRoute with prefixing: true), whose config.url is the prefix
        ctx->url = ctx->method != "HEAD" && r.url == "/" && !inst.prefix.empty() &&
                           ctx->path == inst.prefix + "/"
                       ? inst.prefix
                       : ctx->path;
        ctx->error_handler = inst.error_handler(); // captured in the route's `after`
        if (r.error_handler) {
            // route.js: buildErrorHandler(this[kErrorHandler], opts.errorHandler) (v2.6)
            auto node = std::make_unique<error_handler_node>();
            node->act = &*r.error_handler;
            node->scope = "route";
            node->parent = ctx->error_handler;
            ctx->error_handler = node.get();
            handlers_.push_back(std::move(node));
        }
        ctx->handler_timeout_ms =
            r.handler_timeout_ms > 0 ? r.handler_timeout_ms : options_.handler_timeout_ms;
        // content-type-parser.js: the route's _parserOptions.limit, else the parser's (server's)
        ctx->body_limit = r.body_limit > 0 ? r.body_limit : options_.body_limit;
        // route.js routeConfigUrl: "/" under a prefix is routed as the prefix (and prefix + "/",
        // whose config.url is the prefix too); the HEAD twin is its own route() call.
        bool const prefix_root =
            r.url == "/" && !inst.prefix.empty() && !head_of_get && ctx->method != "HEAD";
        ctx->config_url = prefix_root ? inst.prefix : ctx->path;
        route_owner_.emplace_back(ctx.get(), &inst);
        route_hooks_.emplace_back(&r.hooks, ctx.get());
        routes_.push_back(ctx.get());
        contexts_.push_back(std::move(ctx));
    };
    std::string method = r.method;
    std::transform(method.begin(), method.end(), method.begin(), [](unsigned char c) {
        return static_cast<char>(std::toupper(c));
    });
    for (auto const& p : route_paths(inst.prefix, r.url, method))
        make(p, method, false);
    if (method == "GET")
        for (auto const& p : route_paths(inst.prefix, r.url, method, true))
            make(p, "HEAD", true); // exposeHeadRoutes (lib/head-route.js)
}

void built_app::set_not_found(instance& inst,
                              scenario::action const* act,
                              std::string const& scope,
                              scenario::scope const* options) {
    auto ctx = std::make_unique<context>();
    if (options != nullptr)
        not_found_options_.emplace_back(ctx.get(), options);
    ctx->is_not_found = true;
    ctx->method = "*";
    ctx->handler = act;
    ctx->handler_scope = scope;
    ctx->handler_timeout_ms = options_.handler_timeout_ms; // context.js: the server's
    ctx->body_limit = options_.body_limit;
    ctx->owner = &inst;
    context* raw = ctx.get();
    contexts_.push_back(std::move(ctx));
    std::string prefix = inst.prefix.empty() ? "/" : inst.prefix;
    // lib/four-oh-four.js: an unprefixed scope replaces the root's 404 context (its hooks
    // and error handler then come from that scope); a prefixed one owns prefix/*.
    if (prefix == "/") {
        for (auto& entry : not_found_by_prefix_)
            if (entry.first == "/") {
                context const* replaced = entry.second;
                not_found_owner_.erase(
                    std::remove_if(not_found_owner_.begin(),
                                   not_found_owner_.end(),
                                   [replaced](auto const& o) { return o.first == replaced; }),
                    not_found_owner_.end());
                entry.second = raw;
            }
        if (std::none_of(not_found_by_prefix_.begin(),
                         not_found_by_prefix_.end(),
                         [](auto const& e) { return e.first == "/"; }))
            not_found_by_prefix_.emplace_back("/", raw);
    } else {
        not_found_by_prefix_.emplace_back(prefix, raw);
    }
    not_found_owner_.emplace_back(raw, &inst);
    inst.not_found = raw;
    instance* level = &inst; // kFourOhFourLevelInstance
    while (!level->not_found_level && level->parent != nullptr)
        level = level->parent;
    level->level_not_found = raw;
}

void built_app::finalize() {
    // preReady: route contexts take their scope's final hook arrays, route hooks last.
    for (std::size_t i = 0; i < route_owner_.size(); ++i) {
        context* ctx = route_owner_[i].first;
        instance const* inst = route_owner_[i].second;
        ctx->hooks = inst->hooks;
        if (has(faults_, fault::child_hooks_before_parent)) {
            // seeded fault: the route's own scope's hooks jump ahead of its ancestors'.
            for (auto& list : ctx->hooks)
                std::stable_partition(list.begin(), list.end(), [&](hook_fn const& h) {
                    return h.scope == ctx->handler_scope;
                });
        }
        for (auto const& [ph, actions] : *route_hooks_[i].first)
            if (is_request_phase(ph))
                for (auto const& act : actions)
                    ctx->hooks[index_of(ph)].push_back(hook_fn{&act, ctx->handler_scope});
        // lib/route.js: an exposed HEAD route's onSend ends with headRouteOnSendHandler
        // (`act == nullptr`, untraced), after the route's own onSend hooks.
        if (ctx->head_of_get)
            ctx->hooks[index_of(phase::on_send)].push_back(hook_fn{nullptr, ctx->handler_scope});
    }
    for (auto const& [ctx, inst] : not_found_owner_) {
        ctx->hooks = inst->hooks;
        ctx->error_handler = inst->error_handler(); // lib/four-oh-four.js: at preReady
        // v2.6: `this[kHooks][hook].concat(opts[hook] || [])`: the options after the scope's;
        // opts.errorHandler: buildErrorHandler(this[kErrorHandler], opts.errorHandler)
        for (auto const& [nf, options] : not_found_options_) {
            if (nf != ctx)
                continue;
            for (auto const& [ph, actions] : options->not_found_hooks)
                for (auto const& act : actions)
                    ctx->hooks[index_of(ph)].push_back(hook_fn{&act, ctx->handler_scope});
            if (options->not_found_error_handler) {
                auto node = std::make_unique<error_handler_node>();
                node->act = &*options->not_found_error_handler;
                node->scope = ctx->handler_scope;
                node->parent = ctx->error_handler;
                ctx->error_handler = node.get();
                handlers_.push_back(std::move(node));
            }
        }
    }
    link_not_found_contexts();
    std::stable_sort(not_found_by_prefix_.begin(),
                     not_found_by_prefix_.end(),
                     [](auto const& a, auto const& b) { return a.first.size() > b.first.size(); });
    // avvio onClose: last registered runs first.
    std::reverse(on_close_.begin(), on_close_.end());
}

void built_app::link_not_found_contexts() {
    // route.js preReady → four-oh-four.js setContext: Object.create(instance[kFourOhFourContext])
    // with the route's onSend. kFourOhFourContext is inherited through the prototype chain from
    // the nearest 404 level that set one (the root always has one).
    for (auto const& [ctx, owner] : route_owner_) {
        instance const* i = owner;
        while (i->level_not_found == nullptr && i->parent != nullptr)
            i = i->parent;
        context const* level = i->level_not_found;
        if (level == nullptr)
            continue;
        auto derived = std::make_unique<context>(*level);
        derived->hooks[index_of(phase::on_send)] = ctx->of(phase::on_send);
        derived->not_found = nullptr;
        ctx->not_found = derived.get();
        contexts_.push_back(std::move(derived));
    }
}

context const& built_app::route(std::string const& method, std::string const& path) const {
    context const* best = nullptr;
    int best_score = -1;
    for (context const* c : routes_) {
        if (c->method != method || !path_matches(c->path, path))
            continue;
        // find-my-way: static segments beat parameters, parameters beat wildcards.
        int score = 0;
        for (auto const& seg : split_path(c->path))
            score += seg == "*" ? 0 : (!seg.empty() && seg[0] == ':') ? 1 : 2;
        if (score > best_score) {
            best = c;
            best_score = score;
        }
    }
    if (best != nullptr)
        return *best;
    for (auto const& [prefix, ctx] : not_found_by_prefix_) {
        if (not_found_matches(prefix, path))
            return *ctx;
    }
    return *not_found_by_prefix_.back().second;
}

} // namespace lifecheck::engine
