// Fault reports of the fuzz targets: SUT FAULT vs HARNESS FAULT.
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

} // namespace lifecheck::fuzz
