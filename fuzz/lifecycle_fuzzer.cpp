// Fuzzes the reference engine with whole scenarios: bytes → app + steps → engine, checked by the
// model.
//
// Models a user who writes any fastify-dialect app (hooks in every phase, nested and
// non-encapsulated plugins, error and not-found handlers, every payload kind, delays) and a
// client that sends one to three requests, aborting some of them. fuzz/decode.cpp turns the
// bytes into a scenario through the real loader; it runs in-process on the virtual clock
// (harness/property/in_process.hpp) and must agree with the model (harness/model) and keep the
// invariants I1–I6. Scenarios the model calls racy are skipped: the decoder keeps timing gaps
// wide, so few are. A disagreement aborts with "lifecheck-fuzz: SUT FAULT", what real Fastify
// does with the same scenario (fastify_replay.hpp: a finding about Fastify, the reference or the
// checker) and the scenario as JSON; a scenario the loader rejects is "lifecheck-fuzz: HARNESS
// FAULT" (the decoder is wrong).
#include "fuzz/decode.hpp"
#include "fuzz/fastify_replay.hpp"
#include "fuzz/planted_faults.hpp"
#include "fuzz/report.hpp"
#include "harness/property/in_process.hpp"
#include "harness/scenario/load.hpp"

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(std::uint8_t const* data, std::size_t size) {
    using namespace lifecheck;
    auto const sc = fuzz::decode_lifecycle(data, size);
    if (!sc.has_value()) {
        std::string problems;
        for (auto const& d : sc.error())
            problems += describe(d) + "\n";
        fuzz::harness_fault("the decoded scenario was rejected by the loader",
                            problems + fuzz::decode_lifecycle_json(data, size).dump(2));
    }
    if (property::has_race(sc.value()))
        return 0;
    fuzz::lifecycle_fault fault;
    fault.engine = property::run_in_process(sc.value(), fuzz::planted_faults());
    fault.disagreements = property::disagreements_with_model(sc.value(), fault.engine);
    fault.invariants = property::check(sc.value(), fault.engine);
    if (!fault.disagreements.empty() || !fault.invariants.empty()) {
        std::string text;
        for (property::model_disagreement const& d : fault.disagreements)
            text += d.line + "\n";
        for (check::finding const& f : fault.invariants)
            text += check::describe(f) + "\n";
        // Whom the fault is about: real Fastify replays the scenario (fastify_replay.hpp).
        text += fuzz::on_fastify_lifecycle(sc.value(), fault);
        fuzz::sut_fault("the reference engine and the model disagree, or an invariant broke",
                        text + scenario::to_json(sc.value()).dump(2));
    }
    return 0;
}
