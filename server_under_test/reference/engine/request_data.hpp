// Request data as Fastify 5 hands it to callbacks (scenario-format §1.13, v2.6): request.query
// (fast-querystring), request.params (find-my-way), request.headers (Node's IncomingMessage),
// request.body (the JSON and text parsers), and JavaScript's `x++` on a stored value.
#pragma once

#include "harness/scenario/scenario.hpp"
#include "server_under_test/reference/engine/values.hpp"

#include <string>
#include <string_view>

namespace lifecheck::engine {

/// The request target's query string as find-my-way cuts it: after the first '?' or '#' ("" if
/// none).
std::string_view query_string_of(std::string_view target);

/// Fastify's querystringParser: `{}` for "", else fast-querystring's parse (pairs split on '&',
/// '+' is a space, %XX decoded when the whole component decodes, repeated keys make arrays).
scenario::json query_object(std::string_view query);

/// find-my-way's params of `pattern` ("/items/:id", "/files/*") matched by `path` (no query).
scenario::json params_object(std::string const& pattern, std::string const& path);

/// Node's req.headers: lower-case names in arrival order; a repeated header is dropped (the
/// fields Node keeps once), joined with "; " (cookie), collected in an array (set-cookie) or
/// joined with ", " (the rest).
scenario::json headers_object(scenario::header_list const& headers);

/// A JSON value as the engine holds it: a string as a string, anything else as JSON.
value of_json(scenario::json v);

/// The body the content-type parser sets: JSON.parse of the bytes for application/json, the
/// text for text/plain (the caller has checked that it parses).
value parsed_body(std::string const& bytes, bool json);

/// `x++` of a stored value: Number(x) + 1 (undefined: NaN; null, false: 1; true: 2; a string
/// as JavaScript's StringToNumber reads it).
value incremented(value const& v);

} // namespace lifecheck::engine
