// `lifecheck run`: scenarios × targets → one line per scenario, a summary, JUnit, JSON, HTML and
// SARIF reports; --list, --rerun-failed, --fail-fast, --format github; SIGINT/SIGTERM stop it
// cleanly; with --with-plugin, each scenario without and with npm plugins, and the plugin delta
// (D35).
#include "harness/cli/args.hpp"
#include "harness/cli/cli.hpp"
#include "harness/cli/interrupt.hpp"
#include "harness/cli/progress.hpp"
#include "harness/cli/with_plugin.hpp"
#include "harness/report/github.hpp"
#include "harness/report/html.hpp"
#include "harness/report/json.hpp"
#include "harness/report/junit.hpp"
#include "harness/report/sarif.hpp"
#include "harness/run/runner.hpp"

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <random>
#include <set>
#include <sstream>

#include <unistd.h>

namespace lifecheck::cli {
namespace {

using check::verdict;

/// One pass over the scenarios: a target, the name its results carry, and the npm plugins
/// registered first at the root of every app (--with-plugin; none for a plain run).
struct pass {
    run::target_spec spec;
    std::string name;
    std::vector<scenario::npm_plugin> plugins;
    protocol::hello_info hello;
};

/// What is printed and reported for one scenario on one target.
struct entry {
    check::scenario_result result;
    std::vector<std::string> warnings;
    bool not_run = false; // --fail-fast or a signal stopped the run first: counted, not printed
};

/// How results are printed: -q, colour (a terminal without NO_COLOR), --format github.
struct output_style {
    bool quiet = false;
    bool color = false;
    bool github = false;
    std::filesystem::path root; // GitHub annotations name files relative to it
};

/// Colour on stdout: a terminal, NO_COLOR unset or empty (no-color.org), TERM not "dumb".
bool stdout_wants_color() {
    char const* no_color = std::getenv("NO_COLOR");
    char const* term = std::getenv("TERM");
    return ::isatty(STDOUT_FILENO) == 1 && !(no_color && *no_color) &&
           !(term && std::string_view{term} == "dumb");
}

std::string utc_now(char const* format) {
    std::time_t const t = std::time(nullptr);
    std::tm tm{};
    gmtime_r(&t, &tm);
    char buf[64];
    std::strftime(buf, sizeof buf, format, &tm);
    return buf;
}

/// The verdict's label, padded to five columns; in its colour (SGR) when `color`.
std::string label_of(verdict v, bool color) {
    auto const [text, sgr] = [v]() -> std::pair<std::string, char const*> {
        switch (v) {
        case verdict::pass:
            return {"PASS", "32"};
        case verdict::fail:
            return {"FAIL", "31"};
        case verdict::crash:
            return {"CRASH", "1;31"};
        case verdict::hang:
            return {"HANG", "35"};
        case verdict::skip:
            return {"SKIP", "33"};
        case verdict::error:
            return {"ERROR", "1;31"};
        case verdict::divergence:
            return {"DIV", "36"};
        }
        return {"?", "0"};
    }();
    std::string const pad(5 - text.size(), ' ');
    if (!color)
        return text + pad;
    return "\033[" + std::string{sgr} + "m" + text + "\033[0m" + pad;
}

void print_entry(entry const& e, bool show_target, output_style const& style) {
    check::scenario_result const& r = e.result;
    bool const failed = report::is_failure(r.v);
    if (e.not_run || (style.quiet && !failed))
        return;
    std::ostringstream line;
    line << label_of(r.v, style.color) << ' ' << r.scenario_id << "  "
         << static_cast<long long>(r.duration_ms + 0.5) << " ms";
    if (show_target)
        line << "  [" << r.target << "]";
    if (r.v == verdict::skip && !r.skip_reason.empty())
        line << "  (" << r.skip_reason << ")";
    if (r.v == verdict::divergence)
        line << "  (documented " << r.divergence_class << ", shows " << check::to_string(r.shown)
             << ")";
    std::cout << line.str() << '\n';
    if (failed)
        std::cout << indent(report::failure_text(r), 6);
    if (style.github)
        std::cout << report::github_annotation(r, style.root);
    std::size_t shown = 0;
    for (std::string const& w : e.warnings) {
        if (++shown > 10) {
            std::cout << "      (" << e.warnings.size() - 10 << " more warnings)\n";
            break;
        }
        std::cout << indent("warning: " + w, 6);
    }
    std::cout.flush();
}

/// A result that no run produced: the scenario's id, file and target, and verdict `v`.
entry unrun_entry(loaded_file const& f, std::string const& target, verdict v) {
    entry e;
    check::scenario_result& r = e.result;
    r.scenario_id = f.id;
    r.file = f.file.string();
    r.target = target;
    r.v = r.shown = v;
    return e;
}

entry invalid_entry(loaded_file const& f, std::string const& target) {
    entry e = unrun_entry(f, target, verdict::error);
    check::scenario_result& r = e.result;
    r.replay_command = "lifecheck validate " + run::shell_quote(r.file);
    for (diagnostic const& d : f.problems) {
        check::finding x;
        x.kind = check::finding_kind::invalid;
        x.message = describe(d);
        x.json_path = d.json_path; // where CI annotations point
        r.findings.push_back(std::move(x));
    }
    return e;
}

entry skipped_entry(loaded_file const& f, std::string const& target, std::string const& reason) {
    entry e = unrun_entry(f, target, verdict::skip);
    check::scenario_result& r = e.result;
    r.skip_reason = reason;
    if (f.sc)
        check::describe_scenario(*f.sc, r);
    r.replay_command =
        "lifecheck run --target " + run::shell_quote(target) + " " + run::shell_quote(r.file);
    return e;
}

/// A scenario --fail-fast or a signal kept from running (or cut short): skipped, `why`.
entry not_run_entry(loaded_file const& f, std::string const& target, std::string const& why) {
    entry e = skipped_entry(f, target, "not run: " + why);
    e.not_run = true;
    return e;
}

std::string target_title(std::string const& text, std::string const& version) {
    if (version.empty() ||
        (text.size() >= version.size() + 1 &&
         text.compare(text.size() - version.size() - 1, std::string::npos, "@" + version) == 0))
        return text;
    return text + " " + version;
}

/// "yes" when every target that ran the scenario produced the same trace for every step.
std::string traces_agree(std::vector<entry const*> const& per_target) {
    std::optional<std::map<std::string, std::vector<std::string>>> first;
    std::size_t compared = 0;
    for (entry const* e : per_target) {
        verdict const v = e->result.v;
        if (v == verdict::skip || v == verdict::error)
            continue;
        std::map<std::string, std::vector<std::string>> traces;
        for (check::step_record const& s : e->result.steps)
            traces[s.id] = s.trace;
        ++compared;
        if (!first)
            first = std::move(traces);
        else if (*first != traces)
            return "no";
    }
    return compared < 2 ? "n/a" : "yes";
}

std::string cell_of(entry const& e) {
    std::string cell = check::to_string(e.result.v);
    if (e.result.v == verdict::divergence)
        cell += " (" + std::string{check::to_string(e.result.shown)} + ")";
    return cell;
}

void print_table(std::vector<std::string> const& targets,
                 std::vector<std::vector<entry>> const& by_target) {
    std::size_t id_w = 8;
    for (entry const& e : by_target.front())
        id_w = std::max(id_w, e.result.scenario_id.size());
    std::vector<std::size_t> col_w;
    for (std::size_t t = 0; t < targets.size(); ++t) {
        std::size_t w = targets[t].size();
        for (entry const& e : by_target[t])
            w = std::max(w, cell_of(e).size());
        col_w.push_back(w);
    }
    auto pad = [](std::string s, std::size_t w) {
        s.resize(std::max(s.size(), w), ' ');
        return s;
    };
    std::cout << '\n' << pad("scenario", id_w);
    for (std::size_t t = 0; t < targets.size(); ++t)
        std::cout << "  " << pad(targets[t], col_w[t]);
    std::cout << "  traces agree\n";
    for (std::size_t i = 0; i < by_target.front().size(); ++i) {
        std::cout << pad(by_target.front()[i].result.scenario_id, id_w);
        std::vector<entry const*> row;
        for (std::size_t t = 0; t < targets.size(); ++t) {
            row.push_back(&by_target[t][i]);
            std::cout << "  " << pad(cell_of(by_target[t][i]), col_w[t]);
        }
        std::cout << "  " << traces_agree(row) << '\n';
    }
}

std::string joined_command(std::vector<std::string> const& args) {
    std::string out = "lifecheck run";
    for (std::string const& a : args)
        out += " " + run::shell_quote(a);
    return out;
}

/// Where the four reports go: --junit, --json, and --html and --sarif beside the JSON report.
struct report_files {
    std::string junit;
    std::string json;
    std::string html;
    std::string sarif;
};

report_files report_files_of(parsed_args const& p) {
    report_files out;
    out.junit = p.text("--junit", "reports/junit.xml");
    out.json = p.text("--json", "reports/results.json");
    std::filesystem::path const dir = std::filesystem::path{out.json}.parent_path();
    out.html = p.text("--html", (dir / "index.html").string());
    out.sarif = p.text("--sarif", (dir / "results.sarif").string());
    return out;
}

/// Writes the four reports and prints "reports: ..." on `out`; on a write error prints it on
/// stderr and returns false.
bool write_reports(report_files const& files, report::run_report const& rep, std::ostream& out) {
    auto const junit = report::write_junit(files.junit, rep);
    auto const json = report::write_json(files.json, rep);
    auto const html = report::write_html(files.html, rep);
    auto const sarif = report::write_sarif(files.sarif, rep);
    if (junit && json && html && sarif) {
        out << "reports: " << junit->string() << ", " << json->string() << ", " << html->string()
            << ", " << sarif->string() << '\n';
        return true;
    }
    for (auto const* r : {&junit, &json, &html, &sarif})
        if (!*r)
            std::cerr << "lifecheck run: " << describe(r->error().front()) << '\n';
    return false;
}

/// The run facts every report starts from.
report::run_report new_report(std::vector<std::string> const& args, std::string const& suffix) {
    report::run_report rep;
    rep.run.id = utc_now("%Y%m%dT%H%M%SZ") + "-" + suffix;
    rep.run.command = joined_command(args);
    rep.run.started = utc_now("%Y-%m-%dT%H:%M:%SZ");
    rep.run.source_root = report::source_root();
    return rep;
}

/// Issue 19: reports for a run whose target could not start, so CI shows why: every scenario
/// is `crash` with the start failure and the target's stderr (invalid files stay `error`). When
/// a signal stopped the start, every scenario is skipped as not run instead.
void report_not_started(report_files const& paths,
                        std::vector<std::string> const& args,
                        std::vector<loaded_file> const& files,
                        start_failure const& failed,
                        interrupt_guard const& guard) {
    report::run_report rep = new_report(args, "0000");
    rep.run.targets = {{failed.target, ""}};
    rep.run.interrupted = guard.signal_name();
    for (loaded_file const& f : files) {
        if (!f.sc) {
            rep.results.push_back(invalid_entry(f, failed.target).result);
            continue;
        }
        if (guard.signal()) {
            rep.results.push_back(
                not_run_entry(f, failed.target, "interrupted by " + guard.signal_name()).result);
            continue;
        }
        check::run_facts facts;
        facts.target = failed.target;
        facts.crash = "the target could not start: " + failed.why;
        facts.target_stderr = failed.target_stderr;
        facts.replay_command = "lifecheck run --target " + run::shell_quote(failed.target) + " " +
                               run::shell_quote(f.file.string());
        rep.results.push_back(check::evaluate(*f.sc, {}, facts));
    }
    write_reports(paths, rep, std::cerr);
}

/// --rerun-failed: the ids and files of the scenarios that failed, crashed, hung or errored in
/// a results.json; a usage problem when it cannot be read.
struct failed_set {
    std::set<std::string> ids;
    std::vector<std::string> files; // first appearance order, once each
};

std::optional<failed_set> failed_in(std::string const& file) {
    std::ifstream in{file, std::ios::binary};
    if (!in) {
        usage_error("run", "--rerun-failed: cannot read " + file + " (run once without it first)");
        return std::nullopt;
    }
    auto const doc = scenario::json::parse(in, nullptr, false);
    if (doc.is_discarded() || !doc.contains("scenarios") || !doc["scenarios"].is_array()) {
        usage_error("run", "--rerun-failed: " + file + " is not a lifecheck results.json");
        return std::nullopt;
    }
    failed_set out;
    for (auto const& s : doc["scenarios"]) {
        auto const v = check::parse_verdict(s.value("result", ""));
        if (!v || !report::is_failure(*v))
            continue;
        out.ids.insert(s.value("id", ""));
        std::string const f = s.value("file", "");
        if (!f.empty() && std::find(out.files.begin(), out.files.end(), f) == out.files.end())
            out.files.push_back(f);
    }
    return out;
}

} // namespace

int run_command(parsed_args const& p) {
    interrupt_guard guard; // SIGINT/SIGTERM: stop cleanly, reports written (issue 19)
    std::vector<std::string> targets = p.all("--target");
    if (targets.empty())
        targets.push_back("reference");
    report_files const paths = report_files_of(p);
    char const* on_github = std::getenv("GITHUB_ACTIONS");
    std::string const format =
        p.text("--format", on_github && std::string_view{on_github} == "true" ? "github" : "text");
    if (format != "text" && format != "github")
        return usage_error("run", "--format wants text or github, got \"" + format + "\"");
    std::vector<scenario::npm_plugin> plugins;
    std::string plugin_args; // the --with-plugin options, for replay commands
    for (std::string const& text : p.all("--with-plugin")) {
        auto plugin = parse_plugin_spec(text);
        if (!plugin) {
            for (diagnostic const& d : plugin.error())
                std::cerr << "lifecheck run: " << describe(d) << '\n';
            return exit_usage;
        }
        plugins.push_back(std::move(plugin.value()));
        plugin_args += " --with-plugin " + run::shell_quote(text);
    }
    if (!plugins.empty() && targets.size() != 1)
        return usage_error("run",
                           "--with-plugin takes one --target (a Fastify target): each scenario "
                           "runs on it without, then with the plugin");

    // --rerun-failed: what failed in an earlier report; its files when no PATH is given.
    std::optional<failed_set> rerun;
    if (p.has("--rerun-failed")) {
        std::string const from = p.text("--rerun-failed");
        rerun = failed_in(from.empty() ? "reports/results.json" : from);
        if (!rerun)
            return exit_usage;
        if (rerun->ids.empty()) {
            std::cout << "lifecheck run: nothing to rerun: no scenario failed in "
                      << (from.empty() ? "reports/results.json" : from) << '\n';
            return exit_pass;
        }
    } else if (p.operands.empty()) {
        return usage_error("run", "no scenario files or folders given");
    }

    std::vector<loaded_file> files =
        select_scenarios(selection_of(p, p.operands.empty() && rerun ? rerun->files : p.operands));
    if (rerun)
        std::erase_if(files, [&](loaded_file const& f) { return !rerun->ids.count(f.id); });
    if (files.empty()) {
        bool const narrowed = p.has("--filter") || p.has("--keyword") || p.has("--tag") || rerun;
        std::cerr << "lifecheck run: no scenario files"
                  << (narrowed ? " match the selection" : " in the given paths") << '\n';
        return exit_usage;
    }

    if (p.has("--list")) { // what would run; no target is started
        bool const invalid = report_invalid("run", files);
        for (loaded_file const& f : files) {
            if (!f.sc || !f.excluded.empty())
                continue;
            std::string tags;
            for (std::string const& t : f.sc->tags)
                tags += (tags.empty() ? "" : ",") + t;
            std::cout << f.id << '\t' << tags << '\n';
        }
        return invalid ? exit_usage : exit_pass;
    }

    // Targets next: a target that cannot start is a usage problem, reported before any run.
    auto const specs = resolve_targets("run", targets);
    if (!specs)
        return exit_usage;

    run::options opts = runner_options(p);
    opts.log_dir = std::filesystem::path{paths.json}.parent_path() / "logs";
    opts.stop = &guard.stop();

    start_failure not_started;
    auto const hellos = hellos_of("run", *specs, opts, &not_started);
    if (!hellos) {
        report_not_started(paths, p.given, files, not_started, guard);
        return guard.signal() ? guard.exit_code() : exit_usage;
    }
    std::vector<pass> passes;
    for (std::size_t t = 0; t < specs->size(); ++t)
        passes.push_back({(*specs)[t], (*specs)[t].text, {}, (*hellos)[t]});
    std::vector<report::plugin_info> plugin_infos;
    if (!plugins.empty()) {
        auto const installed = check_plugins(specs->front(), opts, plugins);
        if (!installed)
            return exit_usage;
        for (std::size_t i = 0; i < plugins.size(); ++i)
            plugin_infos.push_back({plugins[i].name,
                                    plugins[i].version.value_or(""),
                                    (*installed)[i],
                                    plugins[i].options});
        pass with = passes.front();
        with.name = with_plugins_name(with.spec.text, plugins);
        with.spec.text = with.name; // its own logs (logs/NAME-wN.log), beside the first run's
        with.plugins = plugins;
        passes.push_back(std::move(with));
    }
    std::vector<report::target_info> infos;
    for (pass const& ps : passes)
        infos.push_back({ps.name, ps.hello.version});

    std::uint64_t const seed = p.seed("--seed").value_or(std::random_device{}());
    char suffix[8];
    std::snprintf(suffix, sizeof suffix, "%04x", static_cast<unsigned>(seed & 0xffff));
    report::run_report rep = new_report(p.given, suffix);
    rep.run.seed = seed;
    rep.run.targets = infos;
    auto const run_started = std::chrono::steady_clock::now();

    output_style style;
    style.quiet = p.has("--quiet");
    style.color = stdout_wants_color();
    style.github = format == "github";
    style.root = rep.run.source_root;
    if (!style.quiet) {
        std::cout << "lifecheck " << report::lifecheck_version() << " \u2014 target(s): ";
        for (std::size_t t = 0; t < infos.size(); ++t)
            std::cout << (t ? ", " : "") << target_title(infos[t].name, infos[t].version);
        std::cout << " \u2014 run " << rep.run.id << " seed " << seed << '\n';
        for (report::plugin_info const& pl : plugin_infos)
            std::cout << "with plugin " << pl.name
                      << (pl.installed.empty() ? "" : " " + pl.installed)
                      << (pl.options.empty() ? "" : " " + pl.options.dump())
                      << ": registered first at the root; each scenario runs without it, then "
                         "with it (invariants only)\n";
        std::cout.flush();
    }

    bool const multi = passes.size() > 1;
    bool const terminal = progress_line::stderr_is_terminal();
    progress_line progress{p.last_of("--progress", "--no-progress").value_or(terminal),
                           files.size() * passes.size(),
                           terminal};
    int const jobs = jobs_of(p, 0);
    bool const fail_fast = p.has("--fail-fast");
    std::string first_failure; // --fail-fast: the scenario that stopped the run
    // --with-plugin: both runs of a scenario replay with the plugin's delta.
    auto const replay = [&](std::string const& file) {
        return "lifecheck run --target " + run::shell_quote(targets.front()) + plugin_args + " " +
               run::shell_quote(file);
    };
    std::vector<std::vector<entry>> by_target;
    for (pass const& ps : passes) {
        run::target_spec const& spec = ps.spec;
        run::options pass_opts = opts;
        if (!ps.plugins.empty()) // D35: the expectations were recorded without the plugin
            pass_opts.checks = check::checks::invariants_only;
        // Slots in file order; invalid and excluded files are ready at once, the rest arrive
        // from the workers and are printed in order as soon as their turn comes.
        std::vector<std::optional<entry>> slots(files.size());
        std::vector<scenario::scenario> runnable;
        std::vector<std::size_t> slot_of;
        for (std::size_t i = 0; i < files.size(); ++i) {
            loaded_file const& f = files[i];
            if (!f.sc) {
                slots[i] = invalid_entry(f, ps.name);
                if (fail_fast && first_failure.empty()) {
                    first_failure = f.id;
                    guard.request_stop();
                }
                continue;
            }
            if (!f.excluded.empty()) {
                slots[i] = skipped_entry(f, ps.name, f.excluded);
                if (!plugin_args.empty())
                    slots[i]->result.replay_command = replay(slots[i]->result.file);
                continue;
            }
            runnable.push_back(ps.plugins.empty() ? *f.sc : with_root_plugins(*f.sc, ps.plugins));
            slot_of.push_back(i);
        }
        std::size_t next_print = 0;
        auto flush = [&] {
            progress.around([&] {
                while (next_print < slots.size() && slots[next_print])
                    print_entry(*slots[next_print++], multi, style);
            });
        };
        for (auto const& slot : slots)
            if (slot)
                progress.finished(slot->result.v);
        flush();
        auto const on_done = [&](std::size_t k, run::outcome const& o) {
            entry e{o.result, o.warnings};
            e.result.target = ps.name; // one name per --target, even for two fastify versions
            loaded_file const& f = files[slot_of[k]];
            if (guard.signal() && (e.result.v == verdict::crash || e.result.v == verdict::hang))
                e = not_run_entry(f, ps.name, "interrupted by " + guard.signal_name());
            if (fail_fast && report::is_failure(e.result.v) && first_failure.empty()) {
                first_failure = f.id;
                guard.request_stop();
            }
            if (!plugin_args.empty())
                e.result.replay_command = replay(e.result.file);
            progress.finished(e.result.v);
            slots[slot_of[k]] = std::move(e);
            flush();
        };
        run::run_all(runnable, spec, pass_opts, jobs, on_done, [&](std::size_t k) {
            progress.started(ps.name, runnable[k].id);
        });
        // What a stop kept from running: skipped, not run, with the reason.
        std::string const why = guard.signal()
                                    ? "interrupted by " + guard.signal_name()
                                    : "--fail-fast stopped the run after " + first_failure;
        for (std::size_t i = 0; i < slots.size(); ++i)
            if (!slots[i])
                slots[i] = not_run_entry(files[i], ps.name, why);
        flush();
        std::vector<entry> done;
        for (auto& slot : slots)
            done.push_back(std::move(*slot));
        by_target.push_back(std::move(done));
    }

    progress.stop();
    if (!plugins.empty()) {
        std::vector<check::scenario_result> without;
        std::vector<check::scenario_result> with;
        for (entry const& e : by_target[0])
            without.push_back(e.result);
        for (entry const& e : by_target[1])
            with.push_back(e.result);
        rep.delta = plugin_delta_of(without, with, plugin_infos);
        print_delta(*rep.delta, passes.front().hello.version, std::cout);
    } else if (multi && !style.quiet) {
        print_table(targets, by_target);
    }

    std::size_t not_run = 0;
    for (auto const& entries : by_target)
        for (entry const& e : entries) {
            rep.results.push_back(e.result);
            not_run += e.not_run ? 1 : 0;
        }
    rep.run.duration_ms =
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - run_started)
            .count();
    rep.run.interrupted = guard.signal_name();

