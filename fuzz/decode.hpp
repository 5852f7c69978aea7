// How fuzz inputs become requests and scenarios: one decoder shared by the fuzzers and `lifecheck
// repro`.
//
// Every fuzz target reads its bytes through this file, and `lifecheck repro` decodes a crash
// artifact with the same functions, so a crash found by libFuzzer and the scenario written for
// it always describe the same input. The encoders are the inverse (for seed corpora generated
// from scenarios/): decode(encode(x)) gives back x, or the nearest thing the decoder can express.
#pragma once

#include "harness/common/result.hpp"
#include "harness/scenario/scenario.hpp"

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace lifecheck::fuzz {

/// The fuzz targets, by the name their files and CMake targets carry (docs/decisions.md D17).
enum class target_kind { http_bytes, lifecycle, scenario_loader };

/// "http_bytes", "lifecycle", "scenario_loader".
char const* to_string(target_kind k);

/// Parses a target name; also accepts the names fuzz_http, fuzz_lifecycle, fuzz_scenario.
std::optional<target_kind> parse_target(std::string const& name);

//----------------------------------------------------------------------------------------------
// http_bytes: one client connection writing arbitrary bytes.

/// One write of the client, then a pause of virtual time.
struct http_write {
    std::string bytes;
    int pause_ms = 0;
};

/// What the http_bytes fuzzer sends on its one connection.
struct http_input {
    std::vector<http_write> writes;
    bool close_early = false; // the client closes right after its last write (before the answer)

    /// Every byte written, in order.
    std::string all_bytes() const;
};

/// Decodes fuzz bytes: the last bytes choose the number of writes, their lengths, the pauses and
/// whether the client closes early; the first bytes are the data. `x-lifecheck-req` header names
/// are renamed `x-lifecheck-rex` so every request gets a target-made id (two requests with one
/// id would look like one request to the checker).
http_input decode_http(std::uint8_t const* data, std::size_t size);

/// Bytes that decode_http turns back into `bytes` as a single write (no pause, no early close).
std::string encode_http(std::string_view bytes);

/// The fixed app the http_bytes fuzzer serves, as scenario JSON text (a whole scenario file
/// with one `sleepMs` step); fixed_app() in fixed_app.hpp is this, loaded.
char const* fixed_app_scenario_text();

/// An http_bytes input as a scenario to replay over sockets (`lifecheck repro`, and the fault
/// report's replay on real Fastify): the fixed app and every byte as one raw step, which closes
/// after its bytes when the client closed early; `notes` says what a raw step cannot keep.
struct http_scenario {
    scenario::json doc;
    std::vector<std::string> notes; // pauses between writes dropped; non-UTF-8 bytes became '?'
};

http_scenario http_scenario_of(http_input const& in);

//----------------------------------------------------------------------------------------------
// lifecycle: structure-aware app + steps.

/// Decodes fuzz bytes into a fastify-dialect scenario document (app + request steps, client
/// aborts included), built only from values the loader accepts. Every byte is a choice among a
/// few options, read from the end of the input (FuzzedDataProvider); missing bytes choose the
/// first option, so any input decodes.
scenario::json decode_lifecycle_json(std::uint8_t const* data, std::size_t size);

/// decode_lifecycle_json loaded by the real loader (id `fuzz/lifecycle`). A rejection is a
/// fault of the decoder (a harness fault), never of the server under test.
result<scenario::scenario> decode_lifecycle(std::uint8_t const* data, std::size_t size);

/// Bytes that decode to the nearest scenario the decoder can express for `sc` (fastify
/// dialect): its first hooks per phase, handlers, plugins, routes and request steps.
std::string encode_lifecycle(scenario::scenario const& sc);

} // namespace lifecheck::fuzz
