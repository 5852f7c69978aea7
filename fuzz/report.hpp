// How a fuzz target reports what it found: a fault of the server under test or of the harness.
#pragma once

#include <string>

namespace lifecheck::fuzz {

/// The server under test broke a check: prints "lifecheck-fuzz: SUT FAULT: WHAT", the detail
/// (findings, the decoded scenario) and aborts, so libFuzzer saves the input as a crash.
[[noreturn]] void sut_fault(std::string const& what, std::string const& detail);

/// The fuzz driver itself misused an API (e.g. decoded a scenario the loader rejects): prints
/// "lifecheck-fuzz: HARNESS FAULT: WHAT" and the detail, then aborts. Never the server's fault.
[[noreturn]] void harness_fault(std::string const& what, std::string const& detail);

} // namespace lifecheck::fuzz
