// Dispatches `lifecheck COMMAND ...` to the subcommands through the command table; --help and
// --version.
#include "harness/cli/cli.hpp"

#include "harness/cli/args.hpp"
#include "harness/cli/options.hpp"
#include "harness/protocol/target.hpp"
#include "harness/report/report.hpp"

#include <cstdlib>
#include <exception>
#include <iostream>
#include <limits>

namespace lifecheck::cli {

std::vector<command_spec> const& command_table() {
    constexpr std::size_t many = std::numeric_limits<std::size_t>::max();
    static std::vector<command_spec> const table{
        {"run",
         "[options] PATH...",
         "run scenarios against one or more targets; JUnit, JSON, HTML and SARIF reports",
         R"(Runs scenario files (PATH: files or folders, searched recursively for *.json) against one or
more targets, checks responses, traces and invariants, and writes JUnit, JSON, HTML and SARIF
reports. Each failure prints its findings, the side-by-side trace diff and the command that
replays it. Files are shown relative to the current folder. Results print in file order
whatever -j is. Verdicts are coloured on a terminal unless NO_COLOR is set (no-color.org).
SIGINT or SIGTERM (Ctrl-C, a cancelled CI job) stops the run cleanly: the targets are stopped,
the scenarios not run are reported skipped ("interrupted"), the reports are written.
With --with-plugin, each scenario runs on the target without and then with an npm plugin at the
root, and the plugin delta lists every scenario whose trace, status or invariants changed
(docs/plugins.md).
)",
         R"(lifecheck run scenarios/
lifecheck run --target fastify scenarios/fastify/errors
lifecheck run --target reference --target fastify scenarios/
lifecheck run --filter 'fastify/streams/*' --exclude 'fastify/timeouts/**=slow' -j 2 scenarios/
lifecheck run --list --tag errors -k abort scenarios/
lifecheck run --format github --fail-fast -q scenarios/
lifecheck run --rerun-failed
lifecheck run --rerun-failed=old/results.json --target fastify
lifecheck run --target fastify --with-plugin '@fastify/cors:{"origin":"*"}' -j 2 scenarios/fastify
)",
         R"(0 all passed (skips and documented divergences included), 1 some scenario failed,
crashed, hung or errored (with --with-plugin: the run without the plugin failed, or the run
with it broke an invariant, crashed or hung; a changed trace or status alone is 0), 2 invalid
scenarios or usage (a plugin that is not installed, or that the target refuses; a target
that ran none of the selected scenarios, all unsupported: --target koa on Fastify ones), 3 internal
error of lifecheck, 130 / 143 stopped by SIGINT / SIGTERM (reports written, the rest skipped)
)",
         0,
         many,
         "PATH",
         "no scenario files or folders given",
         run_command},
        {"validate",
         "[options] PATH...",
         "load scenario files and print every problem; run nothing",
         R"(Loads scenario files (PATH: files or folders, searched recursively for *.json) with the strict
loader and prints every problem as `file: $.path: expected X, got Y`. Nothing is run.
)",
         "lifecheck validate scenarios/\n",
         "0 all files valid, 2 some file is invalid (or no files, or a usage error)\n",
         1,
         many,
         "PATH",
         "no scenario files or folders given",
         validate_command},
        {"serve",
         "FILE [options]",
         "load one scenario's app into a target and print its events (for curl)",
         R"(Starts the target, loads the app of scenario FILE, prints `listening on http://127.0.0.1:PORT`
and then every event the target reports, one JSON line each, until Ctrl-C. For poking the app
with curl: curl -H 'x-lifecheck-req: r1' http://127.0.0.1:PORT/...
)",
         "lifecheck serve scenarios/fastify/readiness/delay-accepting-requests-guide.json\n",
         "0 stopped by Ctrl-C, 1 the target died, 2 invalid scenario or usage\n",
         1,
         1,
         "scenario file",
         "no scenario file given",
         serve_command},
        {"record",
         "[options] FILE...",
         "run scenarios on a target and write what it did into their `expect`",
         R"(Runs each scenario's steps against target T (fastify, fastify@VERSION, reference or a command
line) twice and writes what it observed into every step's `expect`: status, the headers that
matter (content-type, retry-after and any header the expect already lists), body (json when
the content-type is JSON, else text), complete, connection, aborted, trace and endAt (or
`reached: false`). Only what changed is written: a value that stays keeps its bytes, a new or
changed one is written in the layout around it, and the rest of the file is kept byte for byte.
Every file is checked before the target starts; an invalid one is reported and not run. A
scenario whose two runs differ is unstable and is not written; nor is one on which the target
crashed or hung.
)",
         "lifecheck record --target fastify scenarios/fastify/hooks/new-case.json\n",
         R"(0 every file recorded, 1 some scenario unstable, crashed or hung, 2 invalid
