// Tests release specs (versions, prefixes, ^, ~, latest, ranges), semver ordering, the table's
// version choice and bisect's search on fake result functions; the cache without a network.
#include "harness/run/releases.hpp"

#include "harness/run/targets.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <fstream>

namespace lifecheck::run::releases {
namespace {

namespace fs = std::filesystem;

// A slice of fastify's published list, as `npm view fastify versions` has it (not sorted).
std::vector<std::string> const published_list{
    "4.0.0",  "4.0.1",  "4.26.2",        "4.29.1",        "5.0.0-alpha.2", "5.0.0-alpha.4",
    "5.0.0",  "5.2.0",  "5.2.1",         "5.2.2",         "5.9.0",         "5.10.0",
    "5.11.0", "5.11.3", "5.12.0",        "5.12.8",        "6.0.0-alpha.0", "6.0.0-alpha.4",
    "4.29.0", "5.1.0",  "5.0.0-aplha.1", "6.0.0-alpha.10"};

std::vector<std::string> pick(std::string const& text, std::string const& latest = "") {
    auto const s = parse_spec(text);
    EXPECT_TRUE(s.has_value()) << text;
    return s ? select(s.value(), published_list, latest) : std::vector<std::string>{};
}

TEST(Releases, VersionsParseAndRejectTheRest) {
    auto const v = parse_version("6.0.0-alpha.1+build.5");
    ASSERT_TRUE(v.has_value());
    EXPECT_EQ(v->major, 6);
    EXPECT_EQ(v->pre, "alpha.1");
    for (char const* bad : {"5", "5.2", "5.2.x", "05.1.0", "5.1.0-", "a.b.c", "5.1.0.1", ""})
        EXPECT_FALSE(parse_version(bad).has_value()) << bad;
}

TEST(Releases, SemverOrderingNumericAndPrerelease) {
    auto const order = sorted({"5.10.0",
                               "5.9.0",
                               "5.2.1",
                               "6.0.0-alpha.10",
                               "6.0.0-alpha.2",
                               "6.0.0",
                               "6.0.0-beta",
                               "6.0.0-alpha",
                               "5.10.0",
                               "junk"});
    EXPECT_EQ(order,
              (std::vector<std::string>{"5.2.1",
                                        "5.9.0",
                                        "5.10.0",
                                        "6.0.0-alpha",
                                        "6.0.0-alpha.2",
                                        "6.0.0-alpha.10",
                                        "6.0.0-beta",
                                        "6.0.0"}));
    EXPECT_EQ(compare(*parse_version("1.0.0+a"), *parse_version("1.0.0+b")), 0);
}

TEST(Releases, ExactPrefixCaretTildeLatest) {
    EXPECT_EQ(pick("4.26.2"), (std::vector<std::string>{"4.26.2"}));
    EXPECT_EQ(pick("4").back(), "4.29.1");
    EXPECT_EQ(pick("5.2"), (std::vector<std::string>{"5.2.0", "5.2.1", "5.2.2"}));
    EXPECT_EQ(pick("5.1"), (std::vector<std::string>{"5.1.0"})); // not 5.10.0 or 5.11.x
    EXPECT_EQ(pick("^5.2").front(), "5.2.0");
    EXPECT_EQ(pick("^5.2").back(), "5.12.8"); // prereleases of 6 stay out
    EXPECT_EQ(pick("~5.11.0"), (std::vector<std::string>{"5.11.0", "5.11.3"}));
    EXPECT_EQ(pick("latest"), (std::vector<std::string>{"5.12.8"}));
    EXPECT_EQ(pick("latest", "5.11.3"), (std::vector<std::string>{"5.11.3"}));
    EXPECT_EQ(pick("6").size(), 0u); // only prereleases: not asked for
    EXPECT_EQ(pick("6.0.0-alpha.4"), (std::vector<std::string>{"6.0.0-alpha.4"}));
    EXPECT_EQ(pick("^6.0.0-alpha.2"), // alpha.2 itself is not published
              (std::vector<std::string>{"6.0.0-alpha.4", "6.0.0-alpha.10"}));
}

TEST(Releases, RangesRunFromTheFirstMatchToTheLast) {
    EXPECT_EQ(pick("5.10.0..5.11.0"), (std::vector<std::string>{"5.10.0", "5.11.0"}));
    auto const five = pick("5..5");
    EXPECT_EQ(five.front(), "5.0.0");
    EXPECT_EQ(five.back(), "5.12.8");
    EXPECT_EQ(five.size(), 11u); // no 5.0.0 alphas, no 6 alphas
    EXPECT_EQ(pick("5.2..5.11").back(), "5.11.3");
    EXPECT_EQ(pick("4.29..latest").front(), "4.29.0");
    EXPECT_TRUE(pick("5.12.8..5.0.0").empty()); // reversed
    EXPECT_TRUE(pick("7..8").empty());
}

TEST(Releases, SpecsThatDoNotParse) {
    for (char const* bad :
         {"", "x", "5.", "^", "~x", "5..", "..5", "1..2..3", "file:", "5.2.x", ">=5"})
        EXPECT_FALSE(parse_spec(bad).has_value()) << bad;
    auto const f = parse_spec("file:../fastify");
    ASSERT_TRUE(f.has_value());
    EXPECT_EQ(f->k, spec::kind::file);
    EXPECT_EQ(f->path, "../fastify");
}

TEST(Releases, TableTakesEachMinorsNewestOrEveryRelease) {
    auto const all = pick("5..5");
    EXPECT_EQ(table_versions(all, false),
              (std::vector<std::string>{
                  "5.0.0", "5.1.0", "5.2.2", "5.9.0", "5.10.0", "5.11.3", "5.12.8"}));
    EXPECT_EQ(table_versions(all, true), all);
}

// A result function over n releases that changes class at `at` (and records what it ran).
struct fake {
    std::size_t at;
    std::vector<std::size_t> ran;

