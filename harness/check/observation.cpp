// The observed trace of one request and where its `end` event fell.
#include "harness/check/observation.hpp"

namespace lifecheck::check {

std::vector<std::string> trace_of(request_observation const& o) {
    std::vector<std::string> labels;
    for (protocol::event const& e : o.events)
        if (e.type == protocol::event_type::cb)
            labels.push_back(e.label);
    return labels;
}

std::optional<int> end_position(request_observation const& o) {
    int cbs = 0;
    for (protocol::event const& e : o.events) {
        if (e.type == protocol::event_type::end)
            return cbs;
        if (e.type == protocol::event_type::cb)
            ++cbs;
    }
    return std::nullopt;
}

} // namespace lifecheck::check
