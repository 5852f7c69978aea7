// Test helpers for the model's tests: which scenario steps a prediction is compared with.
#pragma once

#include "harness/scenario/scenario.hpp"

#include <map>
#include <string>
#include <vector>

namespace lifecheck::model::test_support {

/// Every request, raw and close step of `steps` (parallel children included) by the id its
/// prediction carries ("close" for a close step without an id).
inline void collect_expected(std::vector<scenario::step> const& steps,
                             std::map<std::string, scenario::step const*>& out) {
    for (auto const& s : steps) {
        if (s.kind == scenario::step_kind::parallel)
            collect_expected(s.children, out);
        else if (s.kind == scenario::step_kind::close)
            out[s.id.empty() ? "close" : s.id] = &s;
        else if (s.kind == scenario::step_kind::request || s.kind == scenario::step_kind::raw)
            out[s.id] = &s;
    }
}

} // namespace lifecheck::model::test_support
