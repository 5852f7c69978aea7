// Events after the target's idle signal (v2.6, scenario-format §3.1, decisions.md D57).
#include "harness/run/runner.hpp"

namespace lifecheck::run {

void note_late_events(std::vector<protocol::event> const& events,
                      std::size_t idle_at,
                      std::vector<std::string>& warnings) {
    for (std::size_t i = idle_at + 1; i < events.size(); ++i) {
        protocol::event const& e = events[i];
        bool const request_event =
            (e.type == protocol::event_type::cb || e.type == protocol::event_type::end) &&
            e.req != "app";
        if (request_event)
            warnings.push_back("late event after idle (it counts; the target said idle too "
                               "early): " +
                               protocol::encode(e));
    }
}

} // namespace lifecheck::run
