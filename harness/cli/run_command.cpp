// `lifecheck run`: scenarios × targets → one line per scenario, a summary, JUnit and JSON reports;
// with --with-plugin, each scenario without and with npm plugins, and the plugin delta (D27).
#include "harness/cli/args.hpp"
#include "harness/cli/cli.hpp"
#include "harness/cli/progress.hpp"
#include "harness/cli/with_plugin.hpp"
#include "harness/report/html.hpp"
#include "harness/report/json.hpp"
#include "harness/report/junit.hpp"
#include "harness/run/runner.hpp"

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <ctime>
#include <filesystem>
#include <iostream>
#include <map>
#include <random>
#include <sstream>

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
};

std::string utc_now(char const* format) {
    std::time_t const t = std::time(nullptr);
    std::tm tm{};
    gmtime_r(&t, &tm);
    char buf[64];
    std::strftime(buf, sizeof buf, format, &tm);
    return buf;
}

std::string label_of(verdict v) {
    switch (v) {
    case verdict::pass:
        return "PASS ";
    case verdict::fail:
        return "FAIL ";
    case verdict::crash:
        return "CRASH";
    case verdict::hang:
        return "HANG ";
    case verdict::skip:
        return "SKIP ";
    case verdict::error:
        return "ERROR";
    case verdict::divergence:
        return "DIV  ";
    }
    return "?    ";
}

