// `lifecheck changelog`: runs scenarios on two releases of a framework and lists what changed.
#include "harness/cli/args.hpp"
#include "harness/cli/cli.hpp"
#include "harness/report/report.hpp"
#include "harness/run/runner.hpp"

#include <iostream>
#include <sstream>

namespace lifecheck::cli {
namespace {

using check::verdict;

constexpr char const* changelog_usage =
    R"(usage: lifecheck changelog --from TARGET --to TARGET [options] [PATH...]

Runs the scenarios (default: the repository's scenarios/ folder) on two targets, usually two
releases of one framework (fastify@5.2.0 and fastify@5.12.8), and lists every scenario whose
result class, status, trace or body changed between them, step by step.

options:
  --from TARGET        the older target (fastify@VERSION, reference, koa or a command line)
  --to TARGET          the newer target
  --filter GLOB        only scenarios whose id matches (repeatable; as in `lifecheck run`)
  -j N, --jobs N       scenarios at once per target (default 2)
  --deadline MS        time a request has to get its end before it is a hang (default 5000)
  --logs DIR           where target stderr goes (default reports/logs)
  -h, --help           show this help

exit codes: 0 nothing changed, 1 some scenario changed, 2 usage or invalid scenarios,
3 internal error
)";

struct changelog_args {
    std::string from;
    std::string to;
    std::vector<std::string> filters;
    std::vector<std::string> paths;
    int jobs = 2;
    run::milliseconds deadline = run::default_deadline;
    std::string logs = "reports/logs";
};

std::optional<int> parse(std::vector<std::string> const& args, changelog_args& a) {
    for (std::size_t i = 0; i < args.size(); ++i) {
        std::string const& arg = args[i];
        std::string err;
        std::string v;
        auto take = [&](char const* name) {
            return take_option(args, i, name, v, err);
        };
        if (arg == "-h" || arg == "--help") {
            std::cout << changelog_usage;
            return exit_pass;
        }
        if (take("--from")) {
            a.from = v;
        } else if (take("--to")) {
            a.to = v;
        } else if (take("--filter")) {
            a.filters.push_back(v);
        } else if (take("-j") || take("--jobs")) {
            auto const n = parse_count(v);
            if (!n || *n < 1 || *n > 64)
                return usage_error(
                    "changelog", "-j wants 1..64, got \"" + v + "\"", changelog_usage);
            a.jobs = static_cast<int>(*n);
        } else if (take("--deadline")) {
            auto const n = parse_count(v);
            if (!n || *n < 1)
                return usage_error("changelog",
                                   "--deadline wants milliseconds, got \"" + v + "\"",
                                   changelog_usage);
            a.deadline = run::milliseconds{*n};
        } else if (take("--logs")) {
            a.logs = v;
        } else if (!err.empty()) {
            return usage_error("changelog", err, changelog_usage);
        } else if (arg.size() > 1 && arg[0] == '-') {
            return usage_error("changelog", "unknown option " + arg, changelog_usage);
        } else {
            a.paths.push_back(arg);
        }
        if (!err.empty())
            return usage_error("changelog", err, changelog_usage);
    }
    if (a.from.empty() || a.to.empty())
        return usage_error("changelog", "both --from and --to are needed", changelog_usage);
    return std::nullopt;
}

std::string quoted_body(std::string const& body) {
    std::string out = "\"";
    for (char c : report::utf8_prefix(body, 80)) {
        if (c == '\n')
            out += "\\n";
        else if (c == '"')
            out += "\\\"";
        else
            out += c;
    }
    out += body.size() > 80 ? "...\"" : "\"";
    return out;
}

std::string joined(std::vector<std::string> const& v) {
    std::string out = "[";
    for (std::size_t i = 0; i < v.size(); ++i)
        out += (i ? ", " : "") + v[i];
    return out + "]";
}

/// One line per difference between two results of the same scenario; empty when equal.
std::vector<std::string> differences(check::scenario_result const& a,
                                     check::scenario_result const& b) {
    std::vector<std::string> out;
    // The class each target showed, before documented divergences are applied: a crash that is
    // documented for one version is still a change.
    if (a.shown != b.shown)
        out.push_back(std::string{"result: "} + check::to_string(a.shown) + " -> " +
                      check::to_string(b.shown));
    std::size_t const n = std::max(a.steps.size(), b.steps.size());
    for (std::size_t i = 0; i < n; ++i) {
        check::step_record const empty;
        check::step_record const& x = i < a.steps.size() ? a.steps[i] : empty;
        check::step_record const& y = i < b.steps.size() ? b.steps[i] : empty;
        std::string const id = "step " + (x.id.empty() ? y.id : x.id) + ": ";
        auto status = [](check::step_record const& s) {
            return s.got_response ? std::to_string(s.status) : std::string{"no response"};
        };
        if (x.got_response != y.got_response || x.status != y.status)
            out.push_back(id + "status " + status(x) + " -> " + status(y));
        if (x.trace != y.trace)
            out.push_back(id + "trace " + joined(x.trace) + " -> " + joined(y.trace));
        if (x.body != y.body)
            out.push_back(id + "body " + quoted_body(x.body) + " -> " + quoted_body(y.body));
    }
    return out;
}

} // namespace

int changelog_command(std::vector<std::string> const& args) {
    changelog_args a;
    if (auto const code = parse(args, a))
        return *code;
    if (a.paths.empty())
        a.paths.push_back((run::source_dir(run::self_exe()) / "scenarios").string());

    std::vector<run::target_spec> specs;
    for (std::string const& t : {a.from, a.to}) {
        auto spec = run::resolve_target(t, run::self_exe());
        if (!spec)
            return usage_error(
                "changelog", "unknown target: " + describe(spec.error().front()), changelog_usage);
        specs.push_back(std::move(spec.value()));
    }

    std::vector<scenario::scenario> scenarios;
    bool invalid = false;
    for (loaded_file& f : load_paths(a.paths)) {
        bool keep = a.filters.empty();
        for (std::string const& pattern : a.filters)
            keep = keep || glob_match(pattern, f.id);
        if (!keep)
            continue;
        if (!f.sc) {
            invalid = true;
            for (diagnostic const& d : f.problems)
                std::cerr << "lifecheck changelog: " << describe(d) << '\n';
            continue;
        }
        scenarios.push_back(std::move(*f.sc));
    }
    if (invalid)
        return exit_usage;
    if (scenarios.empty()) {
        std::cerr << "lifecheck changelog: no scenarios to run\n";
        return exit_usage;
    }

    run::options opts;
    opts.deadline = a.deadline;
    opts.log_dir = a.logs;
    std::vector<std::vector<run::outcome>> results;
    std::vector<std::string> versions;
    for (run::target_spec const& spec : specs) {
        run::runner probe{spec.text, run::process_factory(spec, opts, 0), opts};
        auto const hello = probe.ensure_started();
        if (!hello) {
            std::cerr << "lifecheck changelog: cannot start target " << spec.text << ": "
                      << describe(hello.error().front()) << '\n';
            return exit_usage;
        }
        versions.push_back(hello->target + " " + hello->version);
        probe.stop();
        std::size_t done = 0;
        results.push_back(
            run::run_all(scenarios, spec, opts, a.jobs, [&](std::size_t, run::outcome const&) {
                ++done;
                std::cerr << "\r[" << spec.text << "] " << done << "/" << scenarios.size()
                          << std::flush;
            }));
        std::cerr << '\n';
    }

    std::cout << "lifecheck " << report::lifecheck_version() << " changelog: " << a.from << " ("
              << versions[0] << ") -> " << a.to << " (" << versions[1] << "), " << scenarios.size()
              << " scenarios\n\n";
    std::size_t changed = 0;
    for (std::size_t i = 0; i < scenarios.size(); ++i) {
        auto const diff = differences(results[0][i].result, results[1][i].result);
        if (diff.empty())
            continue;
        ++changed;
        std::cout << "CHANGED " << results[0][i].result.scenario_id << '\n';
        for (std::string const& line : diff)
            std::cout << "        " << line << '\n';
    }
    std::cout << '\n'
              << changed << " of " << scenarios.size() << " scenarios changed between " << a.from
              << " and " << a.to << '\n';
    return changed == 0 ? exit_pass : exit_fail;
}

} // namespace lifecheck::cli
