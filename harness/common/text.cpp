// Small text helpers every harness module uses: lower, utf8_prefix.
#include "harness/common/text.hpp"

namespace lifecheck {

std::string lower(std::string_view s) {
    std::string out{s};
    for (char& c : out)
        if (c >= 'A' && c <= 'Z')
            c = static_cast<char>(c - 'A' + 'a');
    return out;
}

std::string_view utf8_prefix(std::string_view s, std::size_t limit) {
    if (s.size() <= limit)
        return s;
    std::size_t cut = limit;
    // Step back over continuation bytes (10xxxxxx) so a sequence is never split.
    while (cut > 0 && (static_cast<unsigned char>(s[cut]) & 0xC0) == 0x80)
        --cut;
    return s.substr(0, cut);
}

} // namespace lifecheck
