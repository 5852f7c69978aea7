// Option parsing, usage errors, scenario loading and glob matching for the subcommands.
#include "harness/cli/args.hpp"

#include "harness/cli/cli.hpp"
#include "harness/scenario/load.hpp"

#include <cstdlib>
#include <iostream>
#include <system_error>

namespace lifecheck::cli {

namespace fs = std::filesystem;

std::optional<std::string> option_value(std::vector<std::string> const& args,
                                        std::size_t& i,
                                        std::string const& name,
                                        std::string& error) {
    std::string const& a = args[i];
    if (a.compare(0, name.size() + 1, name + "=") == 0)
        return a.substr(name.size() + 1);
    if (a != name)
        return std::nullopt;
    if (i + 1 >= args.size()) {
        error = name + " needs a value";
        return std::nullopt;
    }
    return args[++i];
}

bool take_option(std::vector<std::string> const& args,
                 std::size_t& i,
                 std::string const& name,
                 std::string& value,
                 std::string& error) {
    auto const got = option_value(args, i, name, error);
    if (got)
        value = *got;
    return got.has_value();
}

std::optional<long long> parse_count(std::string const& text) {
    if (text.empty() || text.size() > 12)
        return std::nullopt;
    for (char c : text)
        if (c < '0' || c > '9')
            return std::nullopt;
    return std::atoll(text.c_str());
}

int usage_error(std::string const& command, std::string const& problem, char const* usage) {
    std::cerr << "lifecheck " << command << ": " << problem << "\n\n" << usage;
    return exit_usage;
}

std::vector<loaded_file> load_paths(std::vector<std::string> const& paths) {
    std::vector<loaded_file> out;
    std::vector<fs::path> existing;
    for (std::string const& p : paths) {
        std::error_code ec;
        if (fs::exists(p, ec)) {
            existing.emplace_back(p);
            continue;
        }
        loaded_file missing;
        missing.file = p;
        missing.id = fs::path{p}.stem().string();
        missing.problems.push_back({p, "", "a scenario file or folder", "no such path"});
        out.push_back(std::move(missing));
    }
    for (fs::path const& f : scenario::collect_files(existing)) {
        loaded_file lf;
        lf.file = f;
        auto sc = scenario::load_file(f);
        if (sc) {
            lf.id = sc->id;
            lf.sc = std::move(sc.value());
        } else {
            fs::path const root = scenario::find_root(f);
            std::error_code ec;
            fs::path rel = root.empty()
                               ? fs::path{}
                               : fs::absolute(f, ec).lexically_normal().lexically_relative(root);
            lf.id = (rel.empty() ? f.filename() : rel).replace_extension().string();
            lf.problems = sc.error();
        }
        out.push_back(std::move(lf));
    }
    return out;
}

std::string indent(std::string const& text, std::size_t n) {
    std::string const pad(n, ' ');
    std::string out;
    bool at_start = true;
    for (char c : text) {
        if (at_start && c != '\n')
            out += pad;
        out += c;
        at_start = c == '\n';
    }
    if (!out.empty() && out.back() != '\n')
        out += '\n';
    return out;
}

namespace {

bool match_from(std::string_view p, std::string_view s) {
    if (p.empty())
        return s.empty();
    if (p.substr(0, 2) == "**") {
        std::string_view rest = p.substr(2);
        if (rest.substr(0, 1) == "/" && match_from(rest.substr(1), s))
            return true; // `a/**/b` matches `a/b`
        for (std::size_t i = 0; i <= s.size(); ++i)
            if (match_from(rest, s.substr(i)))
                return true;
        return false;
    }
    if (p[0] == '*') {
        for (std::size_t i = 0; i <= s.size(); ++i) {
            if (match_from(p.substr(1), s.substr(i)))
                return true;
            if (i < s.size() && s[i] == '/')
                break; // `*` stays within one segment
        }
        return false;
    }
    if (s.empty())
        return false;
    if (p[0] == '?')
        return s[0] != '/' && match_from(p.substr(1), s.substr(1));
    return p[0] == s[0] && match_from(p.substr(1), s.substr(1));
}

} // namespace

bool glob_match(std::string_view pattern, std::string_view id) {
    while (pattern.size() > 1 && pattern.back() == '/')
        pattern.remove_suffix(1);
    if (pattern.find_first_of("*?") == std::string_view::npos)
        return id == pattern ||
               (id.size() > pattern.size() && id.substr(0, pattern.size()) == pattern &&
                id[pattern.size()] == '/');
    return match_from(pattern, id);
}

} // namespace lifecheck::cli
