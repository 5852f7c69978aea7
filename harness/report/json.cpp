// results.json for a run: run facts, counts per verdict and target, and every scenario result.
#include "harness/report/json.hpp"

#include <string_view>

namespace lifecheck::report {
namespace {

using scenario::json;

json text_or_null(std::string const& s) {
    return s.empty() ? json(nullptr) : json(s);
}

/// `s` cut to body_limit bytes (finding values can hold whole bodies).
json bounded(std::string const& s) {
    return std::string{utf8_prefix(s, body_limit)};
}

json counts_of(tally const& t) {
    json out = json::object();
    out["total"] = t.total;
    for (check::verdict v : all_verdicts())
        out[check::to_string(v)] = t.of(v);
    return out;
}

json finding_json(check::finding const& f) {
    json out = json::object();
    out["step"] = text_or_null(f.step_id);
    out["kind"] = check::to_string(f.kind);
    out["invariant"] = text_or_null(f.invariant_id);
    out["message"] = f.message;
    out["expected"] = bounded(f.expected);
    out["actual"] = bounded(f.actual);
    if (f.divergence) {
        json d = json::object();
        d["position"] = f.divergence->position;
        d["expected"] = f.divergence->expected ? json(*f.divergence->expected) : json(nullptr);
        d["actual"] = f.divergence->actual ? json(*f.divergence->actual) : json(nullptr);
        out["divergence"] = d;
    } else {
        out["divergence"] = nullptr;
    }
    out["detail"] = text_or_null(f.detail);
    return out;
}

json step_json(check::step_record const& s) {
    json out = json::object();
    out["id"] = s.id;
    out["got_response"] = s.got_response;
    out["status"] = s.got_response ? json(s.status) : json(nullptr);
    json headers = json::array();
    for (auto const& [name, value] : s.headers)
        headers.push_back(json::array({name, value}));
    out["headers"] = headers;
    std::string_view const body = utf8_prefix(s.body, body_limit);
    out["body"] = std::string{body};
    out["body_bytes"] = s.body.size();
    out["body_truncated"] = body.size() < s.body.size();
    out["complete"] = s.complete;
    out["connection"] = s.connection;
    out["client_aborted"] = s.client_aborted;
    out["client_error"] = text_or_null(s.client_error);
    out["trace"] = s.trace;
    out["end_at"] = s.end_at ? json(*s.end_at) : json(nullptr);
    out["end_status"] = s.end_status ? json(*s.end_status) : json(nullptr);
    out["aborted"] = s.aborted ? json(*s.aborted) : json(nullptr);
    out["end_count"] = s.end_count;
    return out;
}

json scenario_json(check::scenario_result const& r) {
    json out = json::object();
    out["id"] = r.scenario_id;
    out["file"] = r.file;
    out["target"] = r.target;
    out["target_version"] = r.target_version;
    out["result"] = check::to_string(r.v);
    out["duration_ms"] = r.duration_ms;
    if (r.v == check::verdict::divergence) {
        json d = json::object();
        d["class"] = r.divergence_class;
        d["note"] = r.divergence_note;
        d["shows"] = check::to_string(r.shown);
        out["divergence"] = d;
    } else {
        out["divergence"] = nullptr;
    }
    out["skip_reason"] = text_or_null(r.skip_reason);
    out["harness_fault"] = r.harness_fault;
    json findings = json::array();
    for (check::finding const& f : r.findings)
        findings.push_back(finding_json(f));
    out["findings"] = findings;
    json steps = json::array();
    for (check::step_record const& s : r.steps)
        steps.push_back(step_json(s));
    out["steps"] = steps;
    out["replay"] = r.replay_command;
    return out;
}

json change_json(check::change const& c) {
    static char const* const kinds[] = {"result", "status", "trace", "body", "invariant"};
    json out = json::object();
    out["kind"] = kinds[static_cast<int>(c.kind)];
    out["step"] = text_or_null(c.step);
    out["before"] = bounded(c.before);
    out["after"] = bounded(c.after);
    out["invariant"] = text_or_null(c.invariant_id);
    out["breaks"] = c.breaks;
    out["text"] = bounded(check::describe(c));
    return out;
}

json delta_json(plugin_delta const& d) {
    json out = json::object();
    json plugins = json::array();
    for (plugin_info const& p : d.plugins) {
        json pj = json::object();
        pj["name"] = p.name;
        pj["version"] = text_or_null(p.version_asked);
        pj["installed"] = text_or_null(p.installed);
        pj["options"] = p.options;
        plugins.push_back(pj);
    }
    out["plugins"] = plugins;
    out["without"] = d.without;
    out["with"] = d.with;
    out["compared"] = d.compared;
    out["changed"] = d.changed.size();
    out["broken"] = broken_count(d);
    json scenarios = json::array();
    for (plugin_change const& c : d.changed) {
        json cj = json::object();
        cj["id"] = c.scenario_id;
        cj["file"] = c.file;
        cj["broken"] = c.broken;
        json changes = json::array();
        for (check::change const& one : c.changes)
            changes.push_back(change_json(one));
        cj["changes"] = changes;
        scenarios.push_back(cj);
    }
    out["scenarios"] = scenarios;
    return out;
}

} // namespace

json to_json(run_report const& r) {
    json doc = json::object();
    doc["lifecheck"] = r.run.lifecheck_version.empty() ? std::string{lifecheck_version()}
                                                       : r.run.lifecheck_version;

    json run = json::object();
    run["id"] = r.run.id;
    run["seed"] = r.run.seed ? json(*r.run.seed) : json(nullptr);
    run["command"] = r.run.command;
    json targets = json::array();
    for (target_info const& t : r.run.targets)
        targets.push_back(json{{"name", t.name}, {"version", t.version}});
    run["targets"] = targets;
    run["started"] = r.run.started;
    run["duration_ms"] = r.run.duration_ms;
    if (!r.run.interrupted.empty())
        run["interrupted"] = r.run.interrupted;
    doc["run"] = run;

    json summary = counts_of(count(r.results));
    json per_target = json::object();
    for (std::string const& name : target_order(r))
        per_target[name] = counts_of(count(r.results, name));
    summary["targets"] = per_target;
    doc["summary"] = summary;

    json scenarios = json::array();
    for (check::scenario_result const& s : r.results)
        scenarios.push_back(scenario_json(s));
    doc["scenarios"] = scenarios;
    if (r.delta)
        doc["plugin_delta"] = delta_json(*r.delta);
    return doc;
}

std::string to_json_text(run_report const& r) {
    return to_json(r).dump(2, ' ', false, json::error_handler_t::replace) + "\n";
}

result<std::filesystem::path> write_json(std::filesystem::path const& file, run_report const& r) {
    return write_text(file, to_json_text(r));
}

} // namespace lifecheck::report
