// Fuzzes the reference server's transport and engine in-process with arbitrary request bytes.
//
// Models one client connection: the input is cut into writes at fuzzer-chosen offsets with
// fuzzer-chosen pauses of virtual time between them (a slow or pipelining client), and the
// client may close early. Whatever arrives, the process must survive, every request that
// reached the engine must get exactly one `end`, and the request-side phases must stay in
// order (spec §4 I1, I2). No sockets: the engine runs on its virtual clock.
#include "fuzz/fixed_app.hpp"
#include "harness/common/assert.hpp"
#include "server_under_test/reference/net/in_memory.hpp"

#include <fuzzer/FuzzedDataProvider.h>

#include <cstddef>
#include <cstdint>
#include <map>
#include <string>

namespace {

int phase_rank(std::string const& phase) {
    static std::map<std::string, int> const rank = {{"onRequest", 0},     {"preParsing", 1},
                                                    {"preValidation", 2}, {"preHandler", 3},
                                                    {"handler", 4},       {"notFound", 4}};
    auto it = rank.find(phase);
    return it == rank.end() ? -1 : it->second;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(std::uint8_t const* data, std::size_t size) {
    using namespace lifecheck;
    FuzzedDataProvider in{data, size};
    int const writes = in.ConsumeIntegralInRange<int>(1, 8);
    bool const close_early = in.ConsumeBool();
    net::in_memory_server srv{fuzz::fixed_app()};
    auto const c = srv.connect();
    for (int i = 0; i < writes && in.remaining_bytes() > 0; ++i) {
        auto const len = in.ConsumeIntegralInRange<std::size_t>(0, 512);
        auto const pause = in.ConsumeIntegralInRange<int>(0, 300);
        std::string const bytes = in.ConsumeBytesAsString(len);
        srv.feed(c, bytes);
        srv.advance(pause);
    }
    srv.feed(c, in.ConsumeRemainingBytesAsString());
    if (close_early)
        srv.client_close(c);
    srv.settle(10'000);
    if (!close_early)
        srv.client_close(c);
    srv.settle(10'000);

    // I1 and I2 over the events, per request id.
    std::map<std::string, int> ends;
    std::map<std::string, int> last_rank;
    std::map<std::string, std::map<std::string, int>> seen;
    for (auto const& e : srv.events()) {
        if (e.what == engine::event::kind::end) {
            ++ends[e.req];
            continue;
        }
        ends.emplace(e.req, 0);
        int const r = phase_rank(e.phase);
        if (r < 0)
            continue;
        LIFECHECK_ASSERT(r >= last_rank[e.req], "I2: request-side phases out of order");
        last_rank[e.req] = r;
        LIFECHECK_ASSERT(++seen[e.req][e.label] == 1, "I2: a request-side callback ran twice");
    }
    for (auto const& [req, n] : ends)
        LIFECHECK_ASSERT(n == 1, "I1: a request that reached the engine needs exactly one end");
    return 0;
}
