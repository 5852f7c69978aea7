// The Fastify 5 request lifecycle as a state machine on the engine's loop: hooks, handler, send,
// errors.
#pragma once

#include "server_under_test/reference/engine/app.hpp"
#include "server_under_test/reference/engine/events.hpp"
#include "server_under_test/reference/engine/faults.hpp"
#include "server_under_test/reference/engine/loop.hpp"

#include <map>
#include <memory>
#include <optional>
#include <string>

namespace lifecheck::engine {

class request;
struct shared_state;

/// A Fastify-dialect app built once: a copy of the scenario app and Fastify's runtime
/// structures (built_app), read-only afterwards, so any number of servers can share it
/// (fuzz_http builds it once per process instead of once per input; decisions.md D21).
/// Built with the fault set it is compiled with (hook order faults act at build time).
struct compiled_app {
    scenario::app app;
    std::unique_ptr<built_app> built; // points into `app`
};

std::shared_ptr<compiled_app const> compile_app(scenario::app const& a, fault_set faults = {});

/// What the transport needs from an app of any dialect (fastify here, koa in koa_onion.hpp).
class app_server {
public:
    virtual ~app_server() = default;

    /// What ready() calls back with: nothing when the app started, else why it was refused.
    using ready_callback = std::function<void(std::optional<startup_failure> const&)>;

    /// Runs the app's start-up hooks (traced with request id `app`), then calls `done`; after a
    /// start it runs the onListen hooks (v2.5), whose errors Fastify only logs.
    virtual void ready(ready_callback done) = 0;

    /// Closing starts, pre-close hooks run, `drained` is awaited (the transport stops accepting
    /// and waits for in-flight requests), then close hooks, then `done`.
    virtual void close(std::function<void(std::function<void()>)> drained,
                       std::function<void()> done) = 0;

    /// A request whose head has been parsed; its id comes from x-lifecheck-req or is made here.
    virtual std::shared_ptr<request> begin(request_head head, exchange& out) = 0;

    virtual bool closing() const = 0;

    virtual loop& events_loop() = 0;
};

/// One Fastify-dialect app on one loop: builds the app, starts requests, runs ready/close.
class server final : public app_server {
public:
    server(scenario::app const& a, loop& l, event_sink sink, fault_set faults = {});
    /// A server of an app compiled before; `faults` must be the set it was compiled with.
    server(std::shared_ptr<compiled_app const> c, loop& l, event_sink sink, fault_set faults = {});
    ~server() override;
    server(server const&) = delete;
    server& operator=(server const&) = delete;

    /// A registration-time refusal, else the onReady hooks (traced with request id `app`), then
    /// `done`; then the onListen hooks (hooks.js onListenHookRunner).
    void ready(ready_callback done) override;

    /// `close()`: closing starts, preClose hooks, `drained` is awaited, onClose hooks, `done`.
    void close(std::function<void(std::function<void()>)> drained,
               std::function<void()> done) override;

    std::shared_ptr<request> begin(request_head head, exchange& out) override;

    bool closing() const override;

    loop& events_loop() override;

private:
    std::shared_ptr<shared_state> state_; // app, flags, shared Responses, sink, loop
};

/// One request in flight. The transport feeds the body and reports the socket's fate.
class request {
public:
    virtual ~request() = default;
    /// Body bytes as they arrive (chunked framing already removed).
    virtual void body(std::string_view data) = 0;
    /// The whole body has arrived.
    virtual void body_end() = 0;
    /// The response's last byte was handed to the socket (Node's `finish`).
    virtual void finished() = 0;
    /// The connection closed before or after the response; `by_client` false for a server cut.
    virtual void closed(bool by_client) = 0;

    /// As closed(), for a pipelined request whose response still waits behind an earlier one:
    /// Node never assigned that response the socket, so it gets no 'close'.
    virtual void closed_queued(bool by_client) { closed(by_client); }

    /// The socket was idle for connectionTimeout (Node's socket `timeout`).
    virtual void timed_out() = 0;
    virtual std::string const& id() const = 0;
    /// True once the engine is done with it (end emitted).
    virtual bool done() const = 0;
};

} // namespace lifecheck::engine

namespace lifecheck::engine {

/// What of `a` the reference does not implement (nothing when it can run it): a koa app Koa 2
/// cannot express (koa_unsupported), a fastify app with `npmPlugins` (real npm packages run on
/// real Fastify only, scenario-format §1.1), or v2 ops it does not run yet. The target says
/// `unsupported` with this reason (scenario-format §3).
std::optional<std::string> unsupported(scenario::app const& a, scenario::dialect d);

/// Builds the app server for a dialect: fastify (lifecycle.cpp) or koa (koa_onion.cpp); null
/// when unsupported() names a reason.
std::unique_ptr<app_server> make_server(
    scenario::app const& a, scenario::dialect d, loop& l, event_sink sink, fault_set faults = {});

} // namespace lifecheck::engine
