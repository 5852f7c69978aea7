// Counting, ordering and failure text shared by the JUnit and JSON writers; writing files.
#include "harness/report/report.hpp"

#include "harness/scenario/load.hpp"

#include <cctype>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <system_error>

#ifndef LIFECHECK_VERSION
#define LIFECHECK_VERSION "0.0.0"
#endif

namespace lifecheck::report {
namespace {

std::size_t slot(check::verdict v) {
    auto const& all = all_verdicts();
    for (std::size_t i = 0; i < all.size(); ++i)
        if (all[i] == v)
            return i;
    return 0;
}

std::string indent(std::string const& text, std::string const& prefix) {
    std::string out;
    bool at_line_start = true;
    for (char c : text) {
        if (at_line_start && c != '\n')
            out += prefix;
        out += c;
        at_line_start = c == '\n';
    }
    if (!out.empty() && out.back() != '\n')
        out += '\n';
    return out;
}

} // namespace

char const* lifecheck_version() {
    return LIFECHECK_VERSION;
}

std::array<check::verdict, 7> const& all_verdicts() {
    static std::array<check::verdict, 7> const all{
        check::verdict::pass,
        check::verdict::fail,
        check::verdict::crash,
        check::verdict::hang,
        check::verdict::skip,
        check::verdict::error,
        check::verdict::divergence,
    };
    return all;
}

std::size_t tally::of(check::verdict v) const {
    return by_verdict[slot(v)];
}

tally count(std::vector<check::scenario_result> const& results,
            std::optional<std::string> const& target) {
    tally t;
    for (check::scenario_result const& r : results) {
        if (target && r.target != *target)
            continue;
        ++t.total;
        ++t.by_verdict[slot(r.v)];
    }
    return t;
}

std::vector<std::string> target_order(run_report const& r) {
    std::vector<std::string> out;
    auto add = [&out](std::string const& name) {
        for (std::string const& known : out)
            if (known == name)
                return;
        out.push_back(name);
    };
    for (target_info const& t : r.run.targets)
        add(t.name);
    for (check::scenario_result const& s : r.results)
        add(s.target);
    return out;
}

std::string failure_text(check::scenario_result const& r) {
    std::string out;
    if (r.v == check::verdict::divergence)
        out += "documented divergence (" + r.divergence_class + "), shows " +
               check::to_string(r.shown) + ": " + r.divergence_note + "\n";
    if (!r.skip_reason.empty())
        out += "skipped: " + r.skip_reason + "\n";
    if (r.harness_fault)
        out += "a fault of lifecheck itself, not of the target\n";
    for (check::finding const& f : r.findings) {
        out += check::describe(f) + "\n";
        if (!f.detail.empty())
            out += indent(f.detail, "    ");
    }
    if (!r.replay_command.empty())
        out += "replay: " + r.replay_command + "\n";
    return out;
}

bool is_failure(check::verdict v) {
    return v == check::verdict::fail || v == check::verdict::crash || v == check::verdict::hang ||
           v == check::verdict::error;
}

std::filesystem::path source_root() {
    namespace fs = std::filesystem;
    if (char const* ws = std::getenv("GITHUB_WORKSPACE"); ws && *ws)
        return fs::path{ws};
    std::error_code ec;
    fs::path const cwd = fs::current_path(ec);
    for (fs::path dir = cwd; !dir.empty(); dir = dir.parent_path()) {
        if (fs::exists(dir / ".git", ec))
            return dir;
        if (dir == dir.parent_path())
            break;
    }
    return cwd;
}

std::string relative_to(std::string const& file, std::filesystem::path const& root) {
    namespace fs = std::filesystem;
    std::error_code ec;
    fs::path const abs = fs::absolute(file, ec).lexically_normal();
    fs::path const base = fs::absolute(root.empty() ? fs::path{"."} : root, ec).lexically_normal();
    fs::path const rel = abs.lexically_relative(base);
    if (ec || rel.empty() || *rel.begin() == "..")
        return abs.generic_string();
    return rel.generic_string();
}

source_location locate(check::scenario_result const& r, std::filesystem::path const& root) {
    source_location at;
    at.file = relative_to(r.file, root);
    for (check::finding const& f : r.findings) {
        if (f.json_path.empty())
            continue;
        std::ifstream in{r.file, std::ios::binary};
        std::ostringstream text;
        text << in.rdbuf();
        at.line = scenario::line_of(text.str(), f.json_path);
        break;
    }
    return at;
}

std::string headline(check::scenario_result const& r) {
    std::string out = check::to_string(r.v);
    for (char& c : out)
        c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    return out + " " + r.scenario_id + " [" + r.target + "]";
}

std::size_t broken_count(plugin_delta const& d) {
    std::size_t n = 0;
    for (plugin_change const& c : d.changed)
        n += c.broken ? 1 : 0;
    return n;
}

result<std::filesystem::path> write_text(std::filesystem::path const& file,
                                         std::string const& content) {
    std::error_code ec;
    if (file.has_parent_path())
        std::filesystem::create_directories(file.parent_path(), ec);
    if (ec)
        return diagnostic{file.string(), "", "a folder that can be created", ec.message()};
    std::ofstream out(file, std::ios::binary | std::ios::trunc);
    if (!out)
        return diagnostic{file.string(), "", "a writable file", std::strerror(errno)};
    out << content;
    out.close();
    if (!out)
        return diagnostic{file.string(), "", "a complete write", std::strerror(errno)};
    return file;
}

} // namespace lifecheck::report