scenario or usage, 3 internal error
)",
         1,
         many,
         "FILE",
         "no scenario files given",
         record_command},
        {"repro",
         "ARTIFACT | FILE.json [options]",
         "a fuzz crash artifact, or a scenario file (a crash report), as a report to paste",
         R"(Two inputs, told apart by the name: FILE.json (without --fuzzer) is a scenario file, anything
else a fuzz crash artifact (libFuzzer names them crash-SHA1).

FILE.json: writes a Markdown report ready to paste upstream (docs/repro.md): the title and the
scenario's description; the app as a minimal JavaScript program that uses the Fastify (or Koa)
API directly (generated by server_under_test/DIALECT/repro.mjs; it runs with plain `node` after
`npm i fastify@X`); the steps as curl commands (raw bytes: a node one-liner); expected (the
scenario's `expect`) vs actual on each --target (default: the scenario's dialect), with the
target's stderr when it crashed; with --table the version table. What the generator cannot
write is listed and marked `// not generated: ...`, never written wrong. Writes OUT/STEM.md,
OUT/STEM.js and OUT/STEM.requests.sh (the commands as a script: PORT=N sh STEM.requests.sh).

ARTIFACT: turns a crash artifact of a fuzz target (fuzz/README.md) into a scenario file, replays
it over sockets against the reference server (and every --target), and writes a report: what
crashed, the minimal scenario, the commands to rerun. Where the libFuzzer binary is found, the
artifact is first minimized with -minimize_crash=1 and re-run to capture the crash message.

How an artifact becomes a scenario (fuzz/decode.hpp decodes it exactly as the fuzzer did):
  http_bytes       the bytes become one `raw` step against the fuzzer's fixed app
  lifecycle        the bytes decode to the app + steps; `expect` is filled from the model
  scenario_loader  the bytes are a scenario file (run) or a loader input (`lifecheck validate`)
)",
         R"(lifecheck repro scenarios/reports/fastify-5919-locked-response-body-async-onsend.json --target fastify@5.10.0
lifecheck repro scenarios/reports/fastify-5919-locked-response-body-async-onsend.json --target fastify@5.10.0 --table=fastify@5.2..latest
lifecheck repro build/fuzz/fuzz/artifacts/lifecycle/crash-...
)",
         R"(0 the scenario passes everywhere (not reproduced), 1 reproduced (some target
