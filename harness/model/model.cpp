// The oracle's driver: builds the app, turns each step into client events on the virtual clock,
// runs the event loop and reads every request's trace and response back as a prediction.
#include "harness/model/model.hpp"

#include "harness/model/detail/app.hpp"
#include "harness/model/detail/js.hpp"
#include "harness/model/detail/koa.hpp"
#include "harness/model/detail/request.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <map>
#include <memory>
#include <set>
#include <sstream>

namespace lifecheck::model {

using namespace detail;
using scenario::step;
using scenario::step_kind;

char const* to_string(body_class b) {
    switch (b) {
    case body_class::none:
        return "none";
    case body_class::empty:
        return "empty";
    case body_class::json:
        return "json";
    case body_class::text:
        return "text";
    case body_class::binary:
        return "binary";
    case body_class::stream:
        return "stream";
    case body_class::default_error_json:
        return "default_error_json";
    case body_class::fastify_raw:
        return "fastify_raw";
    case body_class::hijacked:
        return "hijacked";
    }
    return "?";
}

namespace {

// Fastify's clientErrorHandler (fastify-lifecycle §2.1 step 1): what it writes for a request
// Node's parser rejects, and for a head over Node's 16 KiB limit.
char const* const bad_request_json =
    R"({"error":"Bad Request","message":"Client Error","statusCode":400})";
char const* const header_overflow_json =
    R"({"error":"Request Header Fields Too Large","message":"Exceeded maximum allowed HTTP header size","statusCode":431})";

/// find-my-way's decode check: a '%' must start a valid escape and the bytes must be UTF-8.
bool bad_url(std::string const& path) {
    std::string decoded;
    for (std::size_t i = 0; i < path.size(); ++i) {
        if (path[i] != '%') {
            decoded += path[i];
            continue;
        }
        if (i + 2 >= path.size() || !std::isxdigit(static_cast<unsigned char>(path[i + 1])) ||
            !std::isxdigit(static_cast<unsigned char>(path[i + 2])))
            return true;
        decoded += static_cast<char>(std::stoi(path.substr(i + 1, 2), nullptr, 16));
        i += 2;
    }
    // UTF-8 validity of the decoded bytes as decodeURI checks it (RFC 3629): lead octets C2..F4,
    // continuations 80..BF, except right after E0 (A0..), ED (..9F), F0 (90..) and F4 (..8F)
    for (std::size_t i = 0; i < decoded.size();) {
        auto const c = static_cast<unsigned char>(decoded[i]);
        std::size_t n = c < 0x80                 ? 1
                        : c >= 0xC2 && c <= 0xDF ? 2
                        : c >= 0xE0 && c <= 0xEF ? 3
                        : c >= 0xF0 && c <= 0xF4 ? 4
                                                 : 0;
        if (n == 0 || i + n > decoded.size())
            return true;
        for (std::size_t k = 1; k < n; ++k) {
            if ((static_cast<unsigned char>(decoded[i + k]) >> 6) != 0x2)
                return true;
        }
        if (n > 2) {
            auto const second = static_cast<unsigned char>(decoded[i + 1]);
            if ((c == 0xE0 && second < 0xA0) || (c == 0xED && second > 0x9F) ||
                (c == 0xF0 && second < 0x90) || (c == 0xF4 && second > 0x8F))
                return true;
        }
        i += n;
    }
    return false;
}

/// A plain request with a body: httplib writes its head and body apart, so the server may read
/// the body in the head's read or in a later one (see predict()). Raw steps and steps with
/// client options go through the raw client, which writes all bytes at once.
bool body_may_come_later(step const& s) {
    auto const& c = s.client;
    return s.kind == step_kind::request && s.request.body && !s.request.body->empty() &&
           !c.aborts() && !c.bytes_per_write && !c.write_delay_ms && !s.connection &&
           !s.request.chunked;
}

/// Runs application hooks (onReady, preClose, onClose) one after another on the loop.
struct app_chain : std::enable_shared_from_this<app_chain> {
    world* w = nullptr;
    std::vector<scenario::action const*> list;
    std::size_t i = 0;
    std::string owner;
    bool stop_on_error = false;
    bool failed = false;
    std::function<void(bool failed)> done;

