// Fuzzes the scenario loader: any bytes are either a scenario or a list of diagnostics.
//
// Models a user's scenario file, however broken: the loader must never crash, hang or throw,
// every rejection must carry at least one diagnostic naming a JSON path, and anything it
// accepts must survive the round trip through to_json (what `lifecheck record` writes back).
#include "harness/common/assert.hpp"
#include "harness/scenario/load.hpp"

#include <cstddef>
#include <cstdint>
#include <string>

extern "C" int LLVMFuzzerTestOneInput(std::uint8_t const* data, std::size_t size) {
    using namespace lifecheck;
    std::string const text{reinterpret_cast<char const*>(data), size};
    auto loaded = scenario::parse(text, "<fuzz>", "fuzz/input");
    if (!loaded.has_value()) {
        LIFECHECK_ASSERT(!loaded.error().empty(), "a rejection needs a diagnostic");
        for (auto const& d : loaded.error())
            LIFECHECK_ASSERT(!d.expected.empty(), "a diagnostic says what was expected");
        return 0;
    }
    std::string const again = scenario::to_json(loaded.value()).dump();
    auto reloaded = scenario::parse(again, "<fuzz>", "fuzz/input");
    LIFECHECK_ASSERT(reloaded.has_value(), "what the loader accepts, to_json writes loadable");
    LIFECHECK_ASSERT(scenario::to_json(reloaded.value()).dump() == again,
                     "to_json is stable across a round trip");
    return 0;
}
