// Fault reports of the fuzz targets: SUT FAULT vs HARNESS FAULT, and the planted-fault switch.
#include "fuzz/report.hpp"

#include <cstdio>
#include <cstdlib>

namespace lifecheck::fuzz {
namespace {

[[noreturn]] void report(char const* who, std::string const& what, std::string const& detail) {
    std::fprintf(stderr, "lifecheck-fuzz: %s: %s\n%s\n", who, what.c_str(), detail.c_str());
    std::fflush(stderr);
    std::abort();
}

} // namespace

void sut_fault(std::string const& what, std::string const& detail) {
    report("SUT FAULT", what, detail);
}

void harness_fault(std::string const& what, std::string const& detail) {
    report("HARNESS FAULT", what, detail);
}

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
