// Fastify 5's rule for the paths a prefix, a route and a not-found handler are registered under
// (the harness side: loader, checker and model; the reference engine has its own, engine/app.cpp).
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace lifecheck::scenario {

/// The prefix of a plugin registered with `prefix` on an instance whose prefix is `outer`:
/// exactly one '/' between the two (Fastify 5.12.8 lib/plugin-override.js buildRoutePrefix).
/// An empty `prefix` leaves `outer` as it is.
std::string join_prefix(std::string_view outer, std::string_view prefix);

/// The full paths Fastify's router holds for a route `url` declared with `method` on an instance
/// whose (joined) prefix is `prefix` (Fastify 5.12.8 lib/route.js route(), with the default
/// options `prefixTrailingSlash: 'both'`, `ignoreTrailingSlash: false`):
/// - `url` "/" under a non-empty prefix, method not HEAD: the bare prefix and prefix + "/"
///   (`/v1` → "/v1", "/v1/"; `/v1/` → "/v1/", "/v1//");
/// - `url` starting with '/' under a prefix ending in '/': the '/' is not doubled
///   (`/v1/` + "/x" → "/v1/x");
/// - otherwise prefix + url.
std::vector<std::string>
route_paths(std::string_view prefix, std::string_view url, std::string_view method);

/// The full paths of the HEAD route Fastify adds beside a GET route `url` (exposeHeadRoutes):
/// lib/route.js registers it with each piece the GET route appended to the prefix, as a HEAD
/// route, so `/v1/` + "/" gives "/v1/" only (the GET's "/v1//" has no HEAD twin).
std::vector<std::string> head_route_paths(std::string_view prefix, std::string_view url);

/// The prefix a not-found handler set on an instance with (joined) prefix `prefix` is filed
/// under: "/" for none (Fastify 5.12.8 lib/four-oh-four.js `this[kRoutePrefix] || '/'`); a
/// handler filed under "/" replaces the root's.
std::string not_found_prefix(std::string_view prefix);

/// True when a request for `path` (query stripped) reaches the not-found handler filed under
/// `prefix` (a not_found_prefix()): lib/four-oh-four.js registers `prefix + '/*'` (`prefix + '*'`
/// when it ends in '/') and `prefix` itself, so "/v1" takes "/v1" and "/v1/…" and "/v1/" takes
/// "/v1/…" but not "/v1". The longest matching prefix wins.
bool not_found_matches(std::string_view prefix, std::string_view path);

} // namespace lifecheck::scenario
