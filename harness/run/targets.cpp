// Target resolution for --target: the reference build, node adapters, or a shell command line.
#include "harness/run/targets.hpp"

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
        fs::path const adapter = source_dir(exe) / "server_under_test" / name / "adapter.mjs";
        if (is_file(adapter)) {
            target_spec spec{text, {"node", adapter.string()}};
            if (at != std::string::npos) {
                std::string const version = text.substr(at + 1);
                if (version.empty())
                    return bad_target(text, "a version after @ (fastify@5.12.8)", "nothing");
                spec.argv.push_back("--" + name);
                spec.argv.push_back(version);
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
