// Runs a scenario on the reference engine in memory: the in-process step_driver (a client per
// connection on the engine's own virtual clock, so aborts, pipelining and parallel groups happen
// at exact virtual times), then the runner's own attribution of events to steps (run::observe).
#include "harness/property/in_process.hpp"

#include "harness/check/invariants.hpp"
#include "harness/client/client_plan.hpp"
#include "harness/model/model.hpp"
#include "harness/run/step_driver.hpp"
#include "server_under_test/reference/engine/lifecycle.hpp"
#include "server_under_test/reference/net/http_connection.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string_view>
#include <utility>

namespace lifecheck::property {
namespace {

using scenario::step;
using scenario::step_kind;

/// Virtual time a step group may take before the driver gives up on it (a hang).
constexpr double group_limit_ms = 30'000;

/// One client socket: what the server wrote, and whether either side closed it.
struct client_conn : net::wire {
    std::string out; // bytes the server wrote while the client was listening
    bool server_closed = false;
    bool client_closed = false;
    std::shared_ptr<net::http_connection> conn;
    std::function<void()> on_bytes; // checks the client's read limits

    void send(std::string bytes) override {
        if (server_closed || client_closed)
            return;
        out += bytes;
        if (on_bytes) {
            auto const check_limits = on_bytes; // it may clear on_bytes while it runs
            check_limits();
        }
    }

    void close(bool) override { server_closed = true; }
};

/// A request or raw step as sent: on which connection, as which request, how it is read.
struct sent_step {
    step const* s = nullptr;
    std::size_t conn = 0;
    client::raw_request req;     // bytes and options (client_plan.hpp)
    bool reads = true;           // false: the client closes once written, reading nothing
    bool client_aborted = false; // the client closed on purpose (an abort option)
    std::optional<client::response_reader> reader; // read limits, when the step has any
};

protocol::event to_protocol(engine::event const& e) {
    protocol::event p;
    p.type =
        e.what == engine::event::kind::cb ? protocol::event_type::cb : protocol::event_type::end;
    p.req = e.req;
    p.label = e.label;
    p.phase = e.phase;
    p.scope = e.scope;
    p.status = e.status;
    p.aborted = e.aborted;
    return p;
}

/// The in-process step_driver: steps as bytes fed to net::http_connection, the response bytes
/// it writes read back, on the engine's virtual clock.
class driver final : public run::step_driver {
public:
    driver(scenario::scenario const& sc, engine::fault_set faults)
        : sc_{sc} {
        opts_.connection_timeout_ms = sc.application.options.connection_timeout_ms;
        opts_.request_timeout_ms = sc.application.options.request_timeout_ms;
        srv_ = engine::make_server(
            sc.application,
            sc.lang,
            loop_,
            [this](engine::event const& e) { events_.push_back(e); },
            faults);
    }

    ~driver() {
        // let every request finish (clients go away) before the connections and the engine
        // die: timers still pending on the loop hold requests that point at both
        for (auto& c : conns_)
            if (!c->client_closed && !c->server_closed) {
                c->client_closed = true;
                c->conn->peer_closed();
            }
        loop_.run_until_idle(loop_.now() + group_limit_ms);
        for (auto& c : conns_)
            c->conn.reset();
        srv_.reset();
    }

    driver(driver const&) = delete;
    driver& operator=(driver const&) = delete;

    std::vector<step_outcome> run() {
        std::optional<engine::startup_failure> refused;
        srv_->ready([&refused](std::optional<engine::startup_failure> const& f) { refused = f; });
        loop_.run_until_idle(loop_.now() + group_limit_ms);
        if (refused) { // v2.5: the app never listens; its start-up is the only outcome
            step_outcome out;
            out.step_id = "startup";
            out.refused = check::startup_refusal{refused->code, refused->message};
            for (engine::event const& e : events_)
                if (e.req == "app" && e.what == engine::event::kind::cb)
                    out.trace.push_back(e.label);
            out.observed.req_id = "startup";
            out.observed.refused = out.refused;
            return {out};
        }
        auto const windows = run::drive_steps(sc_, *this);
        return assemble(windows);
    }

    void run_one(step const& s) override { run_together({&s}); }

    void run_together(std::vector<step const*> const& group) override {
        group_conns_.clear(); // a parallel group pipelines on the connections it opens
        for (step const* c : group)
            start(*c);
        loop_.run_until_idle(loop_.now() + group_limit_ms);
        // a plain client closes its socket once it has the whole response
        for (auto& c : conns_)
            if (!c->named && !c->client_closed && response_done(*c))
                client_close(*c);
        loop_.run_until_idle(loop_.now() + group_limit_ms);
        loop_.advance_to(loop_.now() + 1);
    }

