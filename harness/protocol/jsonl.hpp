// Splits a byte stream (a target's stdout) into JSON lines, tolerating CRLF and partial reads.
#pragma once

#include <cstddef>
#include <deque>
#include <optional>
#include <string>
#include <string_view>

namespace lifecheck::protocol {

/// Longest line kept whole; a longer one is cut here and reported as a bad line.
constexpr std::size_t max_line_bytes = 16 * 1024 * 1024;

/// Accumulates bytes and hands out complete lines (without the `\n`, a trailing `\r` removed).
///
/// Bytes after the last newline stay pending until more arrive or `finish()` flushes them.
class line_splitter {
public:
    /// Appends bytes read from the stream.
    void feed(std::string_view bytes);

    /// The stream ended: a pending partial line becomes the last line.
    void finish();

    /// The next complete line, or nothing when none is ready.
    std::optional<std::string> next();

    /// Bytes received after the last newline.
    std::string const& pending() const { return partial_; }

private:
    void push(std::string line);

    std::string partial_;           // bytes after the last newline
    std::deque<std::string> lines_; // complete lines not yet taken
};

} // namespace lifecheck::protocol
