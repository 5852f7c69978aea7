// Small text helpers every harness module uses (the engine and the model keep their own): lower,
// utf8_prefix.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace lifecheck {

/// `s` with ASCII letters in lower case (HTTP header names, methods, media types); other bytes
/// are left as they are, whatever the locale.
std::string lower(std::string_view s);

/// `s` cut to at most `limit` bytes without splitting a UTF-8 sequence.
std::string_view utf8_prefix(std::string_view s, std::size_t limit);

} // namespace lifecheck
