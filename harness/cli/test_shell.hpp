// Runs a shell command for the CLI's end-to-end tests (cli_test, html_browser_test).
#pragma once

#include <cstdio>
#include <filesystem>
#include <string>

#include <sys/wait.h>

namespace lifecheck::cli::test {

/// What a shell command did: its exit code (-1 when it did not exit) and its output.
struct ran {
    int code = -1;
    std::string out;
};

/// Runs `cmd` with sh; stdout in `out`, stderr to `err_file` (or with stdout when empty).
inline ran shell(std::string const& cmd, std::filesystem::path const& err_file = {}) {
    std::string const full = cmd + (err_file.empty() ? " 2>&1" : " 2>'" + err_file.string() + "'");
    FILE* p = ::popen(full.c_str(), "r");
    ran r;
    if (!p)
        return r;
    char buf[8192];
    std::size_t n = 0;
    while ((n = std::fread(buf, 1, sizeof buf, p)) > 0)
        r.out.append(buf, n);
    int const status = ::pclose(p);
    r.code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    return r;
}

} // namespace lifecheck::cli::test
