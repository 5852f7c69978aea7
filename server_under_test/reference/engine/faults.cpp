// Names of the engine's seeded faults, for `lifecheck-reference --faults` and `lifecheck mutants`.
#include "server_under_test/reference/engine/faults.hpp"

namespace lifecheck::engine {

std::vector<std::pair<std::string, fault>> const& all_faults() {
    static std::vector<std::pair<std::string, fault>> const list = {
        {"skip-onsend-after-error", fault::skip_on_send_after_error},
        {"onresponse-twice", fault::on_response_twice},
        {"lose-onrequestabort", fault::lose_on_request_abort},
        {"parent-error-handler-first", fault::parent_error_handler_first},
        {"preserialization-for-string", fault::pre_serialization_for_string},
        {"child-hooks-before-parent", fault::child_hooks_before_parent},
        {"late-hooks-in-tree-order", fault::late_hooks_in_tree_order},
        {"error-handler-status-500", fault::error_handler_status_500},
        {"lose-end-on-upload-abort", fault::lose_end_on_upload_abort},
    };
    return list;
}

std::optional<fault_set> parse_faults(std::string const& names) {
    fault_set set = 0;
    std::size_t pos = 0;
    while (pos <= names.size()) {
        auto comma = names.find(',', pos);
        std::string name =
            names.substr(pos, comma == std::string::npos ? std::string::npos : comma - pos);
        if (!name.empty()) {
            bool found = false;
            for (auto const& [n, f] : all_faults())
                if (n == name) {
                    set |= static_cast<fault_set>(f);
                    found = true;
                }
            if (!found)
                return std::nullopt;
        }
        if (comma == std::string::npos)
            break;
        pos = comma + 1;
    }
    return set;
}

} // namespace lifecheck::engine