    void pause(std::chrono::milliseconds ms) override {
        loop_.advance_to(loop_.now() + static_cast<double>(ms.count()));
    }

    std::size_t events_so_far() const override { return events_.size(); }

    bool alive() const override { return true; }

private:
    struct conn_state : client_conn {
        bool named = false;
        std::vector<std::size_t> steps; // indices into sent_, in the order they were written
    };

    /// The client's view of connection `c`: every response it carries has been read in full.
    bool response_done(conn_state const& c) const {
        std::size_t pos = 0;
        for (std::size_t i : c.steps) {
            client::response_parser p{sent_[i].req.head};
            pos += p.feed(std::string_view{c.out}.substr(pos));
            if (!p.done())
                return false;
        }
        return true;
    }

    std::size_t connection_for(step const& s) {
        if (s.kind == step_kind::request && s.connection) {
            auto const it = named_.find(*s.connection);
            // reused once its earlier responses are in (a client that gave up on a hung
            // response opens a new socket, as the model assumes)
            if (it != named_.end() && !conns_[it->second]->server_closed &&
                !conns_[it->second]->client_closed &&
                (group_conns_.count(it->second) != 0 || response_done(*conns_[it->second])))
                return it->second;
        }
        auto c = std::make_unique<conn_state>();
        c->conn = std::make_shared<net::http_connection>(*srv_, *c, opts_);
        c->named = s.kind == step_kind::request && s.connection.has_value();
        conns_.push_back(std::move(c));
        std::size_t const index = conns_.size() - 1;
        if (conns_.back()->named)
            named_[*s.connection] = index;
        group_conns_.insert(index);
        return index;
    }

    void client_close(conn_state& c) {
        if (c.client_closed)
            return;
        c.client_closed = true;
        if (!c.server_closed)
            c.conn->peer_closed();
    }

    void start(step const& s) {
        if (s.kind == step_kind::close) {
            start_close(s);
            return;
        }
        std::size_t const ci = connection_for(s);
        sent_step sent;
        sent.s = &s;
        sent.conn = ci;
        sent.req = client::make_raw_request(s);
        sent_.push_back(std::move(sent));
        std::size_t const si = sent_.size() - 1;
        conn_state& c = *conns_[ci];
        std::size_t const response_start = c.out.size();
        c.steps.push_back(si);

        // the client's writes, pauses and aborts: client_plan.hpp, as raw_client carries them out
        client::raw_request const& req = sent_[si].req;
        client::client_plan const plan = client::plan_of(req);
        sent_[si].reads = !plan.close_after_writing;
        double at = 0;
        for (client::planned_write const& w : plan.writes) {
            at += static_cast<double>(w.pause_before.count());
            std::string chunk = req.bytes.substr(w.offset, w.size);
            loop_.set_timeout(at, [this, ci, chunk = std::move(chunk)] {
                conn_state& k = *conns_[ci];
                if (k.client_closed || k.server_closed)
                    return;
                k.conn->feed(chunk);
                k.conn->flushed();
            });
        }
        double const done_writing = at;
        auto abort_now = [this, ci, si] {
            if (conns_[ci]->client_closed || conns_[ci]->server_closed)
                return;
            sent_[si].client_aborted = true;
            client_close(*conns_[ci]);
        };
        if (plan.close_after_writing)
            loop_.set_timeout(done_writing, abort_now);
        if (plan.abort_after)
            loop_.set_timeout(done_writing + static_cast<double>(plan.abort_after->count()),
                              abort_now);
        if (client::response_reader reader{req}; reader.limited()) {
            sent_[si].reader.emplace(std::move(reader));
            c.on_bytes = [this, ci, si, response_start] {
                read_limited(ci, si, response_start);
            };
        }
    }

    /// The client reads step si's response as its reader allows; at the cut it reads nothing
    /// more and closes (an abort).
    void read_limited(std::size_t ci, std::size_t si, std::size_t response_start) {
        conn_state& k = *conns_[ci];
        client::response_reader& reader = *sent_[si].reader;
        std::size_t at = response_start + reader.taken();
        while (std::size_t const want = reader.want()) {
            if (at >= k.out.size())
                break;
            std::size_t const n = std::min(want, k.out.size() - at);
            std::size_t const used = reader.take(std::string_view{k.out}.substr(at, n));
            at += used;
            if (used < n)
                break;
        }
        if (!reader.cut())
            return;
        k.on_bytes = nullptr;
        k.out.resize(at);       // the client read no further
        k.client_closed = true; // reads nothing more from now on
        loop_.set_timeout(0, [this, ci, si] {
            sent_[si].client_aborted = true;
            conn_state& kk = *conns_[ci];
            if (!kk.server_closed)
                kk.conn->peer_closed();
        });
    }