    void next() {
        if (i == list.size()) {
            if (done)
                done(failed);
            return;
        }
        scenario::action const* a = list[i++];
        w->trace(owner, a->label);
        if (a->when && w->flag(a->when->flag, owner) != a->when->is) {
            auto self = shared_from_this();
            w->loop.microtask([self] { self->next(); });
            return;
        }
        auto self = shared_from_this();
        auto finish = [self, a] {
            if (a->set)
                self->w->set_flag(a->set->flag, a->set->value, self->owner);
            if (a->what == scenario::verb::throw_) {
                self->failed = true;
                if (self->stop_on_error) {
                    if (self->done)
                        self->done(true);
                    return;
                }
            }
            self->next();
        };
        if (a->delay_ms)
            w->loop.after(*a->delay_ms, owner, "app", a->label + " (delayMs)", finish);
        else
            w->loop.microtask(finish);
    }
};

/// hooks.js onListenHookRunner, once listen() resolved: an instance's own onListen hooks in
/// order (a failure is only logged), then the runner of each child, started one after another
/// in the same turn, so siblings' hooks interleave.
struct listen_chain : std::enable_shared_from_this<listen_chain> {
    world* w = nullptr;
    detail::instance const* inst = nullptr;
    std::size_t i = 0;

    static void start(world* w, detail::instance const* inst) {
        auto c = std::make_shared<listen_chain>();
        c->w = w;
        c->inst = inst;
        c->next();
    }

    void next() {
        if (i == inst->on_listen.size()) {
            for (detail::instance const* child : inst->children)
                start(w, child);
            return;
        }
        scenario::action const* a = inst->on_listen[i++];
        w->trace("app", a->label);
        auto self = shared_from_this();
        bool const acts = !a->when || w->flag(a->when->flag, "app") == a->when->is;
        auto finish = [self, a, acts] {
            if (acts && a->set)
                self->w->set_flag(a->set->flag, a->set->value, "app");
            self->next(); // a throw or done(err) is logged by server.log.error
        };
        if (acts && a->delay_ms)
            w->loop.after(*a->delay_ms, "app", "app", a->label + " (delayMs)", finish);
        else if (a->how != scenario::style::async)
            finish(); // wrap(): done called synchronously, or a sync function's return (v2.6)
        else
            w->loop.microtask(finish);
    }
};

class driver {
public:
    driver(scenario::scenario const& sc, app_model const& m, bool split_bodies = false)
        : sc_{sc}
        , w_{m, sc.application}
        , split_bodies_{split_bodies} {
        w_.loop.adopt_reply = [](void* r, std::function<void()> f) {
            static_cast<request_run*>(r)->reply_then(std::move(f));
        };
        w_.on_request_end = [this] {
            try_finish_close();
        };
    }

