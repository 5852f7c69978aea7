// The koa dialect on the model's event loop, transcribed from Koa 2.16.4 (lib/application.js
// handleRequest + respond, lib/context.js onerror, lib/response.js status/body/type/length setters)
// and koa-compose 4 (dispatch), with the middleware the adapter builds from a scenario (§1.5).
#include "harness/model/detail/koa.hpp"

#include "harness/model/detail/js.hpp"
#include "harness/model/detail/node.hpp"
#include "harness/scenario/vocabulary.hpp"

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <iterator>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <utility>

namespace lifecheck::model::detail {

using scenario::action;
using scenario::step;
using scenario::step_kind;

std::string koa_status_text(int status) {
    // statuses@2 codes.json, as installed under server_under_test/koa/node_modules: Node's
    // http.STATUS_CODES but for these three
    switch (status) {
    case 306:
        return "(Unused)";
    case 418:
        return "I'm a teapot";
    case 425:
        return "Unordered Collection";
    default:
        return status_text(status);
    }
}

namespace {

js_value null_value() {
    js_value v;
    v.type = js_type::null;
    return v;
}

/// statuses.empty: a body is never sent with these.
bool empty_status(int s) {
    return s == 204 || s == 205 || s == 304;
}

/// What the adapter refuses to build (it answers `unsupported`, the run is a skip).
std::string adapter_refuses(scenario::koa_app const& app) {
    auto check = [](action const& a, bool listener) -> std::string {
        if (a.how != scenario::style::async)
            return "callback style (koa middleware are async)";
        using scenario::verb;
        if (a.what != verb::continue_ && a.what != verb::throw_ && a.what != verb::send &&
            a.what != verb::hang)
            return std::string{"verb "} + scenario::to_string(a.what);
        if (listener && a.what != verb::continue_)
            return "onError only observes (continue)";
        if (a.body && a.body->kind != scenario::payload_kind::json_value &&
            a.body->kind != scenario::payload_kind::string &&
            a.body->kind != scenario::payload_kind::buffer &&
            a.body->kind != scenario::payload_kind::empty &&
            a.body->kind != scenario::payload_kind::stream)
            return std::string{"payload kind "} + scenario::to_string(a.body->kind);
        return {};
    };
    std::set<std::string> labels;
    for (auto const& m : app.chain) {
        if (m.label.empty() || !labels.insert(m.label).second)
            return "a middleware label is empty or used twice";
        for (auto const* a : {m.before ? &*m.before : nullptr,
                              m.on_catch ? &*m.on_catch : nullptr,
                              m.after ? &*m.after : nullptr}) {
            if (a != nullptr) {
                if (auto why = check(*a, false); !why.empty())
                    return why;
            }
        }
    }
    if (app.on_error) {
        if (auto why = check(*app.on_error, true); !why.empty())
            return why;
    }
    return {};
}

/// A thrown value as Koa's onerror reads it: err.status, err.code, err.message.
js_value koa_error(action const& a) {
    // adapter makeError: new Error(message ?? "boom"), status = error.statusCode ?? status, code
    std::optional<int> status = a.status;
    std::optional<std::string> code;
    std::string message = "boom";
    if (a.error) {
        if (a.error->status_code)
            status = a.error->status_code;
        if (a.error->message)
            message = *a.error->message;
        code = a.error->code;
    }
    return error_value(message, status, code);
}

/// The JS value of a JSON value (a JSON string is a JS string).
js_value json_js(json const& j) {
    js_value v;
    if (j.is_null()) {
        v.type = js_type::null;
    } else if (j.is_string()) {
        v = string_value(j.get<std::string>());
    } else {
        v.type = j.is_boolean()  ? js_type::boolean
                 : j.is_number() ? js_type::number
                                 : js_type::object;
        v.data = j;
    }
    return v;
}

/// `throw value` of a koa `throw` op (scenario-format §1.7): an Error made from an error PAYLOAD
/// (props: only expose matters to Koa), or a non-Error value.
js_value koa_thrown(scenario::payload const& p) {
    switch (p.kind) {
    case scenario::payload_kind::error: {
        scenario::error_spec const& e = p.error;
        js_value v = error_value(e.message.value_or("boom"), e.status_code, e.code);
        v.error->status = e.status;
        v.error->headers = e.headers;
        if (auto it = e.props.find("expose"); it != e.props.end() && it->is_boolean())
            v.error->expose = it->get<bool>();
        return v;
    }
    case scenario::payload_kind::json_value:
        return json_js(p.value);
    case scenario::payload_kind::string:
        return string_value(p.bytes);
    default:
        return undefined_value();
    }
}

/// http-errors 1.8 createError(status, message, props): ctx.throw and a failing ctx.assert.
js_value http_error(scenario::op const& o) {
    std::string message = o.message ? *o.message : koa_status_text(o.status);
    if (!o.message && message.empty())
        message = koa_status_text(o.status / 100 * 100); // the status class's error
    js_value v = error_value(message, o.status);
    v.error->status = o.status;
    v.error->expose = o.status < 500;
    if (auto it = o.props.find("expose"); it != o.props.end() && it->is_boolean())
        v.error->expose = it->get<bool>();
    if (auto it = o.props.find("code"); it != o.props.end() && it->is_string())
        v.error->code = it->get<std::string>();
    if (auto it = o.props.find("headers"); it != o.props.end() && it->is_object())
        for (auto h = it->begin(); h != it->end(); ++h)
            v.error->headers.emplace_back(h.key(),
                                          h->is_string() ? h->get<std::string>() : h->dump());
    return v;
}

/// v2.6 ctx.throw(...args), as http-errors 1.8's createError walks its arguments.
js_value create_error_of(json const& args) {
    struct walk {
        int status = 500;
        std::optional<js_value> error; // the last Error argument
        std::optional<std::string> message;
        json props = json::object();
    } w;

    for (json const& a : args) {
        if (a.is_number_integer()) {
            w.status = a.get<int>();
            continue;
        }
        if (a.is_string()) {
            w.message = a.get<std::string>();
            continue;
        }
        if (a.contains("props")) {
            w.props = a.at("props");
            continue;
        }
        json const& e = a.at("error");
        js_value v = error_value(e.contains("message") ? e.at("message").get<std::string>()
                                                       : std::string{"boom"});
        if (e.contains("status"))
            v.error->status = e.at("status").get<int>();
        if (e.contains("statusCode"))
            v.error->status_code = e.at("statusCode").get<int>();
        // status = err.status || err.statusCode || status
        if (v.error->status.value_or(0) != 0)
            w.status = *v.error->status;
        else if (v.error->status_code.value_or(0) != 0)
            w.status = *v.error->status_code;
        w.error = v;
    }
    bool const error_class = w.status >= 400 && w.status <= 599;
    if (!error_class && koa_status_text(w.status).empty())
        w.status = 500;
    if (!w.error) {
        // new HttpError(msg): the status's own class, else its class (400 or 500)
        std::string m = koa_status_text(w.status);
        if (m.empty())
            m = koa_status_text(w.status - w.status % 100);
        w.error = error_value(w.message.value_or(m));
    }
    js_value out = *w.error;
    out.error->status = w.status;
    out.error->status_code = w.status;
    out.error->expose = w.status < 500;
    for (auto it = w.props.begin(); it != w.props.end(); ++it) {
        if (it.key() == "expose")
            out.error->expose = it->get<bool>();
        else if (it.key() == "code")
            out.error->code = it->get<std::string>();
        else if (it.key() == "headers")
            for (auto h = it->begin(); h != it->end(); ++h)
                out.error->headers.emplace_back(h.key(),
                                                h->is_string() ? h->get<std::string>() : h->dump());
    }
    return out;
}

/// content-disposition's header for ctx.attachment(file): `filename="BASE"`; v2.6: a base name
/// beyond ASCII also gets an ISO-8859-1 fallback (a "?" per code point) and `filename*`, the
/// UTF-8 bytes percent-encoded but for RFC 5987 attr-chars that encodeURIComponent keeps.
std::string disposition_of(std::string const& base) {
    if (std::none_of(base.begin(), base.end(), [](char c) { return (c & 0x80) != 0; }))
        return "attachment; filename=\"" + base + "\"";
    std::string quoted;
    std::string star;
    char buf[4];
    for (unsigned char c : base) {
        if ((c & 0xC0) != 0x80) // not a continuation byte
            quoted.push_back(c < 0x80 ? static_cast<char>(c) : '?');
        bool const keep = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') ||
                          (c >= 'A' && c <= 'Z') || std::strchr("-_.!~", c) != nullptr;
        if (keep && c != 0) {
            star.push_back(static_cast<char>(c));
        } else {
            std::snprintf(buf, sizeof buf, "%%%02X", c);
            star += buf;
        }
    }
    return "attachment; filename=\"" + quoted + "\"; filename*=UTF-8''" + star;
}

/// What reading `property` of a null or undefined `err` throws.
js_value type_error_reading(js_value const& err, char const* property) {
    return error_value(std::string{"Cannot read properties of "} +
                       (err.type == js_type::null ? "null" : "undefined") + " (reading '" +
                       property + "')");
}

class koa_request;

/// What the requests of one koa scenario share.
struct koa_world {
    explicit koa_world(scenario::scenario const& sc)
        : app{sc.application.koa} {}

