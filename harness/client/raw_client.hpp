// A client on raw sockets (Asio): exact request bytes, aborts at byte offsets or times, slow
// writes, pipelining and named keep-alive connections (scenario-format §1.4, decisions.md D2).
#pragma once

#include "harness/check/observation.hpp"
#include "harness/client/client_plan.hpp"
#include "harness/scenario/scenario.hpp"

#include <chrono>
#include <cstddef>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

namespace lifecheck::client {

/// Waits of the raw client.
struct client_timing {
    milliseconds response_timeout{5000}; // connect, write and the whole response
    milliseconds keep_grace{50};         // after a keep-alive response: still open = "kept"
    milliseconds close_grace{1000};      // after a `connection: close` response: wait for the FIN
};

/// Sends raw requests to 127.0.0.1:port and observes responses and connection fates.
///
/// Each request is carried out as its client_plan says (writes, pauses, a close after writing
/// or at abortAfterMs) and read as its response_reader says (read limits). After a complete
/// response the connection's fate is observed: `closed` (FIN), `reset` (ECONNRESET) or `kept`
/// (still open after `keep_grace`). A step with an abort option closes the socket at that
/// point and reports `client_aborted`. Calls on different connections may
/// run on different threads at once; a named connection serves one call at a time.
class raw_client {
public:
    explicit raw_client(int port, client_timing timing = {});
    ~raw_client();
    raw_client(raw_client const&) = delete;
    raw_client& operator=(raw_client const&) = delete;

    /// Sends one request on a fresh connection, or on the named keep-alive connection (opened
    /// on first use, reopened when the target closed it), and reads its response.
    check::response_observation send(raw_request const& r,
                                     std::optional<std::string> const& connection = std::nullopt);

    /// Pipelining: writes every request back to back on one connection, then reads the
    /// responses in order. Abort and slow-write options are not honoured here.
    std::vector<check::response_observation>
    pipeline(std::vector<raw_request> const& rs,
             std::optional<std::string> const& connection = std::nullopt);

    /// Closes every named connection.
    void close_all();

    class connection; // a socket with its own io_context (detail of raw_client.cpp)

private:
    std::shared_ptr<connection> open(std::optional<std::string> const& name);

    int port_;
    client_timing timing_;
    std::mutex mu_;                                            // guards named_
    std::map<std::string, std::shared_ptr<connection>> named_; // keep-alive connections by name
};

} // namespace lifecheck::client
