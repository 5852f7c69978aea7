// `lifecheck repro`: turns a fuzz crash artifact into a scenario file, replays it, writes a report.
#include "fuzz/decode.hpp"
#include "harness/cli/args.hpp"
#include "harness/cli/cli.hpp"
#include "harness/model/model.hpp"
#include "harness/report/report.hpp"
#include "harness/run/runner.hpp"
#include "harness/scenario/load.hpp"

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <iterator>
#include <sstream>

#include <sys/wait.h>

namespace lifecheck::cli {
namespace {

namespace fs = std::filesystem;

struct repro_args {
    fs::path artifact;
    std::optional<fuzz::target_kind> fuzzer;
    std::vector<std::string> targets;
    fs::path out = "reports/repro";
    std::optional<fs::path> fuzz_binary;
    bool minimize = true;
    run::options opts;
};

std::optional<int> parse(parsed_args const& p, repro_args& a) {
    a.artifact = p.operands.front();
    if (p.has("--fuzzer")) {
        a.fuzzer = fuzz::parse_target(p.text("--fuzzer"));
        if (!a.fuzzer)
            return usage_error("repro", "unknown fuzzer " + p.text("--fuzzer"));
    }
    a.targets = p.all("--target");
    a.out = p.text("--out", a.out.string());
    if (p.has("--fuzz-binary"))
        a.fuzz_binary = fs::path{p.text("--fuzz-binary")};
    a.minimize = !p.has("--no-minimize");
    a.opts = runner_options(p);
    if (!a.fuzzer)
        for (auto const& part : a.artifact.parent_path())
            if (auto k = fuzz::parse_target(part.string()))
                a.fuzzer = k;
    if (!a.fuzzer)
        return usage_error("repro",
                           "cannot tell which fuzz target made " + a.artifact.string() +
                               ": pass --fuzzer");
    return std::nullopt;
}

std::string read_all(fs::path const& p) {
    std::ifstream in{p, std::ios::binary};
    return {std::istreambuf_iterator<char>{in}, std::istreambuf_iterator<char>{}};
}

/// A short stable name: the 8 hex digits after libFuzzer's "crash-" (its sha1), else FNV-1a.
std::string short_hash(fs::path const& artifact, std::string const& bytes) {
    std::string const name = artifact.filename().string();
    auto const dash = name.find('-');
    if (dash != std::string::npos && name.size() >= dash + 9) {
        std::string const hex = name.substr(dash + 1, 8);
        if (hex.find_first_not_of("0123456789abcdef") == std::string::npos)
            return hex;
    }
    std::uint64_t h = 1469598103934665603ull;
    for (char c : bytes) {
        h ^= static_cast<unsigned char>(c);
        h *= 1099511628211ull;
    }
    char buf[24];
    std::snprintf(buf, sizeof buf, "%08llx", static_cast<unsigned long long>(h >> 32));
    return buf;
}

/// Runs a shell command; its exit status as `lifecheck run` reports processes ("exit 1",
/// "signal 6").
struct command_result {
    int code = -1; // exit code, -1 when killed by a signal
    int signal = 0;
};

command_result shell(std::string const& command) {
    int const st = std::system(command.c_str());
    command_result r;
    if (st == -1)
        return r;
    if (WIFEXITED(st))
        r.code = WEXITSTATUS(st);
    else if (WIFSIGNALED(st))
        r.signal = WTERMSIG(st);
    return r;
}

std::optional<fs::path> find_fuzz_binary(repro_args const& a) {
    std::string const name = std::string{"lifecheck_fuzz_"} + fuzz::to_string(*a.fuzzer);
    if (a.fuzz_binary)
        return fs::exists(*a.fuzz_binary) ? std::optional<fs::path>{*a.fuzz_binary} : std::nullopt;
    std::vector<fs::path> places;
    if (char const* dir = std::getenv("LIFECHECK_FUZZ_BIN_DIR"))
        places.push_back(fs::path{dir} / name);
    fs::path const self = run::self_exe();
    if (!self.empty())
        places.push_back(self.parent_path() / "fuzz" / name);
    fs::path const src = run::source_dir(self);
    if (!src.empty())
        places.push_back(src / "build" / "fuzz" / "fuzz" / name);
    for (fs::path const& p : places)
        if (fs::exists(p))
            return p;
    return std::nullopt;
}

/// The first line that says what went wrong in a fuzzer's output.
std::string crash_line(std::string const& log) {
    std::istringstream in{log};
    std::string line;
    std::string fallback;
    while (std::getline(in, line)) {
        if (line.rfind("lifecheck-fuzz:", 0) == 0 ||
            line.find("lifecheck assertion failed") != std::string::npos)
            return line;
        if (fallback.empty() && (line.find("ERROR: AddressSanitizer") != std::string::npos ||
                                 line.find("runtime error:") != std::string::npos ||
                                 line.find("ERROR: libFuzzer") != std::string::npos))
            fallback = line;
    }
    return fallback;
}

/// The fault report's verdict on real Fastify (fuzz/fastify_replay.hpp): the line
/// "lifecheck-fuzz: real Fastify ..." and the indented lines under it; "" when there is none.
std::string fastify_lines(std::string const& log) {
    std::istringstream in{log};
    std::string line;
    std::string out;
    while (std::getline(in, line)) {
        if (out.empty()) {
            if (line.rfind("lifecheck-fuzz: real Fastify", 0) == 0)
                out = line + "\n";
        } else if (line.rfind("  ", 0) == 0) {
            out += line + "\n";
        } else {
            break;
        }
    }
    return out;
}

/// The scenario document for an artifact, with notes on what it could not keep.
struct decoded {
    std::optional<scenario::json> doc; // nothing: a loader input that is not a scenario
    std::vector<std::string> notes;
    std::string loader_problems; // scenario_loader: why the loader rejects it
};

decoded decode_http(std::string const& bytes) {
    fuzz::http_scenario hs = fuzz::http_scenario_of(
        fuzz::decode_http(reinterpret_cast<std::uint8_t const*>(bytes.data()), bytes.size()));
    decoded d;
    d.doc = std::move(hs.doc);
    d.notes = std::move(hs.notes);
    return d;
}

decoded decode_lifecycle(std::string const& bytes) {
    decoded d;
    auto const* data = reinterpret_cast<std::uint8_t const*>(bytes.data());
    scenario::json doc = fuzz::decode_lifecycle_json(data, bytes.size());
    auto const sc = fuzz::decode_lifecycle(data, bytes.size());
    if (!sc.has_value()) {
        d.notes.push_back("HARNESS FAULT: the decoder produced a scenario the loader rejects");
        d.doc = std::move(doc);
        return d;
    }
    // The oracle's prediction becomes the expectation, so `lifecheck run` fails where the
    // reference and the model disagree (steps the model cannot decide stay unchecked).
    std::size_t filled = 0;
    for (model::step_prediction const& p : model::predict(sc.value())) {
        if (!p.deterministic || p.crash)
            continue;
        for (scenario::json& step : doc["steps"]) {
            if (step.value("id", "") != p.step_id)
                continue;
            scenario::json expect = scenario::json::object();
            if (!p.reached) {
                expect["reached"] = false;
            } else {
                if (p.status)
                    expect["status"] = *p.status;
                expect["trace"] = p.trace;
                if (p.end_at)
                    expect["endAt"] = *p.end_at;
            }
            step["expect"] = expect;
            ++filled;
        }
    }
    doc["description"] = "fuzz_lifecycle crash reproduction; expect derived from the model "
                         "(harness/model) for " +
                         std::to_string(filled) + " step(s)";
    d.doc = std::move(doc);
    return d;
}

decoded decode_loader_input(std::string const& bytes) {
    decoded d;
    auto const sc = scenario::parse(bytes, "<artifact>", "fuzz/scenario");
    if (sc.has_value()) {
        d.doc = scenario::json::parse(bytes);
        return d;
    }
    for (diagnostic const& p : sc.error())
        d.loader_problems += describe(p) + "\n";
    return d;
}

std::string fenced(std::string const& text) {
    return "```\n" + text + (text.empty() || text.back() == '\n' ? "" : "\n") + "```\n";
}

} // namespace

int repro_command(parsed_args const& args) {
    // A scenario file (FILE.json, no --fuzzer) is a crash report to write up; anything else is a
    // fuzz artifact (libFuzzer names them crash-SHA1, without an extension).
    bool const scenario_file =
        fs::path{args.operands.front()}.extension() == ".json" && !args.has("--fuzzer");
    for (std::string_view fuzz_only : {"--fuzz-binary", "--no-minimize"})
        if (scenario_file && args.has(fuzz_only))
            return usage_error("repro",
                               std::string{fuzz_only} + " is for fuzz artifacts, not " +
                                   args.operands.front());
    if (scenario_file)
        return repro_scenario_command(args);
    if (args.has("--table"))
        return usage_error("repro", "--table is for a scenario file (FILE.json)");
    repro_args a;
    if (auto const code = parse(args, a))
        return *code;
    if (!fs::is_regular_file(a.artifact)) {
        std::cerr << "lifecheck repro: no such file: " << a.artifact.string() << '\n';
        return exit_usage;
    }
    std::string const name_t = fuzz::to_string(*a.fuzzer);
    std::string bytes = read_all(a.artifact);
    std::string const stem = "fuzz-" + short_hash(a.artifact, bytes) + "-" + name_t;
    std::error_code ec;
    fs::create_directories(a.out, ec);
    if (ec) {
        std::cerr << "lifecheck repro: cannot create " << a.out.string() << ": " << ec.message()
                  << '\n';
        return exit_usage;
    }
    std::vector<std::string> notes;

    // 1. Minimize and re-run with the libFuzzer binary, where there is one.
    std::string crash = "(not re-run: no libFuzzer binary found; build the fuzz preset)";
    std::string fastify; // the fault report's verdict on real Fastify, when the binary gave one
    auto const bin = find_fuzz_binary(a);
    fs::path input = a.artifact;
    if (bin) {
        if (a.minimize) {
            fs::path const minimized = a.out / (stem + ".min");
            fs::path const log = a.out / (stem + ".minimize.log");
            // The fuzz binary replays a fault on real Fastify before it aborts; not for each of
            // the minimizer's runs (fuzz/fastify_replay.hpp). libFuzzer's minimizer restarts
            // itself, 60 s each time: say so before the terminal goes quiet for minutes.
            std::cerr << "lifecheck repro: minimizing " << a.artifact.string()
                      << " with -minimize_crash=1 (can take a few minutes; --no-minimize skips "
                         "it; log: "
                      << log.string() << ")\n";
            shell("LIFECHECK_FUZZ_FASTIFY=off " + run::shell_quote(bin->string()) +
                  " -minimize_crash=1 -max_total_time=60 -runs=10000 " +
                  "-exact_artifact_path=" + run::shell_quote(minimized.string()) + " " +
                  run::shell_quote(a.artifact.string()) + " >" + run::shell_quote(log.string()) +
                  " 2>&1");
            if (fs::is_regular_file(minimized) && fs::file_size(minimized) <= bytes.size()) {
                notes.push_back("minimized with -minimize_crash=1 from " +
                                std::to_string(bytes.size()) + " to " +
                                std::to_string(fs::file_size(minimized)) + " bytes");
                input = minimized;
                bytes = read_all(minimized);
            } else {
                notes.push_back(
                    "-minimize_crash=1 kept nothing smaller (the artifact may not crash "
                    "this binary; see " +
                    log.string() + ")");
            }
        }
        fs::path const log = a.out / (stem + ".crash.log");
        command_result const r =
            shell(run::shell_quote(bin->string()) + " " + run::shell_quote(input.string()) + " >" +
                  run::shell_quote(log.string()) + " 2>&1");
        std::string const crash_log = read_all(log);
        std::string const line = crash_line(crash_log);
        fastify = fastify_lines(crash_log);
        crash = r.code == 0
                    ? "the input does not crash " + bin->string() + " (exit 0)"
                    : (line.empty() ? "the fuzz binary failed (exit " + std::to_string(r.code) + ")"
                                    : line);
    }
    {
        std::ofstream f{a.out / (stem + ".bin"), std::ios::binary};
        f << bytes;
    }

    // 2. Decode exactly as the fuzzer did.
    decoded d;
    try {
        switch (*a.fuzzer) {
        case fuzz::target_kind::http_bytes:
            d = decode_http(bytes);
            break;
        case fuzz::target_kind::lifecycle:
            d = decode_lifecycle(bytes);
            break;
        case fuzz::target_kind::scenario_loader:
            d = decode_loader_input(bytes);
            break;
        }
    } catch (std::exception const& e) {
        std::cerr << "lifecheck repro: internal error while decoding: " << e.what() << '\n';
        return exit_internal;
    }
    notes.insert(notes.end(), d.notes.begin(), d.notes.end());

    std::ostringstream md;
    md << "# Crash reproduction " << stem << "\n\n"
       << "- fuzz target: `" << name_t << "`\n- artifact: `" << a.artifact.string() << "` ("
       << read_all(a.artifact).size() << " bytes)\n- what crashed: " << crash << "\n";
    if (!fastify.empty())
        md << "- whom it is about (the fault report's replay on real Fastify):\n\n"
           << fenced(fastify);
    for (std::string const& n : notes)
        md << "- note: " << n << "\n";

    fs::path const self = run::self_exe();
    std::string const lifecheck_cmd = self.empty() ? "lifecheck" : self.string();
    int code = exit_pass;
    std::ostringstream summary;
    std::vector<std::string> rerun;
    if (bin)
        rerun.push_back(run::shell_quote(bin->string()) + " " +
                        run::shell_quote((a.out / (stem + ".bin")).string()));

    if (!d.doc) {
        // A loader input that is not a scenario: the loader is what crashes, through validate.
        fs::path const file = a.out / (stem + ".json");
        {
            std::ofstream f{file, std::ios::binary};
            f << bytes;
        }
        std::string const validate =
            run::shell_quote(lifecheck_cmd) + " validate " + run::shell_quote(file.string());
        command_result const r = shell(validate + " >/dev/null 2>&1");
        bool const crashed = r.code < 0 || r.code == exit_internal;
        md << "\n## Loader input (not a valid scenario)\n\n`" << file.string()
           << "` holds the bytes. The loader's diagnostics:\n\n"
           << fenced(d.loader_problems) << "\n`lifecheck validate` on it: "
           << (crashed ? "CRASHED (signal " + std::to_string(r.signal) + ", exit " +
                             std::to_string(r.code) + ")"
                       : "rejects it cleanly (exit " + std::to_string(r.code) + ")")
           << "\n";
        summary << "loader input " << file.string() << ": validate "
                << (crashed ? "crashes" : "rejects it cleanly") << '\n';
        rerun.push_back(validate);
        code = crashed ? exit_fail : exit_pass;
    } else {
        fs::path const file = a.out / (stem + ".json");
        auto written = report::write_text(file, d.doc->dump(2) + "\n");
        if (!written) {
            std::cerr << "lifecheck repro: " << describe(written.error().front()) << '\n';
            return exit_usage;
        }
        auto sc = scenario::load_file(file);
        if (!sc.has_value()) {
            std::cerr << "lifecheck repro: HARNESS FAULT: the scenario written for the artifact "
                         "does not load:\n";
            for (diagnostic const& p : sc.error())
                std::cerr << "  " << describe(p) << '\n';
            return exit_internal;
        }
        md << "\n## Minimal scenario\n\n`" << file.string() << "`\n\n" << fenced(d.doc->dump(2));

        // 3. Replay over sockets: the reference first, then every --target.
        std::vector<std::string> targets{"reference"};
        for (std::string const& t : a.targets)
            if (t != "reference")
                targets.push_back(t);
        md << "\n## Replay over sockets\n\n";
        auto const specs = resolve_targets("repro", targets);
        if (!specs)
            return exit_usage;
        for (std::size_t k = 0; k < targets.size(); ++k) {
            std::string const& t = targets[k];
            auto const* spec = &(*specs)[k];
            run::options opts = a.opts;
            opts.log_dir = a.out / "logs";
            run::runner runner{spec->text, run::process_factory(*spec, opts, 0), opts};
            run::outcome const out = runner.run(sc.value());
            runner.stop();
            check::verdict const v = out.result.v;
            bool const reproduced = v == check::verdict::fail || v == check::verdict::crash ||
                                    v == check::verdict::hang;
            if (reproduced)
                code = exit_fail;
            std::string const cmd = run::shell_quote(lifecheck_cmd) + " run --target " +
                                    run::shell_quote(t) + " " + run::shell_quote(file.string());
            rerun.push_back(cmd);
            md << "### " << t << ": " << check::to_string(v) << (reproduced ? " (reproduced)" : "")
               << "\n\n";
            if (v != check::verdict::pass)
                md << fenced(report::failure_text(out.result));
            summary << check::to_string(v) << "  " << t << '\n';
            if (v != check::verdict::pass)
                summary << indent(report::failure_text(out.result), 6) << '\n';
        }
    }
    md << "\n## Rerun\n\n";
    for (std::string const& r : rerun)
        md << "    " << r << "\n";
    fs::path const report_file = a.out / (stem + ".md");
    auto const written = report::write_text(report_file, md.str());
    if (!written) {
        std::cerr << "lifecheck repro: " << describe(written.error().front()) << '\n';
        return exit_internal;
    }
    std::cout << "repro " << stem << " (" << name_t << "): " << crash << '\n'
              << fastify << summary.str() << "scenario: " << (a.out / (stem + ".json")).string()
              << '\n'
              << "report:   " << report_file.string() << '\n';
    for (std::string const& r : rerun)
        std::cout << "rerun:    " << r << '\n';
    return code;
}

} // namespace lifecheck::cli
