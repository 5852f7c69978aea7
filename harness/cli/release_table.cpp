// One scenario across releases and its version table (bisect --table, repro --table).
#include "harness/cli/release_table.hpp"

#include "harness/run/releases.hpp"

#include <chrono>
#include <iomanip>
#include <ostream>

namespace lifecheck::cli {

std::string result_class(check::verdict v) {
    return v == check::verdict::skip ? "unsupported" : check::to_string(v);
}

std::optional<std::string> adapter_problem(std::string const& name,
                                           std::filesystem::path& adapter_dir) {
    adapter_dir = run::source_dir(run::self_exe()) / "server_under_test" / name;
    if (name == "reference" || name.empty() ||
        !std::filesystem::exists(adapter_dir / "adapter.mjs"))
        return "NAME is a framework with an adapter (fastify, koa), not " + name;
    return std::nullopt;
}

std::string release_run::operator()(std::string const& version) const {
    std::string const target = name + "@" + version;
    auto spec = run::resolve_target(target, run::self_exe());
    if (!spec)
        throw release_error{describe(spec.error().front())};
    auto const t0 = std::chrono::steady_clock::now();
    auto const outcome = run::run_all({sc}, spec.value(), opts, 1);
    auto const ms =
        std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0)
            .count();
    std::string const result = result_class(outcome.at(0).result.shown);
    *out << "  " << std::left << std::setw(24) << target << std::setw(12) << result << std::right
         << ms << " ms\n"
         << std::flush;
    return result;
}

version_table run_table(release_run const& run, std::vector<std::string> const& versions) {
    version_table t{run.name, versions, {}};
    for (std::string const& v : versions)
        t.results.push_back(run(v));
    return t;
}

std::string table_markdown(version_table const& t) {
    std::string md = "| " + t.name + " | result |\n| --- | --- |\n";
    for (std::size_t i = 0; i < t.versions.size(); ++i)
        md += "| " + t.versions[i] + " | " + t.results[i] + " |\n";
    return md;
}

std::vector<std::string> table_changes(version_table const& t, bool every_release) {
    std::vector<std::string> out;
    for (std::size_t i = 1; i < t.versions.size(); ++i)
        if (t.results[i] != t.results[i - 1])
            out.push_back("change: " + t.results[i - 1] + " on " + t.versions[i - 1] + " -> " +
                          t.results[i] + " on " + t.versions[i] +
                          (every_release ? "" : " (bisect between them for the exact release)"));
    return out;
}

} // namespace lifecheck::cli