    node_world w; // loop, flags with race bookkeeping, traces
    scenario::koa_app const& app;
};

/// One request through Koa: handleRequest → compose(middleware) → respond / ctx.onerror, over
/// the Node layer's request/response/socket (node_exchange).
class koa_request : public node_exchange {
public:
    koa_request(koa_world& kw, request_input in, client_plan plan)
        : node_exchange{kw.w, std::move(in), plan, 0}
        , kw_{kw}
        , w_{kw.w}
        , id_{in_.id}
        , method_{ascii_upper(in_.method)} {}

private:
    using on_value = promise::on_value;

    // -- application.js handleRequest ----------------------------------------------------
    void on_request() override {
        status_ = 404; // res.statusCode = 404
        auto p = dispatch(0);
        p->then([this](js_value const&) { respond(); },
                [this](js_value const& err) { onerror(err); });
    }

    // -- koa-compose ---------------------------------------------------------------------
    promise_ptr dispatch(std::size_t i) {
        auto p = std::make_shared<promise>(w_.loop);
        if (index_ && i <= *index_) {
            p->reject(error_value("next() called multiple times"));
            return p;
        }
        index_ = i;
        if (i == kw_.app.chain.size()) {
            p->resolve(undefined_value()); // fn = next (undefined in handleRequest)
            return p;
        }
        run_middleware(i, p);
        return p;
    }

