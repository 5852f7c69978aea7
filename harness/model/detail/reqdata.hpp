// What a Fastify 5.12.8 callback reads off the request (scenario-format §1.13, v2.6), predicted
// from the step: request.query, request.params, request.headers, and JavaScript's `x++`.
// Written from fast-querystring, find-my-way and Node's IncomingMessage, apart from the
// reference server (style.md B.4).
#pragma once

#include "harness/model/detail/js.hpp"
#include "harness/model/detail/node.hpp"

#include <string>

namespace lifecheck::model::detail {

/// A request-line or header text as Node decodes it (latin1), in UTF-8.
std::string latin1_text(std::string const& raw);

/// request.query for a request target: `{}` without a query string.
json query_of_target(std::string const& target);

/// request.params of a find-my-way pattern matched by `path`.
json params_of(std::string const& pattern, std::string const& path);

/// request.headers of a request step as the harness writes it (host, x-lifecheck-req, the
/// step's headers, then its framing header), folded the way Node folds repeated headers.
json headers_of(request_input const& in);

/// A JSON value with its object keys in JavaScript's own-key order (integer keys first).
json js_object_order(json const& v);

/// The value of `x++` stored back: ToNumber(x) + 1.
js_value incremented_value(js_value const& v);

} // namespace lifecheck::model::detail
