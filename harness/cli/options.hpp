// The one table of lifecheck's options and commands: parsing and every --help come from it.
#pragma once

#include <cstddef>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace lifecheck::run {
struct options;
}

namespace lifecheck::cli {

class parsed_args;

/// What an option's value is; the parser checks counts and seeds before a command sees them.
enum class value_kind {
    flag,     // no value
    text,     // any text
    count,    // a whole number in [min, max], or the option's `word` when it has one
    seed,     // a 64-bit unsigned number
    optional, // a flag that may carry a value written into it: --x or --x=VALUE
};

/// One command that takes an option, with what the option does there.
struct option_use {
    std::string_view command;
    std::string_view note;     // appended to the option's help in this command's --help
    std::string_view fallback; // shown as "(default X)"; "" for none
};

/// One option, declared once for every command that takes it.
struct option_spec {
    std::string_view name;    // "--jobs"
    std::string_view alias;   // "-j" (also written -jN), or ""
    std::string_view metavar; // "N"; "" for a flag
    value_kind kind = value_kind::flag;
    long long min = 0; // counts: the accepted range
    long long max = 0;
    std::string_view help;
    std::vector<option_use> uses;
    std::string_view word = {}; // counts: a word accepted besides numbers ("auto" for -j)
};

/// Every option of every command, in --help order.
std::vector<option_spec> const& option_table();

/// One command: its operands, help text and entry point.
struct command_spec {
    std::string_view name;
    std::string_view synopsis;    // after "usage: lifecheck NAME "
    std::string_view summary;     // its line in `lifecheck --help`
    std::string_view description; // the paragraphs of its --help
    std::string_view examples;    // one command per line
    std::string_view exit_codes;
    std::size_t min_operands = 0;
    std::size_t max_operands = 0;
    std::string_view operand; // "FILE" in "one FILE only"
    std::string_view missing; // the usage error when operands are missing
    int (*run)(parsed_args const& args) = nullptr;
};

/// Every command, in `lifecheck --help` order.
std::vector<command_spec> const& command_table();

/// The top-level help: every command and the options every command shares.
std::string main_help();

/// COMMAND --help, generated from the two tables.
std::string command_help(std::string_view command);

/// Prints "lifecheck COMMAND: PROBLEM" and the command's help to stderr; returns exit_usage.
int usage_error(std::string_view command, std::string const& problem);

/// The options and operands of one command line, checked against the table.
class parsed_args {
public:
    /// True when the option was given at least once.
    bool has(std::string_view name) const;
    /// The option's last value, or `fallback` when it was not given.
    std::string text(std::string_view name, std::string const& fallback = "") const;
    /// Every value of a repeatable option, in order.
    std::vector<std::string> all(std::string_view name) const;
    /// The option's last value as a number (already range-checked), or nothing.
    std::optional<long long> count(std::string_view name) const;
    /// The last value of a seed option, or nothing.
    std::optional<unsigned long long> seed(std::string_view name) const;
    /// Of two opposite flags, the one given last: true for `yes`, false for `no`, else nothing.
    std::optional<bool> last_of(std::string_view yes, std::string_view no) const;

    std::vector<std::string> operands;
    std::vector<std::string> given; // the command line as given (for the commands it repeats)

private:
    friend std::optional<parsed_args>
    parse_args(std::string_view, std::vector<std::string> const&, int&);
    std::map<std::string, std::vector<std::string>, std::less<>> values_;
    std::vector<std::string> order_; // option names as given, for last_of
};

/// The runner options the shared options set: --deadline and --verbose (decisions.md D26).
run::options runner_options(parsed_args const& p);

/// The workers -j asks for: its number, the number of cores for `auto`, `fallback` when -j was
/// not given (0 = auto).
int jobs_of(parsed_args const& p, int fallback);

/// Parses ARGS for COMMAND. Nothing when the command is done: --help printed (exit 0) or a
/// usage error reported (exit 2); `exit` then holds the code.
std::optional<parsed_args>
parse_args(std::string_view command, std::vector<std::string> const& args, int& exit);

} // namespace lifecheck::cli
