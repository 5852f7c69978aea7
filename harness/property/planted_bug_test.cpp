// The property is not vacuous: with a planted ordering bug in the engine (a test-only seeded
// fault) it fails, and RapidCheck shrinks the failure to at most 2 scopes and 3 callbacks.
#include "harness/property/campaign.hpp"
#include "harness/property/in_process.hpp"

#include <gtest/gtest.h>

#include <string>

namespace {

using namespace lifecheck;

std::string join(std::vector<std::string> const& lines) {
    std::string out;
    for (auto const& l : lines)
        out += l + "\n";
    return out;
}

property::campaign_result hunt(engine::fault f, int cases, std::uint64_t seed) {
    property::campaign_options o;
    o.cases = cases;
    o.seed = seed;
    o.faults = static_cast<engine::fault_set>(f);
    o.write_counterexample = false;
    return property::run_campaign(o);
}

void expect_small_counterexample(engine::fault f) {
#ifndef LIFECHECK_FAULTS
    GTEST_SKIP() << "built without LIFECHECK_FAULTS";
#endif
    auto const r = hunt(f, 2000, 7);
    ASSERT_TRUE(r.error.empty()) << r.error;
    ASSERT_FALSE(r.passed) << "the property did not find the planted bug in " << r.cases
                           << " cases";
    ASSERT_TRUE(r.counterexample.has_value());
    scenario::scenario const& ce = *r.counterexample;
    std::string const shown = property::to_text(ce) + join(r.failure);
    EXPECT_LE(property::count_scopes(ce.application.root), 2) << shown;
    EXPECT_LE(property::count_callbacks(ce.application.root), 3) << shown;
    // the shrunk case fails because of the fault, not because of anything else
    EXPECT_FALSE(property::compare_with_model(
                     ce, property::run_in_process(ce, static_cast<engine::fault_set>(f)))
                     .empty())
        << shown;
    EXPECT_TRUE(property::compare_with_model(ce, property::run_in_process(ce)).empty()) << shown;
}

TEST(PlantedBug, ChildHooksBeforeParentIsFoundAndShrunk) {
    expect_small_counterexample(engine::fault::child_hooks_before_parent);
}

TEST(PlantedBug, LateHooksInTreeOrderIsFoundAndShrunk) {
    expect_small_counterexample(engine::fault::late_hooks_in_tree_order);
}

} // namespace