void print_entry(entry const& e, bool show_target) {
    check::scenario_result const& r = e.result;
    std::ostringstream line;
    line << label_of(r.v) << ' ' << r.scenario_id << "  "
         << static_cast<long long>(r.duration_ms + 0.5) << " ms";
    if (show_target)
        line << "  [" << r.target << "]";
    if (r.v == verdict::skip && !r.skip_reason.empty())
        line << "  (" << r.skip_reason << ")";
    if (r.v == verdict::divergence)
        line << "  (documented " << r.divergence_class << ", shows " << check::to_string(r.shown)
             << ")";
    std::cout << line.str() << '\n';
    if (r.v == verdict::fail || r.v == verdict::crash || r.v == verdict::hang ||
        r.v == verdict::error)
        std::cout << indent(report::failure_text(r), 6);
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

/// Issue 19: reports for a run whose target could not start, so CI shows why: every scenario
/// is `crash` with the start failure and the target's stderr (invalid files stay `error`).
void report_not_started(std::string const& junit_file,
                        std::string const& json_file,
                        std::string const& html_file,
                        std::vector<std::string> const& args,
                        std::vector<loaded_file> const& files,
                        start_failure const& failed) {
    report::run_report rep;
    rep.run.id = utc_now("%Y%m%dT%H%M%SZ") + "-0000";
    rep.run.command = joined_command(args);
    rep.run.targets = {{failed.target, ""}};
    rep.run.started = utc_now("%Y-%m-%dT%H:%M:%SZ");
    for (loaded_file const& f : files) {
        if (!f.sc) {
            rep.results.push_back(invalid_entry(f, failed.target).result);
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
    auto const junit = report::write_junit(junit_file, rep);
    auto const json = report::write_json(json_file, rep);
    auto const html = report::write_html(html_file, rep);
    if (junit && json && html)
        std::cerr << "reports: " << junit->string() << ", " << json->string() << ", "
                  << html->string() << '\n';
}

} // namespace

int run_command(parsed_args const& p) {
    std::vector<std::string> targets = p.all("--target");
    if (targets.empty())
        targets.push_back("reference");
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
    std::string const json_file = p.text("--json", "reports/results.json");
    std::string const html_file =
        p.text("--html", (std::filesystem::path{json_file}.parent_path() / "index.html").string());

    // Targets first: a target that cannot start is a usage problem, reported before any run.
    auto const specs = resolve_targets("run", targets);
    if (!specs)
        return exit_usage;

    std::vector<loaded_file> const files = select_scenarios(selection_of(p, p.operands));
    if (files.empty()) {
        std::cerr << "lifecheck run: no scenario files"
                  << (p.has("--filter") ? " match the filters" : " in the given paths") << '\n';
        return exit_usage;
    }

    run::options opts = runner_options(p);
    opts.log_dir = std::filesystem::path{json_file}.parent_path() / "logs";

    start_failure not_started;
    auto const hellos = hellos_of("run", *specs, opts, &not_started);
    if (!hellos) {
        report_not_started(p.text("--junit", "reports/junit.xml"),
                           json_file,
                           html_file,
                           p.given,
                           files,
                           not_started);
        return exit_usage;
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
    report::run_report rep;
    rep.run.id = utc_now("%Y%m%dT%H%M%SZ") + "-" + suffix;
    rep.run.seed = seed;
    rep.run.command = joined_command(p.given);
    rep.run.targets = infos;
    rep.run.started = utc_now("%Y-%m-%dT%H:%M:%SZ");
    auto const run_started = std::chrono::steady_clock::now();

    std::cout << "lifecheck " << report::lifecheck_version() << " \u2014 target(s): ";
    for (std::size_t t = 0; t < infos.size(); ++t)
        std::cout << (t ? ", " : "") << target_title(infos[t].name, infos[t].version);
    std::cout << " \u2014 run " << rep.run.id << " seed " << seed << '\n';
    for (report::plugin_info const& pl : plugin_infos)
        std::cout << "with plugin " << pl.name << (pl.installed.empty() ? "" : " " + pl.installed)
                  << (pl.options.empty() ? "" : " " + pl.options.dump())
                  << ": registered first at the root; each scenario runs without it, then with it "
                     "(invariants only)\n";
    std::cout.flush();

    bool const multi = passes.size() > 1;
    bool const terminal = progress_line::stderr_is_terminal();
    progress_line progress{p.last_of("--progress", "--no-progress").value_or(terminal),
                           files.size() * passes.size(),
                           terminal};
    // --with-plugin: both runs of a scenario replay with the plugin's delta.
    auto const replay = [&](std::string const& file) {
        return "lifecheck run --target " + run::shell_quote(targets.front()) + plugin_args + " " +
               run::shell_quote(file);
    };
    std::vector<std::vector<entry>> by_target;
    for (pass const& ps : passes) {
        run::target_spec const& spec = ps.spec;
        run::options pass_opts = opts;
        if (!ps.plugins.empty()) // D27: the expectations were recorded without the plugin
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
                    print_entry(*slots[next_print++], multi);
            });
        };
        for (auto const& slot : slots)
            if (slot)
                progress.finished(slot->result.v);
        flush();
        auto const on_done = [&](std::size_t k, run::outcome const& o) {
            entry e{o.result, o.warnings};
            e.result.target = ps.name; // one name per --target, even for two fastify versions
            if (!plugin_args.empty())
                e.result.replay_command = replay(e.result.file);
            progress.finished(e.result.v);
            slots[slot_of[k]] = std::move(e);
            flush();
        };
        run::run_all(runnable,
                     spec,
                     pass_opts,
                     static_cast<int>(p.count("--jobs").value_or(1)),
                     on_done,
                     [&](std::size_t k) { progress.started(ps.name, runnable[k].id); });
        flush();
        std::vector<entry> done;
        for (auto& s : slots)
            done.push_back(std::move(*s));
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
    } else if (multi) {
        print_table(targets, by_target);
    }

    for (auto const& entries : by_target)
        for (entry const& e : entries)
            rep.results.push_back(e.result);
    rep.run.duration_ms =
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - run_started)
            .count();

    report::tally const t = report::count(rep.results);
    std::cout << '\n'
              << t.of(verdict::pass) << " passed, " << t.of(verdict::fail) << " failed, "
              << t.of(verdict::crash) << " crashed, " << t.of(verdict::hang) << " hung, "
              << t.of(verdict::skip) << " skipped, " << t.of(verdict::error) << " errors, "
              << t.of(verdict::divergence) << " divergences\n";

    int code = exit_pass;
    auto const junit = report::write_junit(p.text("--junit", "reports/junit.xml"), rep);
    auto const json = report::write_json(json_file, rep);
    auto const html = report::write_html(html_file, rep);
    if (junit && json && html) {
        std::cout << "reports: " << junit->string() << ", " << json->string() << ", "
                  << html->string() << '\n';
    } else {
        for (auto const* r : {&junit, &json, &html})
            if (!*r)
                std::cerr << "lifecheck run: " << describe(r->error().front()) << '\n';
        code = exit_internal;
    }

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
