// Koa's onion model (dialect koa, scenario-format §1.5): middleware down, next(), middleware up,
// app errors.
#pragma once

#include "server_under_test/reference/engine/lifecycle.hpp"

#include <memory>
#include <optional>
#include <string>

namespace lifecheck::engine {

/// A Koa 2 app built from `app.koa` (koa-compose semantics), on the same transport seam.
/// Returns null when the app uses something Koa 2 cannot express (see koa_unsupported).
std::unique_ptr<app_server> make_koa_server(scenario::app const& a, loop& l, event_sink sink);

/// Why a koa app cannot be built (a `webStream` or `response` PAYLOAD: Koa 2 would serialize it
/// as the JSON "{}"), or nothing when it can. Same rule as server_under_test/koa/adapter.mjs.
std::optional<std::string> koa_unsupported(scenario::app const& a);

/// The status text Koa 2 uses (the `statuses` 1.5.0 table), or nothing for a code it does not
/// know — Koa then answers an error with 500.
std::optional<std::string> koa_status_text(int status);

} // namespace lifecheck::engine