    void start_close(step const& s) {
        close_steps_.push_back({&s, events_.size()});
        loop_.set_timeout(0, [this] {
            srv_->close(
                [this](std::function<void()> drained) {
                    for (auto& c : conns_)
                        if (!c->client_closed && !c->server_closed)
                            c->conn->close_if_idle();
                    drained();
                },
                [] {});
        });
    }

    /// The responses as the clients read them and the close steps' app events, grouped per step
    /// by run::observe (the socket runner's rule), as step outcomes.
    std::vector<step_outcome> assemble(std::vector<run::raw_window> const& windows) {
        std::map<std::string, check::response_observation> responses;
        for (std::size_t ci = 0; ci < conns_.size(); ++ci) {
            conn_state const& c = *conns_[ci];
            std::size_t pos = 0;
            for (std::size_t si : c.steps) {
                sent_step const& ss = sent_[si];
                client::response_parser p{ss.req.head};
                // A client that aborts after writing closes without reading (the raw client's
                // rule): what the server wrote meanwhile reaches no one.
                if (ss.reads)
                    pos += p.feed(std::string_view{c.out}.substr(pos));
                if (!p.done() && c.server_closed && !c.client_closed)
                    p.finish_eof();
                check::response_observation& r = responses[ss.s->id];
                r.got_response = p.head_done();
                r.status = p.status();
                r.headers = p.headers();
                r.body = p.body();
                r.complete = p.done();
                r.connection = c.server_closed || c.client_closed
                                   ? scenario::connection_fate::closed
                                   : scenario::connection_fate::kept;
                r.client_aborted = ss.client_aborted;
            }
        }
        std::map<step const*, std::vector<protocol::event>> close_events;
        for (auto const& [s, first] : close_steps_) {
            auto& evs = close_events[s];
            for (std::size_t i = first; i < events_.size(); ++i)
                if (events_[i].req == "app" && events_[i].what == engine::event::kind::cb)
                    evs.push_back(to_protocol(events_[i]));
        }
        std::vector<protocol::event> events;
        for (engine::event const& e : events_)
            events.push_back(to_protocol(e));
        std::vector<step_outcome> out;
        for (check::request_observation& o :
             run::observe(sc_, events, responses, windows, close_events))
            out.push_back(outcome_of(std::move(o)));
        return out;
    }

    /// A step's outcome from its observation: onReady callbacks (on the first step) included.
    static step_outcome outcome_of(check::request_observation o) {
        step_outcome out;
        out.refused = o.refused;
        if (!o.step)
            out.step_id = o.req_id; // a request no step claims: only invariants apply
        else if (o.step->kind == step_kind::close && o.step->id.empty())
            out.step_id = "close";
        else
            out.step_id = o.step->id;
        int cbs = 0;
        for (protocol::event const& e : o.events) {
            if (e.type == protocol::event_type::cb) {
                out.trace.push_back(e.label);
                ++cbs;
            } else if (e.type == protocol::event_type::end && !out.end_at) {
                out.end_at = cbs;
                out.aborted = e.aborted;
            }
        }
        auto const& r = o.response;
        out.got_response = r.got_response;
        if (r.got_response) {
            out.status = r.status;
            out.headers = r.headers;
            out.body = r.body;
        }
        out.complete = r.complete;
        out.observed = std::move(o);
        return out;
    }

