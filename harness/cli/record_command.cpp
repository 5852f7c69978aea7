// `lifecheck record`: runs scenarios twice on a target and writes what it observed into each
// step's `expect` — refusing when the two runs differ (an unstable scenario).
#include "harness/cli/args.hpp"
#include "harness/cli/cli.hpp"
#include "harness/common/text.hpp"
#include "harness/report/report.hpp"
#include "harness/run/runner.hpp"
#include "harness/scenario/load.hpp"
#include "harness/scenario/rewrite.hpp"

#include <cstdio>
#include <fstream>
#include <iostream>
#include <map>
#include <sstream>

namespace lifecheck::cli {
namespace {

using scenario::json;

std::optional<std::string> header_of(check::step_record const& r, std::string const& name) {
    std::optional<std::string> out;
    for (auto const& [n, v] : r.headers)
        if (lower(n) == lower(name))
            out = out ? *out + ", " + v : v;
    return out;
}

scenario::connection_fate fate_named(std::string const& name) {
    if (name == "kept")
        return scenario::connection_fate::kept;
    if (name == "reset")
        return scenario::connection_fate::reset;
    return scenario::connection_fate::closed;
}

/// The expectation that describes what one step observed.
scenario::expectation observed(scenario::step const& s, check::step_record const& r) {
    scenario::expectation e;
    if (s.kind == scenario::step_kind::close) {
        e.trace = r.trace;
        return e;
    }
    if (s.kind == scenario::step_kind::startup) { // v2.5: how start-up ended, and its hooks
        e.trace = r.trace;
        e.error_given = true;
        if (r.refused)
            e.error = scenario::expected_startup_error{r.refusal_code, r.refusal_message};
        return e;
    }
    if (r.got_response) {
        e.status = r.status;
        std::vector<std::pair<std::string, std::optional<std::string>>> wanted; // name, old value
        if (s.expect)
            for (scenario::expected_header const& h : s.expect->headers)
                wanted.emplace_back(h.name, h.value);
        for (char const* name : {"content-type", "retry-after"}) {
            bool listed = false;
            for (auto const& w : wanted)
                listed = listed || lower(w.first) == name;
            if (!listed && header_of(r, name))
                wanted.emplace_back(name, std::nullopt);
        }
        for (auto const& [name, old] : wanted) {
            auto const value = header_of(r, name);
            e.headers.push_back(
                {name, value && old && *old == "*" ? std::optional<std::string>{"*"} : value});
        }
        scenario::expected_body body;
        auto const type = header_of(r, "content-type");
        json parsed = json::parse(r.body, nullptr, false);
        if (type && lower(*type).find("json") != std::string::npos && !parsed.is_discarded()) {
            body.how = scenario::body_match::json_value;
            body.value = std::move(parsed);
        } else {
            body.how = scenario::body_match::text;
            body.text = r.body;
        }
        e.body = std::move(body);
        e.complete = r.complete;
        if (!r.client_aborted)
            e.connection = fate_named(r.connection);
    }
    bool const reached = !r.trace.empty() || r.end_count > 0;
    if (!reached) {
        e.reached = false;
        return e;
    }
    e.trace = r.trace;
    e.end_at = r.end_at;
    e.aborted = r.aborted;
    return e;
}

/// A copy of `steps` with each request/raw/close step's expect replaced by what `result` saw.
/// @return how many steps got an expectation.
std::size_t apply(std::vector<scenario::step>& steps, check::scenario_result const& result) {
    std::size_t n = 0;
    for (scenario::step& s : steps) {
        if (s.kind == scenario::step_kind::parallel) {
            n += apply(s.children, result);
            continue;
        }
        if (s.kind == scenario::step_kind::sleep)
            continue;
        std::string const id = s.kind == scenario::step_kind::close ? "app" : s.id;
        for (check::step_record const& r : result.steps)
            if (r.id == id) {
                s.expect = observed(s, r);
                ++n;
                break;
            }
    }
    return n;
}

/// "$.steps[1].parallel[0]" → "/steps/1/parallel/0".
json::json_pointer pointer_of(std::string const& path) {
    std::string out;
    for (std::size_t i = 1; i < path.size(); ++i) {
        char const c = path[i];
        if (c == '.' || c == '[')
            out += '/';
        else if (c != ']')
            out += c;
    }
    return json::json_pointer{out};
}

void collect_paths(std::vector<scenario::step> const& steps, std::vector<std::string>& out) {
    for (scenario::step const& s : steps) {
        if (s.kind == scenario::step_kind::parallel)
            collect_paths(s.children, out);
        else if (s.expect)
            out.push_back(s.json_path);
    }
}

/// The first step whose expectation differs between two recordings, as a message; "" if none.
std::string first_difference(json const& a, json const& b, std::vector<std::string> const& paths) {
    for (std::string const& p : paths) {
        auto const ptr = pointer_of(p);
        json const x = a.contains(ptr) ? a.at(ptr).value("expect", json::object()) : json{};
        json const y = b.contains(ptr) ? b.at(ptr).value("expect", json::object()) : json{};
        if (x == y)
            continue;
        for (auto it = x.begin(); it != x.end(); ++it)
            if (!y.contains(it.key()) || y.at(it.key()) != it.value())
                return p + ": " + it.key() + " was " + it.value().dump() + " in the first run, " +
                       (y.contains(it.key()) ? y.at(it.key()).dump() : "absent") + " in the second";
        return p + ": the second run observed more: " + y.dump();
    }
    return "";
}

std::string read_text(std::filesystem::path const& file) {
    std::ifstream in{file, std::ios::binary};
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
}

/// Writes the recorded expectations into the file: only the parts of each `expect` that changed,
/// every other byte kept (issue 19: the whole file used to be re-indented).
std::optional<std::string> write_back(std::filesystem::path const& file,
                                      json const& recorded,
                                      std::vector<std::string> const& paths) {
    std::string const text = read_text(file);
    std::vector<scenario::expect_edit> edits;
    for (std::string const& p : paths) {
        auto const ptr = pointer_of(p);
        if (!recorded.contains(ptr) || !recorded.at(ptr).contains("expect"))
            return "cannot find " + p + " in what was recorded";
        edits.push_back({p, recorded.at(ptr).at("expect")});
    }
    auto const rewritten = scenario::rewrite_expectations(text, edits);
    if (!rewritten)
        return "cannot rewrite " + file.string() + ": " + describe(rewritten.error().front());
    std::filesystem::path const tmp = file.string() + ".lifecheck-record.tmp";
    {
        std::ofstream out{tmp, std::ios::binary | std::ios::trunc};
        out << *rewritten;
        if (!out)
            return "cannot write " + tmp.string();
    }
    auto const check = scenario::load_file(tmp, scenario::find_root(file));
    if (!check) {
        std::filesystem::remove(tmp);
        return "the recorded file does not load: " + describe(check.error().front());
    }
    json const written = scenario::to_json(*check);
    for (std::string const& p : paths) {
        // Equal as JSON, key order ignored: a body whose keys came in another order keeps its
        // bytes in the file.
        auto const unordered = [&p](json const& doc) {
            return nlohmann::json::parse(
                doc.at(pointer_of(p)).value("expect", json::object()).dump());
        };
        if (unordered(written) != unordered(recorded)) {
            std::filesystem::remove(tmp);
            return "the rewritten " + file.string() + " does not hold what was recorded at " + p;
        }
    }
    std::error_code ec;
    std::filesystem::rename(tmp, file, ec);
    if (ec)
        return "cannot replace " + file.string() + ": " + ec.message();
    return std::nullopt;
}

bool recordable(check::scenario_result const& r, std::string& why) {
    using check::verdict;
    verdict const v = r.v == verdict::divergence ? r.shown : r.v;
    if (v == verdict::crash || v == verdict::hang || v == verdict::skip || v == verdict::error) {
        why = std::string{"the target's result was "} + check::to_string(v);
        if (!r.skip_reason.empty())
            why += " (" + r.skip_reason + ")";
        for (check::finding const& f : r.findings)
            if (f.kind == check::finding_kind::crash || f.kind == check::finding_kind::hang ||
                f.kind == check::finding_kind::harness || f.kind == check::finding_kind::invalid ||
                f.kind == check::finding_kind::load)
                why += "\n  " + check::describe(f);
        return false;
    }
    return true;
}

} // namespace

int record_command(parsed_args const& p) {
    run::options opts = runner_options(p);
    opts.raw_only = true; // exact bytes and real connection fates, as later runs will see them
    auto const specs = resolve_targets("record", {p.text("--target", "fastify")});
    if (!specs)
        return exit_usage;
    run::target_spec const* spec = &specs->front();

    // Issue 19: every file is validated before the target starts; a file that cannot run is a
    // scenario error (exit 2), and with nothing left to record no target is started at all.
    std::vector<loaded_file> const files = select_scenarios(selection_of(p, p.operands));
    int code = report_invalid("record", files) ? exit_usage : exit_pass;
    std::vector<loaded_file const*> runnable;
    for (loaded_file const& f : files)
        if (f.sc && f.excluded.empty())
            runnable.push_back(&f);
    if (files.empty()) {
        std::cerr << "lifecheck record: no scenario files in the given paths\n";
        return exit_usage;
    }
    if (runnable.empty())
        return code;

    run::runner rn{spec->text, run::process_factory(*spec, opts, 0), opts};
    if (!start_target("record", spec->text, rn))
        return exit_usage;
    for (loaded_file const* file : runnable) {
        loaded_file const& f = *file;
        std::vector<json> recordings;
        std::string why;
        std::vector<std::string> paths;
        for (int attempt = 0; attempt < 2 && why.empty(); ++attempt) {
            run::outcome const out = rn.run(*f.sc);
            if (out.result.harness_fault) {
                std::cerr << "lifecheck record: " << f.file.string() << ": "
                          << report::failure_text(out.result);
                return exit_internal;
            }
            if (!recordable(out.result, why))
                break;
            scenario::scenario copy = *f.sc;
            apply(copy.steps, out.result);
            paths.clear();
            if (copy.startup) { // v2.5: `startup` is recorded like a step
                for (check::step_record const& rec : out.result.steps)
                    if (rec.id == "startup")
                        copy.startup->expect = observed(*copy.startup, rec);
                paths.push_back(copy.startup->json_path);
            }
            collect_paths(copy.steps, paths);
            recordings.push_back(scenario::to_json(copy));
        }
        if (!why.empty()) {
            std::cout << "not recorded: " << f.file.string() << ": " << why << '\n';
            code = std::max(code, exit_fail);
            continue;
        }
        if (std::string const diff = first_difference(recordings[0], recordings[1], paths);
            !diff.empty()) {
            std::cout
                << "unstable: " << f.file.string() << ": " << diff
                << "\n  not recorded; fix the race (fixed delays far apart, scenario-format §4)\n";
            code = std::max(code, exit_fail);
            continue;
        }
        if (auto const failed = write_back(f.file, recordings[0], paths)) {
            std::cerr << "lifecheck record: " << *failed << '\n';
            return exit_internal;
        }
        std::cout << "recorded " << f.file.string() << ": " << paths.size() << " steps from "
                  << spec->text << " " << rn.hello().version << '\n';
    }
    return code;
}

} // namespace lifecheck::cli
