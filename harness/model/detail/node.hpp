// The model's Node layer under both dialects: what Node does for a request whatever the framework.
// Shared request state and its race bookkeeping, the client plan (writes, pauses, aborts, read
// limits), Node's HTTP parser for a step, one request's IncomingMessage/ServerResponse/socket as
// the client sees it, and the outcome-to-prediction step.
#pragma once

#include "harness/model/detail/js.hpp"
#include "harness/model/model.hpp"
#include "harness/scenario/scenario.hpp"

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace lifecheck::model::detail {

/// ASCII lower-case (header names, methods).
std::string ascii_lower(std::string s);

/// ASCII upper-case (methods as Node's parser reports them).
std::string ascii_upper(std::string s);

/// Accesses to state that several requests share (flags, shared Responses, `closing`), kept to
/// find cross-request races (scenario-format §4: races need wide delay gaps).
struct shared_access {
    double at = 0;
    int epoch = 0; // steps started together (a parallel group) share an epoch
    std::string owner;
    bool write = false;
    std::string value;
};

/// What the requests of one scenario share whatever the dialect: the loop, flags, traces and the
/// race bookkeeping.
struct node_world {
    event_loop loop;
    std::map<std::string, bool> flags;                          // `set` / `when`
    std::map<std::string, std::vector<std::string>> traces;     // owner -> labels
    int epoch = 0;                                              // current step group
    std::map<std::string, std::vector<shared_access>> accesses; // resource -> log
    std::map<std::string, std::string> nondeterministic;        // owner -> reason
    std::function<void()> on_request_end;                       // a request emitted `end`

    /// Appends `label` to `owner`'s trace.
    void trace(std::string const& owner, std::string const& label) {
        traces[owner].push_back(label);
    }

    /// Records an access and marks both owners when it races with another owner's access.
    void touch(std::string const& resource,
               std::string const& owner,
               bool write,
               std::string const& value);

    /// Reads flag `name` for `owner` (false when never set).
    bool flag(std::string const& name, std::string const& owner);

    /// Sets flag `name` for `owner`.
    void set_flag(std::string const& name, bool value, std::string const& owner);

    /// Marks `owner`'s prediction not deterministic (the first reason is kept).
    void mark(std::string const& owner, std::string const& why);
};

//------------------------------------------------------------------------------
// the client plan

/// The request as it reaches the server (from a request step or a parsed raw step).
struct request_input {
    std::string id;
    std::string method = "GET";
    std::string url = "/"; // as written (with query)
    scenario::header_list headers;
    std::optional<std::string> body;
    bool chunked = false;
    bool on_existing_connection = false; // a keep-alive connection opened by an earlier step
    bool raw = false;                    // a raw step: headers as written, minus content-length
};

/// How the client behaves (scenario `client` options resolved to times and byte counts).
struct client_plan {
    double start = 0;                                    // when the first byte is written
    std::optional<double> close_at;                      // client closes the socket at this time
    std::optional<long long> close_after_response_bytes; // counted from the status line
    std::optional<long long> close_after_response_body_bytes; // counted from the first body byte
    double head_at = 0;                                       // the request head is complete
    std::optional<double> body_at;   // the body is complete (nothing: never, or not read)
    std::vector<double> body_writes; // later writes of body bytes (socket activity)
    bool body_own_event = false;     // the body comes in a read after the head's
};

/// How a client writes a request's wire bytes (scenario-format §1.4 `client`): the head's length,
/// the total, and when byte N has been written when the client sends `bytesPerWrite` bytes every
/// `writeDelayMs` from `start`.
struct client_wire {
    long long head_len = 0;
    long long total = 0;
    long long bpw = 0;
    double wd = 0;
    double start = 0;

    client_wire(std::string const& wire, scenario::client_options const& c, double t);

    /// When the client has written `n` bytes.
    double time_of(long long n) const;
};

/// The Node server options and dialect facts the client plan depends on.
struct server_facts {
    int connection_timeout_ms = 0; // server.setTimeout (Fastify connectionTimeout)
    int request_timeout_ms = 0;    // server.requestTimeout
    bool reads_body = true;        // the framework reads the request body (Koa does not)
    bool body_own_event = false;   // predict the body in a read after the head's
};

/// What the client's writes mean before any framework code runs.
struct client_schedule {
    enum class verdict {
        ok,
        head_too_large, // the head exceeds Node's 16 KiB limit (HPE_HEADER_OVERFLOW)
        aborted_in_head // the client closes before its head is complete: never reached
    } what = verdict::ok;
    client_plan plan;
    std::optional<std::string> not_decided; // why the timing is not decided, when it is not
};

/// Turns a step's client options (scenario-format §1.4 `client`) into times on the virtual clock:
/// head and body arrival, every later write, the close, and the response read limits.
client_schedule
plan_client(scenario::client_options const& c, std::string const& wire, double t, server_facts f);

/// A request or raw step as Node's HTTP parser (llhttp) sees it.
struct raw_parse {
    enum class result {
        ok,
        incomplete_head, // the head never ends: the request never reaches the app
        bad_request,     // a parse error (the server's 'clientError')
        too_large        // HPE_HEADER_OVERFLOW
    } what = result::ok;
    request_input in;
    std::string wire; // the bytes the client writes
    std::size_t head_len = 0;
    std::optional<std::string> not_decided; // parsed, but the model does not follow what comes next
};

/// Parses the bytes of raw step `id`: one request, or why Node's parser rejects it.
raw_parse parse_raw(std::string const& id, std::string const& bytes);

/// A request or raw step (scenario-format §1.4) as the server's parser reads it.
raw_parse parse_step(scenario::step const& s);

//------------------------------------------------------------------------------
// the steps

/// A leaf step (request, raw or close) in document order.
struct leaf {
    scenario::step const* s = nullptr;
    std::size_t group = 0; // index of the top-level step it belongs to
};

/// The leaves of `steps` (parallel children flattened in document order).
void collect_leaves(std::vector<scenario::step> const& steps, std::vector<leaf>& out);

/// The prediction's step id for a close step without an id.
std::string close_owner(scenario::step const& s);

class node_exchange;

/// Runs a scenario's top-level steps in order on one loop (decisions.md D4): a sleep moves the
/// clock, a parallel group starts together, the next group starts when the loop is idle. Keeps the
/// keep-alive connections: a step on a connection opened by an earlier group is on an existing
/// one, and two steps of one group on one connection are pipelined.
class step_groups {
public:
    /// Called for each leaf of a group at its start time.
    using start_fn = std::function<void(scenario::step const&, double t)>;

    explicit step_groups(node_world& w)
        : w_{w} {}

    /// Runs every group from time `t`; `stop` is asked before each group, `after` runs when a
    /// group's loop is idle.
    void run(std::vector<scenario::step> const& steps,
             double t,
             start_fn const& start,
             std::function<bool()> const& stop = {},
             std::function<void(std::size_t group)> const& after = {});

    /// True when `s` uses a keep-alive connection an earlier group opened.
    bool on_existing_connection(scenario::step const& s) const;

    /// Pipelines `x` behind the previous exchange of this group on `s`'s connection.
    void attach(scenario::step const& s, node_exchange& x);

private:
    node_world& w_;
    std::set<std::string> used_;                 // keep-alive connections opened so far
    std::map<std::string, node_exchange*> last_; // within the current step group
};

//------------------------------------------------------------------------------
// one request's Node objects

/// What the client and the `end` event saw, filled while the simulation runs.
struct request_outcome {
    bool reached = false;
    bool ended = false; // the target emitted `end`
    std::optional<int> end_at;
    bool end_aborted = false;
    bool got_head = false; // status line and headers arrived
    int status = 0;
    std::optional<std::string> content_type;
    scenario::header_list headers; // the response head's headers as the server wrote them
    std::string body;
    bool body_complete = false; // the whole body arrived
    body_class body_kind = body_class::none;
    bool reset = false; // the connection died under the response
    std::vector<std::string> notes;
    std::vector<std::string> unsupported;
};

/// One request's IncomingMessage, ServerResponse and socket (Node lib/_http_server.js,
/// lib/_http_outgoing.js) as the client sees them: the client's I/O events, the head and body
/// reaching the client (framing, read limits, the pipelining queue), 'finish' and 'close'. A
/// dialect derives from it and reacts to the events through the virtual hooks.
class node_exchange {
public:
    node_exchange(node_world& w, request_input in, client_plan plan, int connection_timeout_ms);
    virtual ~node_exchange() = default;
    node_exchange(node_exchange const&) = delete;
    node_exchange& operator=(node_exchange const&) = delete;

    /// Schedules the client's I/O events (arrival, body, close) on the loop.
    void schedule();

    /// What the client and the `end` event saw so far.
    request_outcome const& outcome() const { return out_; }

    /// The step id (the trace owner).
    std::string const& id() const { return in_.id; }

    /// Pipelining: `prev` was written before this request on the same connection; Node answers
    /// both at once but holds this response until `prev`'s has finished.
    void pipeline_after(node_exchange* prev) {
        pipeline_prev_ = prev;
        prev->pipeline_next_ = this;
    }

protected:
    // -- dialect hooks -------------------------------------------------------------------
    /// Node's 'request' event: the head was parsed.
    virtual void on_request() = 0;

    /// Every body byte arrived (only with server_facts::reads_body).
    virtual void on_body_arrived() {}

    /// 'finish' listeners after Node's resOnFinish (e.g. Fastify's onResponse).
    virtual void on_finish() {}

    /// The socket closes under an unfinished response, before res 'close': detach the body
    /// source; true when a Node stream source must be destroyed after the request's close.
    virtual bool on_socket_closing() { return false; }

    /// The request was destroyed (abortIncoming); `source_destroyed` from on_socket_closing.
    virtual void on_request_destroyed(bool /*source_destroyed*/) {}

    /// Node's socket 'timeout' listener ran and destroyed the socket (server.setTimeout).
    virtual void on_socket_timeout() {}

    // -- client / socket events ----------------------------------------------------------
    void arrive();       // the head was parsed: 'request'
    void client_close(); // the client closes its socket (a plan event or a read limit)
    /// socketOnClose: res 'close' (the target's `end`, aborted when `by_client`), the queued
    /// pipelined requests lose the socket, abortIncoming.
    void socket_close_events(bool by_client);
    void socket_gone();        // the socket's close ran: no more I/O, an unfinished response is cut
    void lose_queued_socket(); // a queued pipelined request's socket died under it
    void destroy_socket_from_server(); // res.destroy() (waits for the socket when queued)
    /// The server destroys the socket; its close events come from the handle's close callback.
    void destroy_socket(char const* strand, char const* what);
    void connection_timeout_fired(); // server.setTimeout fired: destroy, then on_socket_timeout
    void touch_socket();             // socket activity restarts the idle timer

    // -- ServerResponse ------------------------------------------------------------------
    /// True while an earlier pipelined response still owns the socket (state.outgoing).
    bool queued() const { return pipeline_prev_ != nullptr && !pipeline_prev_->res_closed_; }

    /// The status line and headers reach the client (held while queued); Node adds date,
    /// connection, keep-alive and framing.
    void deliver_head(int status, scenario::header_list const& headers, bool chunked);
    /// Body bytes reach the client (chunked framing, content-length, HEAD/204/304 drop them).
    void deliver_body(std::string const& bytes, bool last);
    /// res.end(bytes): the last body bytes, then 'finish' and 'close' (held while queued).
    void res_end(std::string const& bytes, body_class kind);
    void emit_finish();              // 'finish': resOnFinish, on_finish, eos waiters
    void emit_close();               // res 'close': the target's `end`; the next queued response
    void check_client_read_limits(); // abortAfterResponse[Body]Bytes: the client stops and closes
    /// Node's _storeHeader with Content-Length and Transfer-Encoding both removed: the body runs
    /// to the connection's end (`_last`), so the socket closes after this response and the
    /// requests pipelined behind it are lost; the model does not follow them (not deterministic).
    void closes_connection_after_response();
    void note(std::string const& n);           // a note on the prediction (once)
    void unsupported(std::string const& what); // what the model does not follow (not deterministic)

    node_world& node_;
    request_input in_;
    client_plan plan_;
    request_outcome out_;
    int connection_timeout_ms_ = 0;

    bool arrived_ = false;        // the 'request' event happened
    bool req_closed_ = false;     // req emitted 'close'
    bool headers_sent_ = false;   // res.headersSent
    bool writable_ended_ = false; // res.writableEnded (end() was called)
    bool finished_ = false;       // 'finish' emitted
    bool res_closed_ = false;     // 'close' emitted (the target's `end`)
    bool socket_destroyed_ = false;
    bool client_gone_ = false;                // the client closed its side
    bool close_processed_ = false;            // the socket's close events ran
    std::optional<std::uint64_t> idle_timer_; // connectionTimeout
    long long response_bytes_seen_ = 0;       // for abortAfterResponse*Bytes
    long long response_body_bytes_seen_ = 0;
    std::vector<long long> chunk_sizes_; // data sizes of the chunks sent (chunked framing)
    bool response_chunked_ = false;
    std::optional<long long> declared_length_; // content-length of an identity-framed body
    bool client_read_limit_hit_ = false;
    long long head_bytes_estimate_ = 0;
    std::optional<double> response_done_at_;              // the last body byte reached the client
    std::vector<std::function<void()>> finish_listeners_; // eos(res) waiting for finish/close
    node_exchange* pipeline_prev_ = nullptr;        // the request before this one on the socket
    node_exchange* pipeline_next_ = nullptr;        // the request after this one on the socket
    std::vector<std::function<void()>> successors_; // held responses of later pipelined requests
};

//------------------------------------------------------------------------------
// outcome to prediction

/// "[a, b, c]": a list as predictions and reports spell it.
std::string bracket_list(std::vector<std::string> const& v);

/// The prediction for request or raw step `s` from what its exchange saw: reached, trace, endAt,
/// the response as the client read it, aborted, hangs (unless the process `crashed`), notes.
step_prediction predict_request(scenario::step const& s,
                                request_outcome const& o,
                                std::vector<std::string> const& trace,
                                bool crashed);

/// Marks `p` not deterministic with every reason recorded for `owner`: races on the loop, marks
/// in the world, and `extra` (the driver's own reasons).
void finish_determinism(step_prediction& p,
                        node_world const& w,
                        std::string const& owner,
                        std::map<std::string, std::string> const& extra);

} // namespace lifecheck::model::detail
