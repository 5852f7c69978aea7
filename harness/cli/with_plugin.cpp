// `lifecheck run --with-plugin` (with_plugin.hpp, decisions.md D35).
#include "harness/cli/with_plugin.hpp"

#include "harness/check/compare.hpp"
#include "harness/cli/args.hpp"
#include "harness/scenario/load.hpp"

#include <cstddef>
#include <filesystem>
#include <iostream>
#include <utility>

namespace lifecheck::cli {
namespace {

using scenario::json;

bool ran(check::verdict v) {
    return v != check::verdict::skip && v != check::verdict::error;
}

std::string names_of(std::vector<scenario::npm_plugin> const& plugins) {
    std::string out;
    for (scenario::npm_plugin const& p : plugins)
        out += (out.empty() ? "" : ", ") + p.name;
    return out;
}

} // namespace

result<scenario::npm_plugin> parse_plugin_spec(std::string const& text) {
    std::string const where = "--with-plugin '" + text + "'";
    std::string name = text;
    json entry = json::object();
    if (auto const colon = text.find(':'); colon != std::string::npos) {
        name = text.substr(0, colon);
        json options = json::parse(text.substr(colon + 1), nullptr, false);
        if (options.is_discarded() || !options.is_object())
            return diagnostic{
                where, "options", "a JSON object after ':'", "\"" + text.substr(colon + 1) + "\""};
        entry["options"] = std::move(options);
    }
    auto const slash = name.rfind('/');
    auto const at = name.rfind('@');
    if (at != std::string::npos && at > 0 && (slash == std::string::npos || at > slash)) {
        entry["version"] = name.substr(at + 1);
        name.resize(at);
    }
    if (name == "." || name == ".." || name.rfind("./", 0) == 0 || name.rfind("../", 0) == 0) {
        name = (std::filesystem::current_path() / name).lexically_normal().string();
        while (name.size() > 1 && name.back() == '/')
            name.pop_back();
    }
    entry["name"] = name;
    // The loader's rules for a scenario's npmPlugins entry, through the loader itself.
    json const doc = {{"app", {{"npmPlugins", json::array({entry})}}},
                      {"steps", json::array({{{"sleepMs", 0}}})}};
    auto loaded = scenario::from_json(doc, where, "with-plugin");
    if (!loaded) {
        diagnostics out;
        for (diagnostic d : loaded.error()) {
            std::string const prefix = "$.app.npmPlugins[0].";
            if (d.json_path.rfind(prefix, 0) == 0)
                d.json_path = d.json_path.substr(prefix.size());
            out.push_back(std::move(d));
        }
        return out;
    }
    return std::move(loaded.value().application.root.npm_plugins.front());
}

scenario::scenario with_root_plugins(scenario::scenario sc,
                                     std::vector<scenario::npm_plugin> const& plugins) {
    if (sc.lang != scenario::dialect::fastify)
        return sc;
    auto& mine = sc.application.root.npm_plugins;
    mine.insert(mine.begin(), plugins.begin(), plugins.end());
    return sc;
}

std::string with_plugins_name(std::string const& target,
                              std::vector<scenario::npm_plugin> const& plugins) {
    std::string out = target;
    for (scenario::npm_plugin const& p : plugins)
        out += "+" + p.name;
    return out;
}

std::optional<std::vector<std::string>>
check_plugins(run::target_spec const& spec,
              run::options const& opts,
              std::vector<scenario::npm_plugin> const& plugins) {
    run::runner rn{spec.text, run::process_factory(spec, opts, 0), opts};
    if (!start_target("run", spec.text, rn))
        return std::nullopt;
    protocol::target* t = rn.target();
    if (!t)
        return std::nullopt;
    scenario::app app;
    app.root.npm_plugins = plugins;
    auto const loaded = t->load("with-plugin-check",
                                scenario::app_to_json(app, scenario::dialect::fastify),
                                scenario::dialect::fastify,
                                opts.load_timeout);
    std::string const names = names_of(plugins);
    switch (loaded.status) {
    case protocol::load_status::ready:
        break;
    case protocol::load_status::unsupported:
        std::cerr << "lifecheck run: --with-plugin: target " << spec.text
                  << " cannot register npm plugins: " << loaded.detail << '\n';
        return std::nullopt;
    case protocol::load_status::load_error:
        std::cerr << "lifecheck run: --with-plugin: " << loaded.detail << '\n';
        return std::nullopt;
    case protocol::load_status::startup_error:
    case protocol::load_status::died:
    case protocol::load_status::timed_out: {
        std::cerr << "lifecheck run: --with-plugin: target " << spec.text
                  << (loaded.status != protocol::load_status::timed_out
                          ? " could not start an app with "
                          : " did not answer the load of an app with ")
                  << names << " (options or a Fastify version the plugin refuses: its stderr says)"
                  << ": " << loaded.detail << '\n';
        if (std::string const err = rn.target_stderr(); !err.empty())
            std::cerr << indent("target stderr:\n" + indent(err, 2), 2);
        return std::nullopt;
    }
    }
    std::vector<std::string> versions(plugins.size());
    for (protocol::event const& e : t->events().snapshot()) {
        if (e.type != protocol::event_type::ready)
            continue;
        json const registered = e.raw.value("npmPlugins", json::array());
        for (std::size_t i = 0; i < versions.size() && i < registered.size(); ++i)
            if (registered[i].is_object())
                versions[i] = registered[i].value("version", "");
    }
    t->close(opts.deadline);
    return versions;
}

report::plugin_delta plugin_delta_of(std::vector<check::scenario_result> const& without,
                                     std::vector<check::scenario_result> const& with,
                                     std::vector<report::plugin_info> plugins) {
    report::plugin_delta d;
    d.plugins = std::move(plugins);
    for (std::size_t i = 0; i < without.size() && i < with.size(); ++i) {
        check::scenario_result const& a = without[i];
        check::scenario_result const& b = with[i];
        if (d.without.empty()) {
            d.without = a.target;
            d.with = b.target;
        }
        if (!ran(a.v) && !ran(b.v))
            continue;
        ++d.compared;
        auto changes = check::lifecycle_changes(a, b);
        if (changes.empty())
            continue;
        report::plugin_change c;
        c.scenario_id = a.scenario_id;
        c.file = a.file;
        for (check::change const& one : changes)
            c.broken = c.broken || one.breaks;
        c.changes = std::move(changes);
        d.changed.push_back(std::move(c));
    }
    return d;
}

void print_delta(report::plugin_delta const& d,
                 std::string const& target_version,
                 std::ostream& out) {
    std::string plugins;
    for (report::plugin_info const& p : d.plugins)
        plugins += (plugins.empty() ? "" : ", ") + p.name +
                   (p.installed.empty() ? "" : " " + p.installed) +
                   (p.options.empty() ? "" : " " + p.options.dump());
    out << "\nplugin delta: " << plugins << ", registered first at the root; each scenario ran on "
        << d.without << (target_version.empty() ? "" : " " + target_version)
        << " without, then with it\n";
    constexpr std::size_t shown_per_scenario = 12;
    for (report::plugin_change const& c : d.changed) {
        out << (c.broken ? "BROKEN   " : "CHANGED  ") << c.scenario_id << '\n';
        for (std::size_t i = 0; i < c.changes.size(); ++i) {
            if (i == shown_per_scenario) {
                out << "         (" << c.changes.size() - i << " more changes in the reports)\n";
                break;
            }
            out << "         " << check::describe(c.changes[i]) << '\n';
        }
    }
    std::size_t const broken = report::broken_count(d);
    out << d.changed.size() << " of " << d.compared
        << " scenarios changed with the plugin: " << broken
        << " broke the lifecycle (an invariant, a crash or a hang with the plugin only), "
        << d.changed.size() - broken << " changed trace, status or result only\n";
}

} // namespace lifecheck::cli
