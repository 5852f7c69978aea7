// Releases on demand: version specs, the registry's published list (cached), the per-user
// release cache and npm installs into it (docs/releases.md, decisions.md D43).
#include "harness/run/releases.hpp"

#include "harness/run/targets.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <array>
#include <cctype>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <fstream>
#include <iostream>
#include <set>
#include <sstream>
#include <system_error>

#include <unistd.h>

namespace lifecheck::run::releases {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;

constexpr long long list_max_age_s = 24 * 60 * 60;

std::optional<long long> number(std::string_view s) {
    if (s.empty() || s.size() > 12 || (s.size() > 1 && s[0] == '0'))
        return std::nullopt;
    long long n = 0;
    for (char c : s) {
        if (c < '0' || c > '9')
            return std::nullopt;
        n = n * 10 + (c - '0');
    }
    return n;
}

std::vector<std::string_view> split(std::string_view s, char sep) {
    std::vector<std::string_view> out;
    std::size_t start = 0;
    for (;;) {
        auto const at = s.find(sep, start);
        out.push_back(s.substr(start, at == std::string_view::npos ? s.npos : at - start));
        if (at == std::string_view::npos)
            return out;
        start = at + 1;
    }
}

// One prerelease identifier against another (semver.org §11.4).
int compare_identifier(std::string_view a, std::string_view b) {
    auto const na = number(a);
    auto const nb = number(b);
    if (na && nb)
        return *na < *nb ? -1 : *na > *nb ? 1 : 0;
    if (na != nb && (na || nb))
        return na ? -1 : 1; // numeric identifiers sort before alphanumeric ones
    return a.compare(b) < 0 ? -1 : a.compare(b) > 0 ? 1 : 0;
}

diagnostic bad_spec(std::string_view text, std::string why) {
    return diagnostic{"<args>",
                      "version " + std::string{text},
                      "a version (4.26.2), a prefix (4, 5.2), ^5.2, ~5.2.1, latest, a range "
                      "A..B or file:PATH" +
                          std::move(why),
                      "\"" + std::string{text} + "\""};
}

// [low, high) of a prefix/caret/tilde spec; exact: high is low itself (matched by equality).
version upper_bound(spec const& s) {
    version hi = s.low;
    hi.pre.clear();
    auto bump = [&](int component) {
        if (component == 0)
            hi = version{s.low.major + 1, 0, 0, "", ""};
        else if (component == 1)
            hi = version{s.low.major, s.low.minor + 1, 0, "", ""};
        else
            hi = version{s.low.major, s.low.minor, s.low.patch + 1, "", ""};
    };
    switch (s.k) {
    case spec::kind::prefix:
        bump(s.parts - 1);
        break;
    case spec::kind::caret:
        // ^1.2.3 → <2.0.0; ^0.2.3 → <0.3.0; ^0.0.3 → <0.0.4 (npm's semver)
        bump(s.low.major != 0 || s.parts == 1 ? 0 : s.low.minor != 0 || s.parts == 2 ? 1 : 2);
        break;
    case spec::kind::tilde:
        bump(s.parts == 1 ? 0 : 1);
        break;
    default:
        break;
    }
    return hi;
}

bool matches(spec const& s, version const& v) {
    if (s.k == spec::kind::exact)
        return compare(v, s.low) == 0;
    if (!v.pre.empty() && !s.pre)
        return false;
    return compare(v, s.low) >= 0 && compare(v, upper_bound(s)) < 0;
}

std::string read_file(fs::path const& p) {
    std::ifstream in{p};
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

// Runs a shell command; its stdout (stderr too when `merge`), and whether it exited 0.
std::pair<bool, std::string> capture(std::string const& command) {
    std::string out;
    FILE* f = ::popen(command.c_str(), "r");
    if (!f)
        return {false, "cannot run: " + command};
    std::array<char, 4096> buf{};
    while (std::size_t n = std::fread(buf.data(), 1, buf.size(), f))
        out.append(buf.data(), n);
    int const st = ::pclose(f);
    return {st == 0, out};
}

std::string last_lines(std::string const& text, std::size_t n) {
    std::vector<std::string> lines;
    std::istringstream in{text};
    for (std::string line; std::getline(in, line);)
        if (!line.empty())
            lines.push_back(line);
    std::string out;
    for (std::size_t i = lines.size() > n ? lines.size() - n : 0; i < lines.size(); ++i)
        out += (out.empty() ? "" : " | ") + lines[i];
    return out;
}

// What npm said went wrong: the first two of its "npm error" lines that carry a message (the
// code, and the reason), without stack traces and generic advice.
std::string npm_error(std::string const& text) {
    std::vector<std::string> lines;
    std::istringstream in{text};
    for (std::string line; std::getline(in, line);) {
        std::string_view const l{line};
        if (l.rfind("npm error ", 0) == 0 && l.find("proxy") == l.npos &&
            l.find("complete log") == l.npos && l.find("npm help") == l.npos &&
            l.find("syscall") == l.npos && l.find("errno") == l.npos && l.size() > 11 &&
            l[10] != ' ' && l[10] != '}')
            lines.push_back(line.substr(10));
    }
    if (lines.empty())
        return last_lines(text, 2);
    return lines.size() == 1 ? lines.front() : lines[0] + ": " + lines[1];
}

std::string day_of(long long epoch) {
    std::time_t const t = static_cast<std::time_t>(epoch);
    std::tm tm{};
    ::gmtime_r(&t, &tm);
    char buf[32];
    std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M UTC", &tm);
    return buf;
}

long long now_s() {
    return std::chrono::duration_cast<std::chrono::seconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
}

fs::path list_file(std::string const& name) {
    return cache_dir() / (name + ".versions.json");
}

// The registry's answer: versions and dist-tags; nothing (and why) when it did not answer.
std::optional<published> ask_registry(std::string const& name, std::string& why) {
    auto const [ok, out] = capture("npm view " + shell_quote(name) +
                                   " versions dist-tags --json --fetch-retries=1 "
                                   "--fetch-retry-mintimeout=2000 --fetch-retry-maxtimeout=5000 "
                                   "--fetch-timeout=20000 2>/dev/null");
    json j = json::parse(out, nullptr, false);
    if (!ok || j.is_discarded() || !j.is_object() || !j.contains("versions")) {
        why = j.is_object() && j.contains("error")
                  ? j["error"].value("summary", std::string{"npm view failed"})
                  : "npm view " + name + " failed" +
                        (out.empty() ? std::string{} : ": " + last_lines(out, 2));
        return std::nullopt;
    }
    published p;
    json const& v = j["versions"];
    if (v.is_string())
        p.versions.push_back(v.get<std::string>());
    else if (v.is_array())
        for (json const& x : v)
            if (x.is_string())
                p.versions.push_back(x.get<std::string>());
    if (j.contains("dist-tags") && j["dist-tags"].is_object())
        p.latest = j["dist-tags"].value("latest", std::string{});
    p.versions = sorted(p.versions);
    p.source = "the registry";
    return p;
}

std::string not_cached_hint(std::string const& name, std::string const& version) {
    return "run `lifecheck releases install " + name + "@" + version +
           "` where the registry is reachable (or copy its folder into " + cache_dir().string() +
           ")";
}

} // namespace

std::optional<version> parse_version(std::string_view text) {
    std::string_view core = text.substr(0, text.find('+'));
    version v;
    v.text = std::string{text};
    if (auto const dash = core.find('-'); dash != std::string_view::npos) {
        v.pre = std::string{core.substr(dash + 1)};
        core = core.substr(0, dash);
        if (v.pre.empty())
            return std::nullopt;
    }
    auto const parts = split(core, '.');
    if (parts.size() != 3)
        return std::nullopt;
    auto const a = number(parts[0]);
    auto const b = number(parts[1]);
    auto const c = number(parts[2]);
    if (!a || !b || !c)
        return std::nullopt;
    v.major = *a;
    v.minor = *b;
    v.patch = *c;
    return v;
}

int compare(version const& a, version const& b) {
    for (auto [x, y] : {std::pair{a.major, b.major}, {a.minor, b.minor}, {a.patch, b.patch}})
        if (x != y)
            return x < y ? -1 : 1;
    if (a.pre.empty() || b.pre.empty())
        return a.pre.empty() == b.pre.empty() ? 0 : a.pre.empty() ? 1 : -1;
    auto const pa = split(a.pre, '.');
    auto const pb = split(b.pre, '.');
    for (std::size_t i = 0; i < pa.size() && i < pb.size(); ++i)
        if (int const c = compare_identifier(pa[i], pb[i]); c != 0)
            return c;
    return pa.size() == pb.size() ? 0 : pa.size() < pb.size() ? -1 : 1;
}

std::vector<std::string> sorted(std::vector<std::string> texts) {
    std::vector<version> vs;
    std::set<std::string> seen;
    for (std::string const& t : texts)
        if (auto v = parse_version(t); v && seen.insert(t).second)
            vs.push_back(std::move(*v));
    std::stable_sort(
        vs.begin(), vs.end(), [](version const& a, version const& b) { return compare(a, b) < 0; });
    std::vector<std::string> out;
    for (version const& v : vs)
        out.push_back(v.text);
    return out;
}

result<spec> parse_spec(std::string_view text) {
    spec s;
    s.text = std::string{text};
    if (text.rfind("file:", 0) == 0) {
        s.k = spec::kind::file;
        s.path = std::string{text.substr(5)};
        if (s.path.empty())
            return bad_spec(text, " (file: needs a path)");
        return s;
    }
    if (text == "latest") {
        s.k = spec::kind::latest;
        return s;
    }
    if (auto const dots = text.find(".."); dots != std::string_view::npos) {
        s.k = spec::kind::range;
        s.from = std::string{text.substr(0, dots)};
        s.to = std::string{text.substr(dots + 2)};
        for (std::string const& end : {s.from, s.to}) {
            auto e = parse_spec(end);
            if (!e || e.value().k == spec::kind::range || e.value().k == spec::kind::file)
                return bad_spec(text,
                                " (each end of a range is a version, prefix, ^, ~ or latest)");
            s.pre = s.pre || e.value().pre;
        }
        return s;
    }
    std::string_view body = text;
    if (!body.empty() && (body[0] == '^' || body[0] == '~')) {
        s.k = body[0] == '^' ? spec::kind::caret : spec::kind::tilde;
        body.remove_prefix(1);
    } else {
        s.k = spec::kind::prefix;
    }
    if (auto v = parse_version(body)) {
        s.low = *v;
        s.parts = 3;
        s.pre = !v->pre.empty();
        if (s.k == spec::kind::prefix)
            s.k = spec::kind::exact;
        return s;
    }
    auto const parts = split(body, '.');
    if (parts.empty() || parts.size() > 2)
        return bad_spec(text, "");
    long long comps[2] = {0, 0};
    for (std::size_t i = 0; i < parts.size(); ++i) {
        auto const n = number(parts[i]);
        if (!n)
            return bad_spec(text, "");
        comps[i] = *n;
    }
    s.low = version{comps[0], comps[1], 0, "", std::string{body}};
    s.parts = static_cast<int>(parts.size());
    return s;
}

std::vector<std::string>
select(spec const& s, std::vector<std::string> const& published, std::string const& latest) {
    std::vector<std::string> const all = sorted(published);
    std::vector<std::string> out;
    switch (s.k) {
    case spec::kind::file:
        return out;
    case spec::kind::latest: {
        if (!latest.empty() && std::find(all.begin(), all.end(), latest) != all.end())
            return {latest};
        for (auto it = all.rbegin(); it != all.rend(); ++it)
            if (parse_version(*it)->pre.empty())
                return {*it};
        return out;
    }
    case spec::kind::range: {
        auto const from = select(parse_spec(s.from).value(), all, latest);
        auto const to = select(parse_spec(s.to).value(), all, latest);
        if (from.empty() || to.empty())
            return out;
        version const lo = *parse_version(from.front());
        version const hi = *parse_version(to.back());
        for (std::string const& t : all) {
            version const v = *parse_version(t);
            if (compare(v, lo) >= 0 && compare(v, hi) <= 0 && (v.pre.empty() || s.pre))
                out.push_back(t);
        }
        return out;
    }
    default:
        for (std::string const& t : all)
            if (matches(s, *parse_version(t)))
                out.push_back(t);
        return out;
    }
}

std::vector<std::string> table_versions(std::vector<std::string> const& known, bool every_release) {
    std::vector<std::string> const all = sorted(known);
    if (every_release)
        return all;
    std::vector<std::string> out;
    for (std::size_t i = 0; i < all.size(); ++i) {
        version const v = *parse_version(all[i]);
        bool const last_of_minor = i + 1 == all.size() || [&] {
            version const next = *parse_version(all[i + 1]);
            return next.major != v.major || next.minor != v.minor;
        }();
        if (last_of_minor)
            out.push_back(all[i]);
    }
    return out;
}

std::vector<probe> bisect(std::size_t n,
                          std::function<std::string(std::size_t)> const& result_of,
                          std::optional<std::size_t>& boundary) {
    boundary.reset();
    std::vector<probe> runs;
    if (n == 0)
        return runs;
    auto run = [&](std::size_t i) {
        runs.push_back({i, result_of(i)});
        return runs.back().result;
    };
    std::string const first = run(0);
    if (n == 1 || run(n - 1) == first)
        return runs;
    // Invariant: lo has `first`'s result, hi does not.
    std::size_t lo = 0;
    std::size_t hi = n - 1;
    while (hi - lo > 1) {
        std::size_t const mid = lo + (hi - lo) / 2;
        (run(mid) == first ? lo : hi) = mid;
    }
    boundary = hi;
    return runs;
}

fs::path cache_dir() {
    if (char const* env = std::getenv("LIFECHECK_RELEASE_CACHE"); env && *env)
        return fs::path{env};
    fs::path base;
    if (char const* xdg = std::getenv("XDG_CACHE_HOME"); xdg && *xdg)
        base = xdg;
    else if (char const* home = std::getenv("HOME"); home && *home)
        base = fs::path{home} / ".cache";
    else
        base = fs::temp_directory_path();
    return base / "lifecheck" / "releases";
}

bool offline() {
    char const* env = std::getenv("LIFECHECK_OFFLINE");
    return env && *env && std::string_view{env} != "0";
}

std::vector<std::string> adapter_versions(fs::path const& adapter_dir, std::string const& name) {
    json const j = json::parse(read_file(adapter_dir / "package.json"), nullptr, false);
    std::vector<std::string> out;
    if (j.is_discarded() || !j.contains("dependencies") || !j["dependencies"].is_object())
        return out;
    std::string const alias_prefix = "npm:" + name + "@";
    for (auto const& [key, value] : j["dependencies"].items()) {
        if (!value.is_string())
            continue;
        std::string const v = value.get<std::string>();
        if (key == name)
            out.push_back(v);
        else if (v.rfind(alias_prefix, 0) == 0)
            out.push_back(v.substr(alias_prefix.size()));
    }
    return sorted(out);
}

fs::path cached_package(std::string const& name, std::string const& version) {
    return cache_dir() / (name + "@" + version) / "node_modules" / name;
}

std::vector<std::string> cached_versions(std::string const& name) {
    std::vector<std::string> out;
    std::error_code ec;
    std::string const prefix = name + "@";
    for (auto const& e : fs::directory_iterator(cache_dir(), ec)) {
        std::string const folder = e.path().filename().string();
        if (folder.rfind(prefix, 0) == 0 &&
            fs::is_regular_file(cached_package(name, folder.substr(prefix.size())) / "package.json",
                                ec))
            out.push_back(folder.substr(prefix.size()));
    }
    return sorted(out);
}

published published_versions(fs::path const& adapter_dir, std::string const& name) {
    json cached = json::parse(read_file(list_file(name)), nullptr, false);
    bool const have_list = cached.is_object() && cached.contains("versions") &&
                           cached["versions"].is_array() && cached.contains("fetched");
    auto from_cache = [&](std::string const& how) {
        published p;
        for (json const& v : cached["versions"])
            if (v.is_string())
                p.versions.push_back(v.get<std::string>());
        p.versions = sorted(p.versions);
        p.latest = cached.value("latest", std::string{});
        p.source = how + "the list of " + day_of(cached["fetched"].get<long long>()) + " (" +
                   list_file(name).string() + ")";
        return p;
    };
    if (have_list && !offline() && now_s() - cached["fetched"].get<long long>() < list_max_age_s)
        return from_cache("");
    std::string why = "LIFECHECK_OFFLINE is set";
    if (!offline()) {
        if (auto p = ask_registry(name, why)) {
            std::error_code ec;
            fs::create_directories(cache_dir(), ec);
            fs::path const tmp = list_file(name).string() + ".tmp" + std::to_string(::getpid());
            std::ofstream{tmp} << json{{"fetched", now_s()},
                                       {"versions", p->versions},
                                       {"latest", p->latest}}
                                      .dump(1)
                               << '\n';
            fs::rename(tmp, list_file(name), ec);
            return *p;
        }
    }
    if (have_list && !offline())
        return from_cache("the registry did not answer (" + why + "); ");
    published p;
    p.versions = adapter_versions(adapter_dir, name);
    for (std::string const& v : cached_versions(name))
        p.versions.push_back(v);
    p.versions = sorted(p.versions);
    p.source = "the installed and cached releases only (" + why + ")";
    return p;
}

result<fs::path> install(std::string const& name, std::string const& version) {
    fs::path const pkg = cached_package(name, version);
    std::error_code ec;
    if (fs::is_regular_file(pkg / "package.json", ec))
        return pkg;
    std::string const what = name + "@" + version;
    auto fail = [&](std::string got) {
        return diagnostic{"<args>",
                          "release " + what,
                          what + " installed (it is not in the release cache; " +
                              not_cached_hint(name, version) + ")",
                          std::move(got)};
    };
    if (offline())
        return fail("not in " + cache_dir().string() + ", and LIFECHECK_OFFLINE is set");
    fs::path const folder = cache_dir() / what;
    fs::path const tmp = cache_dir() / ("." + what + ".tmp" + std::to_string(::getpid()));
    fs::remove_all(tmp, ec);
    fs::create_directories(tmp, ec);
    if (ec)
        return fail("cannot create " + tmp.string() + ": " + ec.message());
    std::ofstream{tmp / "package.json"}
        << json{{"name", "lifecheck-release"},
                {"private", true},
                {"description", "installed by lifecheck (docs/releases.md)"}}
               .dump(2)
        << '\n';
    std::cerr << "lifecheck: installing " << what << " into " << folder.string() << " (npm)"
              << std::flush;
    auto const t0 = std::chrono::steady_clock::now();
    auto const [ok, out] = capture(
        "cd " + shell_quote(tmp.string()) + " && npm install --ignore-scripts --save-exact " +
        "--no-audit --no-fund --fetch-retries=1 --fetch-retry-mintimeout=2000 " +
        "--fetch-retry-maxtimeout=5000 --fetch-timeout=20000 --loglevel=error " +
        shell_quote(what) + " 2>&1");
    auto const ms =
        std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0)
            .count();
    std::cerr << (ok ? " ... done in " : " ... failed after ") << ms / 1000 << '.'
              << (ms % 1000) / 100 << " s\n";
    std::ofstream{tmp / "install.log"} << out;
    json const pj =
        json::parse(read_file(tmp / "node_modules" / name / "package.json"), nullptr, false);
    if (!ok || pj.is_discarded() || pj.value("version", std::string{}) != version) {
        fs::remove_all(tmp, ec);
        fs::path const log = cache_dir() / (what + ".failed.log");
        std::ofstream{log} << out;
        return fail("npm install failed: " + npm_error(out) + " (npm's output: " + log.string() +
                    ")");
    }
    fs::rename(tmp, folder, ec);
    if (ec) // another lifecheck installed it meanwhile
        fs::remove_all(tmp, ec);
    return pkg;
}

