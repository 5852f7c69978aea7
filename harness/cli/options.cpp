// The option and command tables, the parser that reads a command line against them, and the
// --help texts generated from them.
#include "harness/cli/options.hpp"

#include "harness/cli/args.hpp"
#include "harness/cli/cli.hpp"
#include "harness/run/runner.hpp"

#include <algorithm>
#include <iostream>
#include <limits>
#include <thread>

namespace lifecheck::cli {
namespace {

constexpr long long no_limit = 999'999'999'999; // parse_count reads at most 12 digits

// The -j note of the commands that run one thing at a time.
constexpr std::string_view one_at_a_time =
    "; accepted so that scripts can pass -j to every command: this one runs one thing at a time";

} // namespace

std::vector<option_spec> const& option_table() {
    using k = value_kind;
    static std::vector<option_spec> const table{
        {"--target",
         "",
         "T",
         k::text,
         0,
         0,
         "reference, fastify, fastify@VERSION, koa, koa@VERSION, or a command line that speaks "
         "the target protocol; VERSION: any published release (4.26.2, 4, ^5.2, latest: "
         "installed into the release cache on first use) or file:PATH (a local checkout)",
         {{"run", "; repeat to compare targets side by side", "reference"},
          {"bisect",
           "; here NAME@A..B (fastify@5.0.0..5.12.8, fastify@5..latest) or NAME@SPEC (every "
           "release it matches)",
           ""},
          {"changelog",
           "; here NAME@A..B instead of --from/--to: the releases of the range (each minor's "
           "newest; --every-release: every one), each compared with the one before",
           ""},
          {"record", "; the target to record from", "fastify"},
          {"serve", "", "reference"},
          {"sweep", "", "reference"},
          {"repro",
           "; also replay on T (repeatable; an artifact: the reference always runs first; "
           "FILE.json: "
           "expected vs actual on each T)",
           "FILE.json: its dialect (fastify)"},
          {"prop",
           "; or in-process: the reference engine in this process, virtual clock, no sockets",
           "in-process"}}},
        {"--from",
         "",
         "X",
         k::text,
         0,
         0,
         "where the range the command walks starts:",
         {{"changelog",
           " the older target (fastify@VERSION, reference, koa or a command line)",
           ""},
          {"sweep", " the first byte offset", "0"}}},
        {"--to",
         "",
         "X",
         k::text,
         0,
         0,
         "where the range the command walks ends:",
         {{"changelog", " the newer target", ""},
          {"sweep", " the last byte offset", "the request's length in bytes"}}},
        {"--filter",
         "",
         "GLOB",
         k::text,
         0,
         0,
         "only scenarios whose id matches (repeatable); * stays within a path segment, ** "
         "crosses segments, a plain id selects its folder",
         {{"run", "", ""},
          {"validate", "", ""},
          {"record", "", ""},
          {"changelog", "", ""},
          {"mutants", "", ""}}},
        {"--exclude",
         "",
         "GLOB[=REASON]",
         k::text,
         0,
         0,
         "matching scenarios are loaded but not run (repeatable)",
         {{"run", "; reported as skipped, with REASON", ""},
          {"record", "; not recorded", ""},
          {"changelog", "; not compared", ""},
          {"mutants", "; left out of the corpus", ""}}},
        {"--keyword",
         "-k",
         "PATTERN",
         k::text,
         0,
         0,
         "only scenarios whose id or description contains PATTERN (case-insensitive; * and ? "
         "are wildcards: -k 'onsend*throw'); a file that does not load is matched by its id",
         {{"run", "", ""},
          {"validate", "", ""},
          {"record", "", ""},
          {"changelog", "", ""},
          {"mutants", "", ""}}},
        {"--tag",
         "",
         "TAG",
         k::text,
         0,
         0,
         "only scenarios that have tag TAG (repeatable: any of them); a file that does not load "
         "stays, so its problem is reported",
         {{"run", "", ""},
          {"validate", "", ""},
          {"record", "", ""},
          {"changelog", "", ""},
          {"mutants", "", ""}}},
        {"--list",
         "",
         "",
         k::flag,
         0,
         0,
         "print the scenarios that would run, one per line: the id, a tab, the tags "
         "(comma-separated); start no target, exit 0 (2 when a file is invalid)",
         {{"run", "", ""}}},
        {"--rerun-failed",
         "",
         "JSON",
         k::optional,
         0,
         0,
         "only the scenarios that failed, crashed, hung or errored (on any target) in the "
         "results.json of an earlier run (--rerun-failed=FILE for another); without PATH, the "
         "files that report names",
         {{"run", "", "reports/results.json"}}},
        {"--fail-fast",
         "",
         "",
         k::flag,
         0,
         0,
         "stop after the first scenario that fails, crashes, hangs or errors; scenarios not "
         "started are reported skipped (not run), the reports are written",
         {{"run", "", ""}}},
        {"--corpus",
         "",
         "PATH",
         k::text,
         0,
         0,
         "scenario files or folder for the corpus part (repeatable)",
         {{"mutants", "", "scenarios/fastify of the source tree"}}},
        {"--no-corpus", "", "", k::flag, 0, 0, "run the property part only", {{"mutants", "", ""}}},
        {"--fault",
         "",
         "NAME",
         k::text,
         0,
         0,
         "only this seeded fault (repeatable)",
         {{"mutants", "", ""}}},
        {"--step",
         "",
         "ID",
         k::text,
         0,
         0,
         "the request step to sweep (required)",
         {{"sweep", "", ""}}},
        {"--stride", "", "K", k::count, 1, no_limit, "every K-th offset", {{"sweep", "", "1"}}},
        {"--port",
         "",
         "N",
         k::count,
         1,
         65535,
         "listen on this port (a loopback relay to the target's own port)",
         {{"serve", "", ""}}},
        {"--print-load",
         "",
         "",
         k::flag,
         0,
         0,
         "print the protocol's `load` line for FILE and exit (for driving a target by hand or "
         "from a script: bench/throughput.sh)",
         {{"serve", "", ""}}},
        {"--fuzzer",
         "",
         "NAME",
         k::text,
         0,
         0,
         "http_bytes | lifecycle | scenario_loader (also fuzz_http, fuzz_lifecycle, "
         "fuzz_scenario)",
         {{"repro", "", "a folder of that name in ARTIFACT's path"}}},
        {"--fuzz-binary",
         "",
         "BIN",
         k::text,
         0,
         0,
         "the libFuzzer binary",
         {{"repro",
           "",
           "lifecheck_fuzz_NAME in build/fuzz/fuzz or beside this lifecheck, or "
           "$LIFECHECK_FUZZ_BIN_DIR"}}},
        {"--no-minimize", "", "", k::flag, 0, 0, "do not run -minimize_crash", {{"repro", "", ""}}},
        {"--max-scopes",
         "",
         "K",
         k::count,
         1,
         4,
         "at most K scopes per app, root included",
         {{"prop", "", "4"}}},
        {"--dialect",
         "",
         "D",
         k::text,
         0,
         0,
         "fastify or koa: koa apps of 1-6 middleware (next once, never, twice; down/up "
         "ACTIONs; flags; the error listener), for --target in-process, reference or koa",
         {{"prop", "", "fastify"}}},
        {"--faults",
         "",
         "F",
         k::text,
         0,
         0,
         "in-process only: seeded engine faults (comma-separated names; see `lifecheck "
         "mutants`)",
         {{"prop", "", ""}}},
        {"--no-idle",
         "",
         "",
         k::flag,
         0,
         0,
         "wait for the D4 quiet window after each scenario even when the target answers idle "
         "(scenario-format 3.1; to compare, or when a target's idle comes too early)",
         {{"run", "", ""}, {"prop", "", ""}}},
        {"--no-shrink",
         "",
         "",
         k::flag,
         0,
         0,
         "report the first failing case as generated",
         {{"prop", "", ""}}},
        {"--junit",
         "",
         "FILE",
         k::text,
         0,
         0,
         "JUnit XML report",
         {{"run", "", "reports/junit.xml"}, {"sweep", "", "reports/sweep/junit.xml"}}},
        {"--json",
         "",
         "FILE",
         k::text,
         0,
         0,
         "JSON report; target logs (stderr) go to logs/ beside it",
         {{"run", "", "reports/results.json"}, {"sweep", "", "reports/sweep/results.json"}}},
        {"--html",
         "",
         "FILE",
         k::text,
         0,
         0,
         "HTML report with lifecycle diagrams",
         {{"run", "", "index.html beside the JSON report: reports/index.html"}}},
        {"--sarif",
         "",
         "FILE",
         k::text,
         0,
         0,
         "SARIF 2.1.0 report: each failing scenario at its file and line, for code scanning "
         "(github/codeql-action/upload-sarif)",
         {{"run", "", "results.sarif beside the JSON report: reports/results.sarif"}}},
        {"--format",
         "",
         "FMT",
         k::text,
         0,
         0,
         "text, or github: the text plus a GitHub Actions ::error annotation (the scenario "
         "file's line of the failing step) for each failing scenario",
         {{"run", "", "github when GITHUB_ACTIONS=true, else text"}}},
        {"--quiet",
         "-q",
         "",
         k::flag,
         0,
         0,
         "print only the failures and the summary (colour follows NO_COLOR and the terminal)",
         {{"run", "", ""}}},
        {"--out",
         "",
         "DIR",
         k::text,
         0,
         0,
         "the folder the command writes its files into",
         {{"repro",
           ": the scenario and the report (FILE.json: STEM.md, STEM.js, STEM.requests.sh)",
           "reports/repro"},
          {"prop", ": the counterexample", "reports/counterexamples"}}},
        {"--logs",
         "",
         "DIR",
         k::text,
         0,
         0,
         "where target stderr goes",
         {{"changelog", "", "reports/logs"}, {"bisect", "", "reports/logs"}}},
        {"--table",
         "",
         "RANGE",
         k::optional,
         0,
         0,
         "run each minor's newest release in the range instead of bisecting, and print the "
         "version table (result per release) and every change in it",
         {{"bisect", "; the range is --target's (no RANGE here)", ""},
          {"repro",
           "; FILE.json only: the table over RANGE (--table=fastify@5..latest, or 5..latest), "
           "written into the report",
           "the target's major: fastify@5"}}},
        {"--every-release",
         "",
         "",
         k::flag,
         0,
         0,
         "with --table: every release in the range, not each minor's newest",
         {{"bisect", "", ""}, {"changelog", " (with --target NAME@A..B)", ""}}},
        {"--keep",
         "",
         "N",
         k::count,
         0,
         no_limit,
         "prune: keep the N newest cached releases of each package",
         {{"releases", "", ""}}},
        {"--release-cache",
         "",
         "DIR",
         k::text,
         0,
         0,
         "where releases named by --target NAME@VERSION are installed (sets "
         "LIFECHECK_RELEASE_CACHE; docs/releases.md)",
         {{"run", "", "${XDG_CACHE_HOME:-~/.cache}/lifecheck/releases"},
          {"record", "", "${XDG_CACHE_HOME:-~/.cache}/lifecheck/releases"},
          {"serve", "", "${XDG_CACHE_HOME:-~/.cache}/lifecheck/releases"},
          {"sweep", "", "${XDG_CACHE_HOME:-~/.cache}/lifecheck/releases"},
          {"repro", "", "${XDG_CACHE_HOME:-~/.cache}/lifecheck/releases"},
          {"changelog", "", "${XDG_CACHE_HOME:-~/.cache}/lifecheck/releases"},
          {"bisect", "", "${XDG_CACHE_HOME:-~/.cache}/lifecheck/releases"},
          {"releases", "", "${XDG_CACHE_HOME:-~/.cache}/lifecheck/releases"}}},
        {"--offline",
         "",
         "",
         k::flag,
         0,
         0,
         "never ask the npm registry: versions resolve among the adapter's installed and the "
         "cached releases, a release not there is an error (sets LIFECHECK_OFFLINE=1)",
         {{"run", "", ""},
          {"record", "", ""},
          {"serve", "", ""},
          {"sweep", "", ""},
          {"repro", "", ""},
          {"changelog", "", ""},
          {"bisect", "", ""},
          {"releases", "", ""}}},
        {"--jobs",
         "-j",
         "N",
         k::count,
         1,
         256,
         "run N scenarios (or offsets) at once, one target process each; auto: one per core",
         {{"run", "", "auto"},
          {"changelog", "; per target", "2"},
          {"sweep", "", "2"},
          {"mutants", "; corpus part", "2"},
          {"validate", one_at_a_time, ""},
          {"record", one_at_a_time, ""},
          {"serve", one_at_a_time, ""},
          {"repro", one_at_a_time, ""},
          {"prop",
           "; socket targets: N target processes judge cases at once, same cases and "
           "counterexample as -j 1 (in-process: one at a time)",
           "1"},
          {"bisect", one_at_a_time, ""},
          {"releases", one_at_a_time, ""}},
         "auto"},
        {"--deadline",
         "",
         "MS",
         k::count,
         1,
         no_limit,
         "time a request has to get its end before it is a hang",
         {{"run", "", "5000"},
          {"record", "", "5000"},
          {"changelog", "", "5000"},
          {"bisect", "", "5000"},
          {"sweep", "", "5000"},
          {"repro", "", "5000"},
          {"prop", "; socket targets only", "5000"},
          {"mutants", "", "5000"}}},
        {"--seed",
         "",
         "N",
         k::seed,
         0,
         0,
         "the seed that makes the run repeatable; printed with the command that repeats it",
         {{"run", "", "random"},
          {"prop", " (RapidCheck's)", "random"},
          {"mutants", " (the property's RapidCheck seed: the same cases every run)", "1"}}},
        {"--cases",
         "",
         "N",
         k::count,
         1,
         100'000'000,
         "generated property cases",
         {{"prop", " that must pass", "1000"}, {"mutants", " per fault", "2000"}}},
        {"--progress",
         "",
         "",
         k::flag,
         0,
         0,
         "show a progress line on stderr",
         {{"run", "", "only on a terminal"}, {"prop", "", "only on a terminal"}}},
        {"--no-progress",
         "",
         "",
         k::flag,
         0,
         0,
         "never show the progress line",
         {{"run", "", ""}, {"prop", "", ""}}},
        {"--with-plugin",
         "",
         "NAME[@VERSION][:OPTIONS_JSON]",
         k::text,
         0,
         0,
         "run every scenario twice on the one --target (real Fastify), without and then with this "
         "npm plugin registered first at the root, and report what changed (trace, status, "
         "invariants: the plugin delta); the run with it checks invariants only. NAME: an "
         "installed package, NODE_PATH, or a path; repeat to register several, in order",
         {{"run", "", ""}}},
        {"--fail-on-skip",
         "",
         "",
         k::flag,
         0,
         0,
         "a skipped scenario (the target said unsupported, or --exclude) fails the run: exit 1 (a "
         "target that runs none of the selection exits 2 without it)",
         {{"run", "", ""}}},
        {"--verbose",
         "",
         "",
         k::flag,
         0,
         0,
         "pass the targets' stderr through (default: into logs/ beside the reports)",
         {{"run", "", ""},
          {"record", "", ""},
          {"serve", "", ""},
          {"repro", "", ""},
          {"changelog", "", ""},
          {"bisect", "", ""},
          {"sweep", "", ""},
          {"prop", "", ""},
          {"mutants", "", ""}}},
    };
    return table;
}

namespace {

option_use const* use_in(option_spec const& o, std::string_view command) {
    for (option_use const& u : o.uses)
        if (u.command == command)
            return &u;
    return nullptr;
}

command_spec const* find_command(std::string_view name) {
    for (command_spec const& c : command_table())
        if (c.name == name)
            return &c;
    return nullptr;
}

/// "  LABEL   help" with the help wrapped at 96 columns, continuation lines under the help.
void option_line(std::string& out, std::string const& label, std::string const& help) {
    constexpr std::size_t column = 27;
    constexpr std::size_t width = 96;
    std::string line = "  " + label;
    if (line.size() + 1 > column) {
        out += line + '\n';
        line.clear();
    }
    line.resize(column, ' ');
    std::size_t pos = 0;
    bool first_word = true;
    while (pos < help.size()) {
        std::size_t const end = std::min(help.find(' ', pos), help.size());
        std::string const word = help.substr(pos, end - pos);
        if (!first_word && line.size() + 1 + word.size() > width) {
            out += line + '\n';
            line.assign(column, ' ');
            first_word = true;
        }
        line += (first_word ? "" : " ") + word;
        first_word = false;
        pos = end + 1;
    }
    out += line + '\n';
}

std::string label_of(option_spec const& o) {
    std::string const value = o.metavar.empty()                ? ""
                              : o.kind == value_kind::optional ? "[=" + std::string{o.metavar} + "]"
                                                               : " " + std::string{o.metavar};
    std::string label = std::string{o.name} + value;
    if (!o.alias.empty())
        label = std::string{o.alias} + value + ", " + label;
    return label;
}

bool all_digits(std::string_view s) {
    return !s.empty() &&
           std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

/// The option `arg` names, and the value written into it ("--x=V", "-jN"), if any.
option_spec const* match(std::string const& arg, std::optional<std::string>& inline_value) {
    for (option_spec const& o : option_table()) {
        for (std::string_view n : {o.name, o.alias}) {
            if (n.empty())
                continue;
            if (arg == n)
                return &o;
            if (arg.size() > n.size() && arg.compare(0, n.size(), n) == 0 && arg[n.size()] == '=') {
                inline_value = arg.substr(n.size() + 1);
                return &o;
            }
            // -jN: a short option with its number attached
            if (n.size() == 2 && arg.compare(0, 2, n) == 0 && all_digits(arg.substr(2))) {
                inline_value = arg.substr(2);
                return &o;
            }
        }
    }
    return nullptr;
}

std::optional<unsigned long long> parse_seed(std::string const& text) {
    if (!all_digits(text) || text.size() > 20)
        return std::nullopt;
    try {
        return std::stoull(text);
    } catch (std::exception const&) {
        return std::nullopt; // above 2^64-1
    }
}

} // namespace

std::string main_help() {
    std::string out = R"(usage: lifecheck COMMAND [options] ...

lifecheck checks web-framework request lifecycles: it runs scenario files against targets
(the reference server, real Fastify through its adapter, any program that speaks the target
protocol) and compares responses, callback traces and invariants.

commands:
)";
    for (command_spec const& c : command_table())
        option_line(
            out, std::string{c.name} + " " + std::string{c.synopsis}, std::string{c.summary});
    out += "\noptions shared by the commands (each command's --help lists its own):\n";
    for (option_spec const& o : option_table()) {
        if (o.uses.size() < 2)
            continue;
        std::string help{o.help};
        help += " [";
        for (std::size_t i = 0; i < o.uses.size(); ++i)
            help += (i ? " " : "") + std::string{o.uses[i].command};
        option_line(out, label_of(o), help + "]");
    }
    option_line(out, "-h, --help", "show this help (COMMAND --help: that command's help)");
    option_line(out, "--version", "print the version");
    out += "\nexit codes: 0 all pass, 1 some fail/crash/hang, 2 invalid input or usage, 3 internal "
           "error, 130/143 run stopped by SIGINT/SIGTERM (reports written)\n";
    return out;
}

std::string command_help(std::string_view command) {
    command_spec const* c = find_command(command);
    if (!c)
        return main_help();
    std::string out = "usage: lifecheck " + std::string{c->name} + " " + std::string{c->synopsis} +
                      "\n\n" + std::string{c->description} + "\noptions:\n";
    for (option_spec const& o : option_table()) {
        option_use const* u = use_in(o, command);
        if (!u)
            continue;
        std::string help = std::string{o.help} + std::string{u->note};
        if (!u->fallback.empty())
            help += " (default " + std::string{u->fallback} + ")";
        option_line(out, label_of(o), help);
    }
    option_line(out, "-h, --help", "show this help");
    if (!c->examples.empty())
        out += "\nexamples:\n" + indent(std::string{c->examples}, 2);
    out += "\nexit codes: " + std::string{c->exit_codes};
    return out;
}

int usage_error(std::string_view command, std::string const& problem) {
    std::cerr << "lifecheck " << command << ": " << problem << "\n\n" << command_help(command);
    return exit_usage;
}

bool parsed_args::has(std::string_view name) const {
    return values_.find(name) != values_.end();
}

std::string parsed_args::text(std::string_view name, std::string const& fallback) const {
    auto const it = values_.find(name);
    return it == values_.end() ? fallback : it->second.back();
}

std::vector<std::string> parsed_args::all(std::string_view name) const {
    auto const it = values_.find(name);
    return it == values_.end() ? std::vector<std::string>{} : it->second;
}

std::optional<long long> parsed_args::count(std::string_view name) const {
    return has(name) ? parse_count(text(name)) : std::nullopt;
}

std::optional<unsigned long long> parsed_args::seed(std::string_view name) const {
    return has(name) ? parse_seed(text(name)) : std::nullopt;
}

std::optional<bool> parsed_args::last_of(std::string_view yes, std::string_view no) const {
    for (auto it = order_.rbegin(); it != order_.rend(); ++it)
        if (*it == yes || *it == no)
            return *it == yes;
    return std::nullopt;
}

int jobs_of(parsed_args const& p, int fallback) {
    std::string const value = p.text("--jobs", fallback > 0 ? std::to_string(fallback) : "auto");
    if (value == "auto")
        return static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
    return static_cast<int>(parse_count(value).value_or(1));
}

run::options runner_options(parsed_args const& p) {
    run::options o;
    if (auto const ms = p.count("--deadline"))
        o.deadline = run::milliseconds{*ms};
    o.verbose = p.has("--verbose");
    o.idle = !p.has("--no-idle");
    return o;
}

std::optional<parsed_args>
parse_args(std::string_view command, std::vector<std::string> const& args, int& exit) {
    command_spec const* c = find_command(command);
    parsed_args p;
    p.given = args;
    auto fail = [&](std::string const& problem) {
        exit = usage_error(command, problem);
        return std::nullopt;
    };
    for (std::size_t i = 0; i < args.size(); ++i) {
        std::string const& arg = args[i];
        if (arg == "-h" || arg == "--help") {
            std::cout << command_help(command);
            exit = exit_pass;
            return std::nullopt;
        }
        if (arg.size() < 2 || arg[0] != '-') {
            if (c && p.operands.size() >= c->max_operands)
                return c->max_operands == 0
                           ? fail("unexpected argument " + arg)
                           : fail("one " + std::string{c->operand} + " only, got a second: " + arg);
            p.operands.push_back(arg);
            continue;
        }
        std::optional<std::string> value;
        option_spec const* o = match(arg, value);
        if (!o || !use_in(*o, command))
            return fail("unknown option " + arg);
        std::string const name{o->name};
        if (o->kind == value_kind::flag) {
            if (value)
                return fail(name + " takes no value");
            value.emplace();
        } else if (o->kind == value_kind::optional) {
            if (!value)
                value.emplace(); // the option's default
        } else if (!value) {
            if (i + 1 >= args.size())
                return fail(arg + " needs a value");
            value = args[++i];
        }
        if (o->kind == value_kind::count && (o->word.empty() || *value != o->word)) {
            auto const n = parse_count(*value);
            if (!n || *n < o->min || *n > o->max)
                return fail(arg + " wants " +
                            (o->word.empty() ? "" : std::string{o->word} + " or ") +
                            "a number from " + std::to_string(o->min) +
                            (o->max == no_limit ? "" : " to " + std::to_string(o->max)) +
                            ", got \"" + *value + "\"");
        }
        if (o->kind == value_kind::seed && !parse_seed(*value))
            return fail(arg + " wants a number from 0 to 2^64-1, got \"" + *value + "\"");
        p.values_[name].push_back(*value);
        p.order_.push_back(name);
    }
    if (c && p.operands.size() < c->min_operands)
        return fail(std::string{c->missing});
    return p;
}

} // namespace lifecheck::cli
