// Small text helpers every harness module uses (the engine and the model keep their own).
#pragma once

#include <string>
#include <string_view>

namespace lifecheck {

/// `s` with ASCII letters in lower case (HTTP header names, methods, media types); other bytes
/// are left as they are, whatever the locale.
std::string lower(std::string_view s);

} // namespace lifecheck