result<std::vector<std::string>>
resolve_all(fs::path const& adapter_dir, std::string const& name, std::string const& spec_text) {
    auto s = parse_spec(spec_text);
    if (!s)
        return s.error();
    if (s.value().k == spec::kind::exact)
        return std::vector<std::string>{s.value().low.text};
    if (s.value().k == spec::kind::file)
        return diagnostic{"<args>", name + "@" + spec_text, "a published version", "a path"};
    published const p = published_versions(adapter_dir, name);
    auto const out = select(s.value(), p.versions, p.latest);
    if (out.empty()) {
        std::string known = p.versions.empty() ? "none" : p.versions.front();
        if (p.versions.size() > 1)
            known += " .. " + p.versions.back();
        return diagnostic{"<args>",
                          name + "@" + spec_text,
                          "a spec that matches a release of " + name + " (known from " + p.source +
                              ": " + known + ")",
                          "no match"};
    }
    return out;
}

result<std::string>
resolve_one(fs::path const& adapter_dir, std::string const& name, std::string const& spec_text) {
    auto s = parse_spec(spec_text);
    if (s && s.value().k == spec::kind::range)
        return diagnostic{"<args>",
                          name + "@" + spec_text,
                          "one release (a range A..B is for lifecheck bisect and releases install)",
                          "a range"};
    auto all = resolve_all(adapter_dir, name, spec_text);
    if (!all)
        return all.error();
    return all.value().back();
}

} // namespace lifecheck::run::releases
