// The model's Node layer, shared by the fastify and koa dialects (see node.hpp).
#include "harness/model/detail/node.hpp"

#include "harness/scenario/vocabulary.hpp"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <sstream>

namespace lifecheck::model::detail {

using scenario::step;
using scenario::step_kind;

std::string ascii_lower(std::string s) {
    for (auto& c : s)
        c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return s;
}

std::string ascii_upper(std::string s) {
    for (auto& c : s)
        c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    return s;
}

//------------------------------------------------------------------------------
// node_world

void node_world::touch(std::string const& resource,
                       std::string const& owner,
                       bool write,
                       std::string const& value) {
    double const now = loop.now();
    auto& log = accesses[resource];
    for (auto const& a : log) {
        if (a.epoch != epoch || a.owner == owner)
            continue;
        if (!a.write && !write)
            continue;
        if (a.write && write && a.value == value)
            continue;
        if (std::fabs(a.at - now) < event_loop::race_margin_ms) {
            std::string const why = "'" + resource + "' is used by " + a.owner + " and " + owner +
                                    " within " + std::to_string(int(event_loop::race_margin_ms)) +
                                    " ms of each other";
            mark(owner, why);
            mark(a.owner, why);
        }
    }
    log.push_back(shared_access{now, epoch, owner, write, value});
}

bool node_world::flag(std::string const& name, std::string const& owner) {
    touch("flag " + name, owner, false, "");
    auto const it = flags.find(name);
    return it != flags.end() && it->second;
}

void node_world::set_flag(std::string const& name, bool value, std::string const& owner) {
    touch("flag " + name, owner, true, value ? "true" : "false");
    flags[name] = value;
}

void node_world::mark(std::string const& owner, std::string const& why) {
    if (!owner.empty())
        nondeterministic.emplace(owner, why);
}

//------------------------------------------------------------------------------
// the client plan

client_wire::client_wire(std::string const& wire, scenario::client_options const& c, double t)
    : total{static_cast<long long>(wire.size())}
    , bpw{c.bytes_per_write.value_or(0)}
    , wd{static_cast<double>(c.write_delay_ms.value_or(0))}
    , start{t} {
    std::size_t const head_end = wire.find("\r\n\r\n");
    head_len = head_end == std::string::npos ? total : static_cast<long long>(head_end + 4);
}

double client_wire::time_of(long long n) const {
    if (bpw <= 0 || n <= 0)
        return start;
    return start + static_cast<double>((n + bpw - 1) / bpw - 1) * wd;
}

client_schedule
plan_client(scenario::client_options const& c, std::string const& wire, double t, server_facts f) {
    client_schedule out;
    client_wire const cw{wire, c, t};
    long long const head_len = cw.head_len;
    long long const total = cw.total;
    // Node's --max-http-header-size default (16 KiB): llhttp fails with HPE_HEADER_OVERFLOW.
    if (head_len > 16384 + 4) {
        out.what = client_schedule::verdict::head_too_large;
        return out;
    }
    long long written = total;
    if (c.abort_after_request_bytes)
        written = std::min(*c.abort_after_request_bytes, total);
    if (c.abort_after_body_bytes)
        written = std::min(head_len + *c.abort_after_body_bytes, total);
    if (written < head_len) {
        out.what = client_schedule::verdict::aborted_in_head;
        return out;
    }
    client_plan& plan = out.plan;
    plan.start = t;
    plan.head_at = cw.time_of(head_len);
    if (written == total && f.reads_body)
        plan.body_at = cw.time_of(total);
    plan.body_own_event = f.body_own_event && written == total;
    if (c.abort_after_request_bytes || c.abort_after_body_bytes)
        plan.close_at = cw.time_of(written);
    if (c.abort_after_ms)
        plan.close_at = cw.time_of(total) + *c.abort_after_ms;
    plan.close_after_response_bytes = c.abort_after_response_bytes;
    plan.close_after_response_body_bytes = c.abort_after_response_body_bytes;
    int const idle_ms = f.connection_timeout_ms;
    if (cw.bpw > 0 && cw.wd > 0) {
        // every write restarts the socket's idle timer (only connectionTimeout cares)
        for (long long n = head_len + 1;
             idle_ms > 0 && n <= written && plan.body_writes.size() < 10000;
             n += cw.bpw)
            plan.body_writes.push_back(cw.time_of(n));
        if (idle_ms > 0 && std::fabs(cw.wd - idle_ms) < event_loop::race_margin_ms)
            out.not_decided = "writeDelayMs is too close to connectionTimeoutMs";
        if (idle_ms > 0 && cw.time_of(head_len) > t && cw.wd >= idle_ms)
            out.not_decided =
                "the request head is written slower than connectionTimeoutMs "
                "(Node's handling of an idle socket before a request is not modelled)";
    }
    if (f.request_timeout_ms > 0 && cw.bpw > 0)
        out.not_decided = "requestTimeout with a slow writer is Node-version dependent (§8)";
    return out;
}

namespace {

/// True when a request target has a byte llhttp rejects (>= 0x80: HPE_INVALID_URL).
bool invalid_target(std::string const& url) {
    return std::any_of(
        url.begin(), url.end(), [](char c) { return static_cast<unsigned char>(c) >= 0x80; });
}

/// True when the bytes before the first space cannot begin any method llhttp knows: llhttp
/// compares the method byte by byte with its table (Node's http.METHODS, PRI and the RTSP
/// methods) and answers HPE_INVALID_METHOD at the first byte that matches none, even before the
/// head is complete (Node 20: "oooops!" and "GEX" get 400 at once, "G" and "DESCRIB" wait).
bool method_prefix_rejected(std::string const& bytes) {
    std::size_t start = 0;
    while (start < bytes.size() && (bytes[start] == '\r' || bytes[start] == '\n'))
        ++start;
    std::size_t const space = bytes.find(' ', start);
    std::string const method =
        bytes.substr(start, space == std::string::npos ? std::string::npos : space - start);
    // before the space: a prefix of a method in the table; with the space: the whole method
    // ("GE /" is refused at the space, "DESCRIBE /" waits for the rest of the line)
    for (std::string_view m : scenario::llhttp_method_table)
        if (space == std::string::npos ? m.substr(0, method.size()) == method : m == method)
            return false;
    return true;
}

} // namespace

raw_parse parse_raw(std::string const& id, std::string const& bytes) {
    raw_parse p;
    p.in.id = id;
    if (bytes.find("\r\n\r\n") == std::string::npos && method_prefix_rejected(bytes)) {
        p.what = raw_parse::result::bad_request;
        return p;
    }
    auto const head_end = bytes.find("\r\n\r\n");
    if (head_end == std::string::npos) {
        p.what = bytes.size() > 16384 ? raw_parse::result::too_large
                                      : raw_parse::result::incomplete_head;
        return p;
    }
    p.head_len = head_end + 4;
    if (p.head_len > 16384 + 4) {
        p.what = raw_parse::result::too_large;
        return p;
    }
    std::istringstream lines{bytes.substr(0, head_end)};
    std::string line;
    std::getline(lines, line);
    if (!line.empty() && line.back() == '\r')
        line.pop_back();
    std::istringstream rl{line};
    std::string method, target, version, extra;
    rl >> method >> target >> version;
    if (method.empty() || target.empty() || (version != "HTTP/1.1" && version != "HTTP/1.0") ||
        (rl >> extra)) {
        p.what = raw_parse::result::bad_request;
        return p;
    }
    // llhttp knows exactly Node's http.METHODS (node 20); any other method is a parse error
    // (HPE_INVALID_METHOD) that Fastify's client-error handler answers with 400 (checked on
    // Fastify 5.12.8 with "OPST /up": 400, the lifecycle never starts).
    static std::set<std::string> const node_methods{
        "ACL",       "BIND",      "CHECKOUT", "CONNECT",  "COPY",   "DELETE",     "GET",
        "HEAD",      "LINK",      "LOCK",     "M-SEARCH", "MERGE",  "MKACTIVITY", "MKCALENDAR",
        "MKCOL",     "MOVE",      "NOTIFY",   "OPTIONS",  "PATCH",  "POST",       "PROPFIND",
        "PROPPATCH", "PURGE",     "PUT",      "QUERY",    "REBIND", "REPORT",     "SEARCH",
        "SOURCE",    "SUBSCRIBE", "TRACE",    "UNBIND",   "UNLINK", "UNLOCK",     "UNSUBSCRIBE"};
    if (node_methods.count(method) == 0) {
        p.what = raw_parse::result::bad_request;
        return p;
    }
    // llhttp accepts only visible ASCII in the request target: a byte >= 0x80 is a parse error
    // (HPE_INVALID_URL), answered by Fastify's client-error handler (checked against 5.12.8).
    if (invalid_target(target)) {
        p.what = raw_parse::result::bad_request;
        return p;
    }
    p.in.method = method;
    p.in.url = target;
    std::optional<long long> content_length;
    while (std::getline(lines, line)) {
        if (!line.empty() && line.back() == '\r')
            line.pop_back();
        auto const colon = line.find(':');
        if (colon == std::string::npos || colon == 0) {
            p.what = raw_parse::result::bad_request;
            return p;
        }
        std::string name = line.substr(0, colon);
        for (char c : name) {
            if (std::isspace(static_cast<unsigned char>(c))) {
                p.what = raw_parse::result::bad_request;
                return p;
            }
        }
        std::string value = line.substr(colon + 1);
        while (!value.empty() && (value.front() == ' ' || value.front() == '\t'))
            value.erase(value.begin());
        while (!value.empty() && (value.back() == ' ' || value.back() == '\t'))
            value.pop_back();
        if (ascii_lower(name) == "content-length") {
            try {
                content_length = std::stoll(value);
            } catch (...) {
                p.what = raw_parse::result::bad_request;
                return p;
            }
        }
        if (ascii_lower(name) == "transfer-encoding") {
            p.not_decided = "raw request with transfer-encoding";
            return p;
        }
        p.in.headers.emplace_back(name, value);
    }
    std::string const rest = bytes.substr(p.head_len);
    if (content_length) {
        p.in.body = rest.substr(0,
                                static_cast<std::size_t>(std::min<long long>(
                                    *content_length, static_cast<long long>(rest.size()))));
        if (static_cast<long long>(rest.size()) > *content_length)
            p.not_decided = "raw step with more than one request (pipelining)";
    } else if (!rest.empty()) {
        p.not_decided = "raw step with more than one request (pipelining)";
    }
    return p;
}

raw_parse parse_step(step const& s) {
    if (s.kind == step_kind::raw) {
        raw_parse p = parse_raw(s.id, s.raw);
        p.wire = s.raw;
        p.in.raw = true;
        return p;
    }
    raw_parse p;
    p.in.id = s.id;
    p.in.method = s.request.method;
    p.in.url = s.request.url;
    p.in.headers = s.request.headers;
    p.in.body = s.request.body;
    p.in.chunked = s.request.chunked;
    p.wire = scenario::wire_bytes(s.id, s.request);
    if (invalid_target(p.in.url))
        p.what = raw_parse::result::bad_request; // llhttp: HPE_INVALID_URL
    return p;
}

//------------------------------------------------------------------------------
// the steps

void collect_leaves(std::vector<step> const& steps, std::vector<leaf>& out) {
    for (std::size_t g = 0; g < steps.size(); ++g) {
        step const& s = steps[g];
        if (s.kind == step_kind::parallel) {
            for (auto const& c : s.children) {
                if (c.kind == step_kind::request || c.kind == step_kind::raw ||
                    c.kind == step_kind::close)
                    out.push_back(leaf{&c, g});
            }
        } else if (s.kind != step_kind::sleep) {
            out.push_back(leaf{&s, g});
        }
    }
}

std::string close_owner(step const& s) {
    return s.id.empty() ? std::string{"close"} : s.id;
}

void step_groups::run(std::vector<step> const& steps,
                      double t,
                      start_fn const& start,
                      std::function<bool()> const& stop,
                      std::function<void(std::size_t group)> const& after) {
    for (std::size_t g = 0; g < steps.size(); ++g) {
        step const& s = steps[g];
        if (stop && stop())
            break;
        w_.epoch = static_cast<int>(g);
        if (s.kind == step_kind::sleep) {
            t += s.sleep_ms;
            continue;
        }
        w_.loop.set_now(t);
        std::vector<step const*> group;
        if (s.kind == step_kind::parallel) {
            for (auto const& c : s.children)
                group.push_back(&c);
        } else {
            group.push_back(&s);
        }
        last_.clear();
        for (step const* c : group)
            start(*c, t);
        w_.loop.run();
        if (after)
            after(g);
        for (step const* c : group) {
            if (c->connection)
                used_.insert(*c->connection);
        }
        t = std::max(t, w_.loop.now()) + 1;
    }
}

bool step_groups::on_existing_connection(step const& s) const {
    return s.connection && used_.count(*s.connection) > 0;
}

void step_groups::attach(step const& s, node_exchange& x) {
    if (!s.connection)
        return;
    // a parallel group on one connection is pipelined (scenario-format §1.4)
    auto& last = last_[*s.connection];
    if (last != nullptr)
        x.pipeline_after(last);
    last = &x;
}

//------------------------------------------------------------------------------
// node_exchange: client events

node_exchange::node_exchange(node_world& w,
                             request_input in,
                             client_plan plan,
                             int connection_timeout_ms)
    : node_{w}
    , in_{std::move(in)}
    , plan_{plan}
    , connection_timeout_ms_{connection_timeout_ms} {}

void node_exchange::schedule() {
    auto& loop = node_.loop;
    loop.at(plan_.head_at, in_.id, "client", "request head arrives", [this] { arrive(); });
    if (plan_.body_at && (*plan_.body_at > plan_.head_at || plan_.body_own_event)) {
        loop.at(*plan_.body_at, in_.id, "client", "request body completes", [this] {
            on_body_arrived();
        });
    }
    for (double at : plan_.body_writes) {
        if (at > plan_.head_at && (!plan_.body_at || at < *plan_.body_at))
            loop.at(at, in_.id, "client", "request body bytes arrive", [this] { touch_socket(); });
    }
    if (plan_.close_at) {
        loop.at(*plan_.close_at, in_.id, "client", "client closes the connection", [this] {
            client_close();
        });
    }
}

void node_exchange::arrive() {
    arrived_ = true;
    out_.reached = true;
    on_request();
}

void node_exchange::touch_socket() {
    // Node server.setTimeout (connectionTimeout): the idle timer restarts on socket activity.
    int const ms = connection_timeout_ms_;
    if (ms <= 0 || socket_destroyed_ || finished_)
        return;
    if (idle_timer_)
        node_.loop.cancel(*idle_timer_);
    idle_timer_ = node_.loop.after(ms, in_.id, "socket-timeout", "connectionTimeout fires", [this] {
        connection_timeout_fired();
    });
}

void node_exchange::client_close() {
    if (client_gone_)
        return;
    client_gone_ = true;
    if (!arrived_ || close_processed_)
        return;
    if (response_done_at_ && node_.loop.now() - *response_done_at_ < event_loop::race_margin_ms)
        node_.mark(in_.id,
                   "the client closes within " + std::to_string(int(event_loop::race_margin_ms)) +
                       " ms of the response's end: whether it read the response first is a race");
    if (finished_ || res_closed_) {
        // fastify-lifecycle §7: closing an idle keep-alive socket after a complete response:
        // nothing.
        return;
    }
    socket_close_events(true);
}

void node_exchange::destroy_socket_from_server() {
    // res.destroy(): the socket closes; its 'close' listeners run on the next tick.
    if (socket_destroyed_)
        return;
    if (queued()) {
        // A queued pipelined response has no socket yet: Node's res.destroy() waits for
        // 'socket' and destroys it then, before this response's buffered output is flushed.
        auto& held = pipeline_prev_->successors_;
        held.insert(held.begin(), [this] { destroy_socket_from_server(); });
        return;
    }
    destroy_socket("socket-close", "socket close after destroy");
}

void node_exchange::destroy_socket(char const* strand, char const* what) {
    socket_destroyed_ = true;
    if (!out_.body_complete)
        out_.reset = true;
    // The handle's close callback is a later macrotask: a 'finish' already queued comes first,
    // and the request then is no longer aborted by the close (lifecheck prop, checked on
    // Fastify 5.12.8).
    node_.loop.after(0, in_.id, strand, what, [this] { socket_close_events(false); });
}

void node_exchange::socket_gone() {
    close_processed_ = true;
    socket_destroyed_ = true;
    if (idle_timer_) {
        node_.loop.cancel(*idle_timer_);
        idle_timer_.reset();
    }
    if (!out_.body_complete && out_.got_head)
        out_.reset = true; // the connection died under the response
}

void node_exchange::socket_close_events(bool by_client) {
    if (close_processed_)
        return;
    socket_gone();
    bool const source_destroyed = on_socket_closing();
    // The socket dies under the pipelined requests queued behind this response too.
    if (!res_closed_ && pipeline_next_ != nullptr)
        pipeline_next_->lose_queued_socket();
    // onServerResponseClose: res 'close' now (the target's `end`), fastify-lifecycle §7 /
    // scenario-format §3.
    if (!res_closed_) {
        out_.end_aborted = by_client;
        emit_close();
    }
    // Node's socketOnClose runs abortIncoming before res 'close' (whose eos(res) destroyed the
    // source) reaches the source, so the request's close tick comes first.
    on_request_destroyed(source_destroyed);
}

void node_exchange::lose_queued_socket() {
    // Node socketOnClose → abortIncoming destroys every queued pipelined request; their
    // responses were never assigned the socket, so they get no 'close' (no `end`: the target
    // reports none) and reach no one (lifecheck prop, checked on Fastify 5.12.8).
    if (close_processed_)
        return;
    if (!arrived_) {
        node_.mark(in_.id, "the connection died before this pipelined request was parsed");
        return;
    }
    socket_gone();
    if (pipeline_next_ != nullptr)
        pipeline_next_->lose_queued_socket();
    on_request_destroyed(false);
}

void node_exchange::connection_timeout_fired() {
    idle_timer_.reset();
    if (finished_ || socket_destroyed_)
        return;
    // fastify-lifecycle §8: Node destroys the socket (its listener runs first); the framework's
    // socket 'timeout' listener runs next. The close events (end, onRequestAbort) come from the
    // handle's close callback, a later macrotask, so listeners that settle through microtasks
    // all run first (checked against 5.12.8: an async root hook, then a callback child hook,
    // then onRequestAbort).
    destroy_socket("socket-timeout", "socket close after timeout");
    on_socket_timeout();
}

//------------------------------------------------------------------------------
// node_exchange: the response

void node_exchange::res_end(std::string const& bytes, body_class kind) {
    if (writable_ended_)
        return; // Node: write after end is an 'error' event, not a throw
    writable_ended_ = true;
    if (socket_destroyed_)
        return; // nothing reaches anyone; no 'finish' (fastify-lifecycle §2.8)
    auto flush = [this, bytes, kind] {
        if (socket_destroyed_)
            return; // the socket died while this response was queued: no 'finish'
        if (out_.got_head && out_.body_kind == body_class::none)
            out_.body_kind = kind;
        deliver_body(bytes, true);
        // 'finish' once the bytes are handed to the socket: the write callback runs on a tick.
        node_.loop.next_tick([this] { emit_finish(); });
    };
    if (queued()) {
        pipeline_prev_->successors_.push_back(flush); // Node's state.outgoing queue
        return;
    }
    flush();
}

void node_exchange::emit_finish() {
    if (finished_)
        return;
    finished_ = true;
    if (idle_timer_) {
        node_.loop.cancel(*idle_timer_);
        idle_timer_.reset();
    }
    // 'finish' listeners in attach order: Node's resOnFinish (res 'close' on the next tick), the
    // framework's (Fastify's onResFinished: onResponse hooks, fastify-lifecycle §2.8), then eos
    // waiters.
    node_.loop.next_tick([this] {
        req_closed_ = true; // the request closes with aborted === false
        emit_close();
    });
    on_finish();
    auto listeners = std::move(finish_listeners_);
    finish_listeners_.clear();
    for (auto& f : listeners)
        f();
}

void node_exchange::emit_close() {
    if (res_closed_)
        return;
    res_closed_ = true;
    out_.ended = true;
    out_.end_at = static_cast<int>(node_.traces[in_.id].size());
    auto listeners = std::move(finish_listeners_); // eos: premature close resolves too
    finish_listeners_.clear();
    for (auto& f : listeners)
        f();
    // resOnFinish assigned the socket to the next queued (pipelined) response
    auto held = std::move(successors_);
    successors_.clear();
    for (auto& f : held)
        f();
    if (node_.on_request_end)
        node_.on_request_end();
}

void node_exchange::deliver_head(int status, scenario::header_list const& headers, bool chunked) {
    if (socket_destroyed_ || client_gone_)
        return;
    if (queued()) {
        // Node's state.outgoing: a pipelined response gets the socket only once the response
        // before it closed; until then its head and body stay in its own buffer.
        pipeline_prev_->successors_.push_back(
            [this, status, headers, chunked] { deliver_head(status, headers, chunked); });
        return;
    }
    out_.got_head = true;
    out_.status = status;
    out_.headers = headers;
    for (auto const& [k, v] : headers) {
        if (ascii_lower(k) == "content-type")
            out_.content_type = v;
    }
    bool const head = ascii_lower(in_.method) == "head";
    if (head)
        chunked = false; // Node: no body, so no chunked framing (_hasBody false)
    response_chunked_ = chunked;
    declared_length_.reset();
    if (!chunked && !head && status != 204 && status != 304) {
        for (auto const& [k, v] : headers) {
            if (ascii_lower(k) == "content-length") {
                try {
                    declared_length_ = std::stoll(v);
                } catch (std::exception const&) {
                    declared_length_.reset();
                }
            }
        }
    }
    // status line + headers + what Node adds (date, connection, keep-alive, framing)
    long long size = 9 + 3 + 1 + static_cast<long long>(status_text(status).size()) + 2;
    for (auto const& [k, v] : headers)
        size += static_cast<long long>(k.size() + v.size() + 4);
    size += 37 + 24 + 24 + (chunked ? 28 : 0) + 2;
    head_bytes_estimate_ = size;
    response_bytes_seen_ += size;
    check_client_read_limits();
}

void node_exchange::deliver_body(std::string const& bytes, bool last) {
    if (socket_destroyed_ || client_gone_)
        return;
    if (queued()) {
        pipeline_prev_->successors_.push_back([this, bytes, last] { deliver_body(bytes, last); });
        return; // held behind the previous pipelined response, like the head
    }
    // Node discards every body write of a HEAD, 204 or 304 response (_hasBody false), whatever
    // wrote it: reply.send, the default error reply, a stream, raw.end after hijack, Koa's
    // ctx.onerror message.
    bool const head = ascii_lower(in_.method) == "head" ||
                      (out_.got_head && (out_.status == 204 || out_.status == 304));
    if (!head)
        out_.body += bytes;
    long long framed = head ? 0 : static_cast<long long>(bytes.size());
    if (response_chunked_ && !head) {
        if (!bytes.empty()) {
            char hex[32];
            std::snprintf(hex, sizeof hex, "%zx", bytes.size());
            framed += static_cast<long long>(std::string{hex}.size()) + 4;
            chunk_sizes_.push_back(static_cast<long long>(bytes.size()));
        }
        if (last)
            framed += 5; // 0\r\n\r\n
    }
    response_bytes_seen_ += framed;
    response_body_bytes_seen_ += framed;
    if (declared_length_ && static_cast<long long>(out_.body.size()) > *declared_length_)
        out_.body.resize(static_cast<std::size_t>(*declared_length_)); // the client reads no more
    if (last) {
        out_.body_complete =
            !declared_length_ || static_cast<long long>(out_.body.size()) >= *declared_length_;
        if (!out_.body_complete && pipeline_next_ != nullptr) {
            // The client reads the next pipelined response's bytes as the rest of this body
            // (a stream swapped in for a content-length reply): framing the model does not follow.
            node_.mark(in_.id,
                       "a body shorter than its content-length with a pipelined response after it");
            for (node_exchange* n = pipeline_next_; n != nullptr; n = n->pipeline_next_)
                node_.mark(n->in_.id, "a response before it on the connection was cut short");
        }
        response_done_at_ = node_.loop.now();
    }
    check_client_read_limits();
}

void node_exchange::check_client_read_limits() {
    if (client_read_limit_hit_)
        return;
    bool hit = false;
    if (plan_.close_after_response_bytes) {
        long long const n = *plan_.close_after_response_bytes;
        if (std::llabs(n - head_bytes_estimate_) < 48 && out_.got_head)
            node_.mark(in_.id,
                       "abortAfterResponseBytes is too close to the size of the response head, "
                       "which the model only estimates");
        hit = response_bytes_seen_ >= n;
        if (hit) {
            long long const body_allowed = std::max<long long>(0, n - head_bytes_estimate_);
            if (static_cast<long long>(out_.body.size()) > body_allowed) {
                out_.body.resize(static_cast<std::size_t>(body_allowed));
                out_.body_complete = false;
            }
        }
    }
    if (plan_.close_after_response_body_bytes && out_.got_head) {
        long long const n = *plan_.close_after_response_body_bytes;
        if (response_body_bytes_seen_ >= n) {
            hit = true;
            if (static_cast<long long>(out_.body.size()) > n && !response_chunked_) {
                out_.body.resize(static_cast<std::size_t>(n));
                out_.body_complete = false;
            } else if (response_chunked_ && response_body_bytes_seen_ > n) {
                out_.body_complete = false;
                // the client decodes what the first n wire bytes carry: a chunk's data as it
                // arrives, none of a chunk whose size line was cut (harness response_parser)
                long long wire = 0;
                std::size_t keep = 0;
                for (long long m : chunk_sizes_) {
                    char hex[32];
                    std::snprintf(hex, sizeof hex, "%llx", m);
                    wire += static_cast<long long>(std::string{hex}.size()) + 2;
                    if (wire >= n)
                        break;
                    keep += static_cast<std::size_t>(std::min(m, n - wire));
                    wire += m + 2;
                    if (wire >= n)
                        break;
                }
                if (out_.body.size() > keep)
                    out_.body.resize(keep);
            }
        }
    }
    if (!hit)
        return;
    client_read_limit_hit_ = true;
    if (out_.body_complete)
        return; // everything arrived before the client stopped reading
    note("the client stops reading and closes");
    node_.loop.at(
        node_.loop.now(), in_.id, "client", "client closes after reading enough bytes", [this] {
            client_close();
        });
}

void node_exchange::closes_connection_after_response() {
    for (node_exchange* n = pipeline_next_; n != nullptr; n = n->pipeline_next_)
        node_.mark(n->in_.id,
                   "a response before it on the connection has no framing: Node closes the "
                   "connection after it (not modelled)");
}

void node_exchange::note(std::string const& n) {
    if (std::find(out_.notes.begin(), out_.notes.end(), n) == out_.notes.end())
        out_.notes.push_back(n);
}

void node_exchange::unsupported(std::string const& what) {
    if (std::find(out_.unsupported.begin(), out_.unsupported.end(), what) == out_.unsupported.end())
        out_.unsupported.push_back(what);
}

//------------------------------------------------------------------------------
// outcome to prediction

std::string bracket_list(std::vector<std::string> const& v) {
    std::string out = "[";
    for (std::size_t i = 0; i < v.size(); ++i) {
        if (i)
            out += ", ";
        out += v[i];
    }
    return out + "]";
}

step_prediction predict_request(step const& s,
                                request_outcome const& o,
                                std::vector<std::string> const& trace,
                                bool crashed) {
    step_prediction p;
    p.step_id = s.id;
    p.reached = o.reached;
    p.trace = trace;
    if (o.ended)
        p.end_at = o.end_at;
    // A client that aborts after writing (abortAfterRequestBytes/abortAfterBodyBytes) closes
    // without reading: whatever the server wrote meanwhile reaches no one (spec §1.4).
    bool const reads = !s.client.abort_after_request_bytes && !s.client.abort_after_body_bytes;
    if (o.got_head && reads) {
        p.status = o.status;
        p.content_type = o.content_type;
        p.headers = o.headers;
        p.body = o.body_kind == body_class::none ? body_class::empty : o.body_kind;
        p.complete = o.body_complete;
        p.body_text = o.body; // what arrived; `complete` says whether it is all
        if (p.body == body_class::empty && o.body_complete && !o.body.empty())
            p.body = body_class::text;
    } else {
        p.complete = false;
    }
    p.aborted = o.end_aborted;
    p.hangs = o.reached && !o.ended && !crashed;
    p.notes = o.notes;
    if (!o.unsupported.empty()) {
        p.deterministic = false;
        p.why = "not modelled: " + bracket_list(o.unsupported);
    }
    return p;
}

void finish_determinism(step_prediction& p,
                        node_world const& w,
                        std::string const& owner,
                        std::map<std::string, std::string> const& extra) {
    std::vector<std::string> reasons;
    auto const& races = w.loop.races();
    if (auto it = races.find(owner); it != races.end())
        reasons.push_back("timing race: " + it->second);
    if (auto it = races.find("*"); it != races.end())
        reasons.push_back(it->second);
    if (auto it = w.nondeterministic.find(owner); it != w.nondeterministic.end())
        reasons.push_back(it->second);
    if (auto it = extra.find(owner); it != extra.end())
        reasons.push_back(it->second);
    if (!reasons.empty()) {
        p.deterministic = false;
        for (auto const& r : reasons)
            p.why += (p.why.empty() ? "" : "; ") + r;
    }
}

} // namespace lifecheck::model::detail
