// Attribution of target events to scenario steps (scenario-format §1.4: raw steps, app hooks).
#include "harness/run/observe.hpp"

#include <algorithm>
#include <set>

namespace lifecheck::run {
namespace {

using protocol::event;
using protocol::event_type;

bool is_request_event(event const& e) {
    return (e.type == event_type::cb || e.type == event_type::end) && e.req != "app";
}

/// A start-up hook's callback: onReady, onListen (v2.5), onRoute or onRegister (v2.6), traced
/// with request id `app`.
bool is_on_ready(event const& e) {
    if (e.type != event_type::cb || e.req != "app")
        return false;
    for (char const* name : {"onReady", "onListen", "onRoute", "onRegister"})
        if (e.phase == name || (e.phase.empty() && e.label.rfind(name, 0) == 0))
            return true;
    return false;
}

void flatten_into(std::vector<scenario::step> const& steps,
                  std::vector<scenario::step const*>& out) {
    for (scenario::step const& s : steps) {
        if (s.kind == scenario::step_kind::parallel)
            flatten_into(s.children, out);
        else
            out.push_back(&s);
    }
}

std::vector<event> events_of(std::vector<event> const& events, std::string const& req) {
    std::vector<event> out;
    for (event const& e : events)
        if (is_request_event(e) && e.req == req)
            out.push_back(e);
    return out;
}

} // namespace

std::vector<scenario::step const*> flatten(std::vector<scenario::step> const& steps) {
    std::vector<scenario::step const*> out;
    flatten_into(steps, out);
    return out;
}

std::vector<std::string> unended(std::vector<event> const& events) {
    std::vector<std::string> with_cb;
    std::set<std::string> ended;
    for (event const& e : events) {
        if (!is_request_event(e))
            continue;
        if (e.type == event_type::end)
            ended.insert(e.req);
        else if (std::find(with_cb.begin(), with_cb.end(), e.req) == with_cb.end())
            with_cb.push_back(e.req);
    }
    std::vector<std::string> out;
    for (std::string const& id : with_cb)
        if (!ended.count(id))
            out.push_back(id);
    return out;
}

std::vector<check::request_observation>
observe(scenario::scenario const& sc,
        std::vector<event> const& events,
        std::map<std::string, check::response_observation> const& responses,
        std::vector<raw_window> const& raw_windows,
        std::map<scenario::step const*, std::vector<event>> const& close_events,
        std::optional<check::startup_refusal> const& refused) {
    auto const steps = flatten(sc.steps);
    std::set<std::string> step_ids;
    for (scenario::step const* s : steps)
        if (s->kind == scenario::step_kind::request || s->kind == scenario::step_kind::raw)
            step_ids.insert(s->id);

    // Made-up ids in order of first appearance, each owned by the latest raw step started
    // before it appeared (scenario-format §1.4), or by nobody.
    std::map<scenario::step const*, std::vector<std::string>> owned;
    std::vector<std::string> unclaimed;
    std::set<std::string> seen;
    for (std::size_t i = 0; i < events.size(); ++i) {
        event const& e = events[i];
        if (!is_request_event(e) || step_ids.count(e.req) || !seen.insert(e.req).second)
            continue;
        scenario::step const* owner = nullptr;
        std::size_t best = 0;
        for (raw_window const& w : raw_windows)
            if (w.first_event <= i && (!owner || w.first_event >= best)) {
                owner = w.step;
                best = w.first_event;
            }
        if (owner)
            owned[owner].push_back(e.req);
        else
            unclaimed.push_back(e.req);
    }

    std::vector<event> on_ready;
    for (event const& e : events)
        if (is_on_ready(e))
            on_ready.push_back(e);

    std::vector<check::request_observation> out;
    if (sc.startup) { // v2.5: the start-up hooks and the refusal are the `startup` object's
        check::request_observation o;
        o.step = &*sc.startup;
        o.req_id = "startup";
        o.events = std::move(on_ready);
        o.refused = refused;
        out.push_back(std::move(o));
        on_ready.clear();
    }
    std::size_t const first_step = out.size();
    std::vector<std::string> extra; // ids owned by a raw step beyond its first
    for (scenario::step const* s : steps) {
        check::request_observation o;
        o.step = s;
        if (s->kind == scenario::step_kind::close) {
            auto const it = close_events.find(s);
            if (it == close_events.end())
                continue;
            o.req_id = "app";
            o.events = it->second;
        } else if (s->kind == scenario::step_kind::request || s->kind == scenario::step_kind::raw) {
            auto const it = responses.find(s->id);
            if (it == responses.end())
                continue; // the step never ran (the target died first)
            o.req_id = s->id;
            o.response = it->second;
            std::vector<std::string> ids;
            if (!events_of(events, s->id).empty())
                ids.push_back(s->id);
            if (auto const own = owned.find(s); own != owned.end())
                ids.insert(ids.end(), own->second.begin(), own->second.end());
            if (!ids.empty()) {
                o.events = events_of(events, ids.front());
                extra.insert(extra.end(), ids.begin() + 1, ids.end());
            }
        } else {
            continue;
        }
        if (out.size() == first_step && !on_ready.empty())
            o.events.insert(o.events.begin(), on_ready.begin(), on_ready.end());
        out.push_back(std::move(o));
    }
    extra.insert(extra.end(), unclaimed.begin(), unclaimed.end());
    for (std::string const& id : extra) {
        check::request_observation o;
        o.req_id = id;
        o.events = events_of(events, id);
        out.push_back(std::move(o));
    }
    return out;
}

bool hung(check::request_observation const& o) {
    if (o.req_id == "app")
        return false;
    bool cb = false;
    bool end = false;
    for (event const& e : o.events) {
        if (e.req == "app")
            continue;
        cb = cb || e.type == event_type::cb;
        end = end || e.type == event_type::end;
    }
    if (cb && !end)
        return true;
    if (cb || end || !o.step)
        return false;
    auto const& r = o.response;
    bool const gave_up = !r.got_response && r.client_error.rfind("timeout", 0) == 0;
    return gave_up && !r.client_aborted && !o.step->client.expect_no_response;
}

} // namespace lifecheck::run