    std::vector<step_prediction> run() {
        collect_leaves(sc_.steps, leaves_);
        for (auto const* list : {&w_.app.on_ready, &w_.app.pre_close, &w_.app.on_close}) {
            for (scenario::action const* a : *list) {
                if (a->ops) // the reference answers `unsupported` for these too
                    return everything_unsupported(
                        "an application hook (onReady/preClose/onClose) with ops (§1.6)");
            }
        }
        for (auto const& inst : w_.app.instances)
            for (scenario::action const* a : inst->on_listen)
                if (a->ops)
                    return everything_unsupported("an onListen hook with ops (§1.6)");
        // v2.6 (§1.9): the onRoute and onRegister calls made while the app registered
        for (scenario::action const* a : w_.app.registration) {
            w_.trace("app", a->label);
            if (a->set && (!a->when || w_.flag(a->when->flag, "app") == a->when->is))
                w_.set_flag(a->set->flag, a->set->value, "app");
        }
        if (w_.app.refusal) { // v2.5: refused while the plugins load; no onReady hook runs
            step_prediction p = startup_prediction();
            p.trace = w_.traces["app"];
            p.refused = true;
            p.refusal_code = w_.app.refusal->first;
            p.refusal_message = w_.app.refusal->second;
            return {p};
        }
        start_app();
        w_.loop.run();
        double t = w_.loop.now();
        if (ready_failed_) {
            // v2.5 (§1.8): ready() rejects with the hook's error; listen() never binds
            step_prediction p = startup_prediction();
            p.trace = w_.traces["app"];
            p.refused = true;
            p.refusal_message = failed_hook_ && failed_hook_->error && failed_hook_->error->message
                                    ? *failed_hook_->error->message
                                    : "boom";
            if (failed_hook_ && failed_hook_->error)
                p.refusal_code = failed_hook_->error->code;
            return {p};
        }
        // server.js: onListen hooks start once listen() resolves, before any request
        auto const root = std::find_if(w_.app.instances.begin(),
                                       w_.app.instances.end(),
                                       [](auto const& i) { return i->parent == nullptr; });
        if (root != w_.app.instances.end())
            listen_chain::start(&w_, root->get());
        w_.loop.run();
        t = std::max(t, w_.loop.now());
        groups_.run(
            sc_.steps,
            t,
            [this](step const& s, double at) { start_leaf(s, at); },
            [this] { return w_.loop.crashed(); },
            [this](std::size_t g) {
                if (w_.loop.crashed())
                    crash_group_ = g;
            });
        return assemble();
    }

private:
    void start_app() {
        auto chain = std::make_shared<app_chain>();
        chain->w = &w_;
        chain->list = w_.app.on_ready;
        chain->owner = "app";
        chain->stop_on_error = true;
        // `done` runs inside the chain's own next() (it keeps itself alive meanwhile): a raw
        // pointer, since a shared_ptr captured in its own member would never be freed.
        chain->done = [this, c = chain.get()](bool failed) {
            ready_failed_ = failed;
            if (failed && c->i > 0)
                failed_hook_ = c->list[c->i - 1];
        };
        chain->next();
    }

    step_prediction startup_prediction() const {
        step_prediction p;
        p.step_id = "startup";
        p.reached = false;
        return p;
    }

    void start_leaf(step const& s, double t) {
        if (s.kind == step_kind::close) {
            start_close(s, t);
            return;
        }
        raw_parse parsed = parse_step(s);
        switch (parsed.what) {
        case raw_parse::result::incomplete_head:
            fixed_[s.id] = not_reached(s.id, std::nullopt, "");
            return;
        case raw_parse::result::bad_request:
            // fastify-lifecycle §2.1 step 1: Fastify's clientErrorHandler, no hooks
            fixed_[s.id] = not_reached(s.id, 400, bad_request_json);
            return;
        case raw_parse::result::too_large:
            fixed_[s.id] = not_reached(s.id, 431, header_overflow_json);
            return;
        case raw_parse::result::ok:
            break;
        }
        if (parsed.not_decided)
            extra_nondet_[s.id] = *parsed.not_decided;
        request_input& in = parsed.in;
        std::string const& wire = parsed.wire;
        in.on_existing_connection = groups_.on_existing_connection(s);

        // client plan: byte offsets to times (scenario-format §1.4 `client`)
        auto const& o = w_.source.options;
        client_schedule const cs =
            plan_client(s.client,
                        wire,
                        t,
                        server_facts{o.connection_timeout_ms,
                                     o.request_timeout_ms,
                                     true,
                                     split_bodies_ && body_may_come_later(s)});
        switch (cs.what) {
        case client_schedule::verdict::head_too_large:
            fixed_[s.id] = not_reached(s.id, 431, header_overflow_json);
            return;
        case client_schedule::verdict::aborted_in_head:
            fixed_[s.id] = not_reached(s.id, std::nullopt, ""); // abort inside the request head
            return;
        case client_schedule::verdict::ok:
            break;
        }
        client_plan const plan = cs.plan;
        if (cs.not_decided)
            extra_nondet_[s.id] = *cs.not_decided;

        std::string const path = in.url.substr(0, in.url.find('?'));
        if (bad_url(path)) {
            // fastify-lifecycle §2.1 step 2: 400 FST_ERR_BAD_URL, no hooks
            step_prediction p;
            p.step_id = s.id;
            p.end_at = 0;
            p.status = 400;
            p.body = body_class::fastify_raw;
            p.body_text = R"({"error":"Bad Request","code":"FST_ERR_BAD_URL","message":"')" + path +
                          R"(' is not a valid url component","statusCode":400})";
            p.content_type = "application/json";
            fixed_[s.id] = p;
            return;
        }
        std::string method = in.method;
        for (auto& ch : method)
            ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
        context const* ctx = find_route(w_.app, method, path);
        if (ctx == nullptr)
            ctx = find_not_found(w_.app, path);
        auto run = std::make_unique<request_run>(w_, in, ctx, plan);
        groups_.attach(s, *run);
        run->schedule();
        runs_[s.id] = std::move(run);
    }

