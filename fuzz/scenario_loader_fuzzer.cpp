// Fuzzes the scenario loader: any bytes are either a scenario or a list of diagnostics.
//
// Models a user's scenario file, however broken: the loader must never crash, hang or throw,
// every rejection must carry at least one diagnostic naming a JSON path, and anything it
// accepts must survive the round trip through to_json (what `lifecheck record` writes back).
// The code under test is lifecheck's own loader, so a fault report says that no Fastify replay
// applies: every fault here is a finding about lifecheck.
#include "fuzz/report.hpp"
#include "harness/scenario/load.hpp"

#include <cstddef>
#include <cstdint>
#include <string>

namespace {

[[noreturn]] void loader_fault(std::string const& what, std::string const& input) {
    lifecheck::fuzz::sut_fault(what,
                               "lifecheck-fuzz: real Fastify: not replayed: the code under test "
                               "is lifecheck's scenario loader, which Fastify has no part in: a "
                               "finding about lifecheck\ninput:\n" +
                                   input);
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(std::uint8_t const* data, std::size_t size) {
    using namespace lifecheck;
    std::string const text{reinterpret_cast<char const*>(data), size};
    auto loaded = scenario::parse(text, "<fuzz>", "fuzz/input");
    if (!loaded.has_value()) {
        if (loaded.error().empty())
            loader_fault("a rejection needs a diagnostic", text);
        for (auto const& d : loaded.error())
            if (d.expected.empty())
                loader_fault("a diagnostic says what was expected: " + describe(d), text);
        return 0;
    }
    std::string const again = scenario::to_json(loaded.value()).dump();
    auto reloaded = scenario::parse(again, "<fuzz>", "fuzz/input");
    if (!reloaded.has_value())
        loader_fault("what the loader accepts, to_json writes loadable: " +
                         describe(reloaded.error().front()),
                     text);
    if (scenario::to_json(reloaded.value()).dump() != again)
        loader_fault("to_json is stable across a round trip", text);
    return 0;
}