    /// The adapter's `async (ctx, next) => {...}` for middleware `i`; settles `done`.
    void run_middleware(std::size_t i, promise_ptr done) {
        auto const& m = kw_.app.chain[i];
        trace(m.label + ":down");
        on_value fail = [done](js_value const& e) {
            done->reject(e);
        };
        on_value up = [this, i, done, fail](js_value const&) {
            auto const& mw = kw_.app.chain[i];
            trace(mw.label + ":up");
            perform(mw.after ? &*mw.after : nullptr)
                ->then([done](js_value const&) { done->resolve(undefined_value()); }, fail);
        };
        perform(m.before ? &*m.before : nullptr)
            ->then(
                [this, i, up, fail](js_value const&) {
                    auto const& mw = kw_.app.chain[i];
                    if (mw.on_catch) {
                        // v2.3: try { await next() (once or twice) } catch (err) {...}
                        on_value caught = [this, i, up, fail](js_value const& err) {
                            auto const& c = kw_.app.chain[i];
                            trace(c.label + ":catch");
                            perform(&*c.on_catch, &err)->then(up, fail);
                        };
                        if (mw.next == scenario::next_mode::twice)
                            dispatch(i + 1)->then(
                                [this, i, up, caught](js_value const&) {
                                    dispatch(i + 1)->then(up, caught);
                                },
                                caught);
                        else
                            dispatch(i + 1)->then(up, caught);
                        return;
                    }
                    switch (mw.next) {
                    case scenario::next_mode::never:
                        up(undefined_value());
                        return;
                    case scenario::next_mode::once:
                        dispatch(i + 1)->then(up, fail);
                        return;
                    case scenario::next_mode::twice:
                        dispatch(i + 1)->then(
                            [this, i, up, fail](js_value const&) {
                                dispatch(i + 1)->then(up, fail);
                            },
                            fail);
                        return;
                    }
                },
                fail);
    }

    /// The adapter's `perform`: when, delayMs, set, then the verb; an async function's promise.
    promise_ptr perform(action const* a, js_value const* caught = nullptr) {
        auto p = std::make_shared<promise>(w_.loop);
        if (a == nullptr || (a->when && w_.flag(a->when->flag, id_) != a->when->is)) {
            p->resolve(undefined_value());
            return p;
        }
        if (a->ops) {
            run_ops(*a, 0, caught ? *caught : undefined_value(), p);
            return p;
        }
        if (a->delay_ms) {
            w_.loop.after(*a->delay_ms, id_, "middleware", a->label + " (delayMs)", [this, a, p] {
                // `await sleep(ms)`: the timer resolves a promise; the function resumes a
                // microtask later
                w_.loop.microtask([this, a, p] { act(*a, p); });
            });
            return p;
        }
        act(*a, p);
        return p;
    }

    void act(action const& a, promise_ptr const& p) {
        if (a.set)
            w_.set_flag(a.set->flag, a.set->value, id_);
        switch (a.what) {
        case scenario::verb::throw_:
            p->reject(koa_error(a));
            return;
        case scenario::verb::send:
            try {
                set_status(a.status.value_or(200));
                for (auto const& [name, value] : a.headers)
                    set_header(name, value);
                if (a.body)
                    set_body(materialize(*a.body));
            } catch (js_exception const& e) {
                p->reject(e.value);
                return;
            }
            p->resolve(undefined_value());
            return;
        case scenario::verb::hang:
            return; // a promise that never settles
        default:
            p->resolve(undefined_value());
            return;
        }
    }

    /// v2.3 ops (scenario-format §1.7) from op `i` on, the body of an async function settling
    /// `p`; `err` is the catch block's err (adapter runOps).
    void run_ops(action const& a, std::size_t i, js_value const& err, promise_ptr const& p) {
        auto const& ops = *a.ops;
        try {
            for (; i < ops.size(); ++i) {
                scenario::op const& o = ops[i];
                switch (o.kind) {
                case scenario::op_kind::ctx_status:
                    if (!o.from_error && o.code.is_string()) // v2.6: not an integer
                        set_status_value(o.code);
                    else
                        set_status(o.from_error ? status_of(err) : o.code.get<int>());
                    break;
                case scenario::op_kind::ctx_body:
                    set_body(o.from_error ? message_of(err) : materialize(*o.body));
                    break;
                case scenario::op_kind::ctx_throw:
                    p->reject(o.arg.is_array() ? create_error_of(o.arg) : http_error(o));
                    return;
                case scenario::op_kind::ctx_assert:
                    if (!o.holds) {
                        p->reject(http_error(o));
                        return;
                    }
                    break;
                case scenario::op_kind::throw_:
                    p->reject(koa_thrown(*o.body));
                    return;
                case scenario::op_kind::rethrow:
                    p->reject(err);
                    return;
                case scenario::op_kind::ctx_app_emit:
                    if (!emit_error(err)) // Koa's own listener: a TypeError for a non-Error
                        throw js_exception{error_value("non-error thrown")};
                    break;
                case scenario::op_kind::set:
                    w_.set_flag(o.flag.flag, o.flag.value, id_);
                    break;
                case scenario::op_kind::await_: {
                    std::size_t const next = i + 1;
                    w_.loop.after(o.ms, id_, "middleware", "middleware (await)", [=, this, &a] {
                        w_.loop.microtask([=, this, &a] { run_ops(a, next, err, p); });
                    });
                    return;
                }
                case scenario::op_kind::hang:
                    return; // a promise that never settles
                default:
                    response_op(o); // the v2.4 response API; Fastify's ops are refused
                    break;
                }
            }
        } catch (js_exception const& e) {
            p->reject(e.value);
            return;
        }
        p->resolve(undefined_value());
    }