    void start_close(step const& s, double t) {
        std::string const owner = close_owner(s);
        close_owner_ = owner;
        w_.loop.at(t, owner, "app", "fastify.close()", [this, owner] {
            // fastify.js onClose (registered last, so it runs first): closing, preClose, then
            // server.close() waits for in-flight requests, then the user's onClose hooks (§9).
            w_.closing = true;
            w_.touch("closing", owner, true, "true");
            auto chain = std::make_shared<app_chain>();
            chain->w = &w_;
            chain->list = w_.app.pre_close;
            chain->owner = owner;
            chain->stop_on_error = true;
            chain->done = [this](bool failed) {
                if (failed)
                    close_notes_.push_back(
                        "a preClose hook failed: the remaining preClose hooks are skipped");
                pre_close_done_ = true;
                try_finish_close();
            };
            chain->next();
        });
    }

    void try_finish_close() {
        if (!pre_close_done_ || server_closed_)
            return;
        for (auto const& [id, run] : runs_) {
            auto const& o = run->outcome();
            if (o.reached && !o.ended)
                return; // server.close() waits for in-flight requests
        }
        server_closed_ = true;
        auto chain = std::make_shared<app_chain>();
        chain->w = &w_;
        chain->list = w_.app.on_close;
        chain->owner = close_owner_;
        chain->done = [this](bool) {
            close_done_ = true;
        };
        chain->next();
    }

    step_prediction
    not_reached(std::string const& id, std::optional<int> status, std::string const& body) {
        step_prediction p;
        p.step_id = id;
        p.reached = false;
        p.status = status;
        if (status) {
            p.body = body_class::fastify_raw;
            p.body_text = body;
            p.content_type = "application/json";
        }
        return p;
    }

    std::vector<step_prediction> everything_unsupported(std::string const& why) {
        std::vector<step_prediction> out;
        if (sc_.startup) {
            out.push_back(startup_prediction());
            out.back().deterministic = false;
            out.back().why = why;
        }
        for (auto const& l : leaves_) {
            step_prediction p;
            p.step_id = l.s->kind == step_kind::close ? close_owner(*l.s) : l.s->id;
            p.deterministic = false;
            p.why = why;
            out.push_back(p);
        }
        return out;
    }

    void finish_determinism(step_prediction& p, std::string const& owner) {
        detail::finish_determinism(p, w_, owner, extra_nondet_);
    }

