// Runs a scenario on the reference engine in memory: a client per connection on the engine's own
// virtual clock, so aborts, pipelining and parallel groups happen at exact virtual times.
#include "harness/property/in_process.hpp"

#include "harness/check/invariants.hpp"
#include "harness/client/response_parser.hpp"
#include "harness/common/text.hpp"
#include "harness/model/model.hpp"
#include "server_under_test/reference/engine/lifecycle.hpp"
#include "server_under_test/reference/net/http_connection.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <map>
#include <memory>
#include <set>
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

/// A request or raw step as sent: on which connection, where its response starts.
struct sent_step {
    step const* s = nullptr;
    std::size_t conn = 0;
    std::size_t first_event = 0; // events before this step started (raw steps' made-up ids)
    bool client_aborted = false; // the client closed on purpose (an abort option)
    std::string req_id;          // the id its events carry
};

/// The x-lifecheck-req header of raw bytes, or "".
std::string raw_request_id(std::string const& raw) {
    auto const head_end = raw.find("\r\n\r\n");
    std::string const head = lower(raw.substr(0, head_end));
    auto const at = head.find("\r\nx-lifecheck-req:");
    if (at == std::string::npos)
        return "";
    auto const start = at + std::string{"\r\nx-lifecheck-req:"}.size();
    auto const stop = head.find("\r\n", start);
    std::string v = raw.substr(start, stop == std::string::npos ? std::string::npos : stop - start);
    while (!v.empty() && (v.front() == ' ' || v.front() == '\t'))
        v.erase(v.begin());
    while (!v.empty() && (v.back() == ' ' || v.back() == '\t'))
        v.pop_back();
    return v;
}

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

class driver {
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
        srv_->ready([] {});
        loop_.run_until_idle(loop_.now() + group_limit_ms);
        std::size_t const ready_events = events_.size();
        for (step const& s : sc_.steps) {
            if (s.kind == step_kind::sleep) {
                loop_.advance_to(loop_.now() + s.sleep_ms);
                continue;
            }
            std::vector<step const*> group;
            if (s.kind == step_kind::parallel)
                for (step const& c : s.children)
                    group.push_back(&c);
            else
                group.push_back(&s);
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
        return assemble(ready_events);
    }

private:
    struct conn_state : client_conn {
        bool named = false;
        std::vector<std::size_t> steps; // indices into sent_, in the order they were written
    };

    /// The client's view of connection `c`: every response it carries has been read in full.
    bool response_done(conn_state const& c) const {
        std::size_t pos = 0;
        for (std::size_t i : c.steps) {
            client::response_parser p{head_request(*sent_[i].s)};
            pos += p.feed(std::string_view{c.out}.substr(pos));
            if (!p.done())
                return false;
        }
        return true;
    }

