// Turns observations and the runner's facts into findings and one verdict per scenario (D3).
#include "harness/check/verdict.hpp"

#include "harness/check/expect.hpp"
#include "harness/check/invariants.hpp"

#include <algorithm>
#include <array>
#include <utility>

namespace lifecheck::check {
namespace {

constexpr std::array<std::pair<verdict, char const*>, 7> verdict_names{{
    {verdict::pass, "pass"},
    {verdict::fail, "fail"},
    {verdict::crash, "crash"},
    {verdict::hang, "hang"},
    {verdict::skip, "skip"},
    {verdict::error, "error"},
    {verdict::divergence, "divergence"},
}};

constexpr std::array<std::pair<finding_kind, char const*>, 16> finding_kind_names{{
    {finding_kind::status, "status"},
    {finding_kind::headers, "headers"},
    {finding_kind::body, "body"},
    {finding_kind::complete, "complete"},
    {finding_kind::connection, "connection"},
    {finding_kind::aborted, "aborted"},
    {finding_kind::reached, "reached"},
    {finding_kind::trace, "trace"},
    {finding_kind::end_at, "endAt"},
    {finding_kind::invariant, "invariant"},
    {finding_kind::crash, "crash"},
    {finding_kind::hang, "hang"},
    {finding_kind::harness, "harness"},
    {finding_kind::invalid, "invalid"},
    {finding_kind::load, "load"},
    {finding_kind::startup, "startup"},
}};

std::string client_text(scenario::client_options const& c) {
    std::string out;
    auto add = [&](char const* name, long long v) {
        out += (out.empty() ? "" : ", ") + std::string{name} + ": " + std::to_string(v);
    };
    if (c.abort_after_ms)
        add("abortAfterMs", *c.abort_after_ms);
    if (c.abort_after_request_bytes)
        add("abortAfterRequestBytes", *c.abort_after_request_bytes);
    if (c.abort_after_body_bytes)
        add("abortAfterBodyBytes", *c.abort_after_body_bytes);
    if (c.abort_after_response_bytes)
        add("abortAfterResponseBytes", *c.abort_after_response_bytes);
    if (c.abort_after_response_body_bytes)
        add("abortAfterResponseBodyBytes", *c.abort_after_response_body_bytes);
    if (c.bytes_per_write)
        add("bytesPerWrite", *c.bytes_per_write);
    if (c.write_delay_ms)
        add("writeDelayMs", *c.write_delay_ms);
    if (c.expect_no_response)
        out += std::string{out.empty() ? "" : ", "} + "expectNoResponse";
    return out;
}

/// The scenario's side of a step record: the request as written and what `expect` wants.
void describe_step(scenario::step const& s, step_record& r) {
    if (s.kind == scenario::step_kind::request) {
        r.request = s.request.method + " " + s.request.url;
        r.request_text = scenario::wire_bytes(s.id, s.request);
    } else if (s.kind == scenario::step_kind::raw) {
        r.request = "raw";
        r.request_text = s.raw;
    } else if (s.kind == scenario::step_kind::close) {
        r.request = "close";
    } else if (s.kind == scenario::step_kind::startup) {
        r.request = "startup";
    }
    r.client = client_text(s.client);
    if (s.expect) {
        r.expected_trace = s.expect->trace;
        r.expected_status = s.expect->status;
    }
}

finding runner_finding(finding_kind kind, std::string step, std::string message) {
    finding f;
    f.step_id = std::move(step);
    f.kind = kind;
    f.message = std::move(message);
    return f;
}

/// Where a finding points in the file: the step with its id (parallel children included), and
/// the expect field it compared when it compared one; "" when no step has the id.
std::string json_path_of(std::vector<scenario::step> const& steps, finding const& f) {
    if (f.step_id.empty())
        return "";
    if (f.step_id == "startup" &&
        (f.kind == finding_kind::startup || f.kind == finding_kind::trace))
        return std::string{"$.startup.expect."} +
               (f.kind == finding_kind::trace ? "trace" : "error");
    for (scenario::step const& s : steps) {
        if (s.id == f.step_id && s.kind != scenario::step_kind::parallel) {
            switch (f.kind) {
            case finding_kind::status:
            case finding_kind::headers:
            case finding_kind::body:
            case finding_kind::complete:
            case finding_kind::connection:
            case finding_kind::aborted:
            case finding_kind::reached:
            case finding_kind::trace:
            case finding_kind::end_at:
                return s.json_path + ".expect." + to_string(f.kind);
            default:
                return s.json_path;
            }
        }
        if (std::string in = json_path_of(s.children, f); !in.empty())
            return in;
    }
    return "";
}

bool is_request_step(request_observation const& o) {
    if (o.req_id == "app" || o.req_id == "startup")
        return false; // application hooks (onReady, preClose, onClose) have no request
    return !o.step || o.step->kind == scenario::step_kind::request ||
           o.step->kind == scenario::step_kind::raw;
}

} // namespace

char const* to_string(verdict v) {
    for (auto const& [value, name] : verdict_names)
        if (value == v)
            return name;
    return "error";
}

char const* to_string(finding_kind k) {
    for (auto const& [value, name] : finding_kind_names)
        if (value == k)
            return name;
    return "harness";
}

std::optional<verdict> parse_verdict(std::string const& name) {
    for (auto const& [value, spelled] : verdict_names)
        if (name == spelled)
            return value;
    return std::nullopt;
}

std::string describe(finding const& f) {
    std::string out;
    if (!f.step_id.empty())
        out += "step " + f.step_id + ": ";
    out += f.message;
    return out;
}

step_record summarize(request_observation const& o) {
    step_record r;
    r.id = o.req_id;
    r.got_response = o.response.got_response;
    r.status = o.response.status;
    r.headers = o.response.headers;
    r.body = o.response.body;
    r.complete = o.response.complete;
    r.connection = scenario::to_string(o.response.connection);
    r.client_aborted = o.response.client_aborted;
    r.client_error = o.response.client_error;
    r.trace = trace_of(o);
    r.end_at = end_position(o);
    if (o.refused) {
        r.refused = true;
        r.refusal_code = o.refused->code;
        r.refusal_message = o.refused->message;
    }
    if (o.step)
        describe_step(*o.step, r);
    for (protocol::event const& e : o.events) {
        if (e.type != protocol::event_type::end)
            continue;
        if (r.end_count++ == 0) {
            r.end_status = e.status;
            r.aborted = e.aborted;
        }
    }
    return r;
}

verdict raw_verdict(run_facts const& facts, std::vector<finding> const& findings) {
    if (facts.invalid || facts.harness_fault || facts.load_error)
        return verdict::error; // scenario-format §4: a harness fault is never blamed on the target
    if (facts.unsupported)
        return verdict::skip;
    if (facts.crash)
        return verdict::crash;
    if (!facts.hung_steps.empty())
        return verdict::hang;
    return findings.empty() ? verdict::pass : verdict::fail;
}

bool divergence_matches(scenario::divergence const& d,
                        std::string const& target,
                        std::string const& version) {
    auto const at = d.target.find('@');
    if (d.target.substr(0, at) != target)
        return false;
    if (at == std::string::npos)
        return true;
    std::string const prefix = d.target.substr(at + 1);
    if (version == prefix)
        return true;
    // D3: "fastify@5.12" matches 5.12.x, not 5.120.
    return !prefix.empty() && version.size() > prefix.size() &&
           version.compare(0, prefix.size(), prefix) == 0 &&
           (prefix.back() == '.' || version[prefix.size()] == '.');
}

std::optional<std::size_t> documented_divergence(std::vector<scenario::divergence> const& entries,
                                                 verdict raw,
                                                 std::string const& target,
                                                 std::string const& version) {
    if (raw != verdict::fail && raw != verdict::crash && raw != verdict::hang)
        return std::nullopt; // D3: a matching target that passes is reported pass
    for (std::size_t i = 0; i < entries.size(); ++i) {
        scenario::divergence const& d = entries[i];
        if (!divergence_matches(d, target, version))
            continue;
        if (d.result && *d.result != to_string(raw))
            continue; // D3: with `result`, only that class is the documented divergence
        return i;
    }
    return std::nullopt;
}

finding step_hung(std::string const& step_id) {
    return runner_finding(
        finding_kind::hang, step_id, "no end event for this request within the deadline (hang)");
}

scenario_result evaluate(scenario::scenario const& sc,
                         std::vector<request_observation> const& observations,
                         run_facts const& facts,
                         checks what) {
    scenario_result r;
    r.scenario_id = sc.id;
    r.file = sc.file;
    r.target = facts.target;
    r.target_version = facts.target_version;
    r.duration_ms = facts.duration_ms;
    r.harness_fault = facts.harness_fault.has_value();
    r.replay_command = facts.replay_command;
    describe_scenario(sc, r);
    if (r.replay_command.empty())
        r.replay_command = "lifecheck run --target " + facts.target + " " +
                           (sc.file.empty() ? "scenarios/" + sc.id + ".json" : sc.file);

    // The runner's findings come first: they explain everything after them.
    if (facts.invalid)
        r.findings.push_back(
            runner_finding(finding_kind::invalid, "", "invalid scenario: " + *facts.invalid));
    if (facts.harness_fault)
        r.findings.push_back(
            runner_finding(finding_kind::harness,
                           "",
                           "lifecheck fault (not the target's): " + *facts.harness_fault));
    if (facts.load_error)
        r.findings.push_back(runner_finding(
            finding_kind::load, "", "the target cannot build the app: " + *facts.load_error));
    if (facts.unsupported)
        r.skip_reason = "target does not support: " + *facts.unsupported;
    if (facts.crash) {
        r.findings.push_back(target_died(*facts.crash));
        if (!facts.target_stderr.empty()) { // issue 19: every report shows why it died
            std::string& d = r.findings.back().detail;
            d = "target stderr:\n";
            for (std::size_t at = 0; at < facts.target_stderr.size();) {
                std::size_t const nl = facts.target_stderr.find('\n', at);
                std::size_t const end = nl == std::string::npos ? facts.target_stderr.size() : nl;
                if (end > at)
                    d += "  " + facts.target_stderr.substr(at, end - at);
                d += '\n';
                at = end + 1;
            }
        }
    }
    for (std::string const& id : facts.hung_steps)
        r.findings.push_back(step_hung(id));

    std::vector<finding> checked;
    if (!facts.invalid && !facts.unsupported && !facts.load_error) {
        for (request_observation const& o : observations) {
            r.steps.push_back(summarize(o));
            if (o.step && o.step->expect && what == checks::expect_and_invariants) {
                auto found = check_expect(*o.step->expect, o);
                checked.insert(checked.end(), found.begin(), found.end());
            }
            if (!is_request_step(o))
                continue;
            bool const hung =
                std::find(facts.hung_steps.begin(), facts.hung_steps.end(), o.req_id) !=
                facts.hung_steps.end();
            for (finding& f : check_invariants(sc.application, o)) {
                if (hung && f.invariant_id == "I1")
                    continue; // the hang finding already says there was no end
                checked.push_back(std::move(f));
            }
        }
    }
    r.findings.insert(r.findings.end(), checked.begin(), checked.end());
    for (finding& f : r.findings)
        f.json_path = json_path_of(sc.steps, f);

    r.shown = raw_verdict(facts, r.findings);
    r.v = r.shown;
    if (auto const i =
            documented_divergence(sc.divergences, r.shown, facts.target, facts.target_version)) {
        scenario::divergence const& d = sc.divergences[*i];
        r.v = verdict::divergence;
        r.divergence_class = scenario::to_string(d.cls);
        r.divergence_note = d.note;
    }
    return r;
}

} // namespace lifecheck::check