    /// Koa's response API as the v2.4 ops call it (lib/response.js); throws what Koa throws.
    void response_op(scenario::op const& o) {
        using scenario::op_kind;
        switch (o.kind) {
        case op_kind::ctx_set:
        case op_kind::ctx_append: {
            if (o.name.empty()) { // v2.6 ctx.set(object): one ctx.set per key
                for (auto const& h : o.headers)
                    set_header(h.first, h.second);
                return;
            }
            // a client sees an array's header lines joined with ", "
            std::string v;
            if (o.kind == op_kind::ctx_append && has_header(o.name) &&
                !headers_[ascii_lower(o.name)].empty())
                v = headers_[ascii_lower(o.name)];
            for (auto const& x : o.values)
                v += (v.empty() ? "" : ", ") + x;
            set_header(o.name, v);
            return;
        }
        case op_kind::ctx_remove:
            remove_header(o.name);
            return;
        case op_kind::ctx_type:
            assign_type(o.arg.get<std::string>());
            return;
        case op_kind::ctx_length:
            set_length(static_cast<std::size_t>(o.code.get<int>()));
            return;
        case op_kind::ctx_message:
            status_message_ = o.arg.get<std::string>();
            return;
        case op_kind::ctx_redirect: {
            std::string url =
                o.arg.is_string() && o.arg.get<std::string>() != "back"
                    ? o.arg.get<std::string>()
                    : referrer_or(o.arg.is_object() ? o.arg.at("back").get<std::string>()
                                                    : std::string{"/"});
            // an absolute URL goes through new URL(): a bare host gets its "/"
            bool const absolute = url.rfind("http://", 0) == 0 || url.rfind("https://", 0) == 0;
            if (absolute && std::count(url.begin(), url.end(), '/') == 2)
                url.push_back('/');
            set_header("location", url);
            static constexpr int redirects[] = {300, 301, 302, 303, 305, 307, 308};
            if (std::find(std::begin(redirects), std::end(redirects), status_) ==
                std::end(redirects))
                set_status(302);
            set_type(wants_html() ? "text/html; charset=utf-8" : "text/plain; charset=utf-8");
            set_body(string_value("Redirecting to " + url + "."));
            return;
        }
        case op_kind::ctx_attachment:
            if (o.arg.is_string()) {
                std::string const& file = o.arg.get_ref<std::string const&>();
                assign_type(file.substr(file.find_last_of('.')));
                std::string const base = file.substr(file.find_last_of('/') + 1); // path.basename
                set_header("content-disposition", disposition_of(base));
            } else {
                set_header("content-disposition", "attachment");
            }
            return;
        case op_kind::ctx_flush_headers:
            // res.flushHeaders(): the implicit head now, framed by what is set at this point
            if (!headers_sent_ && !writable_ended_ &&
                (method_ == "HEAD" || status_ == 204 || status_ == 304))
                // the client has the whole response with the head; when Koa never ends it, the
                // client's close and the res 'close' after it are not modelled
                unsupported("a flushed head of a response without a body (HEAD, 204, 304)");
            if (!headers_sent_ && !writable_ended_)
                write_head(!has_header("content-length") && !removed_te_ && status_ != 204 &&
                           status_ != 304 && status_ >= 200);
            return;
        case op_kind::ctx_respond:
        case op_kind::ctx_res_status_code:
        case op_kind::ctx_res_set_header:
        case op_kind::ctx_res_write:
        case op_kind::ctx_res_end:
            raw_res(o);
            return;
        default:
            return;
        }
    }

    /// v2.6 raw control (§1.10): ctx.respond = false, and the Node `res` underneath Koa, whose
    /// setHeader throws once the head went out (Koa's own setters check headerSent first).
    void raw_res(scenario::op const& o) {
        using scenario::op_kind;
        if (o.kind == op_kind::ctx_respond) {
            koa_responds_ = false;
            return;
        }
        if (o.kind == op_kind::ctx_res_status_code) {
            status_ = o.code.get<int>(); // res.statusCode: no reason phrase change
            return;
        }
        if (o.kind == op_kind::ctx_res_set_header) {
            if (headers_sent_)
                throw js_exception{
                    error_value("Cannot set headers after they are sent to the client",
                                std::nullopt,
                                std::string{"ERR_HTTP_HEADERS_SENT"})};
            set_header(o.name, o.values.at(0));
            return;
        }
        if (method_ == "HEAD" || status_ == 204 || status_ == 304)
            unsupported("raw res writes of a response without a body (HEAD, 204, 304)");
        std::string const bytes = o.arg.is_string() ? o.arg.get<std::string>() : std::string{};
        if (o.kind == op_kind::ctx_res_end) {
            // Node's end(data) before the head: Content-Length for the data
            if (!headers_sent_ && !bytes.empty() && !has_header("content-length") &&
                !has_header("transfer-encoding") && !removed_cl_)
                set_header("Content-Length", std::to_string(bytes.size()));
            end_response(bytes, body_class::text);
            return;
        }
        if (writable_ended_)
            return;
        if (!headers_sent_)
            write_head(!has_header("content-length") && !removed_te_ && status_ >= 200);
        deliver_body(bytes, false);
    }

