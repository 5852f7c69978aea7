// line_of: where a JSON path of a diagnostic or finding starts in scenario text, as a line number.
#include "harness/scenario/load.hpp"

#include <cstddef>
#include <cstdlib>
#include <optional>
#include <string_view>
#include <vector>

namespace lifecheck::scenario {
namespace {

/// One step of a JSON path: `.key`, `["key"]` or `[N]`.
struct segment {
    bool is_index = false;
    std::size_t index = 0;
    std::string key;
};

/// The end of the JSON string token starting at `text[at]` (a quote): one past its closing quote.
std::size_t string_end(std::string_view text, std::size_t at) {
    std::size_t i = at + 1;
    while (i < text.size() && text[i] != '"')
        i += text[i] == '\\' ? 2 : 1;
    return std::min(i + 1, text.size());
}

/// The text of a JSON string token (quotes included); nothing when it does not decode.
std::optional<std::string> decoded(std::string_view token) {
    json const v = json::parse(token, nullptr, false);
    if (!v.is_string())
        return std::nullopt;
    return v.get<std::string>();
}

/// The segments of `$...` as member_path and index_path write them; nothing when it is not one.
std::optional<std::vector<segment>> segments_of(std::string_view path) {
    if (path.empty() || path[0] != '$')
        return std::nullopt;
    std::vector<segment> out;
    std::size_t i = 1;
    while (i < path.size()) {
        segment s;
        if (path[i] == '.') {
            std::size_t const end = std::min(path.find_first_of(".[", i + 1), path.size());
            s.key = std::string{path.substr(i + 1, end - i - 1)};
            i = end;
        } else if (path[i] == '[' && i + 1 < path.size() && path[i + 1] == '"') {
            std::size_t const end = string_end(path, i + 1);
            auto key = decoded(path.substr(i + 1, end - i - 1));
            if (!key || end >= path.size() || path[end] != ']')
                return std::nullopt;
            s.key = std::move(*key);
            i = end + 1;
        } else if (path[i] == '[') {
            std::size_t const end = path.find(']', i);
            if (end == std::string_view::npos || end == i + 1)
                return std::nullopt;
            s.is_index = true;
            for (char c : path.substr(i + 1, end - i - 1)) {
                if (c < '0' || c > '9')
                    return std::nullopt;
                s.index = s.index * 10 + static_cast<std::size_t>(c - '0');
            }
            i = end + 1;
        } else {
            return std::nullopt;
        }
        out.push_back(std::move(s));
    }
    return out;
}

/// An open object or array while scanning, and whether its path is a prefix of the wanted one.
struct container {
    bool is_array = false;
    std::size_t depth = 0; // segments in its own path
    bool on_path = false;
    std::size_t index = 0;       // arrays: the element being read
    bool member_on_path = false; // objects: the member whose value comes next is on the path
};

} // namespace

int line_of(std::string const& text, std::string const& json_path) {
    if (json_path.rfind("line ", 0) == 0) { // a syntax error's place: "line 3, column 7"
        int const n = std::atoi(json_path.c_str() + 5);
        return n > 0 ? n : 1;
    }
    auto const want = segments_of(json_path);
    if (!want)
        return 1;
    int line = 1;
    int best_line = 1;
    std::size_t best_depth = 0;
    std::vector<container> open;
    bool key_next = false; // inside an object, before a member's key
    // A value starts at the current position: is it on the path, and how deep?
    auto value_here = [&](bool& on_path, std::size_t& depth) {
        if (open.empty()) {
            on_path = true;
            depth = 0;
            return;
        }
        container const& c = open.back();
        depth = c.depth + 1;
        if (!c.is_array) {
            on_path = c.member_on_path;
            return;
        }
        on_path = c.on_path && c.depth < want->size() && (*want)[c.depth].is_index &&
                  (*want)[c.depth].index == c.index;
        if (on_path && depth > best_depth) {
            best_depth = depth;
            best_line = line;
        }
    };
    for (std::size_t i = 0; i < text.size() && best_depth < want->size(); ++i) {
        char const c = text[i];
        if (c == '\n') {
            ++line;
            continue;
        }
        if (c == ' ' || c == '\t' || c == '\r' || c == ':')
            continue;
        if (c == ',') {
            if (!open.empty() && open.back().is_array)
                ++open.back().index;
            key_next = !open.empty() && !open.back().is_array;
            continue;
        }
        if (c == '}' || c == ']') {
            if (!open.empty())
                open.pop_back();
            key_next = false;
            continue;
        }
        if (key_next && c == '"') {
            std::size_t const end = string_end(text, i);
            container& o = open.back();
            auto const key = decoded(std::string_view{text}.substr(i, end - i));
            o.member_on_path = o.on_path && key && o.depth < want->size() &&
                               !(*want)[o.depth].is_index && (*want)[o.depth].key == *key;
            if (o.member_on_path && o.depth + 1 > best_depth) {
                best_depth = o.depth + 1;
                best_line = line;
            }
            key_next = false;
            i = end - 1;
            continue;
        }
        bool on_path = false;
        std::size_t depth = 0;
        value_here(on_path, depth);
        if (c == '{' || c == '[') {
            open.push_back({c == '[', depth, on_path, 0, false});
            key_next = c == '{';
        } else if (c == '"') {
            i = string_end(text, i) - 1;
        } else {
            while (i + 1 < text.size() &&
                   std::string_view{",}] \t\r\n"}.find(text[i + 1]) == std::string_view::npos)
                ++i; // a number or a literal
        }
    }
    return best_line;
}

} // namespace lifecheck::scenario
