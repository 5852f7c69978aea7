// `lifecheck validate`: loads scenario files and prints every diagnostic; runs nothing.
#include "harness/cli/args.hpp"
#include "harness/cli/cli.hpp"

#include <iostream>

namespace lifecheck::cli {
namespace {

constexpr char const* validate_usage = R"(usage: lifecheck validate PATH...

Loads scenario files (PATH: files or folders, searched recursively for *.json) with the strict
loader and prints every problem as `file: $.path: expected X, got Y`. Nothing is run.

options:
  -h, --help   show this help

exit codes: 0 all files valid, 2 some file is invalid (or no files, or a usage error)
)";

} // namespace

int validate_command(std::vector<std::string> const& args) {
    std::vector<std::string> paths;
    for (std::string const& a : args) {
        if (a == "-h" || a == "--help") {
            std::cout << validate_usage;
            return exit_pass;
        }
        if (a.size() > 1 && a[0] == '-')
            return usage_error("validate", "unknown option " + a, validate_usage);
        paths.push_back(a);
    }
    if (paths.empty())
        return usage_error("validate", "no scenario files or folders given", validate_usage);

    auto const files = load_paths(paths);
    std::size_t invalid = 0;
    for (loaded_file const& f : files) {
        if (f.sc)
            continue;
        ++invalid;
        for (diagnostic const& d : f.problems)
            std::cout << describe(d) << '\n';
    }
    std::cout << files.size() << (files.size() == 1 ? " file, " : " files, ") << invalid
              << " invalid\n";
    if (files.empty())
        return exit_usage;
    return invalid ? exit_usage : exit_pass;
}

} // namespace lifecheck::cli
