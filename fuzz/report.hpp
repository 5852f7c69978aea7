// How a fuzz target reports what it found: a fault of the server under test or of the harness.
#pragma once

#include "server_under_test/reference/engine/faults.hpp"

#include <string>

namespace lifecheck::fuzz {

/// The server under test broke a check: prints "lifecheck-fuzz: SUT FAULT: WHAT", the detail
/// (findings, the decoded scenario) and aborts, so libFuzzer saves the input as a crash.
[[noreturn]] void sut_fault(std::string const& what, std::string const& detail);

/// The fuzz driver itself misused an API (e.g. decoded a scenario the loader rejects): prints
/// "lifecheck-fuzz: HARNESS FAULT: WHAT" and the detail, then aborts. Never the server's fault.
[[noreturn]] void harness_fault(std::string const& what, std::string const& detail);

/// Seeded engine faults planted for tests (engine/faults.hpp): the comma-separated names in
/// $LIFECHECK_FUZZ_FAULTS, none when unset. A name that is not a fault is a harness fault.
/// Campaigns never set it; the repro ctest does, to prove a planted bug is caught and replayed.
engine::fault_set planted_faults();

} // namespace lifecheck::fuzz
