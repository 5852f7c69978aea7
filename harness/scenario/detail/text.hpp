// Byte helpers shared by the loader and the writer: base64 and UTF-8 validity.
#pragma once

#include <optional>
#include <string>

namespace lifecheck::scenario::detail {

/// Standard base64 (RFC 4648 §4) with `=` padding.
std::string base64_encode(std::string const& bytes);

/// Decodes standard base64; padding is required when the length is not a multiple of 4.
/// Nothing for any other character, a bad length or non-zero trailing bits.
std::optional<std::string> base64_decode(std::string const& text);

/// True when `bytes` is well-formed UTF-8 (what a JSON string can hold).
bool is_utf8(std::string const& bytes);

/// `text` cut to at most `max` bytes at a UTF-8 character boundary, with "..." when cut.
std::string shorten(std::string const& text, std::size_t max);

} // namespace lifecheck::scenario::detail