    report::tally const t = report::count(rep.results);
    std::cout << '\n'
              << t.of(verdict::pass) << " passed, " << t.of(verdict::fail) << " failed, "
              << t.of(verdict::crash) << " crashed, " << t.of(verdict::hang) << " hung, "
              << t.of(verdict::skip) << " skipped, " << t.of(verdict::error) << " errors, "
              << t.of(verdict::divergence) << " divergences\n";
    if (not_run > 0)
        std::cout << (guard.signal() ? "interrupted by " + guard.signal_name()
                                     : "--fail-fast: stopped after " + first_failure)
                  << ": " << not_run << " not run (reported as skipped)\n";

    int code = write_reports(paths, rep, std::cout) ? exit_pass : exit_internal;
    if (guard.signal())
        return guard.exit_code(); // 130 / 143: CI sees the run was cut short

    bool invalid = false;
    bool harness_fault = false;
    bool failed = false;
    bool const fail_on_skip = p.has("--fail-on-skip"); // CI: a target that runs nothing fails
    for (check::scenario_result const& r : rep.results) {
        harness_fault = harness_fault || r.harness_fault;
        invalid = invalid || (r.v == verdict::error && !r.harness_fault);
        failed = failed || r.v == verdict::fail || r.v == verdict::crash || r.v == verdict::hang ||
                 (fail_on_skip && r.v == verdict::skip);
    }
    if (harness_fault)
        return exit_internal;
    if (code != exit_pass)
        return code;
    if (invalid)
        return exit_usage;
    return failed ? exit_fail : exit_pass;
}

} // namespace lifecheck::cli