    std::vector<step_prediction> assemble() {
        std::vector<step_prediction> out;
        bool ready_given = false;
        auto const& ready_trace = w_.traces["app"];
        if (sc_.startup) { // v2.5: the start-up hooks are the `startup` object's trace
            ready_given = true;
            step_prediction p = startup_prediction();
            p.trace = ready_trace;
            out.push_back(p);
        }
        for (auto const& l : leaves_) {
            step const& s = *l.s;
            step_prediction p;
            if (crash_group_ && l.group > *crash_group_) {
                p.step_id = s.kind == step_kind::close ? close_owner(s) : s.id;
                p.reached = false;
                p.deterministic = false;
                p.why = "the Fastify process crashed in an earlier step";
                out.push_back(p);
                continue;
            }
            if (s.kind == step_kind::close) {
                std::string const owner = close_owner(s);
                p.step_id = owner;
                p.trace = w_.traces[owner];
                if (!ready_given) {
                    // no request came first: onReady goes with the close step, the first step
                    // that has a trace (the runner does the same; lifecheck prop --target
                    // reference, seed 1: onReady, sleepMs, close)
                    ready_given = true;
                    p.trace.insert(p.trace.begin(), ready_trace.begin(), ready_trace.end());
                }
                p.hangs = !close_done_;
                p.notes = close_notes_;
                finish_determinism(p, owner);
                if (!close_done_ && !w_.loop.crashed()) {
                    p.deterministic = false;
                    p.why += (p.why.empty() ? "" : "; ") +
                             std::string{"close() waits for a request that never finishes"};
                }
                out.push_back(p);
                continue;
            }
            if (auto it = fixed_.find(s.id); it != fixed_.end()) {
                p = it->second;
            } else if (auto rit = runs_.find(s.id); rit != runs_.end()) {
                p = predict_request(s, rit->second->outcome(), w_.traces[s.id], w_.loop.crashed());
            } else {
                p.step_id = s.id;
                p.deterministic = false;
                p.why = "step was not simulated";
            }
            if (!ready_given) {
                // scenario-format §1.4: onReady callbacks belong to the first step
                ready_given = true;
                p.trace.insert(p.trace.begin(), ready_trace.begin(), ready_trace.end());
                if (p.end_at)
                    *p.end_at += static_cast<int>(ready_trace.size());
            }
            if (crash_group_ && l.group == *crash_group_) {
                p.crash = true;
                p.hangs = false;
                p.notes.push_back("Fastify crashes: " + w_.loop.crash_reason());
            }
            finish_determinism(p, s.id);
            out.push_back(p);
        }
        return out;
    }

    scenario::scenario const& sc_;
    world w_;
    bool split_bodies_ = false;
    std::vector<leaf> leaves_;
    std::map<std::string, std::unique_ptr<request_run>> runs_;
    std::map<std::string, step_prediction> fixed_;    // decided without the lifecycle
    std::map<std::string, std::string> extra_nondet_; // step id -> reason
    step_groups groups_{w_};                 // the step groups and their keep-alive connections
    std::optional<std::size_t> crash_group_; // the top-level step that crashed
    bool ready_failed_ = false;
    scenario::action const* failed_hook_ = nullptr;
    std::string close_owner_ = "close";
    bool pre_close_done_ = false;
    bool server_closed_ = false;
    bool close_done_ = false;
    std::vector<std::string> close_notes_;
};

/// Two predictions of one step agree on everything a target is judged by.
bool same_outcome(step_prediction const& a, step_prediction const& b) {
    return a.reached == b.reached && a.trace == b.trace && a.end_at == b.end_at &&
           a.status == b.status && a.body == b.body && a.body_text == b.body_text &&
           a.complete == b.complete && a.aborted == b.aborted && a.hangs == b.hangs &&
           a.crash == b.crash && a.deterministic == b.deterministic;
}

bool body_matches(scenario::expected_body const& e, std::string const& body) {
    switch (e.how) {
    case scenario::body_match::json_value: {
        if (!nlohmann::json::accept(body))
            return false;
        return nlohmann::json::parse(body) == nlohmann::json::parse(e.value.dump());
    }
    case scenario::body_match::text:
        return body == e.text;
    case scenario::body_match::contains:
        return body.find(e.text) != std::string::npos;
    }
    return false;
}

} // namespace

