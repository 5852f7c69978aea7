// Dispatches `lifecheck COMMAND ...` to the subcommands; --help and --version.
#include "harness/cli/cli.hpp"

#include "harness/cli/args.hpp"
#include "harness/protocol/target.hpp"
#include "harness/report/report.hpp"

#include <exception>
#include <iostream>

namespace lifecheck::cli {
namespace {

constexpr char const* main_usage = R"(usage: lifecheck COMMAND [options] ...

lifecheck checks web-framework request lifecycles: it runs scenario files against targets
(the reference server, real Fastify through its adapter, any program that speaks the target
protocol) and compares responses, callback traces and invariants.

commands:
  run PATH...        run scenarios against one or more targets; JUnit and JSON reports
  validate PATH...   load scenario files and print every problem; run nothing
  serve FILE         load one scenario's app into a target and print its events (for curl)
  record FILE...     run scenarios on a target and write what it did into their `expect`
  repro ARTIFACT     turn a fuzz crash artifact into a scenario, replay it, write a report
  changelog          run scenarios on two releases (--from/--to) and list what changed
  sweep FILE         abort one request step at every byte offset; check invariants at each
  prop               generated scenarios vs the model (RapidCheck); shrunk counterexamples
  mutants            seeded engine faults vs the corpus and the property: mutation score

options:
  -h, --help         show this help (COMMAND --help: that command's help)
  --version          print the version

exit codes: 0 all pass, 1 some fail/crash/hang, 2 invalid input or usage, 3 internal error
)";

} // namespace

int main(std::vector<std::string> const& args) {
    protocol::ignore_sigpipe(); // a dead target or peer is an error code, never a signal
    if (args.empty()) {
        std::cerr << main_usage;
        return exit_usage;
    }
    std::string const& command = args.front();
    std::vector<std::string> const rest(args.begin() + 1, args.end());
    try {
        if (command == "-h" || command == "--help" || command == "help") {
            std::cout << main_usage;
            return exit_pass;
        }
        if (command == "--version" || command == "version") {
            std::cout << "lifecheck " << report::lifecheck_version() << '\n';
            return exit_pass;
        }
        if (command == "run")
            return run_command(rest);
        if (command == "validate")
            return validate_command(rest);
        if (command == "serve")
            return serve_command(rest);
        if (command == "record")
            return record_command(rest);
        if (command == "repro")
            return repro_command(rest);
        if (command == "changelog")
            return changelog_command(rest);
        if (command == "sweep")
            return sweep_command(rest);
        if (command == "prop")
            return prop_command(rest);
        if (command == "mutants")
            return mutants_command(rest);
    } catch (std::exception const& e) {
        std::cerr << "lifecheck " << command << ": internal error: " << e.what() << '\n';
        return exit_internal;
    }
    std::cerr << "lifecheck: unknown command \"" << command << "\"\n\n" << main_usage;
    return exit_usage;
}

} // namespace lifecheck::cli
