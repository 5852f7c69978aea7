// lifecheck: the command-line entry point (every command: harness/cli/options.hpp).
#include "harness/cli/cli.hpp"

#include <string>
#include <vector>

int main(int argc, char** argv) {
    std::vector<std::string> args;
    for (int i = 1; i < argc; ++i)
        args.emplace_back(argv[i]);
    return lifecheck::cli::main(args);
}