    std::string operator()(std::size_t i) {
        ran.push_back(i);
        return i < at ? "crash" : "pass";
    }
};

TEST(Releases, BisectFindsEveryBoundaryInLogarithmicRuns) {
    for (std::size_t n : {2u, 3u, 7u, 48u, 100u})
        for (std::size_t at = 1; at < n; ++at) {
            fake f{at, {}};
            std::optional<std::size_t> boundary;
            auto const runs = bisect(n, std::ref(f), boundary);
            ASSERT_TRUE(boundary.has_value()) << n << " " << at;
            EXPECT_EQ(*boundary, at);
            std::size_t log2 = 0;
            while ((std::size_t{1} << log2) < n)
                ++log2;
            EXPECT_LE(runs.size(), 2 + log2) << n << " " << at;
            EXPECT_EQ(runs.size(), f.ran.size());
            EXPECT_EQ(runs.front().index, 0u);
            EXPECT_EQ(runs[1].index, n - 1);
        }
}

TEST(Releases, BisectWithTheSameResultAtBothEndsHasNoBoundary) {
    fake f{1000, {}};
    std::optional<std::size_t> boundary = 3;
    auto const runs = bisect(48, std::ref(f), boundary);
    EXPECT_FALSE(boundary.has_value());
    EXPECT_EQ(runs.size(), 2u);
    EXPECT_TRUE(bisect(0, std::ref(f), boundary).empty());
    EXPECT_EQ(bisect(1, std::ref(f), boundary).size(), 1u);
    EXPECT_FALSE(boundary.has_value());
}

TEST(Releases, BisectKeepsTheFirstEndsClassAcrossThreeClasses) {
    // crash, then fail, then pass: the first change from crash is the boundary.
    auto three = [](std::size_t i) {
        return i < 5 ? "crash" : i < 9 ? "fail" : "pass";
    };
    std::optional<std::size_t> boundary;
    bisect(20, three, boundary);
    ASSERT_TRUE(boundary.has_value());
    EXPECT_EQ(*boundary, 5u);
}

// The cache and the offline rules, in a scratch cache: no network is asked.
class ReleaseCache : public ::testing::Test {
protected:
    fs::path dir =
        fs::temp_directory_path() / ("lifecheck-releases-test-" + std::to_string(::getpid()));

    void SetUp() override {
        fs::create_directories(dir / "fastify@5.3.0" / "node_modules" / "fastify");
        std::ofstream{dir / "fastify@5.3.0" / "node_modules" / "fastify" / "package.json"}
            << R"({"name":"fastify","version":"5.3.0"})";
        fs::create_directories(dir / "fastify@9.9.9"); // an interrupted install: not listed
        ::setenv("LIFECHECK_RELEASE_CACHE", dir.c_str(), 1);
        ::setenv("LIFECHECK_OFFLINE", "1", 1);
    }

