// What a client does with one request step: its `client` options (scenario-format §1.4) read
// once, for both step drivers (raw_client on sockets, property's in-process driver on the engine).
#pragma once

#include "harness/client/response_parser.hpp"
#include "harness/scenario/scenario.hpp"

#include <chrono>
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace lifecheck::client {

using milliseconds = std::chrono::milliseconds;

/// One request as a client sends it.
struct raw_request {
    std::string id;              // the step id (for messages)
    std::string bytes;           // exactly what goes on the wire
    std::size_t body_offset = 0; // index of the first body byte (bytes.size() without a body)
    bool head = false;           // a HEAD request: the response has no body
    scenario::client_options options;
};

/// The raw request of a request step (scenario::wire_bytes) or of a raw step (its bytes; a
/// HEAD request when they start with "HEAD ").
raw_request make_raw_request(scenario::step const& s);

/// True when `o` asks nothing of the client beyond one plain exchange (no option at all): such
/// a step may go through scripted_client (is_plain).
bool plain_client(scenario::client_options const& o);

/// One write of a request: `size` bytes from `offset`, after a pause of `pause_before`.
struct planned_write {
    std::size_t offset = 0;
    std::size_t size = 0;
    milliseconds pause_before{0};
};

/// What the client does with a request, its options read once: the writes (cut short by
/// abortAfterRequestBytes/abortAfterBodyBytes, split by bytesPerWrite and spaced by
/// writeDelayMs), then either a close without reading, or reading the response (response_reader
/// says how far) with a close at abortAfterMs, counted from the last write.
struct client_plan {
    std::vector<planned_write> writes; // in order; none when nothing is written
    bool close_after_writing = false;  // abortAfterRequestBytes/BodyBytes: close, read nothing
    std::optional<milliseconds> abort_after; // abortAfterMs: close this long after the last write
};

/// The plan of `r` (its bytes and options).
client_plan plan_of(raw_request const& r);

/// The client's reading of one response under its read limits (abortAfterResponseBytes,
/// abortAfterResponseBodyBytes): how much it reads next, and whether it stopped short.
///
/// With a body limit the head is read byte by byte, so no body byte is read early. Bytes past
/// the end of the response are not taken: they belong to the next pipelined response.
class response_reader {
public:
    explicit response_reader(raw_request const& r);

    /// A reader of a whole response, without read limits.
    explicit response_reader(bool head_request)
        : parser_{head_request} {}

    /// The step has a read limit (otherwise the client reads the whole response).
    bool limited() const { return total_ || body_; }

    /// How many bytes the client reads next at most; 0 once the response is complete, is not
    /// HTTP, or the read limit cut it.
    std::size_t want() const;

    /// Takes bytes the client read (at most want()). @return how many belong to this response.
    std::size_t take(std::string_view bytes);

    /// The read limit was reached before the response was complete: the client closes (aborts).
    bool cut() const;

    /// Response bytes taken so far.
    std::size_t taken() const { return taken_; }

    response_parser& parser() { return parser_; }

    response_parser const& parser() const { return parser_; }

private:
    response_parser parser_;
    std::optional<std::size_t> total_; // abortAfterResponseBytes
    std::optional<std::size_t> body_;  // abortAfterResponseBodyBytes
    std::size_t taken_ = 0;            // response bytes taken
};

} // namespace lifecheck::client