std::vector<step_prediction> predict(scenario::scenario const& sc) {
    try {
        if (sc.lang == scenario::dialect::koa)
            return predict_koa(sc); // detail/koa.cpp: koa-compose + Koa 2.16.4
        // Every step undecided, for `why`.
        auto const undecided = [&sc](std::string const& why) {
            std::vector<leaf> leaves;
            collect_leaves(sc.steps, leaves);
            std::vector<step_prediction> out;
            if (sc.startup) {
                step_prediction p;
                p.step_id = "startup";
                p.reached = false;
                p.deterministic = false;
                p.why = why;
                out.push_back(p);
            }
            for (auto const& l : leaves) {
                step_prediction p;
                p.step_id = l.s->kind == step_kind::close ? close_owner(*l.s) : l.s->id;
                p.deterministic = false;
                p.why = why;
                out.push_back(p);
            }
            return out;
        };
        // scenario-format §1.1: real npm packages run on real Fastify only.
        if (!scenario::npm_plugins_in(sc.application.root).empty())
            return undecided("npmPlugins are not modelled: real npm packages run on real "
                             "Fastify only");
        app_model const m = build_app(sc.application);
        if (!m.build_errors.empty())
            return undecided("the app fails to load: " + bracket_list(m.build_errors));
        std::vector<step_prediction> out = driver{sc, m}.run();
        std::vector<leaf> leaves;
        collect_leaves(sc.steps, leaves);
        if (std::none_of(leaves.begin(), leaves.end(), [](leaf const& l) {
                return body_may_come_later(*l.s);
            }))
            return out;
        // The harness's plain client (cpp-httplib) writes a request's head and body with two
        // writes: the server reads the body with the head or in a later read, as the kernel
        // delivers it. Predict both; a step whose outcome differs is a race, not a prediction
        // (lifecheck prop --target reference seed 2: sendThenContinue in onRequest with a POST
        // to a 404 route; Fastify 5.12.8 usually reads the body later).
        std::vector<step_prediction> const apart = driver{sc, m, true}.run();
        for (step_prediction& p : out) {
            auto const q = std::find_if(apart.begin(), apart.end(), [&](step_prediction const& x) {
                return x.step_id == p.step_id;
            });
            if (q == apart.end() || !p.deterministic || same_outcome(p, *q))
                continue;
            p.deterministic = false;
            p.why +=
                (p.why.empty() ? "" : "; ") +
                std::string{
                    "whether the request body is read with its head or later changes the outcome"};
        }
        return out;
    } catch (std::exception const& e) {
        step_prediction p;
        p.step_id = "*";
        p.deterministic = false;
        p.why = std::string{"model internal error: "} + e.what();
        return {p};
    }
}

bool accepts(step_prediction const& p, observed_step const& seen) {
    if (!p.deterministic)
        return true;
    if (seen.trace != p.trace)
        return false;
    if (p.end_at && seen.end_at && *p.end_at != *seen.end_at)
        return false;
    if (p.status && seen.status && *p.status != *seen.status)
        return false;
    if (p.body_text && seen.body && *p.body_text != *seen.body)
        return false;
    return true;
}

std::vector<std::string> disagreements(step_prediction const& p, scenario::expectation const& e) {
    std::vector<std::string> out;
    if (!p.deterministic)
        return out;
    if (e.reached && *e.reached != p.reached)
        out.push_back(std::string{"reached: expected "} + (*e.reached ? "true" : "false") +
                      ", model " + (p.reached ? "true" : "false"));
    if (e.trace && *e.trace != p.trace)
        out.push_back("trace: expected " + bracket_list(*e.trace) + ", model " +
                      bracket_list(p.trace));
    if (e.end_at && (!p.end_at || *p.end_at != *e.end_at))
        out.push_back("endAt: expected " + std::to_string(*e.end_at) + ", model " +
                      (p.end_at ? std::to_string(*p.end_at) : std::string{"none"}));
    if (e.status && (!p.status || *p.status != *e.status))
        out.push_back("status: expected " + std::to_string(*e.status) + ", model " +
                      (p.status ? std::to_string(*p.status) : std::string{"none"}));
    if (e.body && p.body_text && !body_matches(*e.body, *p.body_text)) {
        std::string const want =
            e.body->how == scenario::body_match::json_value ? e.body->value.dump() : e.body->text;
        out.push_back("body: expected " + want + ", model " + *p.body_text);
    }
    if (e.aborted && *e.aborted != p.aborted)
        out.push_back(std::string{"aborted: expected "} + (*e.aborted ? "true" : "false") +
                      ", model " + (p.aborted ? "true" : "false"));
    if (e.complete && *e.complete != p.complete && p.reached)
        out.push_back(std::string{"complete: expected "} + (*e.complete ? "true" : "false") +
                      ", model " + (p.complete ? "true" : "false"));
    return out;
}

} // namespace lifecheck::model
