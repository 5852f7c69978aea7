// `lifecheck bisect`: the first release in a range where one scenario's result changes (O(log n)
// runs), or with --table the result on each minor's newest release (docs/releases.md).
#include "harness/cli/args.hpp"
#include "harness/cli/cli.hpp"
#include "harness/cli/release_table.hpp"
#include "harness/run/releases.hpp"
#include "harness/run/runner.hpp"

#include <chrono>
#include <iomanip>
#include <iostream>
#include <sstream>

namespace lifecheck::cli {

namespace rel = run::releases;

int bisect_command(parsed_args const& p) {
    std::string const target = p.text("--target");
    auto const at = target.find('@');
    if (target.empty() || at == std::string::npos)
        return usage_error("bisect", "--target NAME@A..B is needed (fastify@5.0.0..5.12.8)");
    std::string const name = target.substr(0, at);
    std::string const range = target.substr(at + 1);
    std::filesystem::path adapter_dir;
    if (auto const problem = adapter_problem(name, adapter_dir))
        return usage_error("bisect", "--target " + target + ": " + *problem);
    if (!p.text("--table").empty())
        return usage_error("bisect", "--table takes no RANGE here: the range is --target's");
    if (p.has("--every-release") && !p.has("--table"))
        return usage_error("bisect", "--every-release goes with --table");

    std::vector<loaded_file> files = select_scenarios(selection_of(p, p.operands));
    if (report_invalid("bisect", files))
        return exit_usage;
    if (files.size() != 1 || !files.front().sc)
        return usage_error("bisect", "FILE must be one scenario file");

    auto const versions = rel::resolve_all(adapter_dir, name, range);
    if (!versions) {
        std::cerr << "lifecheck bisect: " << describe(versions.error().front()) << '\n';
        return exit_usage;
    }
    std::vector<std::string> const all = versions.value();
    std::string const file = shown_path(files.front().file).string();
    release_run const run_one{name,
                              *files.front().sc,
                              [&] {
                                  run::options o = runner_options(p);
                                  o.log_dir = p.text("--logs", "reports/logs");
                                  return o;
                              }(),
                              &std::cout};
    std::string const span = name + "@" + all.front() + ".." + all.back();
    auto const t0 = std::chrono::steady_clock::now();
    auto seconds = [&] {
        auto const ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                            std::chrono::steady_clock::now() - t0)
                            .count();
        std::ostringstream s;
        s << ms / 1000 << '.' << (ms % 1000) / 100 << " s";
        return s.str();
    };

    try {
        if (p.has("--table")) {
            auto const chosen = rel::table_versions(all, p.has("--every-release"));
            std::cout << "lifecheck bisect --table: " << file << " on " << chosen.size() << " of "
                      << all.size() << " releases of " << span
                      << (p.has("--every-release") ? "" : " (each minor's newest)") << "\n\n";
            version_table const table = run_table(run_one, chosen);
            std::cout << '\n' << table_markdown(table);
            auto const lines = table_changes(table, p.has("--every-release"));
            auto const changes = lines.size();
            if (changes > 0)
                std::cout << '\n';
            for (std::string const& line : lines)
                std::cout << line << '\n';
            std::cout << '\n'
                      << chosen.size() << " releases ran in " << seconds() << "; " << changes
                      << (changes == 1 ? " change\n" : " changes\n");
            return changes == 0 ? exit_fail : exit_pass;
        }

        std::cout << "lifecheck bisect: " << file << " over " << all.size() << " releases of "
                  << span << "\n\n";
        std::optional<std::size_t> boundary;
        auto const runs = rel::bisect(
            all.size(), [&](std::size_t i) { return run_one(all[i]); }, boundary);
        std::cout << '\n';
        if (!boundary) {
            std::cout << "no boundary: " << runs.front().result << " on " << all.front()
                      << (all.size() > 1 ? " and on " + all.back() : std::string{}) << "; ran "
                      << runs.size() << " of " << all.size() << " releases in " << seconds()
                      << " (a result that changes and changes back: --table)\n";
            return exit_fail;
        }
        std::string result_at_boundary;
        std::string result_before;
        for (rel::probe const& r : runs) {
            if (r.index == *boundary)
                result_at_boundary = r.result;
            if (r.index == *boundary - 1)
                result_before = r.result;
        }
        std::string const before = all[*boundary - 1];
        std::string const after = all[*boundary];
        std::cout << "boundary: " << name << "@" << after << " is the first release whose result "
                  << "differs from " << all.front() << "'s: " << result_before << " on " << before
                  << " -> " << result_at_boundary << " on " << after << '\n'
                  << "ran " << runs.size() << " of " << all.size() << " releases in " << seconds()
                  << "\nconfirm:\n"
                  << "  lifecheck run --target " << name << "@" << before << ' '
                  << run::shell_quote(file) << "   # " << result_before << '\n'
                  << "  lifecheck run --target " << name << "@" << after << ' '
                  << run::shell_quote(file) << "   # " << result_at_boundary << '\n';
        return exit_pass;
    } catch (release_error const& e) {
        std::cerr << "lifecheck bisect: " << e.message << '\n';
        return exit_usage;
    }
}

} // namespace lifecheck::cli
