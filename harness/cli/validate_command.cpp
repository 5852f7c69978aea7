// `lifecheck validate`: loads scenario files and prints every diagnostic; runs nothing.
#include "harness/cli/args.hpp"
#include "harness/cli/cli.hpp"

#include <iostream>

namespace lifecheck::cli {

int validate_command(parsed_args const& p) {
    auto const files = select_scenarios(selection_of(p, p.operands));
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
