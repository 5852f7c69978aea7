// An incremental HTTP/1.1 response parser that tolerates truncation; no sockets (fed bytes).
#pragma once

#include "harness/scenario/scenario.hpp"

#include <cstddef>
#include <string>
#include <string_view>

namespace lifecheck::client {

/// Parses one HTTP/1.x response from bytes fed in any split.
///
/// Framing follows RFC 9112 §6.3: no body for HEAD, 1xx, 204 and 304; Transfer-Encoding
/// chunked overrides Content-Length; otherwise Content-Length; otherwise the body runs until
/// the peer closes. Interim 1xx responses (100 Continue) are skipped. A response cut short
/// (a chunked body without its 0-chunk, fewer bytes than Content-Length) simply never becomes
/// `done()`; what arrived stays readable.
class response_parser {
public:
    /// @param head_request the request was HEAD: the response has no body whatever it says.
    explicit response_parser(bool head_request = false);

    /// Feeds bytes; returns how many were used. Bytes after the end of this response (the
    /// next pipelined response) are not used and must be fed to the next parser.
    std::size_t feed(std::string_view bytes);

    /// The peer closed its side cleanly: a body delimited by the close is complete now.
    void finish_eof();

    /// The status line and headers have been read (not counting interim 1xx responses).
    bool head_done() const { return state_ > state::head; }

    /// The whole message has been read: its framing finished.
    bool done() const { return state_ == state::done; }

    /// The bytes are not HTTP; `error()` says why. Nothing more is parsed.
    bool broken() const { return state_ == state::broken; }

    std::string const& error() const { return error_; }

    int status() const { return status_; }

    /// Headers as received, in order (names as written).
    scenario::header_list const& headers() const { return headers_; }

    /// The body bytes, de-chunked.
    std::string const& body() const { return body_; }

    /// Bytes used so far, heads included.
    std::size_t consumed() const { return consumed_; }

    /// Bytes used after the final head (the body as it came on the wire, chunk framing included).
    std::size_t body_wire_bytes() const { return body_wire_; }

    /// The connection may carry another response after this one (HTTP/1.1 without
    /// `connection: close`, or HTTP/1.0 with `keep-alive`, and not a body delimited by close).
    bool keep_alive() const;

    /// The body ends when the peer closes.
    bool until_close() const { return mode_ == body_mode::until_close; }

private:
    enum class state { head, body, done, broken };
    enum class body_mode { none, length, chunked, until_close };
    enum class chunk_state { size_line, data, data_end, trailers };

    std::size_t feed_head(std::string_view bytes);
    std::size_t feed_body(std::string_view bytes);
    std::size_t feed_chunked(std::string_view bytes);
    bool parse_head(std::string const& head);
    void fail(std::string why);

    bool head_request_ = false;
    state state_ = state::head;
    body_mode mode_ = body_mode::none;
    chunk_state chunk_ = chunk_state::size_line;
    std::string head_buf_;      // bytes of the head read so far
    std::string line_buf_;      // chunked: the size line or trailer line read so far
    std::size_t remaining_ = 0; // length: body bytes still due; chunked: of this chunk
    int status_ = 0;
    int minor_version_ = 1; // HTTP/1.x
    scenario::header_list headers_;
    std::string body_;
    std::size_t consumed_ = 0;
    std::size_t body_wire_ = 0;
    std::string error_;
};

} // namespace lifecheck::client
