// The scripted client: plain request steps through cpp-httplib (one request, one connection).
#pragma once

#include "harness/check/observation.hpp"
#include "harness/scenario/scenario.hpp"

#include <chrono>
#include <string>

namespace lifecheck::client {

/// True for a step the scripted client can send: a request step with no `client` options, no
/// named connection, no chunked body and no `connection` expectation. Everything else (raw
/// steps, aborts, slow writers, keep-alive, pipelining) goes through raw_client.
bool is_plain(scenario::step const& s);

/// Sends plain requests with cpp-httplib to 127.0.0.1:port.
///
/// The request carries `host: 127.0.0.1`, `x-lifecheck-req: ID` and the step's headers, and
/// the body as given; the response body is received incrementally, so a response cut short
/// still reports its status, headers and the bytes that came (complete = false). httplib does
/// not show the socket, so the connection fate is inferred: `closed` when the response says
/// `connection: close` or the transfer failed, `kept` otherwise.
class scripted_client {
public:
    explicit scripted_client(int port,
                             std::chrono::milliseconds timeout = std::chrono::milliseconds{5000});

    check::response_observation send(std::string const& id, scenario::request_spec const& req);

private:
    int port_;
    std::chrono::milliseconds timeout_;
};

} // namespace lifecheck::client
