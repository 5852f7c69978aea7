// Walks a scenario's steps through a step_driver and records where raw steps started.
#include "harness/run/step_driver.hpp"

namespace lifecheck::run {

std::vector<raw_window> drive_steps(scenario::scenario const& sc, step_driver& d) {
    std::vector<raw_window> windows;
    // scenario-format §1.4: the made-up ids a target first reports during a raw step are its own
    auto const open_windows = [&](scenario::step const& s) {
        if (s.kind == scenario::step_kind::raw)
            windows.push_back({&s, d.events_so_far()});
    };
    for (scenario::step const& s : sc.steps) {
        if (!d.alive())
            break;
        switch (s.kind) {
        case scenario::step_kind::sleep:
            d.pause(std::chrono::milliseconds{s.sleep_ms});
            break;
        case scenario::step_kind::parallel: {
            std::vector<scenario::step const*> children;
            for (scenario::step const& c : s.children) {
                open_windows(c);
                children.push_back(&c);
            }
            d.run_together(children);
            break;
        }
        case scenario::step_kind::request:
        case scenario::step_kind::raw:
        case scenario::step_kind::close:
            open_windows(s);
            d.run_one(s);
            break;
        case scenario::step_kind::startup: // v2.5: never in `steps` (scenario::startup)
            break;
        }
    }
    return windows;
}

} // namespace lifecheck::run
