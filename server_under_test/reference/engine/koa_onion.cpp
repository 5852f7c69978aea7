// Koa 2.16 for the reference server: koa-compose's onion, ctx.body/status setters and Koa's
// respond/onerror, on the engine's loop.
//
// Followed step by step: koa-compose 4.2.0 index.js (dispatch), koa lib/application.js
// (handleRequest, respond), lib/context.js (onerror) and lib/response.js (status, body, length,
// type setters) over Node's `res` header semantics. The ACTION mapping is the one
// server_under_test/koa/adapter.mjs uses (its README, "Mapping").
#include "server_under_test/reference/engine/koa_onion.hpp"

#include "harness/scenario/vocabulary.hpp"
#include "server_under_test/reference/engine/node_response.hpp"
#include "server_under_test/reference/engine/values.hpp"

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <map>
#include <string_view>

namespace lifecheck::engine {

using scenario::action;
using scenario::next_mode;
using scenario::op;
using scenario::op_kind;
using scenario::payload_kind;
using scenario::verb;

std::optional<std::string> koa_status_text(int status) {
    // statuses@1.5.0 (what koa 2.16.4 depends on) is Node's http.STATUS_CODES except at
    // 306 "(Unused)", 418 "I'm a teapot" and 425 "Unordered Collection".
    switch (status) {
    case 306:
        return std::string{"(Unused)"};
    case 418:
        return std::string{"I'm a teapot"};
    case 425:
        return std::string{"Unordered Collection"};
    default:
        break;
    }
    std::string text = status_text(status);
    if (text.empty())
        return std::nullopt;
    return text;
}

namespace {

char const* payload_kind_unsupported(scenario::payload const& p) {
    if (p.kind == payload_kind::web_stream)
        return "webStream";
    if (p.kind == payload_kind::response)
        return "response";
    return nullptr;
}

} // namespace

std::optional<std::string> koa_unsupported(scenario::app const& a) {
    auto check = [](std::optional<action> const& act,
                    std::string const& where) -> std::optional<std::string> {
        if (act && act->body)
            if (char const* k = payload_kind_unsupported(*act->body))
                return where + ": a '" + k +
                       "' payload (Koa 2 has no WHATWG stream or Response body)";
        return std::nullopt;
    };
    for (auto const& m : a.koa.chain) {
        if (auto why = check(m.before, m.label + ".before"))
            return why;
        if (auto why = check(m.on_catch, m.label + ".catch"))
            return why;
        if (auto why = check(m.after, m.label + ".after"))
            return why;
    }
    return std::nullopt;
}

namespace {

constexpr char const* type_text = "text/plain; charset=utf-8";
constexpr char const* type_html = "text/html; charset=utf-8";
constexpr char const* type_bin = "application/octet-stream";
constexpr char const* type_json = "application/json; charset=utf-8";

/// statuses.empty: the codes whose responses Koa sends without a body.
bool empty_status(int code) {
    return code == 204 || code == 205 || code == 304;
}

/// Per-app state shared by every request: the app (owns the ACTIONs), flags, the sink.
struct koa_state {
    scenario::app app;
    loop* ev = nullptr;
    event_sink sink;
    std::map<std::string, bool> flags; // `set` / `when`
    bool closing = false;
    int auto_id = 0;

    void emit_cb(std::string const& req, std::string const& label, char const* phase) {
        event e;
        e.what = event::kind::cb;
        e.req = req;
        e.label = label;
        e.phase = phase;
        e.scope = "root";
        sink(e);
    }

    bool holds(action const& a) const {
        if (!a.when)
            return true;
        auto it = flags.find(a.when->flag);
        bool const v = it != flags.end() && it->second;
        return v == a.when->is;
    }

    void apply_set(action const& a) {
        if (a.set)
            flags[a.set->flag] = a.set->value;
    }
};

/// The settlement of a promise handed to its reaction: null when fulfilled, else the rejection.
using settle_fn = std::function<void(std::shared_ptr<js_error>)>;

/// The value `ctx.body = ...` receives for a PAYLOAD: json → the value itself (a string value
/// stays a string, null stays null), string, buffer, empty → null, stream → a Node Readable.
value materialize(scenario::payload const& p) {
    value v;
    switch (p.kind) {
    case payload_kind::json_value:
        if (!p.value.is_null())
            return plain_value(p);
        v.k = value::kind::null;
        return v;
    case payload_kind::string:
    case payload_kind::buffer:
        return plain_value(p);
    case payload_kind::empty:
        v.k = value::kind::null;
        return v;
    case payload_kind::stream:
    case payload_kind::web_stream: // refused by koa_unsupported
    case payload_kind::response:
        v.k = value::kind::stream;
        v.stream = make_stream(p); // Koa reads its chunks, delay and failure only
        return v;
    case payload_kind::error:     // v2 ops only (scenario-format §1.6); the koa dialect
    case payload_kind::undefined: // has no ops yet
    case payload_kind::read:      // v2.6: fastify ops only (the loader refuses it in koa)
        return v;
    }
    return v;
}

bool is_nullish(value const& v) {
    return v.k == value::kind::undefined || v.k == value::kind::null;
}

/// JavaScript truthiness of a body value (`if (this.body && ...)` in the status setter).
bool truthy(value const& v) {
    switch (v.k) {
    case value::kind::undefined:
    case value::kind::null:
        return false;
    case value::kind::string:
        return !v.bytes.empty();
    case value::kind::json:
        if (v.js.is_boolean())
            return v.js.get<bool>();
        if (v.js.is_number())
            return v.js.get<double>() != 0;
        return true; // objects and arrays
    default:
        return true; // Buffer, stream
    }
}

/// `/^\s*</`: Koa's test for an HTML string body.
bool looks_like_html(std::string const& s) {
    for (char c : s) {
        if (std::isspace(static_cast<unsigned char>(c)))
            continue;
        return c == '<';
    }
    return false;
}

class koa_request final : public request, public std::enable_shared_from_this<koa_request> {
public:
    koa_request(std::shared_ptr<koa_state> st, request_head head, exchange& out)
        : st_{std::move(st)}
        , head_{std::move(head)}
        , res_{out, *st_->ev, st_->sink, id_} {
        res_.status_code(404); // handleRequest: res.statusCode = 404
        for (auto const& [k, v] : head_.headers)
            if (k == "x-lifecheck-req" && !v.empty()) {
                id_ = v;
                break;
            }
        if (id_.empty())
            id_ = "auto-" + std::to_string(++st_->auto_id);
    }