    void TearDown() override {
        ::unsetenv("LIFECHECK_RELEASE_CACHE");
        ::unsetenv("LIFECHECK_OFFLINE");
        fs::remove_all(dir);
    }
};

TEST_F(ReleaseCache, CacheDirFromTheEnvironment) {
    EXPECT_EQ(cache_dir(), dir);
    ::unsetenv("LIFECHECK_RELEASE_CACHE");
    ::setenv("XDG_CACHE_HOME", "/x/cache", 1);
    EXPECT_EQ(cache_dir(), fs::path{"/x/cache/lifecheck/releases"});
    ::unsetenv("XDG_CACHE_HOME");
}

TEST_F(ReleaseCache, OfflineResolvesAmongInstalledAndCached) {
    fs::path const adapter = fs::path{LIFECHECK_SOURCE_DIR} / "server_under_test" / "fastify";
    EXPECT_EQ(cached_versions("fastify"), (std::vector<std::string>{"5.3.0"}));
    auto const installed = adapter_versions(adapter, "fastify");
    EXPECT_NE(std::find(installed.begin(), installed.end(), "5.10.0"), installed.end());
    EXPECT_NE(std::find(installed.begin(), installed.end(), "4.29.1"), installed.end());
    auto const range = resolve_all(adapter, "fastify", "5.2..5.11");
    ASSERT_TRUE(range.has_value());
    EXPECT_EQ(range.value(),
              (std::vector<std::string>{"5.2.0", "5.2.1", "5.3.0", "5.10.0", "5.11.0"}));
    auto const four = resolve_one(adapter, "fastify", "4");
    ASSERT_TRUE(four.has_value());
    EXPECT_EQ(four.value(), "4.29.1");
}

// The registry's list, cached with the time it was fetched: used while fresh; when the registry
// does not answer (a registry nobody listens on), used stale; never with --offline, which keeps
// to what runs without a network.
TEST_F(ReleaseCache, TheCachedVersionListFreshStaleAndOffline) {
    fs::path const adapter = fs::path{LIFECHECK_SOURCE_DIR} / "server_under_test" / "fastify";
    auto write_list = [&](long long fetched) {
        std::ofstream{dir / "fastify.versions.json"}
            << R"({"fetched": )" << fetched
            << R"(, "versions": ["5.8.1", "5.3.0", "5.9.0"], "latest": "5.8.1"})";
    };
    write_list(static_cast<long long>(std::time(nullptr)));
    auto const offline_range = resolve_all(adapter, "fastify", "5.2..5.11");
    ASSERT_TRUE(offline_range.has_value());
    EXPECT_EQ(std::count(offline_range.value().begin(), offline_range.value().end(), "5.8.1"), 0);

    ::unsetenv("LIFECHECK_OFFLINE");
    auto const latest = resolve_one(adapter, "fastify", "latest");
    ASSERT_TRUE(latest.has_value());
    EXPECT_EQ(latest.value(), "5.8.1"); // the dist-tag of the fresh list; no registry asked

    write_list(1); // 1970: stale
    ::setenv("npm_config_registry", "http://127.0.0.1:9/", 1);
    published const p = published_versions(adapter, "fastify");
    ::unsetenv("npm_config_registry");
    EXPECT_EQ(p.versions, (std::vector<std::string>{"5.3.0", "5.8.1", "5.9.0"}));
    EXPECT_NE(p.source.find("the registry did not answer"), std::string::npos) << p.source;
    EXPECT_NE(p.source.find("1970-01-01"), std::string::npos) << p.source;
}

TEST_F(ReleaseCache, OfflineAndNotCachedIsAClearErrorNamingTheVersion) {
    auto const pkg = install("fastify", "4.26.2");
    ASSERT_FALSE(pkg.has_value());
    std::string const msg = describe(pkg.error().front());
    EXPECT_NE(msg.find("fastify@4.26.2"), std::string::npos) << msg;
    EXPECT_NE(msg.find("lifecheck releases install fastify@4.26.2"), std::string::npos) << msg;
    auto const cached = install("fastify", "5.3.0");
    ASSERT_TRUE(cached.has_value());
    EXPECT_EQ(cached.value(), dir / "fastify@5.3.0" / "node_modules" / "fastify");
}

TEST_F(ReleaseCache, TargetsPickTheAdapterAliasTheCacheOrACheckout) {
    fs::path const adapter =
        fs::path{LIFECHECK_SOURCE_DIR} / "server_under_test" / "fastify" / "adapter.mjs";
    auto const alias = resolve_target("fastify@5.10.0", self_exe());
    ASSERT_TRUE(alias.has_value());
    EXPECT_EQ(alias->argv,
              (std::vector<std::string>{"node", adapter.string(), "--fastify", "5.10.0"}));
    auto const cached = resolve_target("fastify@5.3", self_exe());
    ASSERT_TRUE(cached.has_value());
    EXPECT_EQ(
        cached->argv,
        (std::vector<std::string>{"node",
                                  adapter.string(),
                                  "--fastify-from",
                                  (dir / "fastify@5.3.0" / "node_modules" / "fastify").string()}));
    auto const checkout = resolve_target(
        "fastify@file:" + (dir / "fastify@5.3.0" / "node_modules" / "fastify").string(),
        self_exe());
    ASSERT_TRUE(checkout.has_value());
    EXPECT_EQ(checkout->argv.at(2), "--fastify-from");
    EXPECT_FALSE(resolve_target("fastify@file:/nonexistent", self_exe()).has_value());
    auto const missing = resolve_target("fastify@4.26.2", self_exe());
    ASSERT_FALSE(missing.has_value());
    EXPECT_NE(describe(missing.error().front()).find("releases install fastify@4.26.2"),
              std::string::npos);
    EXPECT_FALSE(resolve_target("fastify@5.10.0..5.11.0", self_exe()).has_value());
}

} // namespace
} // namespace lifecheck::run::releases
