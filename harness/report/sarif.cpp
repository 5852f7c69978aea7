// results.sarif for a run: lifecheck as a SARIF 2.1.0 tool, one result per failing scenario.
#include "harness/report/sarif.hpp"

#include <cstdio>
#include <system_error>

namespace lifecheck::report {
namespace {

using scenario::json;

constexpr check::finding_kind kinds[] = {
    check::finding_kind::status,
    check::finding_kind::headers,
    check::finding_kind::body,
    check::finding_kind::complete,
    check::finding_kind::connection,
    check::finding_kind::aborted,
    check::finding_kind::reached,
    check::finding_kind::trace,
    check::finding_kind::end_at,
    check::finding_kind::invariant,
    check::finding_kind::crash,
    check::finding_kind::hang,
    check::finding_kind::harness,
    check::finding_kind::invalid,
    check::finding_kind::load,
    check::finding_kind::startup,
};

/// What a rule checks, in one sentence (its SARIF shortDescription).
char const* rule_text(check::finding_kind k) {
    switch (k) {
    case check::finding_kind::status:
        return "The response status differs from the step's expect.status.";
    case check::finding_kind::headers:
        return "A response header differs from the step's expect.headers.";
    case check::finding_kind::body:
        return "The response body differs from the step's expect.body.";
    case check::finding_kind::complete:
        return "Whether the response arrived complete differs from expect.complete.";
    case check::finding_kind::connection:
        return "What became of the connection differs from expect.connection.";
    case check::finding_kind::aborted:
        return "The end event's aborted flag differs from expect.aborted.";
    case check::finding_kind::reached:
        return "Whether the request reached the app differs from expect.reached.";
    case check::finding_kind::trace:
        return "The callbacks the request ran differ from expect.trace.";
    case check::finding_kind::end_at:
        return "Where the request's end came in its trace differs from expect.endAt.";
    case check::finding_kind::invariant:
        return "A lifecycle invariant (scenario-format section 4, I1-I7) does not hold.";
    case check::finding_kind::crash:
        return "The target process died (or could not start).";
    case check::finding_kind::hang:
        return "A request got no end within the deadline.";
    case check::finding_kind::harness:
        return "lifecheck itself failed while running the scenario (not the target's fault).";
    case check::finding_kind::invalid:
        return "The scenario file is invalid.";
    case check::finding_kind::load:
        return "The target could build the app but not where it runs (an npm plugin missing or "
               "at another version).";
    case check::finding_kind::startup:
        return "How the app's start-up ended differs from startup.expect.error.";
    }
    return "";
}

std::size_t rule_index(check::finding_kind k) {
    for (std::size_t i = 0; i < std::size(kinds); ++i)
        if (kinds[i] == k)
            return i;
    return 0;
}

/// `path` as a URI reference: unreserved characters and `/` stay, every other byte is %XX.
std::string uri_escape(std::string const& path) {
    std::string out;
    for (unsigned char c : path) {
        bool const plain = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                           (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_' || c == '~' ||
                           c == '/';
        if (plain) {
            out += static_cast<char>(c);
        } else {
            char hex[4];
            std::snprintf(hex, sizeof hex, "%%%02X", c);
            out += hex;
        }
    }
    return out;
}

json rules() {
    json out = json::array();
    for (check::finding_kind k : kinds) {
        json rule = json::object();
        rule["id"] = check::to_string(k);
        rule["shortDescription"] = {{"text", rule_text(k)}};
        rule["defaultConfiguration"] = {{"level", "error"}};
        out.push_back(rule);
    }
    return out;
}

json result_of(check::scenario_result const& r, std::filesystem::path const& root) {
    check::finding_kind const kind =
        r.findings.empty() ? check::finding_kind::harness : r.findings.front().kind;
    // Every finding with its detail (a dead target's stderr, a trace diff), then the replay.
    std::string text = headline(r) + "\n" + failure_text(r);
    if (text.back() == '\n')
        text.pop_back();

    source_location const at = locate(r, root);
    json artifact = json::object();
    bool const relative = !at.file.empty() && at.file.front() != '/';
    artifact["uri"] = relative ? uri_escape(at.file) : "file://" + uri_escape(at.file);
    if (relative)
        artifact["uriBaseId"] = "SRCROOT";
    json physical = json::object();
    physical["artifactLocation"] = artifact;
    physical["region"] = {{"startLine", at.line}};

    json out = json::object();
    out["ruleId"] = check::to_string(kind);
    out["ruleIndex"] = rule_index(kind);
    out["level"] = "error";
    out["message"] = {{"text", text}};
    out["locations"] = json::array({{{"physicalLocation", physical}}});
    json props = json::object();
    props["scenario"] = r.scenario_id;
    props["target"] = r.target;
    props["result"] = check::to_string(r.v);
    if (kind == check::finding_kind::invariant && !r.findings.front().invariant_id.empty())
        props["invariant"] = r.findings.front().invariant_id;
    out["properties"] = props;
    return out;
}

} // namespace

json to_sarif(run_report const& r) {
    std::error_code ec;
    std::filesystem::path root =
        std::filesystem::absolute(r.run.source_root.empty() ? "." : r.run.source_root, ec)
            .lexically_normal();
    std::string root_uri = "file://" + uri_escape(root.generic_string());
    if (root_uri.back() != '/')
        root_uri += '/';

    json driver = json::object();
    driver["name"] = "lifecheck";
    driver["version"] = r.run.lifecheck_version.empty() ? std::string{lifecheck_version()}
                                                        : r.run.lifecheck_version;
    driver["rules"] = rules();

    json results = json::array();
    for (check::scenario_result const& s : r.results)
        if (is_failure(s.v))
            results.push_back(result_of(s, root));

    json invocation = json::object();
    invocation["executionSuccessful"] = r.run.interrupted.empty();
    invocation["commandLine"] = r.run.command;
    if (!r.run.started.empty())
        invocation["startTimeUtc"] = r.run.started;

    json run = json::object();
    run["tool"] = {{"driver", driver}};
    run["originalUriBaseIds"] = {{"SRCROOT", {{"uri", root_uri}}}};
    run["invocations"] = json::array({invocation});
    run["results"] = results;

    json doc = json::object();
    doc["$schema"] = "https://json.schemastore.org/sarif-2.1.0.json";
    doc["version"] = "2.1.0";
    doc["runs"] = json::array({run});
    return doc;
}

result<std::filesystem::path> write_sarif(std::filesystem::path const& file, run_report const& r) {
    return write_text(file, to_sarif(r).dump(2, ' ', false, json::error_handler_t::replace) + "\n");
}

} // namespace lifecheck::report