fails, crashes or hangs, or the loader input crashes `lifecheck validate`), 2 usage error,
an invalid scenario or an unreadable artifact, 3 internal error
)",
         1,
         1,
         "ARTIFACT",
         "no ARTIFACT or FILE.json given",
         repro_command},
        {"changelog",
         "(--from TARGET --to TARGET | --target NAME@A..B) [options] [PATH...]",
         "run scenarios on two releases (or a range of them) and list what changed",
         R"(Runs the scenarios (default: the repository's scenarios/ folder) on two targets, usually two
releases of one framework (fastify@5.2.0 and fastify@5.12.8), and lists every scenario whose
result class, status, trace or body changed between them, step by step. A NAME@VERSION target
takes every spec --target takes (4.26.2, 4, ^5.2, latest, file:PATH; docs/releases.md): a
release not installed is installed into the release cache first.
--target NAME@A..B takes bisect's ranges instead: it runs the releases of the range that
`bisect --table` runs (each minor's newest; --every-release: every release) and lists what
changed between each release and the one before it.
)",
         "lifecheck changelog --from fastify@5.10.0 --to fastify@5.11.0 scenarios/fastify/seeds\n"
         "lifecheck changelog --from fastify@4 --to fastify@latest scenarios/fastify/errors\n"
         "lifecheck changelog --target fastify@5.10..5.11 scenarios/fastify/seeds\n"
         "lifecheck changelog --target fastify@5..latest --every-release scenarios/reports\n",
         R"(0 nothing changed, 1 some scenario changed (between some two neighbouring releases),
2 usage, invalid scenarios or a range with fewer than two releases, 3 internal error
)",
         0,
         many,
         "PATH",
         "",
         changelog_command},
        {"bisect",
         "FILE --target NAME@A..B [options]",
         "find the first release where a scenario's result changes; or a version table",
         R"(Runs scenario FILE on the releases of NAME (fastify, koa) in the range A..B, from the registry's
list of published versions (prereleases only when an end names one), each installed into the
release cache on first use (docs/releases.md). Bisect: runs both ends, then halves the range
until it finds the first release whose result (pass, fail, crash, hang, unsupported, error)
differs from A's: about log2(n) runs for n releases. Prints each run (version and result),
the boundary, how many releases it ran of how many, and the commands that confirm it. It
assumes the result changes once; a result that changes back and forth shows with --table.
--table runs each minor's newest release in the range (--every-release: every release) and
prints the version table and every change in it.
)",
         R"(lifecheck bisect scenarios/fastify/seeds/locked-webstream-async-onsend.json --target fastify@5.0.0..5.12.8
lifecheck bisect scenarios/fastify/seeds/locked-webstream-async-onsend.json --target fastify@5..latest --table
lifecheck bisect --offline FILE --target fastify@5.10.0..5.11.0
)",
         R"(0 a boundary was found (--table: some release differs from the first), 1 the result is
the same at both ends (--table: on every release), 2 usage, an invalid scenario, a range with
no release, or a release that cannot be installed, 3 internal error
)",
         1,
         1,
         "scenario FILE",
         "no scenario FILE given",
         bisect_command},
        {"releases",
         "list | install NAME@SPEC... | prune (--keep N | NAME@SPEC...) [options]",
         "list, install or prune the releases in the per-user release cache",
         R"(The release cache holds one folder per exact release, NAME@VERSION/, installed by
`npm install --ignore-scripts` with the registry npm is configured for; the package-lock.json
npm writes there keeps the integrity hashes. --target NAME@VERSION installs into it on first
use; this command does it ahead (before going offline, or in a CI image) and cleans up.
  list               every release the adapters have installed beside them and every cached one
  install SPEC...    install what each NAME@SPEC names (a range: every release in it)
  prune --keep N     remove all but the N newest cached releases of each package
  prune SPEC...      remove the cached releases each NAME@SPEC names
The cache is $LIFECHECK_RELEASE_CACHE, else ${XDG_CACHE_HOME:-~/.cache}/lifecheck/releases;
the registry's version list is cached beside it for a day (when the registry does not answer:
the last list; --offline: the installed and cached releases only).
)",
         R"(lifecheck releases list
lifecheck releases install fastify@4.26.2 fastify@5.2 koa@2.15.0
lifecheck releases install fastify@5.0.0..5.12.8
lifecheck releases prune --keep 3
)",
         R"(0 done, 2 usage, or a release that cannot be resolved or installed
)",
         1,
         std::numeric_limits<std::size_t>::max(),
         "",
         "no action given: list, install or prune",
         releases_command},
        {"sweep",
         "FILE --step ID [options]",
         "abort one request step at every byte offset; check invariants at each",
         R"(Replays request step ID of scenario FILE once per request byte offset N (0..length of the
request's wire bytes): the client writes exactly N bytes, then closes its socket
(abortAfterRequestBytes N). The steps before ID run as the scenario has them; the swept step's
`expect` is dropped, so each offset is judged by the invariants (scenario-format §4 I1-I7: one
`end`, phase order, onResponse at most once, the target stays alive) and by crash and hang
detection. Each offset is reported as scenario "ID@N"; only offsets that fail are printed in
full.
)",
         "lifecheck sweep scenarios/fastify/aborts/sweep-post-200-bytes.json --step p1\n",
         R"(0 no offset broke an invariant, 1 some offset failed, crashed or hung,
