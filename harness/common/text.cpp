// Small text helpers every harness module uses: lower, utf8_prefix.
#include "harness/common/text.hpp"

#include <algorithm>

namespace lifecheck {

std::string lower(std::string_view s) {
    std::string out{s};
    for (char& c : out)
        if (c >= 'A' && c <= 'Z')
            c = static_cast<char>(c - 'A' + 'a');
    return out;
}

std::size_t edit_distance(std::string_view a_text, std::string_view b_text) {
    std::string const a = lower(a_text);
    std::string const b = lower(b_text);
    // Three rows of the dynamic programme: i-2, i-1, i (the swap looks two rows back).
    std::vector<std::size_t> before(b.size() + 1), previous(b.size() + 1), row(b.size() + 1);
    for (std::size_t j = 0; j <= b.size(); ++j)
        previous[j] = j;
    for (std::size_t i = 1; i <= a.size(); ++i) {
        row[0] = i;
        for (std::size_t j = 1; j <= b.size(); ++j) {
            std::size_t const cost = a[i - 1] == b[j - 1] ? 0 : 1;
            row[j] = std::min({previous[j] + 1, row[j - 1] + 1, previous[j - 1] + cost});
            if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1])
                row[j] = std::min(row[j], before[j - 2] + 1);
        }
        std::swap(before, previous);
        std::swap(previous, row);
    }
    return previous[b.size()];
}

std::optional<std::string> closest(std::string_view got, std::vector<std::string> const& names) {
    std::size_t const limit = std::max<std::size_t>(1, got.size() / 3);
    std::optional<std::string> best;
    std::size_t best_distance = limit + 1;
    for (std::string const& name : names) {
        if (name == got)
            return std::nullopt;
        // A name far longer or shorter than `got` cannot be near: skip the table.
        std::size_t const gap =
            name.size() > got.size() ? name.size() - got.size() : got.size() - name.size();
        if (gap >= best_distance)
            continue;
        std::size_t const d = edit_distance(got, name);
        if (d < best_distance) {
            best = name;
            best_distance = d;
        }
    }
    return best;
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