    scenario::scenario const& sc_;
    std::vector<std::unique_ptr<conn_state>> conns_; // the wires outlive the loop's timers
    engine::loop loop_;
    std::vector<engine::event> events_;
    net::connection_options opts_;
    std::unique_ptr<engine::app_server> srv_;
    std::map<std::string, std::size_t> named_;
    std::set<std::size_t> group_conns_; // connections the current step group opened
    std::vector<sent_step> sent_;
    std::vector<std::pair<step const*, std::size_t>> close_steps_; // and the events before each
};

std::string join(std::vector<std::string> const& v) {
    std::string out = "[";
    for (std::size_t i = 0; i < v.size(); ++i)
        out += (i ? ", " : "") + v[i];
    return out + "]";
}

std::string opt_int(std::optional<int> const& v) {
    return v ? std::to_string(*v) : std::string{"none"};
}

bool same_body(std::string const& a, std::string const& b) {
    if (a == b)
        return true;
    if (!nlohmann::json::accept(a) || !nlohmann::json::accept(b))
        return false;
    return nlohmann::json::parse(a) == nlohmann::json::parse(b);
}

} // namespace

std::vector<step_outcome> run_in_process(scenario::scenario const& sc, engine::fault_set faults) {
    driver d{sc, faults};
    return d.run();
}

std::vector<model_disagreement>
disagreements_with_model(scenario::scenario const& sc, std::vector<step_outcome> const& outcomes) {
    std::vector<model_disagreement> out;
    std::map<std::string, step_outcome const*> by_id;
    for (step_outcome const& o : outcomes)
        by_id[o.step_id] = &o;
    bool const engine_refused = by_id.count("startup") != 0 && by_id.at("startup")->refused;
    for (model::step_prediction const& p : model::predict(sc)) {
        if (!p.deterministic || p.crash)
            continue; // a race the model cannot decide; a Fastify crash the reference answers
        auto const it = by_id.find(p.step_id);
        if (it == by_id.end()) {
            out.push_back({p.step_id,
                           "step " + p.step_id + ": no outcome for a step the model predicts" +
                               (engine_refused ? " (the engine refused the app at start)" : "")});
            continue;
        }
        step_outcome const& o = *it->second;
        auto add = [&](std::string const& what) {
            out.push_back({p.step_id, "step " + p.step_id + ": " + what});
        };
        if (p.step_id == "startup") { // v2.5: how start-up ended, and its hooks
            auto const text = [](bool refused,
                                 std::optional<std::string> const& code,
                                 std::string const& message) {
                return refused ? (code ? *code + ": " : std::string{}) + message
                               : std::string{"started"};
            };
            std::string const want = text(p.refused, p.refusal_code, p.refusal_message);
            std::string const got = o.refused ? text(true, o.refused->code, o.refused->message)
                                              : text(false, std::nullopt, "");
            if (want != got)
                add("start-up: model " + want + ", engine " + got);
            if (o.trace != p.trace)
                add("trace: model " + join(p.trace) + ", engine " + join(o.trace));
            continue;
        }
        if (o.trace != p.trace)
            add("trace: model " + join(p.trace) + ", engine " + join(o.trace));
        if (o.end_at != p.end_at)
            add("endAt: model " + opt_int(p.end_at) + ", engine " + opt_int(o.end_at));
        if (o.status != p.status)
            add("status: model " + opt_int(p.status) + ", engine " + opt_int(o.status));
        // a body cut short is compared by its completeness only: how much of a chunk the
        // client kept when it stopped reading is the model's estimate (D9 counts wire bytes)
        if (p.status && o.got_response && p.body_text && p.complete &&
            !same_body(*p.body_text, o.body))
            add("body: model " + *p.body_text + ", engine " + o.body);
        if (p.status && o.got_response && p.complete != o.complete)
            add(std::string{"complete: model "} + (p.complete ? "true" : "false") + ", engine " +
                (o.complete ? "true" : "false"));
        if (p.end_at && o.end_at && p.aborted != o.aborted)
            add(std::string{"aborted: model "} + (p.aborted ? "true" : "false") + ", engine " +
                (o.aborted ? "true" : "false"));
    }
    return out;
}

std::vector<std::string> compare_with_model(scenario::scenario const& sc,
                                            std::vector<step_outcome> const& outcomes) {
    std::vector<std::string> out;
    for (model_disagreement& d : disagreements_with_model(sc, outcomes))
        out.push_back(std::move(d.line));
    return out;
}

std::vector<check::finding> check(scenario::scenario const& sc,
                                  std::vector<step_outcome> const& outcomes) {
    std::vector<check::finding> out;
    for (step_outcome const& o : outcomes) {
        if (o.observed.req_id == "app" || o.observed.req_id == "startup")
            continue; // application hooks: no request invariants
        for (check::finding f : check::check_invariants(sc.application, o.observed)) {
            if (f.invariant_id == "I1" && !o.end_at)
                continue; // no end at all: a hang, which compare_with_model judges
            if (f.step_id.empty())
                f.step_id = o.step_id;
            out.push_back(std::move(f));
        }
    }
    return out;
}

bool has_race(scenario::scenario const& sc) {
    for (model::step_prediction const& p : model::predict(sc))
        if (!p.deterministic)
            return true;
    return false;
}

} // namespace lifecheck::property
