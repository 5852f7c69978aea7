// What reports show of a scenario beside its verdict: scopes, callbacks and what each one does.
#include "harness/check/detail/app_index.hpp"
#include "harness/check/verdict.hpp"
#include "harness/scenario/route_path.hpp"

#include <string>
#include <vector>

namespace lifecheck::check {
namespace {

std::string note_of(scenario::action const& a) {
    std::string out;
    auto add = [&](std::string const& part) {
        out += (out.empty() ? "" : ", ") + part;
    };
    if (a.how == scenario::style::callback)
        add("callback style");
    if (a.how == scenario::style::sync)
        add("sync style");
    if (a.when)
        add("when " + a.when->flag + "=" + (a.when->is ? "true" : "false"));
    if (a.delay_ms)
        add("delayMs " + std::to_string(*a.delay_ms));
    if (a.set)
        add("set " + a.set->flag + "=" + (a.set->value ? "true" : "false"));
    if (a.status)
        add("status " + std::to_string(*a.status));
    if (a.body)
        add(std::string{"payload "} + scenario::to_string(a.body->kind));
    if (a.error && a.error->status_code)
        add("error " + std::to_string(*a.error->status_code));
    return out;
}

/// An `ops` sequence as a reader writes it (scenario-format §1.6):
/// "code 201 → header x-a → send json → throw error".
std::string ops_text(std::vector<scenario::op> const& ops) {
    std::string out;
    for (scenario::op const& o : ops) {
        std::string s = scenario::to_string(o.kind);
        switch (o.kind) {
        case scenario::op_kind::code:
            s += " " + o.code.dump();
            break;
        case scenario::op_kind::header:
        case scenario::op_kind::headers:
            for (auto const& h : o.headers)
                s += " " + h.first;
            break;
        case scenario::op_kind::remove_header:
        case scenario::op_kind::type:
            s += " " + o.name;
            break;
        case scenario::op_kind::await_:
            s += " " + std::to_string(o.ms) + " ms";
            break;
        case scenario::op_kind::set:
            s += " " + o.flag.flag + "=" + (o.flag.value ? "true" : "false");
            break;
        case scenario::op_kind::return_:
            if (o.return_reply) {
                s += " reply";
                break;
            }
            [[fallthrough]];
        case scenario::op_kind::send:
        case scenario::op_kind::throw_:
        case scenario::op_kind::done:
            if (o.body)
                s += " " + std::string{scenario::to_string(o.body->kind)};
            break;
        default: // koa ops: the name says it; a response op's argument as written
            if (!o.arg.is_null())
                s += " " + o.arg.dump();
            break;
        }
        out += (out.empty() ? "" : " \xE2\x86\x92 ") + s;
    }
    return out;
}

/// What a callback does, for reports: its verb, or "ops" and the sequence in the note.
void describe(scenario::action const& a, callback_info& c) {
    c.does = a.ops ? "ops" : scenario::to_string(a.what);
    c.note = note_of(a);
    if (a.ops)
        c.note = ops_text(*a.ops) + (c.note.empty() ? "" : "; " + c.note);
}

callback_info
info_of(scenario::action const& a, std::string phase, std::string scope, std::string route) {
    callback_info c{a.label, std::move(phase), std::move(scope), std::move(route), "", ""};
    describe(a, c);
    return c;
}

/// Walks a fastify scope tree the way the app is built (scenario-format §1.1), recording scopes as
/// they encapsulate (an `encapsulate: false` plugin acts in its parent) and every labelled ACTION.
struct walker {
    scenario_result& r;

    void hooks(scenario::hook_map const& hm, std::string const& scope, std::string const& route) {
        for (auto const& [ph, actions] : hm)
            for (scenario::action const& a : actions)
                r.callbacks.push_back(info_of(a, scenario::to_string(ph), scope, route));
    }

