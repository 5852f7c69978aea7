// Writes scenarios back in the file format (canonical: defaults omitted) and apps as sent in
// `load`.
#include "harness/scenario/detail/text.hpp"
#include "harness/scenario/load.hpp"

#include <cstddef>

namespace lifecheck::scenario {
namespace {

/// How ACTION labels are written: as the file gave them, or every assigned label (for `load`).
enum class labels { given, all };

json headers_json(header_list const& headers) {
    json out = json::object();
    for (auto const& [name, value] : headers)
        out[name] = value;
    return out;
}

json error_json(error_spec const& e) {
    json out = json::object();
    if (e.message)
        out["message"] = *e.message;
    if (e.status_code)
        out["statusCode"] = *e.status_code;
    if (e.code)
        out["code"] = *e.code;
    if (e.status)
        out["status"] = *e.status;
    if (!e.headers.empty())
        out["headers"] = headers_json(e.headers);
    if (!e.props.empty())
        out["props"] = e.props;
    return out;
}

json payload_json(payload const& p) {
    json out = json::object();
    out["kind"] = to_string(p.kind);
    switch (p.kind) {
    case payload_kind::json_value:
        out["value"] = p.value;
        break;
    case payload_kind::string:
        out["value"] = p.bytes;
        break;
    case payload_kind::buffer:
        out["base64"] = detail::base64_encode(p.bytes);
        break;
    case payload_kind::empty:
        break;
    case payload_kind::stream:
    case payload_kind::web_stream:
        out["chunks"] = p.chunks;
        if (p.chunk_delay_ms != 0)
            out["chunkDelayMs"] = p.chunk_delay_ms;
        if (p.fail_after_chunks)
            out["failAfterChunks"] = *p.fail_after_chunks;
        if (p.kind == payload_kind::web_stream && p.locked)
            out["locked"] = true;
        break;
    case payload_kind::response:
        if (p.status)
            out["status"] = *p.status;
        if (!p.headers.empty())
            out["headers"] = headers_json(p.headers);
        if (p.body)
            out["body"] = payload_json(*p.body);
        if (p.shared)
            out["shared"] = *p.shared;
        break;
    case payload_kind::error:
        out.update(error_json(p.error));
        break;
    case payload_kind::undefined:
        break;
    case payload_kind::read:
        if (p.read_of) {
            out["of"] = p.read_of->text;
        } else {
            json fields = json::object();
            for (auto const& [key, r] : p.read_object)
                fields[key] = r.text;
            out["object"] = fields;
        }
        break;
    }
    return out;
}

json op_json(op const& o) {
    json arg;
    switch (o.kind) {
    case op_kind::code:
        arg = o.code;
        break;
    case op_kind::header:
        arg = json::array({o.headers.at(0).first, o.headers.at(0).second});
        break;
    case op_kind::headers:
        arg = headers_json(o.headers);
        break;
    case op_kind::remove_header:
    case op_kind::type:
        arg = o.name;
        break;
    case op_kind::send:
    case op_kind::throw_:
        arg = o.body ? payload_json(*o.body) : json(nullptr);
        break;
    case op_kind::return_:
        arg = o.return_reply ? json("reply") : payload_json(*o.body);
        break;
    case op_kind::set:
        arg = json{{"flag", o.flag.flag}, {"value", o.flag.value}};
        break;
    case op_kind::await_:
        arg = o.ms;
        break;
    case op_kind::done:
        if (o.done == done_with::error)
            arg = json{{"error", payload_json(*o.body)}};
        else if (o.done == done_with::payload)
            arg = json{{"payload", payload_json(*o.body)}};
        break;
    case op_kind::hang:
    case op_kind::rethrow:
    case op_kind::ctx_app_emit:
    case op_kind::call_not_found:
    case op_kind::hijack:
        arg = true;
        break;
    case op_kind::ctx_status:
        arg = o.from_error ? json("err") : o.code;
        break;
    case op_kind::ctx_body:
        arg = o.from_error ? json("err.message") : payload_json(*o.body);
        break;
    case op_kind::ctx_throw:
    case op_kind::ctx_assert:
        if (o.arg.is_array()) { // v2.6 ctx.throw(...args)
            arg = json{{"args", o.arg}};
            break;
        }
        arg = json::object();
        if (o.kind == op_kind::ctx_assert)
            arg["value"] = o.holds;
        arg["status"] = o.status;
        if (o.message)
            arg["message"] = *o.message;
        if (!o.props.empty())
            arg["props"] = o.props;
        break;
    case op_kind::ctx_set:
    case op_kind::ctx_append:
    case op_kind::ctx_remove:
    case op_kind::ctx_type:
    case op_kind::ctx_length:
    case op_kind::ctx_message:
    case op_kind::ctx_redirect:
    case op_kind::ctx_attachment:
    case op_kind::ctx_flush_headers:
    case op_kind::ctx_respond:
    case op_kind::ctx_res_status_code:
    case op_kind::ctx_res_set_header:
    case op_kind::ctx_res_write:
    case op_kind::ctx_res_end:
        arg = o.arg;
        break;
    case op_kind::assign:
        arg = json::array({o.target->text, payload_json(*o.body)});
        break;
    case op_kind::increment:
        arg = o.target->text;
        break;
    }
    json out = json::object();
    out[to_string(o.kind)] = arg;
    return out;
}

json action_json(action const& a, labels l) {
    json out = json::object();
    if (l == labels::all ? !a.label.empty() : a.label_given)
        out["label"] = a.label;
    if (a.how != style::async)
        out["style"] = a.how == style::callback ? "callback" : "sync";
    if (a.delay_ms)
        out["delayMs"] = *a.delay_ms;
    if (a.when)
        out["when"] = json{{"flag", a.when->flag}, {"is", a.when->is}};
    if (a.set)
        out["set"] = json{{"flag", a.set->flag}, {"value", a.set->value}};
    if (a.what != verb::continue_)
        out["do"] = to_string(a.what);
    if (a.status)
        out["status"] = *a.status;
    if (!a.headers.empty())
        out["headers"] = headers_json(a.headers);
    if (a.body)
        out["payload"] = payload_json(*a.body);
    if (a.error)
        out["error"] = error_json(*a.error);
    if (a.ops) {
        json list = json::array();
        for (op const& o : *a.ops)
            list.push_back(op_json(o));
        out["ops"] = list;
    }
    return out;
}

json hooks_json(hook_map const& hooks, labels l) {
    json out = json::object();
    for (auto const& [ph, actions] : hooks) {
        json list = json::array();
        for (action const& a : actions)
            list.push_back(action_json(a, l));
        out[to_string(ph)] = list;
    }
    return out;
}

json options_json(app_options const& o) {
    app_options const defaults;
    json out = json::object();
    if (o.connection_timeout_ms != defaults.connection_timeout_ms)
        out["connectionTimeoutMs"] = o.connection_timeout_ms;
    if (o.request_timeout_ms != defaults.request_timeout_ms)
        out["requestTimeoutMs"] = o.request_timeout_ms;
    if (o.body_limit != defaults.body_limit)
        out["bodyLimit"] = o.body_limit;
    if (o.return503_on_closing != defaults.return503_on_closing)
        out["return503OnClosing"] = o.return503_on_closing;
    if (o.handler_timeout_ms != defaults.handler_timeout_ms)
        out["handlerTimeoutMs"] = o.handler_timeout_ms;
    return out;
}

json scope_json(scope const& s, bool root, labels l) {
    json out = json::object();
    if (!root) {
        out["name"] = s.name;
        if (!s.prefix.empty())
            out["prefix"] = s.prefix;
        if (!s.encapsulate)
            out["encapsulate"] = false;
        if (s.await_register)
            out["await"] = true;
    }
    if (!s.npm_plugins.empty()) {
        json list = json::array();
        for (npm_plugin const& p : s.npm_plugins) {
            json pj = json::object();
            pj["name"] = p.name;
            if (p.version)
                pj["version"] = *p.version;
            if (!p.options.empty())
                pj["options"] = p.options;
            list.push_back(pj);
        }
        out["npmPlugins"] = list;
    }
    if (!s.decorate.empty())
        out["decorate"] = s.decorate;
    if (!s.decorate_request.empty())
        out["decorateRequest"] = s.decorate_request;
    if (!s.decorate_reply.empty())
        out["decorateReply"] = s.decorate_reply;
    if (!s.hooks.empty())
        out["hooks"] = hooks_json(s.hooks, l);
    if (s.error_handler)
        out["errorHandler"] = action_json(*s.error_handler, l);
    if (s.not_found_handler)
        out["notFoundHandler"] = action_json(*s.not_found_handler, l);
    if (!s.not_found_hooks.empty() || s.not_found_error_handler) {
        json options = hooks_json(s.not_found_hooks, l);
        if (s.not_found_error_handler)
            options["errorHandler"] = action_json(*s.not_found_error_handler, l);
        out["notFoundOptions"] = options;
    }
    if (!s.routes.empty()) {
        json routes = json::array();
        for (route const& r : s.routes) {
            json rj = json::object();
            rj["method"] = r.method;
            rj["url"] = r.url;
            rj["handler"] = action_json(r.handler, l);
            if (!r.hooks.empty())
                rj["hooks"] = hooks_json(r.hooks, l);
            if (r.error_handler)
                rj["errorHandler"] = action_json(*r.error_handler, l);
            if (r.handler_timeout_ms != 0)
                rj["handlerTimeoutMs"] = r.handler_timeout_ms;
            if (r.body_limit != 0)
                rj["bodyLimit"] = r.body_limit;
            routes.push_back(rj);
        }
        out["routes"] = routes;
    }
    if (!s.plugins.empty()) {
        json plugins = json::array();
        for (scope const& child : s.plugins)
            plugins.push_back(scope_json(child, false, l));
        out["plugins"] = plugins;
    }
    if (s.late) {
        json late = json::object();
        if (!s.late->hooks.empty())
            late["hooks"] = hooks_json(s.late->hooks, l);
        if (s.late->error_handler)
            late["errorHandler"] = action_json(*s.late->error_handler, l);
        out["late"] = late;
    }
    return out;
}

json koa_json(koa_app const& k, labels l) {
    json out = json::object();
    if (!k.chain.empty()) {
        json chain = json::array();
        for (middleware const& m : k.chain) {
            json mj = json::object();
            mj["label"] = m.label;
            if (m.before)
                mj["before"] = action_json(*m.before, l);
            if (m.next == next_mode::never)
                mj["next"] = "never";
            else if (m.next == next_mode::twice)
                mj["next"] = "twice";
            if (m.on_catch)
                mj["catch"] = action_json(*m.on_catch, l);
            if (m.after)
                mj["after"] = action_json(*m.after, l);
            chain.push_back(mj);
        }
        out["middleware"] = chain;
    }
    if (k.on_error)
        out["onError"] = action_json(*k.on_error, l);
    return out;
}

json app_json(app const& a, dialect d, labels l) {
    if (d == dialect::koa)
        return koa_json(a.koa, l);
    json out = scope_json(a.root, true, l);
    json options = options_json(a.options);
    if (!options.empty())
        out["options"] = options;
    return out;
}

json request_json(request_spec const& r) {
    json out = json::object();
    out["method"] = r.method;
    out["url"] = r.url;
    if (!r.headers.empty())
        out["headers"] = headers_json(r.headers);
    if (r.body) {
        // JSON strings hold UTF-8 only; other bytes go back the way they came in.
        if (detail::is_utf8(*r.body))
            out["body"] = *r.body;
        else
            out["bodyBase64"] = detail::base64_encode(*r.body);
    }
    if (r.chunked)
        out["chunked"] = true;
    return out;
}

json client_json(client_options const& c) {
    json out = json::object();
    if (c.abort_after_ms)
        out["abortAfterMs"] = *c.abort_after_ms;
    if (c.abort_after_request_bytes)
        out["abortAfterRequestBytes"] = *c.abort_after_request_bytes;
    if (c.abort_after_body_bytes)
        out["abortAfterBodyBytes"] = *c.abort_after_body_bytes;
    if (c.abort_after_response_bytes)
        out["abortAfterResponseBytes"] = *c.abort_after_response_bytes;
    if (c.abort_after_response_body_bytes)
        out["abortAfterResponseBodyBytes"] = *c.abort_after_response_body_bytes;
    if (c.bytes_per_write)
        out["bytesPerWrite"] = *c.bytes_per_write;
    if (c.write_delay_ms)
        out["writeDelayMs"] = *c.write_delay_ms;
    if (c.expect_no_response)
        out["expectNoResponse"] = true;
    return out;
}

json expect_json(expectation const& e) {
    json out = json::object();
    if (e.error_given) { // startup (v2.5)
        json err = nullptr;
        if (e.error) {
            err = json::object();
            if (e.error->code)
                err["code"] = *e.error->code;
            if (e.error->message)
                err["message"] = *e.error->message;
        }
        out["error"] = err;
    }
    if (e.status)
        out["status"] = *e.status;
    if (!e.headers.empty()) {
        json h = json::object();
        for (expected_header const& x : e.headers)
            h[x.name] = x.value ? json(*x.value) : json(nullptr);
        out["headers"] = h;
    }
    if (e.body) {
        switch (e.body->how) {
        case body_match::json_value:
            out["body"] = json{{"json", e.body->value}};
            break;
        case body_match::text:
            out["body"] = json{{"text", e.body->text}};
            break;
        case body_match::contains:
            out["body"] = json{{"contains", e.body->text}};
            break;
        }
    }
    if (e.complete)
        out["complete"] = *e.complete;
    if (e.connection)
        out["connection"] = to_string(*e.connection);
    if (e.aborted)
        out["aborted"] = *e.aborted;
    if (e.reached)
        out["reached"] = *e.reached;
    if (e.trace)
        out["trace"] = *e.trace;
    if (e.end_at)
        out["endAt"] = *e.end_at;
    return out;
}

json step_json(step const& st) {
    json out = json::object();
    switch (st.kind) {
    case step_kind::request:
        out["id"] = st.id;
        if (st.connection)
            out["connection"] = *st.connection;
        out["request"] = request_json(st.request);
        break;
    case step_kind::raw:
        out["raw"] = st.raw;
        if (!st.id.empty())
            out["id"] = st.id;
        break;
    case step_kind::parallel: {
        json children = json::array();
        for (step const& child : st.children)
            children.push_back(step_json(child));
        out["parallel"] = children;
        return out;
    }
    case step_kind::sleep:
        out["sleepMs"] = st.sleep_ms;
        return out;
    case step_kind::close:
        out["close"] = true;
        if (st.expect)
            out["expect"] = expect_json(*st.expect);
        return out;
    case step_kind::startup: // v2.5: written as the top-level `startup` (to_json)
        if (st.expect)
            out["expect"] = expect_json(*st.expect);
        return out;
    }
    json client = client_json(st.client);
    if (!client.empty())
        out["client"] = client;
    if (st.expect)
        out["expect"] = expect_json(*st.expect);
    return out;
}

json divergence_json(divergence const& d) {
    json out = json::object();
    out["target"] = d.target;
    out["class"] = to_string(d.cls);
    out["note"] = d.note;
    if (d.result)
        out["result"] = *d.result;
    return out;
}

} // namespace

json to_json(scenario const& s) {
    json out = json::object();
    out["description"] = s.description;
    out["dialect"] = s.lang == dialect::koa ? "koa" : "fastify";
    if (!s.tags.empty())
        out["tags"] = s.tags;
    if (s.startup)
        out["startup"] = step_json(*s.startup);
    out["app"] = app_json(s.application, s.lang, labels::given);
    json steps = json::array();
    for (step const& st : s.steps)
        steps.push_back(step_json(st));
    out["steps"] = steps;
    if (s.divergences.size() == 1) {
        out["divergence"] = divergence_json(s.divergences.front());
    } else if (!s.divergences.empty()) {
        json list = json::array();
        for (divergence const& d : s.divergences)
            list.push_back(divergence_json(d));
        out["divergence"] = list;
    }
    return out;
}

json app_to_json(app const& a, dialect d) {
    return app_json(a, d, labels::all);
}

} // namespace lifecheck::scenario