    /// ctx.type = t: the Content-Type Koa sets for t, or none (the header removed).
    void assign_type(std::string const& t) {
        for (auto const& row : scenario::koa_type_table)
            if (t == row.value) {
                if (*row.content_type == '\0')
                    remove_header("content-type");
                else
                    set_type(row.content_type);
                return;
            }
    }

    /// v2.6 ctx.redirect('back', alt): the request's Referrer, else its Referer, when it names
    /// this origin (the harness sends `host: 127.0.0.1`, scenario-format §1.4), else `alt`.
    std::string referrer_or(std::string alt) const {
        std::optional<std::string> referrer, referer;
        for (auto const& [k, v] : in_.headers) {
            std::string const n = ascii_lower(k);
            if (n == "referrer" && !referrer)
                referrer = v;
            else if (n == "referer" && !referer)
                referer = v;
        }
        std::string const ref = referrer && !referrer->empty() ? *referrer : referer.value_or("");
        if (ref.empty())
            return alt;
        // the authority of an absolute or scheme-relative URL; a path keeps the request's own
        std::string authority = "127.0.0.1";
        for (std::string const lead : {"//", "http://", "https://"})
            if (ref.compare(0, lead.size(), lead) == 0) {
                std::string const tail = ref.substr(lead.size());
                authority = tail.substr(0, tail.find('/'));
            }
        return authority == "127.0.0.1" ? ref : alt;
    }

    /// ctx.accepts('html'): no Accept header takes anything; else the most specific range that
    /// covers text/html (text/html, text/*, */*), at its highest q, must have q > 0.
    bool wants_html() const {
        std::string const* accept = nullptr;
        for (auto const& [k, v] : in_.headers)
            if (ascii_lower(k) == "accept")
                accept = &v;
        if (accept == nullptr)
            return true;
        int best = -1;
        double q_best = 0;
        std::size_t pos = 0;
        while (pos <= accept->size()) {
            std::size_t const end = std::min(accept->find(',', pos), accept->size());
            std::string item = accept->substr(pos, end - pos);
            pos = end + 1;
            double q = 1;
            std::string range = item.substr(0, item.find(';'));
            for (std::size_t at = item.find(';'); at != std::string::npos;
                 at = item.find(';', at + 1)) {
                std::size_t b = at + 1;
                while (b < item.size() && item[b] == ' ')
                    ++b;
                if (item.compare(b, 2, "q=") == 0 || item.compare(b, 2, "Q=") == 0)
                    q = std::strtod(item.c_str() + b + 2, nullptr);
            }
            range.erase(0, range.find_first_not_of(" \t"));
            range.erase(range.find_last_not_of(" \t") + 1);
            range = ascii_lower(range);
            int spec = -1;
            if (range == "text/html")
                spec = 6;
            else if (range == "text/*")
                spec = 4;
            else if (range == "*/html")
                spec = 2;
            else if (range == "*/*")
                spec = 0;
            if (spec > best || (spec == best && spec >= 0 && q > q_best)) {
                best = spec;
                q_best = q;
            }
        }
        return best >= 0 && q_best > 0;
    }

    /// err.statusCode || err.status || 500 (throws reading a property of null or undefined).
    static int status_of(js_value const& err) {
        if (err.is_nullish())
            throw js_exception{type_error_reading(err, "statusCode")};
        if (err.type == js_type::error)
            return err.error->status_code ? *err.error->status_code
                                          : err.error->status.value_or(500);
        if (err.type == js_type::object && err.data.is_object())
            for (char const* key : {"statusCode", "status"}) {
                auto it = err.data.find(key);
                if (it != err.data.end() && it->is_number() && it->get<double>() != 0) {
                    if (!it->is_number_integer())
                        throw js_exception{error_value("status code must be a number",
                                                       std::nullopt,
                                                       std::string{"ERR_ASSERTION"})};
                    return it->get<int>();
                }
            }
        return 500;
    }

    /// err.message (throws reading a property of null or undefined).
    static js_value message_of(js_value const& err) {
        if (err.is_nullish())
            throw js_exception{type_error_reading(err, "message")};
        if (err.type == js_type::error)
            return string_value(err.error->message);
        if (err.type == js_type::object && err.data.is_object()) {
            auto it = err.data.find("message");
            if (it != err.data.end())
                return json_js(*it);
        }
        return undefined_value();
    }

    /// The value `ctx.body = ...` receives for a PAYLOAD (adapter materialize).
    js_value materialize(scenario::payload const& pl) {
        js_value v;
        switch (pl.kind) {
        case scenario::payload_kind::json_value:
            if (pl.value.is_null()) {
                v.type = js_type::null;
            } else if (pl.value.is_string()) {
                v = string_value(pl.value.get<std::string>());
            } else {
                v.type = pl.value.is_boolean()  ? js_type::boolean
                         : pl.value.is_number() ? js_type::number
                                                : js_type::object;
                v.data = pl.value;
            }
            return v;
        case scenario::payload_kind::string:
            return string_value(pl.bytes);
        case scenario::payload_kind::buffer:
            v.type = js_type::buffer;
            v.bytes = pl.bytes;
            return v;
        case scenario::payload_kind::stream:
            v.type = js_type::node_stream;
            v.stream = std::make_shared<stream_source>();
            v.stream->chunks = pl.chunks;
            v.stream->chunk_delay_ms = pl.chunk_delay_ms;
            v.stream->fail_after_chunks = pl.fail_after_chunks;
            return v;
        default:
            v.type = js_type::null; // empty (other kinds are refused by the adapter)
            return v;
        }
    }