    void scope(scenario::scope const& s,
               std::string const& parent,
               std::string const& parent_prefix,
               bool is_root) {
        bool const encapsulates = is_root || s.encapsulate;
        std::string const here = encapsulates ? s.name : parent;
        std::string const prefix =
            encapsulates ? scenario::join_prefix(parent_prefix, s.prefix) : parent_prefix;
        if (encapsulates)
            r.scopes.push_back({s.name, is_root ? "" : parent});
        hooks(s.hooks, here, "");
        if (s.error_handler)
            r.callbacks.push_back(info_of(*s.error_handler, "errorHandler", here, ""));
        if (s.not_found_handler)
            r.callbacks.push_back(info_of(*s.not_found_handler, "notFound", here, ""));
        hooks(s.not_found_hooks, here, "not found");
        if (s.not_found_error_handler)
            r.callbacks.push_back(
                info_of(*s.not_found_error_handler, "errorHandler", here, "not found"));
        for (scenario::route const& rt : s.routes) {
            std::string where = rt.method;
            for (std::string const& path : scenario::route_paths(prefix, rt.url, rt.method))
                where += " " + path;
            r.callbacks.push_back(info_of(rt.handler, "handler", here, where));
            hooks(rt.hooks, here, where);
            if (rt.error_handler)
                r.callbacks.push_back(info_of(*rt.error_handler, "errorHandler", here, where));
        }
        for (scenario::scope const& child : s.plugins)
            scope(child, here, prefix, false);
        if (s.late) {
            hooks(s.late->hooks, here, "");
            if (s.late->error_handler)
                r.callbacks.push_back(info_of(*s.late->error_handler, "errorHandler", here, ""));
        }
    }
};

void describe_koa(scenario::koa_app const& k, scenario_result& r) {
    // The onion: each middleware encloses the ones after it; the app encloses them all.
    r.scopes.push_back({"app", ""});
    std::string parent = "app";
    for (scenario::middleware const& m : k.chain) {
        r.scopes.push_back({m.label, parent});
        callback_info down{m.label + ":down", "down", m.label, "", "continue", ""};
        if (m.before)
            describe(*m.before, down);
        if (m.next == scenario::next_mode::never)
            down.note += std::string{down.note.empty() ? "" : ", "} + "never calls next()";
        if (m.next == scenario::next_mode::twice)
            down.note += std::string{down.note.empty() ? "" : ", "} + "calls next() twice";
        r.callbacks.push_back(down);
        callback_info up{m.label + ":up", "up", m.label, "", "continue", ""};
        if (m.after)
            describe(*m.after, up);
        if (m.on_catch) {
            callback_info c{m.label + ":catch", "catch", m.label, "", "continue", ""};
            describe(*m.on_catch, c);
            r.callbacks.push_back(c);
        }
        r.callbacks.push_back(up);
        parent = m.label;
    }
    if (k.on_error) {
        callback_info e = info_of(*k.on_error, "onError", "app", "");
        if (e.label.empty())
            e.label = "onError";
        r.callbacks.push_back(e);
    }
}

} // namespace

void describe_scenario(scenario::scenario const& sc, scenario_result& r) {
    r.description = sc.description;
    r.tags = sc.tags;
    r.scopes.clear();
    r.callbacks.clear();
    if (sc.lang == scenario::dialect::koa) {
        r.dialect = "koa";
        describe_koa(sc.application.koa, r);
    } else {
        r.dialect = "fastify";
        walker{r}.scope(sc.application.root, "", "", true);
    }
}

callback_info const*
find_callback(scenario_result const& r, std::string const& label, std::string const& request) {
    callback_info const* first = nullptr;
    auto const space = request.find(' ');
    std::string const method = request.substr(0, space);
    std::string const url = space == std::string::npos ? "" : request.substr(space + 1);
    for (callback_info const& c : r.callbacks) {
        if (c.label != label)
            continue;
        if (!first)
            first = &c;
        if (c.route.empty() || url.empty())
            continue;
        // "GET /v1 /v1/": the method, then every full path of the route.
        std::vector<std::string> paths;
        std::size_t at = c.route.find(' ');
        while (at != std::string::npos) {
            std::size_t const next = c.route.find(' ', at + 1);
            paths.push_back(
                c.route.substr(at + 1, next == std::string::npos ? next : next - at - 1));
            at = next;
        }
        if (detail::route_matches(c.route.substr(0, c.route.find(' ')), paths, method, url))
            return &c;
    }
    return first;
}

} // namespace lifecheck::check
