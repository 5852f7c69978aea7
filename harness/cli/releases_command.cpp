// `lifecheck releases list|install|prune`: the per-user release cache (docs/releases.md).
#include "harness/cli/args.hpp"
#include "harness/cli/cli.hpp"
#include "harness/run/releases.hpp"

#include <algorithm>
#include <iostream>
#include <system_error>

namespace lifecheck::cli {
namespace {

namespace fs = std::filesystem;
namespace rel = run::releases;

/// The frameworks with an adapter in the source tree (server_under_test/NAME/adapter.mjs).
std::vector<std::string> adapter_names() {
    std::vector<std::string> out;
    std::error_code ec;
    fs::path const root = run::source_dir(run::self_exe()) / "server_under_test";
    for (auto const& e : fs::directory_iterator(root, ec))
        if (fs::exists(e.path() / "adapter.mjs"))
            out.push_back(e.path().filename().string());
    std::sort(out.begin(), out.end());
    return out;
}

fs::path adapter_dir(std::string const& name) {
    return run::source_dir(run::self_exe()) / "server_under_test" / name;
}

/// NAME@SPEC split, with NAME checked against the adapters; nothing after a usage error.
std::optional<std::pair<std::string, std::string>> split_target(std::string const& text) {
    auto const at = text.find('@');
    auto const names = adapter_names();
    if (at == std::string::npos || at == 0 ||
        std::find(names.begin(), names.end(), text.substr(0, at)) == names.end()) {
        usage_error("releases",
                    "expected NAME@SPEC with NAME one of the adapters (fastify, "
                    "koa), got \"" +
                        text + "\"");
        return std::nullopt;
    }
    return std::pair{text.substr(0, at), text.substr(at + 1)};
}

int list() {
    std::cout << "release cache: " << rel::cache_dir().string() << '\n';
    for (std::string const& name : adapter_names()) {
        for (std::string const& v : rel::adapter_versions(adapter_dir(name), name))
            std::cout << "  " << name << "@" << v << "  installed beside the adapter ("
                      << shown_path(adapter_dir(name) / "node_modules").string() << ")\n";
        for (std::string const& v : rel::cached_versions(name))
            std::cout << "  " << name << "@" << v << "  cached ("
                      << (rel::cache_dir() / (name + "@" + v)).string() << ")\n";
    }
    return exit_pass;
}

int install(std::vector<std::string> const& specs) {
    if (specs.empty())
        return usage_error("releases", "install needs NAME@SPEC (fastify@4.26.2)");
    for (std::string const& text : specs) {
        auto const t = split_target(text);
        if (!t)
            return exit_usage;
        auto const versions = rel::resolve_all(adapter_dir(t->first), t->first, t->second);
        if (!versions) {
            std::cerr << "lifecheck releases: " << describe(versions.error().front()) << '\n';
            return exit_usage;
        }
        auto const beside = rel::adapter_versions(adapter_dir(t->first), t->first);
        for (std::string const& v : versions.value()) {
            if (std::find(beside.begin(), beside.end(), v) != beside.end()) {
                std::cout << t->first << "@" << v << ": installed beside the adapter\n";
                continue;
            }
            auto const pkg = rel::install(t->first, v);
            if (!pkg) {
                std::cerr << "lifecheck releases: " << describe(pkg.error().front()) << '\n';
                return exit_usage;
            }
            std::cout << t->first << "@" << v << ": "
                      << pkg.value().parent_path().parent_path().string() << '\n';
        }
    }
    return exit_pass;
}

void remove(std::string const& name, std::string const& version) {
    std::error_code ec;
    fs::path const folder = rel::cache_dir() / (name + "@" + version);
    fs::remove_all(folder, ec);
    std::cout << "removed " << name << "@" << version << " (" << folder.string() << ")"
              << (ec ? ": " + ec.message() : std::string{}) << '\n';
}

int prune(parsed_args const& p, std::vector<std::string> const& specs) {
    if (p.has("--keep") == !specs.empty())
        return usage_error("releases", "prune takes either --keep N or NAME@SPEC...");
    if (p.has("--keep")) {
        auto const keep = static_cast<std::size_t>(*p.count("--keep"));
        for (std::string const& name : adapter_names()) {
            auto const cached = rel::cached_versions(name);
            for (std::size_t i = 0; i + keep < cached.size(); ++i)
                remove(name, cached[i]);
        }
        return exit_pass;
    }
    for (std::string const& text : specs) {
        auto const t = split_target(text);
        if (!t)
            return exit_usage;
        auto const s = rel::parse_spec(t->second);
        if (!s) {
            std::cerr << "lifecheck releases: " << describe(s.error().front()) << '\n';
            return exit_usage;
        }
        for (std::string const& v : rel::select(s.value(), rel::cached_versions(t->first)))
            remove(t->first, v);
    }
    return exit_pass;
}

} // namespace

int releases_command(parsed_args const& p) {
    std::string const action = p.operands.front();
    std::vector<std::string> const rest(p.operands.begin() + 1, p.operands.end());
    if (action == "list")
        return rest.empty() ? list() : usage_error("releases", "list takes no arguments");
    if (action == "install")
        return install(rest);
    if (action == "prune")
        return prune(p, rest);
    return usage_error("releases", "unknown action \"" + action + "\": list, install or prune");
}

} // namespace lifecheck::cli