    // -- response.js setters -------------------------------------------------------------
    bool has_header(std::string const& name) const { return headers_.count(ascii_lower(name)) > 0; }

    void set_header(std::string const& name, std::string const& value) {
        if (headers_sent_)
            return;
        headers_[ascii_lower(name)] = value;
    }

    void remove_header(std::string const& name) {
        if (headers_sent_)
            return;
        if (ascii_lower(name) == "transfer-encoding")
            removed_te_ = true; // Node's _removedTE, whether or not the header was there
        if (ascii_lower(name) == "content-length")
            removed_cl_ = true; // Node's _removedContLen
        headers_.erase(ascii_lower(name));
    }

    static bool truthy(js_value const& v) {
        switch (v.type) {
        case js_type::undefined:
        case js_type::null:
            return false;
        case js_type::string:
            return !v.bytes.empty();
        case js_type::boolean:
            return v.data.get<bool>();
        case js_type::number:
            return v.data.get<double>() != 0;
        default:
            return true;
        }
    }

    /// `ctx.status = v` for a value that is not an integer: Koa's setter asserts
    /// Number.isInteger (after its headerSent check).
    void set_status_value(json const& v) {
        if (headers_sent_ || v.is_number_integer())
            return;
        throw js_exception{error_value(
            "status code must be a number", std::nullopt, std::string{"ERR_ASSERTION"})};
    }

    void set_status(int code) {
        if (headers_sent_)
            return;
        if (code < 100 || code > 999)
            throw js_exception{error_value("invalid status code: " + std::to_string(code),
                                           std::nullopt,
                                           std::string{"ERR_ASSERTION"})};
        explicit_status_ = true;
        status_ = code;
        status_message_ = koa_status_text(code); // res.statusMessage = statuses[code]
        if (truthy(body_) && empty_status(code))
            set_body(null_value());
    }

    void set_type(char const* mime) { set_header("content-type", mime); }

    void set_length(std::size_t n) {
        if (!has_header("transfer-encoding"))
            set_header("content-length", std::to_string(n));
    }

    static bool looks_like_html(std::string const& s) {
        // /^\s*</
        for (char c : s) {
            if (c == '<')
                return true;
            if (!std::isspace(static_cast<unsigned char>(c)))
                return false;
        }
        return false;
    }

    void set_body(js_value const& val) {
        js_value const original = body_;
        body_ = val;
        if (val.is_nullish()) {
            if (!empty_status(status_))
                set_status(204);
            if (val.type == js_type::null)
                explicit_null_body_ = true;
            remove_header("content-type");
            remove_header("content-length");
            remove_header("transfer-encoding");
            return;
        }
        if (!explicit_status_)
            set_status(200);
        bool const set_type_now = !has_header("content-type");
        switch (val.type) {
        case js_type::string:
            if (set_type_now)
                set_type(looks_like_html(val.bytes) ? "text/html; charset=utf-8"
                                                    : "text/plain; charset=utf-8");
            set_length(val.bytes.size());
            return;
        case js_type::buffer:
            if (set_type_now)
                set_type("application/octet-stream");
            set_length(val.bytes.size());
            return;
        case js_type::node_stream:
            // a fresh stream every time: `original != val`, so Koa listens for its 'error'
            if (!original.is_nullish())
                remove_header("content-length");
            if (set_type_now)
                set_type("application/octet-stream");
            return;
        default: // json
            remove_header("content-length");
            set_type("application/json; charset=utf-8");
            return;
        }
    }

    /// ctx.writable: the response has not ended and the socket is still writable.
    bool writable() const { return !writable_ended_ && !socket_destroyed_; }

    // -- application.js respond ----------------------------------------------------------
    void respond() {
        if (!koa_responds_ || !writable())
            return;
        int const code = status_;
        if (empty_status(code)) {
            set_body(null_value()); // strips Content-Length and Transfer-Encoding: a 205 goes
                                    // out unframed (write_head)
            end_response("", body_class::empty);
            return;
        }
        if (method_ == "HEAD") {
            if (!has_header("content-length")) {
                // response.length getter: undefined for a falsy body or a stream
                if (truthy(body_) && body_.type != js_type::node_stream) {
                    std::size_t n = 0;
                    if (body_.type == js_type::string || body_.type == js_type::buffer)
                        n = body_.bytes.size();
                    else
                        n = json_stringify(body_.data).size();
                    set_length(n);
                }
            }
            end_response("", body_class::empty);
            return;
        }
        if (body_.is_nullish()) {
            if (explicit_null_body_) {
                remove_header("content-type");
                remove_header("transfer-encoding");
                // the null body removed Content-Length too: no framing at all (write_head; prop
                // --target koa --dialect koa --seed 2, after 901 cases)
                end_response("", body_class::empty);
                return;
            }
            std::string text = status_message_ ? *status_message_ : koa_status_text(code);
            if (text.empty())
                text = std::to_string(code); // ctx.message || String(code)
            set_type("text/plain; charset=utf-8");
            set_length(text.size());
            end_response(text, body_class::text);
            return;
        }
        switch (body_.type) {
        case js_type::string:
            end_response(body_.bytes, body_class::text);
            return;
        case js_type::buffer:
            end_response(body_.bytes, body_class::binary);
            return;
        case js_type::node_stream:
            pipe(body_.stream);
            return;
        default: {
            std::string const s = json_stringify(body_.data);
            set_length(s.size());
            end_response(s, body_class::json);
            return;
        }
        }
    }