2 usage or invalid scenario, 3 internal error
)",
         1,
         1,
         "scenario FILE",
         "no scenario FILE given",
         sweep_command},
        {"prop",
         "[options]",
         "generated scenarios vs the model (RapidCheck); shrunk counterexamples",
         R"(Generates fastify-dialect scenarios (RapidCheck: apps of nested scopes, hooks with every verb,
error handlers, routes, payloads; requests, aborts, parallel groups, flags), runs each on a
target and compares every step with the model's prediction (trace, endAt, status, body,
complete, aborted) and with invariants I1-I7. A failing case is shrunk to a minimal one and
written as an ordinary scenario file (expect filled from the model) that `lifecheck run`
replays. Cases whose outcome the model cannot decide (a race within 20 ms), and over sockets
cases where it predicts a hang or a Fastify crash, are discarded and counted. On a socket
target, -j N runs N target processes that judge cases at once; the cases, the counterexample
and its shrinking are the same as with -j 1 (later cases run speculatively beside earlier ones).
)",
         R"(lifecheck prop --cases 10000
lifecheck prop --target reference --cases 1000 -j 2
lifecheck prop --target fastify --cases 1000 --seed 1 -j 2
)",
         R"(0 every case agreed with the model, 1 a counterexample was found, 2 usage,
3 the campaign could not run (the target did not start, too many discarded cases, internal
error)
)",
         0,
         0,
         "",
         "",
         prop_command},
        {"mutants",
         "[options]",
         "seeded engine faults vs the corpus and the property: mutation score",
         R"(Proves the checks are not vacuous. For each seeded fault of the reference engine
(engine/faults.hpp; builds with LIFECHECK_FAULTS): runs the scripted corpus against
`lifecheck-reference --faults F` over sockets, and the property (generated cases, engine
in-process == model, I1-I7) with the fault. A fault is killed when a corpus scenario that
passes on the clean reference fails, crashes or hangs with it, or when the property finds a
counterexample. Prints who kills each fault (scenario and finding, or the shrunk
counterexample's first disagreement) and the mutation score.
)",
         "lifecheck mutants\nlifecheck mutants --no-corpus --fault onresponse-twice --cases 500\n",
         R"(0 every fault killed, 1 some fault survived, 2 usage or invalid scenarios,
3 internal error (the reference did not start, the clean corpus run failed to run)
)",
         0,
         0,
         "",
         "",
         mutants_command},
    };
    return table;
}

int main(std::vector<std::string> const& args) {
    protocol::ignore_sigpipe(); // a dead target or peer is an error code, never a signal
    if (args.empty()) {
        std::cerr << main_help();
        return exit_usage;
    }
    std::string const& command = args.front();
    std::vector<std::string> const rest(args.begin() + 1, args.end());
    try {
        if (command == "-h" || command == "--help" || command == "help") {
            std::cout << main_help();
            return exit_pass;
        }
        if (command == "--version" || command == "version") {
            std::cout << "lifecheck " << report::lifecheck_version() << '\n';
            return exit_pass;
        }
        for (command_spec const& c : command_table()) {
            if (c.name != command)
                continue;
            int exit = exit_pass;
            auto const p = parse_args(c.name, rest, exit);
            if (!p)
                return exit;
            // The release options reach target resolution through the environment.
            if (p->has("--release-cache"))
                ::setenv("LIFECHECK_RELEASE_CACHE", p->text("--release-cache").c_str(), 1);
            if (p->has("--offline"))
                ::setenv("LIFECHECK_OFFLINE", "1", 1);
            return c.run(*p);
        }
    } catch (std::exception const& e) {
        std::cerr << "lifecheck " << command << ": internal error: " << e.what() << '\n';
        return exit_internal;
    }
    std::cerr << "lifecheck: unknown command \"" << command << "\"\n\n" << main_help();
    return exit_usage;
}

} // namespace lifecheck::cli
