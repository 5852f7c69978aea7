// Releases on demand (issue 17, docs/releases.md): versions and the specs that name them
// (4.26.2, 4, ^5.2, latest, A..B), the registry's list of published versions, and the per-user
// cache a release is installed into on first use.
#pragma once

#include "harness/common/result.hpp"

#include <cstddef>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace lifecheck::run::releases {

/// A semantic version MAJOR.MINOR.PATCH[-PRERELEASE][+BUILD] (semver.org §2-§10).
struct version {
    long long major = 0;
    long long minor = 0;
    long long patch = 0;
    std::string pre; // "alpha.1"; "" for a release
    std::string text;
};

/// Parses a full version ("5.2.0", "6.0.0-alpha.1"); nothing for anything else.
std::optional<version> parse_version(std::string_view text);

/// Semver precedence (semver.org §11): <0, 0 or >0. Build metadata is ignored.
int compare(version const& a, version const& b);

/// Sorts version texts in precedence order, oldest first; texts that are not versions are dropped.
std::vector<std::string> sorted(std::vector<std::string> texts);

/// What follows NAME@ in a target: one release, a set of releases, or a local checkout.
struct spec {
    enum class kind {
        exact,  // 4.26.2
        prefix, // 4, 5.2: whole leading components
        caret,  // ^5.2: same major (same minor under 0.x)
        tilde,  // ~5.2.1: same minor
        latest, // the registry's `latest` dist-tag
        range,  // A..B: every release from A's oldest to B's newest match, both included
        file,   // file:PATH
    };
    kind k = kind::exact;
    std::string text;
    version low;      // exact/prefix/caret/tilde: the lower bound (prefix: missing parts 0)
    int parts = 3;    // prefix/caret/tilde: the components written
    std::string path; // file
    std::string from; // range: the spec of the first end
    std::string to;   // range: the spec of the last end
    bool pre = false; // a prerelease was named: prereleases match too
};

/// Parses a spec; a diagnostic says what is accepted.
result<spec> parse_spec(std::string_view text);

/// The published versions a spec selects, oldest first (a range: all of them; anything else:
/// every match, and the newest is the one meant). Prereleases only when the spec names one.
/// `latest` is the registry's dist-tag ("" when unknown: the newest release).
std::vector<std::string>
select(spec const& s, std::vector<std::string> const& published, std::string const& latest = "");

/// The versions of `known` (oldest first) a --table runs: every one, or each minor's newest.
std::vector<std::string> table_versions(std::vector<std::string> const& known, bool every_release);

/// One evaluated point of a bisection.
struct probe {
    std::size_t index = 0;
    std::string result;
};

/// Finds the first index whose result differs from index 0's, by bisection over [0, n): runs
/// `result_of` on 0 and n-1 first, then halves. Assumes one change (a result that changes back
/// and forth can hide a boundary; --table shows them all). Returns every probe in run order;
/// `boundary` is set to the first index with a different result, or nothing when both ends agree.
std::vector<probe> bisect(std::size_t n,
                          std::function<std::string(std::size_t)> const& result_of,
                          std::optional<std::size_t>& boundary);

// ------------------------------------------------------------------------------------------
// The cache and the registry (these run npm)

/// Where releases are installed: $LIFECHECK_RELEASE_CACHE, else
/// ${XDG_CACHE_HOME:-$HOME/.cache}/lifecheck/releases.
std::filesystem::path cache_dir();

/// True when $LIFECHECK_OFFLINE is set (not "" or "0"): the registry is never asked; specs
/// resolve among the installed and cached releases.
bool offline();

/// The releases an adapter has installed beside itself (its package.json: NAME and npm:NAME@V
/// aliases), oldest first.
std::vector<std::string> adapter_versions(std::filesystem::path const& adapter_dir,
                                          std::string const& name);

/// The releases of NAME in the cache, oldest first.
std::vector<std::string> cached_versions(std::string const& name);

/// The package folder of NAME@VERSION in the cache (it may not exist).
std::filesystem::path cached_package(std::string const& name, std::string const& version);

/// The registry's published versions of a package, oldest first, and its `latest` dist-tag.
struct published {
    std::vector<std::string> versions;
    std::string latest;
    std::string source; // how they were known, for messages: "registry", "cached list of DATE"
};

/// The published versions: the cached list when under a day old, else `npm view` (the list is
/// then cached, with its time); a stale list when the registry does not answer; the installed
/// and cached releases (source says so) when there is no list at all, and always when offline()
/// (what can run without a network).
published published_versions(std::filesystem::path const& adapter_dir, std::string const& name);

/// Installs NAME@VERSION (exact) into the cache unless it is there: `npm install
/// --ignore-scripts` in a folder of its own (package.json and the package-lock.json npm writes
/// keep the integrity hashes). Prints one line when it installs. Returns the package folder.
result<std::filesystem::path> install(std::string const& name, std::string const& version);

/// Resolves NAME@SPEC (not a range, not file:) to one exact version.
result<std::string> resolve_one(std::filesystem::path const& adapter_dir,
                                std::string const& name,
                                std::string const& spec_text);

/// Resolves NAME@SPEC to the versions it selects, oldest first (a range: every one).
result<std::vector<std::string>> resolve_all(std::filesystem::path const& adapter_dir,
                                             std::string const& name,
                                             std::string const& spec_text);

} // namespace lifecheck::run::releases
