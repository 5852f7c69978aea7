// The planted-fault switch of the engine fuzz targets (tests only).
#pragma once

#include "server_under_test/reference/engine/faults.hpp"

namespace lifecheck::fuzz {

/// Seeded engine faults planted for tests (engine/faults.hpp): the comma-separated names in
/// $LIFECHECK_FUZZ_FAULTS, none when unset. A name that is not a fault is a harness fault.
/// Campaigns never set it; the repro ctest does, to prove a planted bug is caught and replayed.
engine::fault_set planted_faults();

} // namespace lifecheck::fuzz
