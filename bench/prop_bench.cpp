// Prints how many generated property cases per second lifecheck runs, in-process (the engine on
// a virtual clock) and over sockets (the reference server through the runner).
#include "harness/property/campaign.hpp"

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>

namespace {

void measure(char const* what, std::string const& target, int cases) {
    lifecheck::property::campaign_options o;
    o.target = target;
    o.cases = cases;
    o.seed = 2;
    o.write_counterexample = false;
    o.shrink = false;
    auto const t0 = std::chrono::steady_clock::now();
    auto const r = lifecheck::property::run_campaign(o);
    double const s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    int const generated = r.cases + r.discarded;
    std::printf("%-12s %6d generated cases (%d judged, %d discarded) in %7.2f s: %8.1f cases/s%s\n",
                what,
                generated,
                r.cases,
                r.discarded,
                s,
                s > 0 ? generated / s : 0.0,
                r.passed ? "" : "  (stopped at a counterexample)");
    if (!r.error.empty())
        std::printf("             %s\n", r.error.c_str());
}

} // namespace

int main(int argc, char** argv) {
    int const in_process = argc > 1 ? std::atoi(argv[1]) : 2000;
    int const sockets = argc > 2 ? std::atoi(argv[2]) : 50;
    measure("in-process", lifecheck::property::in_process_target, in_process);
    measure("sockets", "reference", sockets);
    return 0;
}
