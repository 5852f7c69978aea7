// The fixed app the HTTP-bytes fuzzer serves: hooks in every phase, error handlers, streams, a 404.
#pragma once

#include "harness/scenario/scenario.hpp"

namespace lifecheck::fuzz {

/// A scenario app with a hook in every request phase, nested scopes with their own error
/// handlers, routes for every payload kind and a delayed handler, so arbitrary request bytes
/// reach every path of the engine.
scenario::app const& fixed_app();

} // namespace lifecheck::fuzz
