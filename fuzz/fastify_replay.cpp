// Fault reports that say whether real Fastify shares the fault: replay over sockets, then judge.
#include "fuzz/fastify_replay.hpp"

#include "fuzz/decode.hpp"
#include "harness/property/campaign.hpp"
#include "harness/run/runner.hpp"
#include "harness/run/targets.hpp"
#include "harness/scenario/load.hpp"

#include <cstdlib>
#include <filesystem>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <utility>

#include <unistd.h>

namespace lifecheck::fuzz {
namespace {

namespace fs = std::filesystem;

constexpr char const* prefix = "lifecheck-fuzz: real Fastify";

bool node_on_path() {
    char const* path = std::getenv("PATH");
    std::istringstream dirs{path ? path : ""};
    std::string dir;
    while (std::getline(dirs, dir, ':'))
        if (!dir.empty() && ::access((fs::path{dir} / "node").c_str(), X_OK) == 0)
            return true;
    return false;
}

std::string header(fastify_run const& f) {
    return std::string{prefix} + " (" + f.target + ", replayed over sockets): ";
}

/// The expect findings (what the model predicted and Fastify did not) and invariant findings of
/// one step of Fastify's run.
struct step_view {
    check::step_record const* record = nullptr; // nothing: Fastify never ran the step
    bool differs_from_model = false;
    bool hung = false;
    std::set<std::string> invariants;
};

step_view view_of(fastify_run const& f, std::string const& step_id) {
    step_view v;
    for (check::step_record const& r : f.result.steps)
        if (r.id == step_id)
            v.record = &r;
    for (check::finding const& x : f.result.findings) {
        if (x.step_id != step_id)
            continue;
        switch (x.kind) {
        case check::finding_kind::invariant:
            v.invariants.insert(x.invariant_id);
            break;
        case check::finding_kind::hang:
            v.hung = true;
            break;
        case check::finding_kind::status:
        case check::finding_kind::headers:
        case check::finding_kind::body:
        case check::finding_kind::complete:
        case check::finding_kind::connection:
        case check::finding_kind::aborted:
        case check::finding_kind::reached:
        case check::finding_kind::trace:
        case check::finding_kind::end_at:
        case check::finding_kind::startup:
            v.differs_from_model = true;
            break;
        case check::finding_kind::crash:
        case check::finding_kind::harness:
        case check::finding_kind::invalid:
        case check::finding_kind::load:
            break;
        }
    }
    return v;
}

std::optional<std::string> crash_of(fastify_run const& f) {
    for (check::finding const& x : f.result.findings)
        if (x.invariant_id == "I7" || x.kind == check::finding_kind::crash)
            return x.message;
    return std::nullopt;
}

/// Whom one problem is about, with the line that says why.
enum class whom { reference, checker, fastify_or_checker, unknown };

struct judged {
    whom about = whom::unknown;
    std::string line;
};

template <class It>
std::string join(It first, It last) {
    std::string out;
    for (; first != last; ++first)
        out += (out.empty() ? "" : ", ") + *first;
    return out;
}

/// The verdict line over every problem's judgement.
std::string verdict(fastify_run const& f, std::vector<judged> const& problems) {
    std::set<whom> seen;
    for (judged const& j : problems)
        seen.insert(j.about);
    std::string out = header(f);
    if (auto crash = crash_of(f))
        out += "CRASHES (" + *crash +
               "): a finding about Fastify (I7); the reference must not crash here (D5)";
    else if (seen == std::set<whom>{whom::reference})
        out += "does not share the fault: a finding about the reference";
    else if (seen == std::set<whom>{whom::checker})
        out += "does what the reference does, not what the model predicts: a finding about the "
               "checker (the model)";
    else if (seen == std::set<whom>{whom::fastify_or_checker})
        out += "SHARES the fault: a finding about Fastify (a bug), or about the checker (the "
               "invariant is false of Fastify by design); judge it from Fastify's source "
               "(fuzz/README.md)";
    else
        out += "shares part of the fault: judge each step below";
    out += "\n";
    for (judged const& j : problems)
        out += "  " + j.line + "\n";
    return out;
}

bool same_as_engine(check::step_record const& r, property::step_outcome const& o) {
    std::optional<int> const status = r.got_response ? std::optional<int>{r.status} : std::nullopt;
    return r.trace == o.trace && r.end_at == o.end_at && status == o.status;
}

} // namespace

fastify_run run_on_fastify(scenario::scenario const& sc) {
    fastify_run out;
    char const* chosen = std::getenv("LIFECHECK_FUZZ_FASTIFY");
    std::string const name = chosen && *chosen ? chosen : "fastify";
    out.target = name;
    if (name == "off" || name == "0") {
        out.why = "not replayed: LIFECHECK_FUZZ_FASTIFY=" + name;
        return out;
    }
    if (!node_on_path()) {
        out.why = "not replayed: node is not on PATH";
        return out;
    }
    auto spec = run::resolve_target(name, run::self_exe());
    if (!spec.has_value()) {
        out.why = "not replayed: " + describe(spec.error().front());
        return out;
    }
    run::options opts;
    std::error_code ec;
    opts.log_dir = fs::temp_directory_path(ec) / "lifecheck-fuzz-fastify";
    run::runner runner{name, run::process_factory(spec.value(), opts, 0), opts};
    auto started = runner.ensure_started();
    if (!started.has_value()) {
        out.why = "not replayed: " + name + " did not start: " + describe(started.error().front());
        std::string const err = runner.target_stderr();
        if (!err.empty())
            out.why += "\n" + err;
        runner.stop();
        return out;
    }
    out.target = started.value().target + " " + started.value().version;
    out.result = runner.run(sc).result;
    runner.stop();
    out.ran = true;
    return out;
}

std::string judge_lifecycle(lifecycle_fault const& fault, fastify_run const& fastify) {
    if (!fastify.ran)
        return std::string{prefix} + ": " + fastify.why + "\n";
    std::vector<judged> problems;
    std::set<std::string> judged_steps;
    for (property::model_disagreement const& d : fault.disagreements) {
        if (!judged_steps.insert(d.step_id).second)
            continue; // one line per step: the fields of one step have one cause
        step_view const v = view_of(fastify, d.step_id);
        judged j;
        std::string const at = "step " + d.step_id + ": the reference differs from the model; ";
        property::step_outcome const* engine = nullptr;
        for (property::step_outcome const& o : fault.engine)
            if (o.step_id == d.step_id)
                engine = &o;
        if (!v.record) {
            j.line = at + "Fastify did not run the step";
        } else if (!v.differs_from_model && !v.hung) {
            j.about = whom::reference;
            j.line = at + "Fastify does what the model predicts";
        } else if (engine && same_as_engine(*v.record, *engine)) {
            j.about = whom::checker;
            j.line = at + "Fastify does what the reference does (trace, endAt, status)";
        } else {
            j.line = at + "Fastify differs from both (its trace: [" +
                     join(v.record->trace.begin(), v.record->trace.end()) + "])";
        }
        problems.push_back(std::move(j));
    }
    for (check::finding const& f : fault.invariants) {
        step_view const v = view_of(fastify, f.step_id);
        judged j;
        std::string const at = "step " + f.step_id + ": " + f.invariant_id + ": ";
        if (!v.record) {
            j.line = at + "Fastify did not run the step";
        } else if (v.invariants.count(f.invariant_id)) {
            j.about = whom::fastify_or_checker;
            j.line = at + "Fastify breaks it too";
        } else {
            j.about = whom::reference;
            j.line = at + "Fastify keeps it" +
                     (v.invariants.empty()
                          ? ""
                          : " (it breaks " + join(v.invariants.begin(), v.invariants.end()) + ")");
        }
        problems.push_back(std::move(j));
    }
    return verdict(fastify, problems);
}

std::string judge_http(std::vector<std::string> const& broken,
                       bool malformed_line,
                       std::vector<std::string> const& notes,
                       fastify_run const& fastify) {
    if (!fastify.ran)
        return std::string{prefix} + ": " + fastify.why + "\n";
    std::set<std::string> fastify_broke;
    for (check::finding const& f : fastify.result.findings)
        if (f.kind == check::finding_kind::invariant)
            fastify_broke.insert(f.invariant_id);
    std::vector<judged> problems;
    for (std::string const& id : std::set<std::string>{broken.begin(), broken.end()}) {
        judged j;
        j.about = fastify_broke.count(id) ? whom::fastify_or_checker : whom::reference;
        j.line = id + (fastify_broke.count(id) ? ": Fastify breaks it too (on some request)"
                                               : ": Fastify keeps it on every request");
        problems.push_back(std::move(j));
    }
    if (malformed_line) {
        check::step_record const* first =
            fastify.result.steps.empty() ? nullptr : &fastify.result.steps.front();
        bool const answered = first && first->got_response && first->status >= 400 &&
                              first->status < 500 && first->connection != "kept";
        judged j;
        j.about = answered ? whom::reference : whom::fastify_or_checker;
        j.line = answered ? "malformed request line: Fastify answers it with " +
                                std::to_string(first->status) + " and closes"
                          : "malformed request line: Fastify does not answer it with a 4xx and "
                            "a close either";
        problems.push_back(std::move(j));
    }
    std::string out = verdict(fastify, problems);
    for (std::string const& n : notes)
        out += "  note: " + n + "\n";
    return out;
}

std::string on_fastify_lifecycle(scenario::scenario const& sc, lifecycle_fault const& fault) {
    return judge_lifecycle(fault, run_on_fastify(property::with_expectations(sc)));
}

std::string
on_fastify_http(http_input const& in, std::vector<std::string> const& broken, bool malformed_line) {
    http_scenario hs = http_scenario_of(in);
    auto sc = scenario::parse(hs.doc.dump(), "<fuzz>", "fuzz/http_bytes");
    if (!sc.has_value())
        return std::string{prefix} +
               ": not replayed: the raw-step scenario does not load (a harness fault): " +
               describe(sc.error().front()) + "\n";
    return judge_http(broken, malformed_line, hs.notes, run_on_fastify(sc.value()));
}

} // namespace lifecheck::fuzz
