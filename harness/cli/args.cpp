// The scenario-selection path (load, filter, exclude, diagnostics), target resolution and glob
// matching for the subcommands.
#include "harness/cli/args.hpp"

#include "harness/cli/cli.hpp"
#include "harness/common/text.hpp"
#include "harness/scenario/load.hpp"

#include <algorithm>
#include <cstdlib>
#include <iostream>
#include <system_error>

#include <fnmatch.h>

namespace lifecheck::cli {

namespace fs = std::filesystem;

std::optional<long long> parse_count(std::string const& text) {
    if (text.empty() || text.size() > 12)
        return std::nullopt;
    for (char c : text)
        if (c < '0' || c > '9')
            return std::nullopt;
    return std::atoll(text.c_str());
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
    for (fs::path const& found : scenario::collect_files(existing)) {
        fs::path const f = shown_path(found);
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

selection selection_of(parsed_args const& p, std::vector<std::string> paths) {
    selection s;
    s.paths = std::move(paths);
    s.filters = p.all("--filter");
    s.keyword = p.text("--keyword");
    s.tags = p.all("--tag");
    for (std::string const& v : p.all("--exclude")) {
        auto const eq = v.find('=');
        std::string const pattern = v.substr(0, eq);
        std::string reason = eq == std::string::npos ? "" : v.substr(eq + 1);
        if (reason.empty())
            reason = "excluded by --exclude " + pattern;
        s.excludes.emplace_back(pattern, reason);
    }
    return s;
}

std::vector<loaded_file> select_scenarios(selection const& s) {
    std::vector<loaded_file> out;
    for (loaded_file& f : load_paths(s.paths)) {
        bool keep = s.filters.empty();
        for (std::string const& pattern : s.filters)
            keep = keep || glob_match(pattern, f.id);
        if (!keep)
            continue;
        if (!s.keyword.empty() && !keyword_match(s.keyword, f.id) &&
            !(f.sc && keyword_match(s.keyword, f.sc->description)))
            continue;
        if (!s.tags.empty() && f.sc &&
            std::none_of(s.tags.begin(), s.tags.end(), [&f](std::string const& t) {
                return std::find(f.sc->tags.begin(), f.sc->tags.end(), t) != f.sc->tags.end();
            }))
            continue;
        for (auto const& [pattern, reason] : s.excludes)
            if (f.excluded.empty() && glob_match(pattern, f.id))
                f.excluded = reason;
        out.push_back(std::move(f));
    }
    return out;
}

bool keyword_match(std::string const& pattern, std::string const& text) {
    std::string const glob = "*" + lower(pattern) + "*";
    return ::fnmatch(glob.c_str(), lower(text).c_str(), FNM_NOESCAPE) == 0;
}

fs::path shown_path(fs::path const& file) {
    std::error_code ec;
    fs::path const cwd = fs::current_path(ec);
    fs::path const abs = fs::absolute(file, ec).lexically_normal();
    if (!ec) {
        fs::path const rel = abs.lexically_relative(cwd);
        if (!rel.empty() && *rel.begin() != "..")
            return rel;
    }
    return file;
}

bool report_invalid(std::string_view command, std::vector<loaded_file> const& files) {
    bool invalid = false;
    for (loaded_file const& f : files) {
        invalid = invalid || !f.sc;
        for (diagnostic const& d : f.problems)
            std::cerr << "lifecheck " << command << ": " << describe(d) << '\n';
    }
    return invalid;
}

std::optional<std::vector<run::target_spec>>
resolve_targets(std::string_view command, std::vector<std::string> const& texts) {
    std::vector<run::target_spec> specs;
    for (std::string const& t : texts) {
        auto spec = run::resolve_target(t, run::self_exe());
        if (!spec) {
            usage_error(command, "cannot use target: " + describe(spec.error().front()));
            return std::nullopt;
        }
        specs.push_back(std::move(spec.value()));
    }
    return specs;
}

std::optional<protocol::hello_info> start_target(std::string_view command,
                                                 std::string const& name,
                                                 run::runner& rn,
                                                 start_failure* failed) {
    auto hello = rn.ensure_started();
    if (hello)
        return std::move(hello.value());
    std::string const why = describe(hello.error().front());
    std::string const err = rn.target_stderr();
    std::cerr << "lifecheck " << command << ": cannot start target " << name << ": " << why << '\n';
    if (!err.empty())
        std::cerr << indent("target stderr:\n" + indent(err, 2), 2);
    if (failed)
        *failed = {name, why, err};
    return std::nullopt;
}

std::optional<std::vector<protocol::hello_info>>
hellos_of(std::string_view command,
          std::vector<run::target_spec> const& specs,
          run::options const& opts,
          start_failure* failed) {
    std::vector<protocol::hello_info> out;
    for (run::target_spec const& spec : specs) {
        run::runner probe{spec.text, run::process_factory(spec, opts, 0), opts};
        auto hello = start_target(command, spec.text, probe, failed);
        if (!hello)
            return std::nullopt;
        out.push_back(std::move(*hello));
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