    /// application.js handleRequest: res.statusCode = 404, then
    /// fnMiddleware(ctx).then(respond).catch(onerror).
    void start() {
        auto self = shared_from_this();
        dispatch(0, [self](std::shared_ptr<js_error> err) {
            if (err)
                self->onerror(err);
            else
                self->respond();
        });
    }

    // Koa reads no request body (no body parser is part of a scenario app).
    void body(std::string_view) override {}

    void body_end() override {}

    void finished() override;
    void closed(bool by_client) override;
    void timed_out() override;

    std::string const& id() const override { return id_; }

    bool done() const override { return res_.end_emitted(); }

private:
    // --- koa-compose -------------------------------------------------------------------------
    void dispatch(std::size_t i, settle_fn k);
    void run_middleware(std::size_t i, settle_fn k);
    void call_next(std::size_t i, settle_fn k);
    void upper_half(std::size_t i, settle_fn k);
    void catch_block(std::size_t i, std::shared_ptr<js_error> err, settle_fn k);
    void perform(std::optional<action> const& a,
                 settle_fn k,
                 std::shared_ptr<js_error> caught = nullptr);
    void run_ops(action const* a, std::size_t i, std::shared_ptr<js_error> caught, settle_fn k);
    void send_verb(action const& a);
    std::shared_ptr<js_error> response_op(op const& o);
    /// A promise reaction: `k` runs as a microtask.
    void settle(settle_fn const& k, std::shared_ptr<js_error> err);

    // --- ctx.response (lib/response.js) --------------------------------------------------------
    void set_status(int code);
    void set_body(value v);

    void set_type(char const* mime) { koa_set("Content-Type", mime); }

    void set_length(std::size_t n);
    void koa_set(std::string const& name, std::string v);
    void koa_remove(std::string const& name);
    std::optional<std::size_t> body_length() const;

    bool writable() const { return res_.writable(); }

    // --- lib/application.js respond, lib/context.js onerror ----------------------------------
    void respond();
    void onerror(std::shared_ptr<js_error> const& err);
    bool emit_error(js_error const& err);
    void pipe(std::shared_ptr<stream_obj> s);
    void stream_step(std::shared_ptr<stream_obj> const& s, std::size_t k);

    std::string const* header(std::string const& lower_name) const {
        return res_.get_header(lower_name);
    }

    std::string back_target(scenario::json const& arg) const;
    std::shared_ptr<js_error> raw_op(op const& o);

    std::string const* find_request_header(std::string const& lower_name) const {
        for (auto const& [k, v] : head_.headers)
            if (k == lower_name)
                return &v;
        return nullptr;
    }

    std::shared_ptr<koa_state> st_;
    request_head head_;
    bool bypass_ = false; // v2.6 ctx.respond = false: respond() does nothing
    std::string id_;
    node_response res_; // Node's res and socket: status, headers, writes, finish/close
    long index_ = -1;   // koa-compose's "last called middleware #"

