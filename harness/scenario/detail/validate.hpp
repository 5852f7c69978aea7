// Reads a parsed scenario document into the structs, collecting every problem (scenario-format.md
// v2.2, strict).
#pragma once

#include "harness/common/diagnostic.hpp"
#include "harness/scenario/scenario.hpp"

#include <cstddef>
#include <string>

namespace lifecheck::scenario::detail {

/// Deepest JSON nesting the loader accepts (keeps copies and dumps of payload values shallow).
constexpr std::size_t max_json_depth = 128;

/// Deepest plugin nesting the loader accepts.
constexpr int max_plugin_depth = 64;

/// Reads `doc` as a scenario. Every problem is appended to `problems` (none are thrown); the
/// returned scenario is only meaningful when none were added. Labels are not assigned here.
scenario read_scenario(json const& doc, std::string const& file, diagnostics& problems);

/// The same for a document built by parse(): a route may be packed (packed_route), and each route
/// is freed once read, so a file with many routes is never held whole as both JSON and structs
/// (issue 19: 400,000 routes).
scenario read_scenario(json&& doc, std::string const& file, diagnostics& problems);

/// A route as parse() keeps it until it is read: its JSON object as MessagePack in a binary value
/// (which JSON text cannot hold, so it cannot be mistaken for a file's value); about a fifth of the
/// memory of the object. Key order, numbers and strings come back exactly.
inline json packed_route(json const& route) {
    return json::binary(json::to_msgpack(route));
}

/// Records every label of an `expect.trace` that no callback of the labelled app is traced with
/// (decisions.md D34): request and raw steps name request callbacks, a close step application
/// hooks. Each diagnostic suggests the nearest label of the app.
void check_trace_labels(scenario const& s, std::string const& file, diagnostics& problems);

/// "$.a.b" for identifier-like keys, `$.a["content-type"]` for the others.
std::string member_path(std::string const& base, std::string const& key);

/// A JSON value as shown in a diagnostic's `got`: dumped on one line, at most ~60 characters.
std::string shown(json const& v);

/// How deep `v` nests (a scalar is 0, `[]` is 1), computed without recursion.
std::size_t depth_of(json const& v);

} // namespace lifecheck::scenario::detail