    // -- context.js onerror --------------------------------------------------------------
    void onerror(js_value const& thrown) {
        if (thrown.is_nullish())
            return; // `null == err`: no response at all
        js_value err = thrown;
        if (err.type != js_type::error) // new Error(util.format('non-error thrown: %j', err))
            err = error_value("non-error thrown");
        bool const header_sent = headers_sent_ || !writable();
        emit_error(err); // this.app.emit('error', err, this)
        if (header_sent)
            return;
        headers_.clear(); // unset all headers, then set err.headers
        for (auto const& [name, value] : err.error->headers)
            set_header(name, value);
        set_type("text/plain; charset=utf-8");
        std::optional<int> status = err.error->status; // err.status || err.statusCode
        if (!status)
            status = err.error->status_code;
        int code = status.value_or(500);
        if (err.error->code && *err.error->code == "ENOENT")
            code = 404;
        if (koa_status_text(code).empty())
            code = 500;
        // err.expose ? err.message : the status text
        std::string const msg =
            err.error->expose.value_or(false) ? err.error->message : koa_status_text(code);
        status_ = code;
        explicit_status_ = true;
        status_message_ = koa_status_text(code);
        if (truthy(body_) && empty_status(code)) {
            body_ = null_value();
            headers_.erase("content-type");
        }
        set_length(msg.size());
        end_response(msg, body_class::text);
    }

    /// app.emit('error', err): the scenario's listener (adapter makeErrorListener) is traced
    /// and may set a flag; without one, Koa's own listener throws for a non-Error (false).
    bool emit_error(js_value const& err) {
        if (!kw_.app.on_error)
            return err.type == js_type::error;
        action const& l = *kw_.app.on_error;
        trace(l.label.empty() ? std::string{"onError"} : l.label);
        if (!l.when || w_.flag(l.when->flag, id_) == l.when->is) {
            if (l.set && l.delay_ms) {
                auto const flag = l.set->flag;
                bool const value = l.set->value;
                w_.loop.after(*l.delay_ms,
                              id_,
                              "listener",
                              "error listener set (delayMs)",
                              [this, flag, value] { w_.set_flag(flag, value, id_); });
            } else if (l.set) {
                w_.set_flag(l.set->flag, l.set->value, id_);
            }
        }
        return true;
    }

    // -- the body stream (adapter nodeStream piped into res) ------------------------------
    void pipe(std::shared_ptr<stream_source> src) {
        stream_ = src;
        // pipe() resumes the source on a later tick; the first read pushes the first chunk
        w_.loop.next_tick([this, src] { stream_step(src, 0); });
    }

    void stream_step(std::shared_ptr<stream_source> const& src, std::size_t k) {
        if (stream_ != src || stream_destroyed_)
            return;
        std::size_t const n = src->chunks.size();
        bool const fails = src->fail_after_chunks.has_value();
        std::size_t const total =
            fails ? std::min<std::size_t>(
                        static_cast<std::size_t>(std::max(0, *src->fail_after_chunks)), n)
                  : n;
        if (k < total) {
            if (!headers_sent_)
                write_head(true);
            deliver_body(src->chunks[k], false);
            w_.loop.after(
                src->chunk_delay_ms, id_, "stream", "stream chunk or end", [this, src, k] {
                    stream_step(src, k + 1);
                });
            return;
        }
        stream_destroyed_ = true;
        if (fails) {
            // destroy(err): 'error' on the next tick reaches ctx.onerror (Koa's once('error'))
            w_.loop.next_tick([this] { onerror(error_value("stream failed")); });
            return;
        }
        if (!headers_sent_)
            write_head(true);
        end_response("", body_class::stream);
    }

    // -- the Node layer underneath ------------------------------------------------------
    /// res.writeHead with Koa's headers (chunked framing for a piped stream).
    void write_head(bool chunked) {
        headers_sent_ = true;
        // Node's _storeHeader: Transfer-Encoding removed by the app (every `ctx.body = null`)
        // and no Content-Length on a response that has a body: no framing header, the server
        // closes the connection after it (a later stream body too: prop --dialect koa --seed
        // 404; only 204, 304, 1xx and HEAD have no body, not 205)
        bool const bodiless = method_ == "HEAD" || status_ == 204 || status_ == 304 ||
                              (status_ >= 100 && status_ < 200);
        if (removed_te_ && !has_header("content-length") && !bodiless)
            closes_connection_after_response();
        if (chunked && out_.body_kind == body_class::none)
            out_.body_kind = body_class::stream;
        scenario::header_list headers(headers_.begin(), headers_.end());
        deliver_head(status_, headers, chunked);
    }

