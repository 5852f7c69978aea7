// Tests for the progress line: its text, its width limit, and that it stays off when disabled.
#include "harness/cli/progress.hpp"

#include <gtest/gtest.h>

#include <string>

namespace lifecheck::cli {
namespace {

TEST(ProgressLine, CountsByClassCurrentScenarioAndElapsed) {
    progress_line p{false, 5, false};
    EXPECT_EQ(p.text(200).rfind("[0/5] 0 pass, 0 fail \xC2\xB7 ", 0), 0u) << p.text(200);
    p.started("reference", "fastify/hooks/a");
    p.finished(check::verdict::pass);
    p.finished(check::verdict::crash);
    p.started("reference", "fastify/hooks/c");
    std::string const t = p.text(200);
    EXPECT_EQ(t.rfind("[2/5] 1 pass, 0 fail, 1 crash \xC2\xB7 ", 0), 0u) << t;
    EXPECT_NE(t.find(" s \xC2\xB7 reference fastify/hooks/c"), std::string::npos) << t;
}

TEST(ProgressLine, NeverWiderThanTheTerminal) {
    progress_line p{false, 1, false};
    p.started("reference", std::string(300, 'x'));
    EXPECT_EQ(p.text(40).size(), 40u + 2) << "40 columns; the two middle dots are 2 bytes each";
    std::string const t = p.text(40);
    EXPECT_EQ(t.find('\r'), std::string::npos);
}

TEST(ProgressLine, AroundRunsThePrinterWhenDisabled) {
    progress_line p{false, 1, false};
    int calls = 0;
    p.around([&] { ++calls; });
    p.stop();
    p.stop(); // idempotent
    EXPECT_EQ(calls, 1);
}

} // namespace
} // namespace lifecheck::cli
