// GitHub Actions annotations for failing results: one `::error` workflow command each.
#include "harness/report/github.hpp"

namespace lifecheck::report {

std::string github_escape(std::string_view s, bool property) {
    std::string out;
    for (char c : s) {
        switch (c) {
        case '%':
            out += "%25";
            break;
        case '\r':
            out += "%0D";
            break;
        case '\n':
            out += "%0A";
            break;
        case ':':
            out += property ? "%3A" : ":";
            break;
        case ',':
            out += property ? "%2C" : ",";
            break;
        default:
            out += c;
        }
    }
    return out;
}

std::string github_annotation(check::scenario_result const& r, std::filesystem::path const& root) {
    if (!is_failure(r.v))
        return "";
    source_location const at = locate(r, root);
    std::string const title = headline(r);
    std::string message = r.findings.empty() ? title : check::describe(r.findings.front());
    if (r.findings.size() > 1)
        message += "\n(" + std::to_string(r.findings.size() - 1) + " more findings)";
    if (!r.replay_command.empty())
        message += "\nreplay: " + r.replay_command;
    return "::error file=" + github_escape(at.file, true) + ",line=" + std::to_string(at.line) +
           ",title=" + github_escape("lifecheck: " + title, true) +
           "::" + github_escape(message, false) + "\n";
}

} // namespace lifecheck::report