    // ctx.response
    bool explicit_status_ = false; // response._explicitStatus
    bool explicit_null_ = false;   // response._explicitNullBody
    value body_;                   // response._body
    // res.statusMessage: ctx.message's, or the status text the status setter stored
    std::optional<std::string> status_message_;
};

// ---------------------------------------------------------------------------------------------
// koa-compose 4.2.0

void koa_request::settle(settle_fn const& k, std::shared_ptr<js_error> err) {
    st_->ev->microtask([k, err] { k(err); });
}

void koa_request::dispatch(std::size_t i, settle_fn k) {
    auto const n = static_cast<long>(i);
    if (n <= index_) {
        settle(k, make_error("next() called multiple times", std::nullopt, std::nullopt));
        return;
    }
    index_ = n;
    if (i == st_->app.koa.chain.size()) {
        settle(k, nullptr); // fn = next (undefined in Koa) → Promise.resolve()
        return;
    }
    run_middleware(i, std::move(k));
}

/// `async (ctx, next) => { LABEL:down; await before; await next() (0-2 times); LABEL:up; await
/// after }`
void koa_request::run_middleware(std::size_t i, settle_fn k) {
    auto const& m = st_->app.koa.chain[i];
    st_->emit_cb(id_, m.label + ":down", "middleware");
    auto self = shared_from_this();
    perform(m.before, [self, i, k](std::shared_ptr<js_error> err) {
        if (err) {
            self->settle(k, err);
            return;
        }
        self->call_next(i, k);
    });
}

void koa_request::call_next(std::size_t i, settle_fn k) {
    auto self = shared_from_this();
    auto const& m = st_->app.koa.chain[i];
    if (m.on_catch) {
        // v2.3: try { await next() (once or twice) } catch (err) { LABEL:catch; ACTION }
        bool const twice = m.next == next_mode::twice;
        settle_fn after_try = [self, i, k](std::shared_ptr<js_error> err) {
            if (err)
                self->catch_block(i, err, k);
            else
                self->upper_half(i, k);
        };
        dispatch(i + 1, [self, i, k, twice, after_try](std::shared_ptr<js_error> err) {
            if (err)
                self->catch_block(i, err, k);
            else if (twice)
                self->dispatch(i + 1, after_try);
            else
                self->upper_half(i, k);
        });
        return;
    }
    switch (m.next) {
    case next_mode::never:
        upper_half(i, std::move(k));
        return;
    case next_mode::once:
        dispatch(i + 1, [self, i, k](std::shared_ptr<js_error> err) {
            if (err)
                self->settle(k, err);
            else
                self->upper_half(i, k);
        });
        return;
    case next_mode::twice:
        dispatch(i + 1, [self, i, k](std::shared_ptr<js_error> err) {
            if (err) {
                self->settle(k, err);
                return;
            }
            // The second call always rejects: "next() called multiple times".
            self->dispatch(i + 1, [self, i, k](std::shared_ptr<js_error> again) {
                if (again)
                    self->settle(k, again);
                else
                    self->upper_half(i, k);
            });
        });
        return;
    }
}

void koa_request::upper_half(std::size_t i, settle_fn k) {
    auto const& m = st_->app.koa.chain[i];
    st_->emit_cb(id_, m.label + ":up", "middleware");
    auto self = shared_from_this();
    perform(m.after, [self, k](std::shared_ptr<js_error> err) { self->settle(k, err); });
}

void koa_request::catch_block(std::size_t i, std::shared_ptr<js_error> err, settle_fn k) {
    auto const& m = st_->app.koa.chain[i];
    st_->emit_cb(id_, m.label + ":catch", "middleware");
    auto self = shared_from_this();
    perform(
        m.on_catch,
        [self, i, k](std::shared_ptr<js_error> again) {
            if (again)
                self->settle(k, again);
            else
                self->upper_half(i, k);
        },
        std::move(err));
}

/// One ACTION (scenario-format §1.2 order): `when`, `delayMs` (a timer), `set`, then the verb. `k`
/// runs as the reaction of `await perform(...)`; `hang` never calls it.
void koa_request::perform(std::optional<action> const& a,
                          settle_fn k,
                          std::shared_ptr<js_error> caught) {
    if (!a || !st_->holds(*a)) {
        settle(k, nullptr);
        return;
    }
    auto self = shared_from_this();
    action const* act = &*a; // owned by st_->app, which outlives every request
    if (act->ops) {
        run_ops(act, 0, std::move(caught), std::move(k));
        return;
    }
    auto run = [self, act, k] {
        self->st_->apply_set(*act);
        switch (act->what) {
        case verb::throw_:
            self->settle(k, thrown_by(*act));
            return;
        case verb::send:
            self->send_verb(*act);
            break;
        case verb::hang:
            return; // a promise that never settles
        default:
            break;
        }
        self->settle(k, nullptr);
    };
    if (act->delay_ms) {
        loop* ev = st_->ev;
        ev->set_timeout(*act->delay_ms, [ev, run] { ev->microtask(run); });
    } else {
        run();
    }
}

namespace {

/// What reading a property of null or undefined throws.
std::shared_ptr<js_error> type_error_reading(js_error const& e, char const* property) {
    return make_error(std::string{"Cannot read properties of "} +
                          (e.undefined_thrown ? "undefined" : "null") + " (reading '" + property +
                          "')",
                      std::nullopt,
                      std::nullopt);
}

/// A property of a thrown non-Error JSON value (a JSON object's member), or nothing.
scenario::json const* member_of(js_error const& e, char const* property) {
    if (!e.non_error || !e.non_error->is_object())
        return nullptr;
    auto it = e.non_error->find(property);
    return it == e.non_error->end() ? nullptr : &*it;
}

/// http-errors 1.8 createError(status, message, props), what ctx.throw and ctx.assert throw:
/// status and statusCode, expose = status < 500, the message or the status text (of the status
/// class when the status has none), then props.
std::shared_ptr<js_error> http_error(op const& o) {
    std::string message;
    if (o.message)
        message = *o.message;
    else
        message =
            koa_status_text(o.status).value_or(koa_status_text(o.status / 100 * 100).value_or(""));
    auto e = make_error(message, o.status, std::nullopt);
    e->status = o.status;
    e->expose = o.status < 500;
    if (auto it = o.props.find("expose"); it != o.props.end() && it->is_boolean())
        e->expose = it->get<bool>();
    if (auto it = o.props.find("code"); it != o.props.end() && it->is_string())
        e->code = it->get<std::string>();
    if (auto it = o.props.find("headers"); it != o.props.end() && it->is_object())
        for (auto h = it->begin(); h != it->end(); ++h)
            e->headers.emplace_back(h.key(), h->is_string() ? h->get<std::string>() : h->dump());
    return e;
}

/// http-errors 1.8 createError(...args) for v2.6 `ctx.throw({"args": [...]})`: the last
/// Error, message and props win; an Error's status (`status || statusCode`) is taken when read;
/// a status neither known nor 4xx/5xx is 500; a new Error gets the message or the status text;
/// then expose = status < 500, status = statusCode = status, and props but status/statusCode.
std::shared_ptr<js_error> create_error(scenario::json const& args) {
    int status = 500;
    std::shared_ptr<js_error> err;
    std::optional<std::string> msg;
    scenario::json const* props = nullptr;
    for (auto const& a : args) {
        if (a.is_string()) {
            msg = a.get<std::string>();
        } else if (a.is_number_integer()) {
            status = a.get<int>();
        } else if (auto p = a.find("props"); p != a.end()) {
            props = &*p;
        } else if (auto e = a.find("error"); e != a.end()) {
            err = make_error(e->value("message", std::string{"boom"}), std::nullopt, std::nullopt);
            int const s = e->value("status", 0), sc = e->value("statusCode", 0);
            if (e->contains("status"))
                err->status = s;
            if (e->contains("statusCode"))
                err->status_code = sc;
            if (s != 0)
                status = s;
            else if (sc != 0)
                status = sc;
        }
    }
    if (!koa_status_text(status) && (status < 400 || status >= 600))
        status = 500;
    if (!err) {
        std::string text = msg.value_or("");
        if (!msg)
            text =
                koa_status_text(status).value_or(koa_status_text(status / 100 * 100).value_or(""));
        err = make_error(text, std::nullopt, std::nullopt);
    }
    err->expose = status < 500;
    err->status = status;
    err->status_code = status;
    if (props) {
        if (auto it = props->find("expose"); it != props->end())
            err->expose = it->get<bool>();
        if (auto it = props->find("code"); it != props->end())
            err->code = it->get<std::string>();
        if (auto it = props->find("headers"); it != props->end())
            for (auto h = it->begin(); h != it->end(); ++h)
                err->headers.emplace_back(h.key(),
                                          h->is_string() ? h->get<std::string>() : h->dump());
    }
    return err;
}

/// `throw value` for a koa `throw` op: an Error, or a non-Error JSON value or undefined.
std::shared_ptr<js_error> koa_thrown(scenario::payload const& p) {
    switch (p.kind) {
    case payload_kind::error:
        return error_of(p.error);
    case payload_kind::json_value: {
        auto e = std::make_shared<js_error>();
        e->non_error = p.value;
        return e;
    }
    case payload_kind::string: {
        auto e = std::make_shared<js_error>();
        e->non_error = scenario::json(p.bytes);
        return e;
    }
    default: {
        auto e = std::make_shared<js_error>();
        e->undefined_thrown = true;
        return e;
    }
    }
}

} // namespace

/// v2.3 ops (scenario-format §1.7) from op `i` on, as the body of an async function; `caught` is
/// the catch block's err. `k` runs with the function's settlement; `hang` never calls it.
void koa_request::run_ops(action const* a,
                          std::size_t i,
                          std::shared_ptr<js_error> caught,
                          settle_fn k) {
    auto const& ops = *a->ops;
    for (; i < ops.size(); ++i) {
        op const& o = ops[i];
        switch (o.kind) {
        case op_kind::ctx_status: {
            if (!o.from_error) {
                if (auto err = response_op(o)) {
                    settle(k, err);
                    return;
                }
                break;
            }
            // ctx.status = err.statusCode || err.status || 500
            if (nullish(*caught)) {
                settle(k, type_error_reading(*caught, "statusCode"));
                return;
            }
            std::optional<int> code;
            if (caught->non_error) {
                for (char const* p : {"statusCode", "status"})
                    if (auto const* v = member_of(*caught, p);
                        !code && v && v->is_number() && v->get<double>() != 0)
                        code = v->is_number_integer() ? v->get<int>() : -1;
            } else {
                code = caught->status_code ? caught->status_code : caught->status;
            }
            int const c = code.value_or(500);
            if (c < 100 || c > 999) { // Koa's status setter asserts
                settle(k,
                       make_error("invalid status code: " + std::to_string(c),
                                  std::nullopt,
                                  std::string{"ERR_ASSERTION"}));
                return;
            }
            set_status(c);
            break;
        }
        case op_kind::ctx_body: {
            if (!o.from_error) {
                set_body(materialize(*o.body));
                break;
            }
            // ctx.body = err.message
            if (nullish(*caught)) {
                settle(k, type_error_reading(*caught, "message"));
                return;
            }
            value v; // undefined: a non-Error without a message
            if (!caught->non_error) {
                v = value::of_string(caught->message);
            } else if (auto const* m = member_of(*caught, "message")) {
                if (m->is_string())
                    v = value::of_string(m->get<std::string>());
                else if (m->is_null())
                    v.k = value::kind::null;
                else {
                    v.k = value::kind::json;
                    v.js = *m;
                }
            }
            set_body(v);
            break;
        }
        case op_kind::ctx_throw:
            settle(k, o.arg.is_array() ? create_error(o.arg) : http_error(o));
            return;
        case op_kind::ctx_assert:
            if (!o.holds) {
                settle(k, http_error(o));
                return;
            }
            break;
        case op_kind::throw_:
            settle(k, koa_thrown(*o.body));
            return;
        case op_kind::rethrow:
            settle(k, caught);
            return;
        case op_kind::ctx_app_emit:
            if (!emit_error(*caught)) {
                settle(k, make_error("non-error thrown", std::nullopt, std::nullopt));
                return;
            }
            break;
        case op_kind::set:
            st_->flags[o.flag.flag] = o.flag.value;
            break;
        case op_kind::await_: {
            auto self = shared_from_this();
            loop* ev = st_->ev;
            std::size_t const next = i + 1;
            ev->set_timeout(o.ms, [self, ev, a, next, caught, k] {
                ev->microtask([self, a, next, caught, k] { self->run_ops(a, next, caught, k); });
            });
            return;
        }
        case op_kind::hang:
            return; // a promise that never settles
        default:
            if (auto err = response_op(o)) {
                settle(k, err);
                return;
            }
            break;
        }
    }
    settle(k, nullptr);
}

namespace {

std::string_view trim(std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t'))
        s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t'))
        s.remove_suffix(1);
    return s;
}

/// ctx.accepts('html') (accepts, negotiator): true without an Accept header; else the most
/// specific range matching text/html (then the highest q) must have q > 0.
bool accepts_html(std::string const* accept) {
    if (accept == nullptr)
        return true;
    int best_s = -1;
    double best_q = 0;
    std::string_view rest{*accept};
    while (!rest.empty()) {
        auto const comma = rest.find(',');
        std::string_view item = rest.substr(0, comma);
        rest = comma == std::string_view::npos ? std::string_view{} : rest.substr(comma + 1);
        auto const semi = item.find(';');
        std::string const range = ascii_lower(std::string{trim(item.substr(0, semi))});
        double q = 1;
        if (semi != std::string_view::npos) {
            std::string_view params = item.substr(semi + 1);
            while (!params.empty()) {
                auto const sc = params.find(';');
                std::string_view p = trim(params.substr(0, sc));
                params = sc == std::string_view::npos ? std::string_view{} : params.substr(sc + 1);
                if (p.size() > 2 && (p[0] == 'q' || p[0] == 'Q') && p[1] == '=')
                    q = std::atof(std::string{p.substr(2)}.c_str());
            }
        }
        auto const slash = range.find('/');
        if (slash == std::string::npos)
            continue;
        std::string const type = range.substr(0, slash), sub = range.substr(slash + 1);
        if ((type != "text" && type != "*") || (sub != "html" && sub != "*"))
            continue;
        int const spec = (type == "text" ? 4 : 0) | (sub == "html" ? 2 : 0);
        if (spec > best_s || (spec == best_s && q > best_q)) {
            best_s = spec;
            best_q = q;
        }
    }
    return best_s >= 0 && best_q > 0;
}

/// content-disposition 0.5's `attachment` header for a base name: quoted when ASCII; v2.6 (§1.10)
/// a name with characters from U+0100 on gets a fallback with "?" for each of them and the name
/// as `filename*=UTF-8''` percent-encoded (its letters, digits and `-_.!~` stay).
std::string content_disposition(std::string const& base) {
    bool const ascii = std::all_of(
        base.begin(), base.end(), [](char c) { return static_cast<unsigned char>(c) < 0x80; });
    if (ascii)
        return "attachment; filename=\"" + base + "\"";
    std::string fallback, encoded;
    static char const hex[] = "0123456789ABCDEF";
    for (char ch : base) {
        auto const c = static_cast<unsigned char>(ch);
        if (c < 0x80)
            fallback += ch;
        else if (c >= 0xC0) // the lead byte of one code point
            fallback += '?';
        if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '!' || c == '~') {
            encoded += ch;
        } else {
            encoded += '%';
            encoded += hex[c >> 4];
            encoded += hex[c & 15];
        }
    }
    return "attachment; filename=\"" + fallback + "\"; filename*=UTF-8''" + encoded;
}

} // namespace

/// The v2.4 response ops (lib/response.js); an error when the op throws.
std::shared_ptr<js_error> koa_request::response_op(op const& o) {
    auto joined = [](std::vector<std::string> const& vs) {
        std::string out;
        for (std::size_t i = 0; i < vs.size(); ++i)
            out += (i ? ", " : "") + vs[i];
        return out;
    };
    auto type_of = [](std::string const& v) -> char const* {
        for (auto const& row : scenario::koa_type_table)
            if (v == row.value)
                return row.content_type;
        return "";
    };
    auto set_type_value = [&](std::string const& v) {
        char const* ct = type_of(v);
        if (*ct != '\0')
            koa_set("Content-Type", ct);
        else
            koa_remove("Content-Type");
    };
    switch (o.kind) {
    case op_kind::ctx_status: {
        if (res_.headers_sent())
            return nullptr;
        if (!o.code.is_number_integer()) // v2.6: ctx.status = 'forbidden'
            return make_error(
                "status code must be a number", std::nullopt, std::string{"ERR_ASSERTION"});
        int const c = o.code.get<int>();
        if (c < 100 || c > 999) // Koa's status setter asserts
            return make_error("invalid status code: " + std::to_string(c),
                              std::nullopt,
                              std::string{"ERR_ASSERTION"});
        set_status(c);
        return nullptr;
    }
    case op_kind::ctx_set:
        if (o.arg.is_object()) { // v2.6: ctx.set({name: value}), in the object's order
            for (auto const& [name, v] : o.headers)
                koa_set(name, v);
            return nullptr;
        }
        koa_set(o.name, joined(o.values));
        return nullptr;
    case op_kind::ctx_append: {
        std::string v = joined(o.values);
        if (auto const* prev = header(ascii_lower(o.name)); prev && !prev->empty())
            v = *prev + ", " + v;
        koa_set(o.name, v);
        return nullptr;
    }
    case op_kind::ctx_remove:
        koa_remove(o.name);
        return nullptr;
    case op_kind::ctx_type:
        set_type_value(o.arg.get<std::string>());
        return nullptr;
    case op_kind::ctx_length:
        set_length(static_cast<std::size_t>(o.code.get<int>()));
        return nullptr;
    case op_kind::ctx_message:
        status_message_ = o.arg.get<std::string>();
        return nullptr;
    case op_kind::ctx_redirect: {
        std::string url =
            o.arg.is_string() && o.arg != "back" ? o.arg.get<std::string>() : back_target(o.arg);
        if (auto const scheme = url.find("://"); // new URL(url).toString(): "/" after a bare host
            scheme != std::string::npos && url.find('/', scheme + 3) == std::string::npos)
            url += '/';
        koa_set("Location", url);
        int const c = res_.status_code();
        bool const redirect =
            c == 300 || c == 301 || c == 302 || c == 303 || c == 305 || c == 307 || c == 308;
        if (!redirect)
            set_status(302);
        koa_set("Content-Type",
                accepts_html(find_request_header("accept")) ? type_html : type_text);
        set_body(value::of_string("Redirecting to " + url + "."));
        return nullptr;
    }
    case op_kind::ctx_attachment:
        if (o.arg.is_string()) {
            std::string const name = o.arg.get<std::string>();
            set_type_value(name.substr(name.rfind('.')));
            koa_set("Content-Disposition", content_disposition(name.substr(name.rfind('/') + 1)));
        } else {
            koa_set("Content-Disposition", "attachment");
        }
        return nullptr;
    case op_kind::ctx_flush_headers:
        res_.flush_headers();
        return nullptr;
    case op_kind::ctx_respond:
    case op_kind::ctx_res_status_code:
    case op_kind::ctx_res_set_header:
    case op_kind::ctx_res_write:
    case op_kind::ctx_res_end:
        return raw_op(o);
    default:
        return nullptr; // Fastify's reply ops: refused in koa middleware by the loader
    }
}

/// v2.6 raw control (scenario-format §1.10): `ctx.respond = false` and Node's own `res` calls,
/// which bypass Koa's headerSent checks: setHeader once the head went out throws.
std::shared_ptr<js_error> koa_request::raw_op(op const& o) {
    switch (o.kind) {
    case op_kind::ctx_respond:
        bypass_ = true;
        return nullptr;
    case op_kind::ctx_res_status_code:
        res_.status_code(o.code.get<int>());
        return nullptr;
    case op_kind::ctx_res_set_header:
        if (res_.headers_sent())
            return make_error("Cannot set headers after they are sent to the client",
                              std::nullopt,
                              std::string{"ERR_HTTP_HEADERS_SENT"});
        res_.set_header(o.name, o.values.front());
        return nullptr;
    case op_kind::ctx_res_write:
        res_.write(o.arg.get<std::string>());
        return nullptr;
    default: // ctx.res.end
        res_.end(o.arg.is_string() ? o.arg.get<std::string>() : std::string{});
        return nullptr;
    }
}

/// v2.6 ctx.redirect('back', alt?) (lib/response.js _getBackReferrer): the Referrer (or Referer)
/// when `new URL(referrer, ctx.href).host` is ctx.host, else alt, else "/". The format's
/// referrers (§1.10) are a path (the request's own host), `//host...` or `http(s)://host...`.
std::string koa_request::back_target(scenario::json const& arg) const {
    std::string const* ref = find_request_header("referrer");
    if (ref == nullptr || ref->empty())
        ref = find_request_header("referer");
    std::string const alt = arg.is_object() ? arg["back"].get<std::string>() : std::string{"/"};
    if (ref == nullptr || ref->empty())
        return alt;
    std::string const* host_header = find_request_header("host");
    std::string const ctx_host =
        host_header ? host_header->substr(0, host_header->find(',')) : std::string{};
    std::string rest = *ref;
    std::size_t start = std::string::npos;
    if (rest.rfind("//", 0) == 0)
        start = 2;
    else if (auto const scheme = rest.find("://"); scheme != std::string::npos)
        start = scheme + 3;
    std::string const host =
        start == std::string::npos ? ctx_host : rest.substr(start, rest.find('/', start) - start);
    return host == ctx_host ? *ref : alt;
}

/// `send`: ctx.status = status ?? 200; ctx.set(headers); ctx.body = payload (when there is one).
void koa_request::send_verb(action const& a) {
    set_status(a.status.value_or(200));
    for (auto const& [k, v] : a.headers)
        koa_set(k, v);
    if (a.body)
        set_body(materialize(*a.body));
}

// ---------------------------------------------------------------------------------------------
// lib/response.js

void koa_request::set_status(int code) {
    if (res_.headers_sent())
        return;
    explicit_status_ = true;
    res_.status_code(code);
    status_message_ = koa_status_text(code); // res.statusMessage = statuses[code]
    if (truthy(body_) && empty_status(code)) {
        value null_body;
        null_body.k = value::kind::null;
        set_body(null_body);
    }
}

void koa_request::set_body(value v) {
    bool const had_body = !is_nullish(body_);
    body_ = v;
    if (is_nullish(v)) {
        if (!empty_status(res_.status_code()))
            set_status(204);
        if (v.k == value::kind::null)
            explicit_null_ = true;
        koa_remove("content-type");
        koa_remove("content-length");
        koa_remove("transfer-encoding");
        return;
    }
    if (!explicit_status_)
        set_status(200);
    bool const set_type_now = header("content-type") == nullptr;
    switch (v.k) {
    case value::kind::string:
        if (set_type_now)
            set_type(looks_like_html(v.bytes) ? type_html : type_text);
        set_length(v.bytes.size());
        return;
    case value::kind::buffer:
        if (set_type_now)
            set_type(type_bin);
        set_length(v.bytes.size());
        return;
    case value::kind::stream:
        if (had_body)
            koa_remove("content-length"); // overwriting another body
        if (set_type_now)
            set_type(type_bin);
        return;
    default: // json: always application/json
        koa_remove("content-length");
        set_type(type_json);
        return;
    }
}

void koa_request::set_length(std::size_t n) {
    if (header("transfer-encoding") == nullptr)
        koa_set("Content-Length", std::to_string(n));
}

void koa_request::koa_set(std::string const& name, std::string v) {
    if (res_.headers_sent())
        return;
    res_.set_header(name, std::move(v));
}

void koa_request::koa_remove(std::string const& name) {
    if (res_.headers_sent())
        return;
    res_.remove_header(name);
}

/// The `length` getter: Content-Length when set, else the body's byte length (none for streams).
std::optional<std::size_t> koa_request::body_length() const {
    if (auto const* cl = header("content-length")) {
        try {
            return static_cast<std::size_t>(std::stoull(*cl));
        } catch (...) {
            return 0; // parseInt(...) || 0
        }
    }
    switch (body_.k) {
    case value::kind::string:
    case value::kind::buffer:
        return body_.bytes.size();
    case value::kind::json:
        return js_stringify(body_.js).size();
    default:
        return std::nullopt;
    }
}

// ---------------------------------------------------------------------------------------------
// lib/application.js respond, lib/context.js onerror

void koa_request::respond() {
    if (bypass_ || !writable()) // `false === ctx.respond`, then ctx.writable
        return;
    int const code = res_.status_code();
    if (empty_status(code)) {
        value null_body;
        null_body.k = value::kind::null;
        set_body(null_body); // strips the body headers
        res_.end();
        return;
    }
    if (head_.method == "HEAD") {
        if (!res_.headers_sent() && header("content-length") == nullptr)
            if (auto n = body_length())
                set_length(*n);
        res_.end();
        return;
    }
    if (is_nullish(body_)) {
        if (explicit_null_) {
            koa_remove("content-type");
            koa_remove("transfer-encoding");
            res_.end();
            return;
        }
        // ctx.message || String(code); the getter: res.statusMessage || statuses[status]
        std::string text = status_message_.value_or(koa_status_text(code).value_or(""));
        if (text.empty())
            text = std::to_string(code);
        if (!res_.headers_sent()) {
            set_type(type_text);
            set_length(text.size());
        }
        res_.end(text);
        return;
    }
    switch (body_.k) {
    case value::kind::string:
    case value::kind::buffer:
        res_.end(body_.bytes);
        return;
    case value::kind::stream:
        pipe(body_.stream);
        return;
    default: {
        std::string const text = js_stringify(body_.js);
        if (!res_.headers_sent())
            set_length(text.size());
        res_.end(text);
        return;
    }
    }
}

void koa_request::onerror(std::shared_ptr<js_error> const& thrown) {
    if (!thrown || nullish(*thrown))
        return; // `null == err`: no response at all
    std::shared_ptr<js_error> err = thrown;
    if (err->non_error) // new Error(util.format('non-error thrown: %j', err))
        err = make_error(
            "non-error thrown: " + js_stringify(*err->non_error), std::nullopt, std::nullopt);
    bool const header_sent = res_.headers_sent() || !writable();
    emit_error(*err); // this.app.emit('error', err, this)
    if (header_sent)
        return;
    // Unset every header, set err.headers, then answer as text/plain.
    while (!res_.headers().empty())
        res_.remove_header(res_.headers().front().first);
    for (auto const& [name, v] : err->headers)
        koa_set(name, v);
    set_type(type_text);
    std::optional<int> code = err->status ? err->status : err->status_code; // status || statusCode
    if (err->code && *err->code == "ENOENT")
        code = 404;
    if (!code || !koa_status_text(*code))
        code = 500;
    // err.expose ? err.message : the status text
    std::string const text = err->expose.value_or(false) ? err->message : *koa_status_text(*code);
    set_status(*code);
    set_length(text.size());
    res_.end(text);
}

/// The app's 'error' listener (scenario-format §1.5 onError): traced, observes, may set a flag.
/// Without one, Koa's own listener only logs an Error, and throws a TypeError for a non-Error
/// (then this returns false).
bool koa_request::emit_error(js_error const& err) {
    auto const& l = st_->app.koa.on_error;
    if (!l)
        return !err.non_error && !err.undefined_thrown;
    st_->emit_cb(id_, l->label.empty() ? std::string{"onError"} : l->label, "onError");
    if (!st_->holds(*l))
        return true;
    if (l->delay_ms) {
        auto st = st_;
        action const* act = &*l;
        st_->ev->set_timeout(*l->delay_ms, [st, act] { st->apply_set(*act); });
    } else {
        st_->apply_set(*l);
    }
    return true;
}

/// body.pipe(res) for a Node Readable: its first chunk at the first read, `chunkDelayMs` before
/// every later event. A failing stream only reaches ctx.onerror, after the head went out: the
/// response is left open (Koa 2 does not end or destroy it).
void koa_request::pipe(std::shared_ptr<stream_obj> s) {
    auto self = shared_from_this();
    st_->ev->next_tick([self, s] { self->stream_step(s, 0); });
}

void koa_request::stream_step(std::shared_ptr<stream_obj> const& s, std::size_t k) {
    if (!res_.writable())
        return; // Koa destroys the body stream once the response closes
    std::size_t total = s->chunks.size();
    if (s->fail_after)
        total = std::min(total, static_cast<std::size_t>(std::max(0, *s->fail_after)));
    auto self = shared_from_this();
    if (k < total) {
        res_.write(s->chunks[k]);
        st_->ev->set_timeout(s->chunk_delay_ms, [self, s, k] { self->stream_step(s, k + 1); });
        return;
    }
    if (s->fail_after) {
        st_->ev->next_tick([self] {
            if (!self->res_.closed())
                self->onerror(make_error("stream failed", std::nullopt, std::nullopt));
        });
        return;
    }
    st_->ev->next_tick([self] { self->res_.end(); });
}

// ---------------------------------------------------------------------------------------------
// The socket's side (the same `end` rules as the Fastify dialect, decisions.md D8)

void koa_request::finished() {
    res_.on_finish(shared_from_this());
}

void koa_request::closed(bool by_client) {
    // res 'close' now → `end`. Koa itself sees nothing: on-finished calls ctx.onerror(undefined)
    // for a plain close, and respond() later finds ctx.writable false.
    if (res_.on_close(by_client))
        res_.emit_end();
}

void koa_request::timed_out() {
    res_.on_timeout(); // Node's default for an idle socket without a 'timeout' listener: destroy
}

/// A Koa app: no application hooks; closing waits for in-flight requests (server.close()).
class koa_server final : public app_server {
public:
    koa_server(scenario::app const& a, loop& l, event_sink sink)
        : st_{std::make_shared<koa_state>()} {
        st_->app = a;
        st_->ev = &l;
        st_->sink = std::move(sink);
    }

    void ready(ready_callback done) override { done(std::nullopt); }

    void close(std::function<void(std::function<void()>)> drained,
               std::function<void()> done) override {
        st_->closing = true;
        drained(std::move(done));
    }

    std::shared_ptr<request> begin(request_head head, exchange& out) override {
        auto r = std::make_shared<koa_request>(st_, std::move(head), out);
        r->start();
        return r;
    }

    bool closing() const override { return st_->closing; }

    loop& events_loop() override { return *st_->ev; }

private:
    std::shared_ptr<koa_state> st_; // app, flags, sink, loop
};

} // namespace

std::unique_ptr<app_server> make_koa_server(scenario::app const& a, loop& l, event_sink sink) {
    if (koa_unsupported(a))
        return nullptr;
    return std::make_unique<koa_server>(a, l, std::move(sink));
}

} // namespace lifecheck::engine
