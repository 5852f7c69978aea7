// Small text helpers every harness module uses (the engine and the model keep their own): lower,
// utf8_prefix.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace lifecheck {

/// `s` with ASCII letters in lower case (HTTP header names, methods, media types); other bytes
/// are left as they are, whatever the locale.
std::string lower(std::string_view s);

/// The edits (insert, delete, substitute a byte, swap two neighbours) that turn `a` into `b`,
/// ignoring ASCII case (optimal string alignment distance).
std::size_t edit_distance(std::string_view a, std::string_view b);

/// The name of `names` that `got` most likely misspells, for a "did you mean" hint: the nearest
/// by edit_distance (the first listed on a tie) when it is at most max(1, size of `got` / 3)
/// edits away; nothing when no name is that near or `got` is one of them.
std::optional<std::string> closest(std::string_view got, std::vector<std::string> const& names);

/// `s` cut to at most `limit` bytes without splitting a UTF-8 sequence.
std::string_view utf8_prefix(std::string_view s, std::size_t limit);

} // namespace lifecheck