    static bool head_request(step const& s) {
        return s.kind == step_kind::request && lower(s.request.method) == "head";
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
        std::string const wire =
            s.kind == step_kind::raw ? s.raw : scenario::wire_bytes(s.id, s.request);
        std::size_t const ci = connection_for(s);
        sent_.push_back(sent_step{&s,
                                  ci,
                                  events_.size(),
                                  false,
                                  s.kind == step_kind::raw ? raw_request_id(s.raw) : s.id});
        std::size_t const si = sent_.size() - 1;
        conn_state& c = *conns_[ci];
        std::size_t const response_start = c.out.size();
        c.steps.push_back(si);

        auto const& opt = s.client;
        auto const head_end = wire.find("\r\n\r\n");
        std::size_t const head_len = head_end == std::string::npos ? wire.size() : head_end + 4;
        std::size_t written = wire.size();
        if (opt.abort_after_request_bytes)
            written = std::min<std::size_t>(
                static_cast<std::size_t>(*opt.abort_after_request_bytes), wire.size());
        if (opt.abort_after_body_bytes)
            written = std::min<std::size_t>(
                head_len + static_cast<std::size_t>(*opt.abort_after_body_bytes), wire.size());
        std::size_t const bpw = opt.bytes_per_write && *opt.bytes_per_write > 0
                                    ? static_cast<std::size_t>(*opt.bytes_per_write)
                                    : written;
        double const wd = opt.write_delay_ms.value_or(0);
        double at = 0;
        for (std::size_t off = 0; off < written; off += std::max<std::size_t>(bpw, 1), at += wd) {
            std::string chunk = wire.substr(off, std::min(bpw, written - off));
            loop_.set_timeout(at, [this, ci, chunk = std::move(chunk)] {
                conn_state& k = *conns_[ci];
                if (k.client_closed || k.server_closed)
                    return;
                k.conn->feed(chunk);
                k.conn->flushed();
            });
        }
        double const done_writing = written == 0 ? 0 : at - wd;
        auto abort_now = [this, ci, si] {
            if (conns_[ci]->client_closed || conns_[ci]->server_closed)
                return;
            sent_[si].client_aborted = true;
            client_close(*conns_[ci]);
        };
        if (opt.abort_after_request_bytes || opt.abort_after_body_bytes)
            loop_.set_timeout(done_writing, abort_now);
        if (opt.abort_after_ms)
            loop_.set_timeout(done_writing + *opt.abort_after_ms, abort_now);
        if (opt.abort_after_response_bytes || opt.abort_after_response_body_bytes) {
            bool const head = head_request(s);
            c.on_bytes = [this, ci, si, response_start, head] {
                conn_state& k = *conns_[ci];
                auto const& o = sent_[si].s->client;
                std::size_t limit = 0;
                if (o.abort_after_response_bytes) {
                    limit =
                        response_start + static_cast<std::size_t>(*o.abort_after_response_bytes);
                } else {
                    auto const e = k.out.find("\r\n\r\n", response_start);
                    if (e == std::string::npos)
                        return;
                    limit = e + 4 + static_cast<std::size_t>(*o.abort_after_response_body_bytes);
                }
                if (k.out.size() < limit)
                    return;
                k.on_bytes = nullptr;
                client::response_parser p{head};
                p.feed(std::string_view{k.out}.substr(response_start, limit - response_start));
                if (p.done())
                    return;             // the whole response fit: nothing to abort
                k.out.resize(limit);    // the client read no further
                k.client_closed = true; // reads nothing more from now on
                loop_.set_timeout(0, [this, ci, si] {
                    sent_[si].client_aborted = true;
                    conn_state& kk = *conns_[ci];
                    if (!kk.server_closed)
                        kk.conn->peer_closed();
                });
            };
        }
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

    std::vector<step_outcome> assemble(std::size_t ready_events) {
        std::vector<step_outcome> out;
        std::set<std::string> claimed;
        for (auto const& ss : sent_)
            if (!ss.req_id.empty())
                claimed.insert(ss.req_id);
        // raw steps without an id own the first made-up id reported during their step
        for (auto& ss : sent_) {
            if (!ss.req_id.empty())
                continue;
            for (std::size_t i = ss.first_event; i < events_.size(); ++i) {
                if (events_[i].req != "app" && claimed.count(events_[i].req) == 0) {
                    ss.req_id = events_[i].req;
                    claimed.insert(ss.req_id);
                    break;
                }
            }
        }
        std::map<step const*, step_outcome> by_step;
        for (std::size_t ci = 0; ci < conns_.size(); ++ci) {
            conn_state const& c = *conns_[ci];
            std::size_t pos = 0;
            for (std::size_t si : c.steps) {
                sent_step const& ss = sent_[si];
                step_outcome o = events_of(ss.req_id);
                o.step_id = ss.s->id;
                client::response_parser p{head_request(*ss.s)};
                // A client that aborts after writing closes without reading (the raw client's
                // rule): what the server wrote meanwhile reaches no one.
                auto const& co = ss.s->client;
                if (!co.abort_after_request_bytes && !co.abort_after_body_bytes)
                    pos += p.feed(std::string_view{c.out}.substr(pos));
                if (!p.done() && c.server_closed && !c.client_closed)
                    p.finish_eof();
                o.got_response = p.head_done();
                if (o.got_response) {
                    o.status = p.status();
                    o.headers = p.headers();
                    o.body = p.body();
                }
                o.complete = p.done();
                auto& r = o.observed.response;
                r.got_response = o.got_response;
                r.status = p.status();
                r.headers = p.headers();
                r.body = p.body();
                r.complete = p.done();
                r.connection = c.server_closed || c.client_closed
                                   ? scenario::connection_fate::closed
                                   : scenario::connection_fate::kept;
                r.client_aborted = ss.client_aborted;
                o.observed.step = ss.s;
                o.observed.req_id = ss.req_id.empty() ? ss.s->id : ss.req_id;
                by_step[ss.s] = std::move(o);
            }
        }
        for (auto const& [s, first] : close_steps_) {
            step_outcome o;
            o.step_id = s->id.empty() ? std::string{"close"} : s->id;
            for (std::size_t i = first; i < events_.size(); ++i)
                if (events_[i].req == "app" && events_[i].what == engine::event::kind::cb) {
                    o.trace.push_back(events_[i].label);
                    o.observed.events.push_back(to_protocol(events_[i]));
                }
            o.observed.step = s;
            o.observed.req_id = "app";
            by_step[s] = std::move(o);
        }
        // document order, parallel children flattened (model::predict's order)
        std::vector<step const*> order;
        for (step const& s : sc_.steps) {
            if (s.kind == step_kind::parallel) {
                for (step const& c : s.children)
                    order.push_back(&c);
            } else if (s.kind != step_kind::sleep) {
                order.push_back(&s);
            }
        }
        for (step const* s : order) {
            auto it = by_step.find(s);
            if (it != by_step.end())
                out.push_back(std::move(it->second));
        }
        // scenario-format §1.4: onReady callbacks belong to the first step that has a trace: a
        // request, or a close step when none came before it (model::predict's and the runner's
        // rule)
        auto first_request = out.begin();
        if (first_request != out.end() && ready_events > 0) {
            std::vector<std::string> labels;
            std::vector<protocol::event> evs;
            for (std::size_t i = 0; i < ready_events; ++i)
                if (events_[i].req == "app" && events_[i].what == engine::event::kind::cb) {
                    labels.push_back(events_[i].label);
                    evs.push_back(to_protocol(events_[i]));
                }
            step_outcome& first = *first_request;
            first.trace.insert(first.trace.begin(), labels.begin(), labels.end());
            first.observed.events.insert(first.observed.events.begin(), evs.begin(), evs.end());
            if (first.end_at)
                *first.end_at += static_cast<int>(labels.size());
        }
        return out;
    }

    step_outcome events_of(std::string const& id) const {
        step_outcome o;
        if (id.empty())
            return o;
        int cbs = 0;
        for (engine::event const& e : events_) {
            if (e.req != id)
                continue;
            o.observed.events.push_back(to_protocol(e));
            if (e.what == engine::event::kind::cb) {
                o.trace.push_back(e.label);
                ++cbs;
            } else if (!o.end_at) {
                o.end_at = cbs;
                o.aborted = e.aborted;
            }
        }
        return o;
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
    std::vector<std::pair<step const*, std::size_t>> close_steps_;
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

std::vector<std::string> compare_with_model(scenario::scenario const& sc,
                                            std::vector<step_outcome> const& outcomes) {
    std::vector<std::string> out;
    std::map<std::string, step_outcome const*> by_id;
    for (step_outcome const& o : outcomes)
        by_id[o.step_id] = &o;
    for (model::step_prediction const& p : model::predict(sc)) {
        if (!p.deterministic || p.crash)
            continue; // a race the model cannot decide; a Fastify crash the reference answers
        auto const it = by_id.find(p.step_id);
        if (it == by_id.end()) {
            out.push_back("step " + p.step_id + ": no outcome for a step the model predicts");
            continue;
        }
        step_outcome const& o = *it->second;
        std::string const at = "step " + p.step_id + ": ";
        if (o.trace != p.trace)
            out.push_back(at + "trace: model " + join(p.trace) + ", engine " + join(o.trace));
        if (o.end_at != p.end_at)
            out.push_back(at + "endAt: model " + opt_int(p.end_at) + ", engine " +
                          opt_int(o.end_at));
        if (o.status != p.status)
            out.push_back(at + "status: model " + opt_int(p.status) + ", engine " +
                          opt_int(o.status));
        // a body cut short is compared by its completeness only: how much of a chunk the
        // client kept when it stopped reading is the model's estimate (D9 counts wire bytes)
        if (p.status && o.got_response && p.body_text && p.complete &&
            !same_body(*p.body_text, o.body))
            out.push_back(at + "body: model " + *p.body_text + ", engine " + o.body);
        if (p.status && o.got_response && p.complete != o.complete)
            out.push_back(at + "complete: model " + (p.complete ? "true" : "false") + ", engine " +
                          (o.complete ? "true" : "false"));
        if (p.end_at && o.end_at && p.aborted != o.aborted)
            out.push_back(at + "aborted: model " + (p.aborted ? "true" : "false") + ", engine " +
                          (o.aborted ? "true" : "false"));
    }
    return out;
}

std::vector<check::finding> check(scenario::scenario const& sc,
                                  std::vector<step_outcome> const& outcomes) {
    std::vector<check::finding> out;
    for (step_outcome const& o : outcomes) {
        if (o.observed.req_id == "app")
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
