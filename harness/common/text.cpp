// Small text helpers every harness module uses.
#include "harness/common/text.hpp"

namespace lifecheck {

std::string lower(std::string_view s) {
    std::string out{s};
    for (char& c : out)
        if (c >= 'A' && c <= 'Z')
            c = static_cast<char>(c - 'A' + 'a');
    return out;
}

} // namespace lifecheck
