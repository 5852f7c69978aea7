// Turns a --target argument (reference, fastify@VERSION, or a command line) into a process to
// start.
#pragma once

#include "harness/common/result.hpp"

#include <filesystem>
#include <string>
#include <vector>

namespace lifecheck::run {

/// A target as the user named it and the process that runs it.
struct target_spec {
    std::string text;              // as written: "reference", "fastify@5.12.8", "node x.mjs"
    std::vector<std::string> argv; // what is started
};

/// Resolves a --target argument.
///
/// - `reference`: $LIFECHECK_REFERENCE, else `server_under_test/reference/lifecheck-reference`
///   in the build tree that holds `self_exe` (or the build tree lifecheck was compiled in);
/// - `NAME` or `NAME@VERSION` where `server_under_test/NAME/adapter.mjs` exists in the source
///   tree (fastify, koa): `node ADAPTER`, plus for a VERSION spec (releases.hpp) `--NAME V`
///   when V is installed beside the adapter, else `--NAME-from FOLDER` (the release cache,
///   installed on first use, or file:PATH); a release that cannot be installed is a diagnostic;
/// - anything else: a command line run by /bin/sh.
///
/// @param self_exe this program's path (/proc/self/exe), for finding the trees it belongs to.
result<target_spec> resolve_target(std::string const& text, std::filesystem::path const& self_exe);

/// The running program's path ("" when unknown).
std::filesystem::path self_exe();

/// The repository's source tree as lifecheck knows it (compiled in, or found above `self_exe`).
std::filesystem::path source_dir(std::filesystem::path const& self_exe);

/// `s` quoted for a POSIX shell when it needs it (replay commands).
std::string shell_quote(std::string const& s);

} // namespace lifecheck::run