    /// res.end(bytes), writing the head first when it has not gone out yet.
    void end_response(std::string const& bytes, body_class kind) {
        if (writable_ended_)
            return;
        if (!headers_sent_) {
            // Node's end(data): a Content-Length for data unless the app removed it (then
            // chunked, unless Transfer-Encoding was removed too: write_head closes)
            bool const chunked = removed_cl_ && !removed_te_ && !has_header("content-length");
            if (chunked)
                out_.body_kind = kind;
            write_head(chunked);
        }
        res_end(bytes, kind);
    }

    /// onFinished(res, destroy(stream)) in respond: a closing socket destroys the piped body.
    bool on_socket_closing() override {
        stream_destroyed_ = true;
        return false;
    }

    void trace(std::string const& label) { w_.trace(id_, label); }

    koa_world& kw_;
    node_world& w_;
    std::string id_;
    std::string method_;

    std::optional<std::size_t> index_;           // koa-compose's `index` (-1 = nothing)
    int status_ = 200;                           // res.statusCode
    std::optional<std::string> status_message_;  // res.statusMessage once ctx.status was set
    bool explicit_status_ = false;               // response._explicitStatus
    bool koa_responds_ = true;                   // v2.6: false after `ctx.respond = false`
    bool explicit_null_body_ = false;            // response._explicitNullBody
    bool removed_te_ = false;                    // res._removedTE
    bool removed_cl_ = false;                    // res._removedContLen
    js_value body_;                              // response._body
    std::map<std::string, std::string> headers_; // res headers, lower-case names
    std::shared_ptr<stream_source> stream_;      // the piped body
    bool stream_destroyed_ = false;
};

class koa_driver {
public:
    explicit koa_driver(scenario::scenario const& sc)
        : sc_{sc}
        , kw_{sc} {}

    std::vector<step_prediction> run() {
        std::string const refused = adapter_refuses(sc_.application.koa);
        collect_leaves(sc_.steps, leaves_);
        if (refused.empty()) {
            groups_.run(sc_.steps, 0, [this](step const& s, double t) { start_leaf(s, t); });
        }
        std::vector<step_prediction> out;
        for (auto const& l : leaves_) {
            step_prediction p = assemble(*l.s);
            if (!refused.empty()) {
                p.deterministic = false;
                p.why = "the koa adapter refuses this app (unsupported): " + refused;
            }
            out.push_back(p);
        }
        return out;
    }

private:
    void start_leaf(step const& s, double t) {
        if (s.kind == step_kind::close)
            return; // server.close(): no callbacks in the koa dialect
        raw_parse const parsed = parse_step(s);
        switch (parsed.what) {
        case raw_parse::result::incomplete_head:
            not_reached_.insert(s.id);
            return;
        case raw_parse::result::bad_request:
        case raw_parse::result::too_large:
            // the adapter's 'clientError' listener keeps Node from answering: the exchange hangs
            // (checked on Koa 2.16.4 with "GARBAGE\r\n\r\n")
            extra_nondet_[s.id] = "a request Node's parser rejects (not modelled for koa)";
            return;
        case raw_parse::result::ok:
            break;
        }
        if (parsed.not_decided)
            extra_nondet_[s.id] = *parsed.not_decided;
        // Koa never reads the body: a request starts when its head arrives.
        client_schedule const cs =
            plan_client(s.client, parsed.wire, t, server_facts{0, 0, false, false});
        switch (cs.what) {
        case client_schedule::verdict::head_too_large:
            extra_nondet_[s.id] = "request head larger than Node's limit (not modelled for koa)";
            return;
        case client_schedule::verdict::aborted_in_head:
            not_reached_.insert(s.id); // abort inside the request head
            return;
        case client_schedule::verdict::ok:
            break;
        }
        auto run = std::make_unique<koa_request>(kw_, parsed.in, cs.plan);
        groups_.attach(s, *run);
        run->schedule();
        runs_[s.id] = std::move(run);
    }

    step_prediction assemble(step const& s) {
        step_prediction p;
        if (s.kind == step_kind::close) {
            p.step_id = close_owner(s);
            bool waits = false;
            for (auto const& [id, r] : runs_)
                waits = waits || (r->outcome().reached && !r->outcome().ended);
            p.hangs = waits;
            if (waits) {
                p.deterministic = false;
                p.why = "close() waits for a request that never finishes";
            }
            return p;
        }
        p.step_id = s.id;
        if (not_reached_.count(s.id) > 0) {
            p.reached = false;
            return p;
        }
        if (auto it = runs_.find(s.id); it != runs_.end()) {
            p = predict_request(s, it->second->outcome(), kw_.w.traces[s.id], false);
            // res.end("") of a string, Buffer or JSON body: the client saw an empty body
            if (p.body != body_class::stream && p.complete && p.body_text && p.body_text->empty())
                p.body = body_class::empty;
        }
        finish_determinism(p, kw_.w, s.id, extra_nondet_);
        return p;
    }

    scenario::scenario const& sc_;
    koa_world kw_;
    step_groups groups_{kw_.w};
    std::vector<leaf> leaves_;
    std::map<std::string, std::unique_ptr<koa_request>> runs_;
    std::set<std::string> not_reached_;
    std::map<std::string, std::string> extra_nondet_;
};

} // namespace

std::vector<step_prediction> predict_koa(scenario::scenario const& sc) {
    koa_driver d{sc};
    return d.run();
}

} // namespace lifecheck::model::detail
