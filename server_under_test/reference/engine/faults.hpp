// Test-only seeded faults of the reference engine, to prove the checker and model catch them.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace lifecheck::engine {

/// A deliberate bug the engine can be told to have (compiled in only with LIFECHECK_FAULTS).
enum class fault : std::uint32_t {
    none = 0,
    skip_on_send_after_error = 1u << 0,     // the error reply skips onSend hooks
    on_response_twice = 1u << 1,            // onResponse hooks run twice
    lose_on_request_abort = 1u << 2,        // onRequestAbort never runs
    parent_error_handler_first = 1u << 3,   // the chain starts one handler too far out
    pre_serialization_for_string = 1u << 4, // strings go through preSerialization
    child_hooks_before_parent = 1u << 5,    // an encapsulated scope's own hooks run first
    late_hooks_in_tree_order = 1u << 6,     // `late` hooks ignored as late (tree order)
    error_handler_status_500 = 1u << 7,     // custom error handlers start at 500
    lose_end_on_upload_abort = 1u << 8,     // a client abort during the body upload emits no `end`
};

using fault_set = std::uint32_t;

/// Every fault with its command-line name, in a fixed order.
std::vector<std::pair<std::string, fault>> const& all_faults();

/// Parses a comma-separated list of fault names; nothing if a name is unknown.
std::optional<fault_set> parse_faults(std::string const& names);

inline bool has(fault_set s, fault f) {
#ifdef LIFECHECK_FAULTS
    return (s & static_cast<std::uint32_t>(f)) != 0;
#else
    (void)s;
    (void)f;
    return false;
#endif
}

} // namespace lifecheck::engine
