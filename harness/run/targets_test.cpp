// Tests --target resolution: the reference binary, node adapters and shell command lines.
#include "harness/run/targets.hpp"

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>

namespace lifecheck::run {
namespace {

TEST(Targets, ReferenceFromEnvironment) {
    ::setenv("LIFECHECK_REFERENCE", "/opt/ref/lifecheck-reference", 1);
    auto const spec = resolve_target("reference", self_exe());
    ::unsetenv("LIFECHECK_REFERENCE");
    ASSERT_TRUE(spec.has_value());
    EXPECT_EQ(spec->text, "reference");
    EXPECT_EQ(spec->argv, (std::vector<std::string>{"/opt/ref/lifecheck-reference"}));
}

TEST(Targets, ReferenceNextToTheBinaryOrADiagnostic) {
    ::unsetenv("LIFECHECK_REFERENCE");
    auto const spec = resolve_target("reference", self_exe());
    std::filesystem::path const built = std::filesystem::path{LIFECHECK_BINARY_DIR} /
                                        "server_under_test" / "reference" / "lifecheck-reference";
    if (std::filesystem::exists(built)) {
        ASSERT_TRUE(spec.has_value());
        EXPECT_EQ(std::filesystem::path{spec->argv.at(0)}.filename(), "lifecheck-reference");
    } else {
        ASSERT_FALSE(spec.has_value());
        EXPECT_NE(spec.error().front().expected.find("lifecheck-reference"), std::string::npos);
    }
}

TEST(Targets, FastifyWithVersionRunsTheAdapter) {
    auto const adapter = std::filesystem::path{LIFECHECK_SOURCE_DIR} / "server_under_test" /
                         "fastify" / "adapter.mjs";
    auto const spec = resolve_target("fastify@5.12.8", self_exe());
    if (!std::filesystem::exists(adapter)) {
        ASSERT_FALSE(spec.has_value());
        return;
    }
    ASSERT_TRUE(spec.has_value());
    EXPECT_EQ(spec->argv,
              (std::vector<std::string>{"node", adapter.string(), "--fastify", "5.12.8"}));
    auto const plain = resolve_target("fastify", self_exe());
    ASSERT_TRUE(plain.has_value());
    EXPECT_EQ(plain->argv.size(), 2u);
    EXPECT_FALSE(resolve_target("fastify@", self_exe()).has_value());
}

TEST(Targets, AnythingElseIsAShellCommand) {
    auto const spec = resolve_target("node my-adapter.mjs --x", self_exe());
    ASSERT_TRUE(spec.has_value());
    EXPECT_EQ(spec->argv, (std::vector<std::string>{"/bin/sh", "-c", "node my-adapter.mjs --x"}));
    EXPECT_FALSE(resolve_target("", self_exe()).has_value());
}

TEST(Targets, ShellQuoteOnlyWhenNeeded) {
    EXPECT_EQ(shell_quote("fastify@5.12.8"), "fastify@5.12.8");
    EXPECT_EQ(shell_quote("scenarios/a/b-c.json"), "scenarios/a/b-c.json");
    EXPECT_EQ(shell_quote("node x.mjs"), "'node x.mjs'");
    EXPECT_EQ(shell_quote("it's"), "'it'\\''s'");
    EXPECT_EQ(shell_quote(""), "''");
}

} // namespace
} // namespace lifecheck::run
