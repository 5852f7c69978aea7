// Target resolution for --target: the reference build, node adapters, or a shell command line.
#include "harness/run/targets.hpp"

#include "harness/run/releases.hpp"

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <string_view>
#include <system_error>

#ifndef LIFECHECK_SOURCE_DIR
#define LIFECHECK_SOURCE_DIR ""
#endif
#ifndef LIFECHECK_BINARY_DIR
#define LIFECHECK_BINARY_DIR ""
#endif

namespace lifecheck::run {
namespace {

namespace fs = std::filesystem;

bool is_file(fs::path const& p) {
    std::error_code ec;
    return !p.empty() && fs::is_regular_file(p, ec);
}

bool is_name(std::string const& s) {
    if (s.empty())
        return false;
    for (char c : s)
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_'))
            return false;
    return true;
}

diagnostic bad_target(std::string const& text, std::string expected, std::string got) {
    return diagnostic{"<args>", "--target " + text, std::move(expected), std::move(got)};
}

// The adapter arguments that select release SPEC of NAME: `--NAME VERSION` for a release the
// adapter has installed beside itself, `--NAME-from FOLDER` for a cached one (installed on first
// use) or a local checkout (file:PATH).
result<std::vector<std::string>>
release_args(fs::path const& adapter_dir, std::string const& name, std::string const& spec_text) {
    if (spec_text.empty())
        return diagnostic{"", "", "a version after @ (" + name + "@5.12.8)", "nothing"};
    auto const s = releases::parse_spec(spec_text);
    if (s && s.value().k == releases::spec::kind::file) {
        std::error_code ec;
        fs::path const path = fs::absolute(s.value().path, ec).lexically_normal();
        if (!is_file(path / "package.json"))
            return diagnostic{"",
                              "",
                              "a " + name + " package folder (with package.json) after file:",
                              path.string()};
        return std::vector<std::string>{"--" + name + "-from", path.string()};
    }
    auto const version = releases::resolve_one(adapter_dir, name, spec_text);
    if (!version)
        return version.error();
    auto const installed = releases::adapter_versions(adapter_dir, name);
    if (std::find(installed.begin(), installed.end(), version.value()) != installed.end())
        return std::vector<std::string>{"--" + name, version.value()};
    auto const pkg = releases::install(name, version.value());
    if (!pkg)
        return pkg.error();
    return std::vector<std::string>{"--" + name + "-from", pkg.value().string()};
}

} // namespace

fs::path self_exe() {
    std::error_code ec;
    fs::path p = fs::read_symlink("/proc/self/exe", ec);
    return ec ? fs::path{} : p;
}

fs::path source_dir(fs::path const& exe) {
    fs::path const compiled{LIFECHECK_SOURCE_DIR};
    if (!compiled.empty() && fs::exists(compiled / "server_under_test"))
        return compiled;
    // build/ci/lifecheck → the checkout is two levels up; a bare build dir, one level up.
    for (fs::path dir = exe.parent_path(); !dir.empty() && dir != dir.root_path();
         dir = dir.parent_path())
        if (fs::exists(dir / "server_under_test" / "reference" / "main.cpp"))
            return dir;
    return compiled;
}

std::string shell_quote(std::string const& s) {
    bool plain = !s.empty();
    for (char c : s)
        plain = plain && (std::isalnum(static_cast<unsigned char>(c)) ||
                          std::string_view{"@%+=:,./_-"}.find(c) != std::string_view::npos);
    if (plain)
        return s;
    std::string out = "'";
    for (char c : s)
        out += c == '\'' ? std::string{"'\\''"} : std::string{c};
    return out + "'";
}

result<target_spec> resolve_target(std::string const& text, fs::path const& exe) {
    if (text.empty())
        return bad_target(text, "a target: reference, fastify[@VERSION] or a command", "\"\"");
    if (text == "reference") {
        if (char const* env = std::getenv("LIFECHECK_REFERENCE"); env && *env)
            return target_spec{text, {env}};
        fs::path const rel = fs::path{"server_under_test"} / "reference" / "lifecheck-reference";
        std::vector<fs::path> candidates;
        if (!exe.empty())
            candidates.push_back(exe.parent_path() / rel);
        if (*LIFECHECK_BINARY_DIR)
            candidates.push_back(fs::path{LIFECHECK_BINARY_DIR} / rel);
        for (fs::path const& c : candidates)
            if (is_file(c))
                return target_spec{text, {c.string()}};
        return bad_target(text,
                          "a built lifecheck-reference (build the lifecheck-reference target or "
                          "set LIFECHECK_REFERENCE)",
                          candidates.empty() ? "nothing found"
                                             : "no " + candidates.front().string());
    }
    auto const at = text.find('@');
    std::string const name = text.substr(0, at);
    if (is_name(name)) {
        fs::path const dir = source_dir(exe) / "server_under_test" / name;
        fs::path const adapter = dir / "adapter.mjs";
        if (is_file(adapter)) {
            target_spec spec{text, {"node", adapter.string()}};
            if (at != std::string::npos) {
                auto release = release_args(dir, name, text.substr(at + 1));
                if (!release)
                    return bad_target(
                        text, release.error().front().expected, release.error().front().got);
                for (std::string& a : release.value())
                    spec.argv.push_back(std::move(a));
            }
            return spec;
        }
        if (name == "fastify" || name == "koa")
            return bad_target(
                text, "the " + name + " adapter at " + adapter.string(), "no such file");
    }
    return target_spec{text, {"/bin/sh", "-c", text}};
}

} // namespace lifecheck::run
