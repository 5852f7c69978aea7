// The planted-fault switch of the fuzz targets: $LIFECHECK_FUZZ_FAULTS (tests only).
#include "fuzz/planted_faults.hpp"

#include "fuzz/report.hpp"

#include <cstdlib>

namespace lifecheck::fuzz {

engine::fault_set planted_faults() {
    static engine::fault_set const planted = [] {
        char const* names = std::getenv("LIFECHECK_FUZZ_FAULTS");
        if (!names || !*names)
            return engine::fault_set{0};
        auto const set = engine::parse_faults(names);
        if (!set)
            harness_fault("LIFECHECK_FUZZ_FAULTS names an unknown fault", names);
        return *set;
    }();
    return planted;
}

} // namespace lifecheck::fuzz
