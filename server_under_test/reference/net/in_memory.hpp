// Runs the reference server in-process: bytes in, bytes and events out, on a virtual clock.
#pragma once

#include "server_under_test/reference/net/http_connection.hpp"

#include <memory>
#include <string>
#include <vector>

namespace lifecheck::net {

/// One app on a virtual clock with any number of in-memory connections. No sockets, no threads:
/// tests, property tests and fuzzers drive it byte by byte and millisecond by millisecond.
class in_memory_server {
public:
    explicit in_memory_server(scenario::app const& a,
                              engine::fault_set faults = 0,
                              connection_options opts = {},
                              scenario::dialect d = scenario::dialect::fastify);
    /// A fastify-dialect server of an app compiled once (engine::compile_app) and shared: a new
    /// server then costs no app copy and no built_app (fuzz/http_bytes_fuzzer.cpp, one per
    /// input). `faults` must be the set the app was compiled with.
    in_memory_server(std::shared_ptr<engine::compiled_app const> app,
                     engine::fault_set faults = 0,
                     connection_options opts = {});
    ~in_memory_server();

    /// Opens a client connection; returns its index.
    std::size_t connect();

    /// Client bytes on connection `c`; then runs everything due now.
    void feed(std::size_t c, std::string_view bytes);

    /// The client closes connection `c`.
    void client_close(std::size_t c);

    /// Moves the virtual clock forward by `ms`, running timers on the way.
    void advance(double ms);

    /// Runs until no timer is left (at most `limit_ms` of virtual time).
    void settle(double limit_ms = 60'000);

    /// Runs onReady hooks.
    void ready();

    /// Runs close: preClose, drain, onClose.
    void close();

    /// Everything the server wrote on connection `c`.
    std::string const& output(std::size_t c) const;

    /// True once the server closed connection `c`.
    bool server_closed(std::size_t c) const;

    std::vector<engine::event> const& events() const { return events_; }

    engine::loop& clock() { return loop_; }

private:
    struct client;
    void set_timeouts(scenario::app const& a);
    engine::loop loop_;
    std::vector<engine::event> events_;
    std::unique_ptr<engine::app_server> srv_;
    std::vector<std::unique_ptr<client>> clients_;
    connection_options opts_;
};

} // namespace lifecheck::net
