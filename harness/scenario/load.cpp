// Loads scenario files: reads, parses (with line:column and duplicate-key diagnostics), validates,
// labels (decisions.md D1), and finds scenario files and the scenarios/ root.
#include "harness/scenario/load.hpp"

#include "harness/scenario/detail/validate.hpp"
#include "harness/trace/label.hpp"

#include <algorithm>
#include <cerrno>
#include <cstddef>
#include <cstring>
#include <fstream>
#include <iterator>
#include <optional>
#include <set>
#include <sstream>
#include <system_error>
#include <utility>

namespace lifecheck::scenario {
namespace {

namespace fs = std::filesystem;

/// Records keys that appear twice in one object while nlohmann parses (it keeps only one).
class duplicate_keys {
public:
    explicit duplicate_keys(std::string file)
        : file_{std::move(file)} {}

    bool operator()(int /*depth*/, json::parse_event_t event, json& parsed) {
        switch (event) {
        case json::parse_event_t::object_start:
        case json::parse_event_t::array_start:
            frames_.push_back(
                frame{event == json::parse_event_t::array_start, 0, {}, {}, child_path()});
            break;
        case json::parse_event_t::key: {
            frame& top = frames_.back();
            top.key = parsed.get<std::string>();
            if (!top.keys.insert(top.key).second)
                found_.push_back(diagnostic{file_,
                                            detail::member_path(top.path, top.key),
                                            "each key at most once in an object",
                                            detail::shown(parsed)});
            break;
        }
        case json::parse_event_t::value:
            element_done();
            break;
        case json::parse_event_t::object_end:
        case json::parse_event_t::array_end:
            frames_.pop_back();
            element_done();
            break;
        }
        return true;
    }

    diagnostics const& found() const { return found_; }

private:
    struct frame {
        bool array = false;
        std::size_t index = 0;      // array: index of the element being read
        std::string key;            // object: the key whose value is being read
        std::set<std::string> keys; // object: keys seen so far
        std::string path;           // JSONPath of this container
    };

    std::string child_path() const {
        if (frames_.empty())
            return "$";
        frame const& top = frames_.back();
        if (top.array)
            return top.path + "[" + std::to_string(top.index) + "]";
        return detail::member_path(top.path, top.key);
    }

    void element_done() {
        if (!frames_.empty() && frames_.back().array)
            ++frames_.back().index;
    }

    std::string file_;
    std::vector<frame> frames_; // open containers, outermost first
    diagnostics found_;
};

/// The 0-based offset of the first `[` or `{` nested deeper than max_json_depth, if any.
/// NOTE: checked on the text, before parsing: an ordered_json object copies its members when it
/// grows, and that copy recurses, so a deep document must never be built at all.
std::optional<std::size_t> too_deep_at(std::string const& text) {
    std::size_t depth = 0;
    bool in_string = false;
    for (std::size_t i = 0; i < text.size(); ++i) {
        char const c = text[i];
        if (in_string) {
            if (c == '\\')
                ++i;
            else if (c == '"')
                in_string = false;
        } else if (c == '"') {
            in_string = true;
        } else if (c == '[' || c == '{') {
            if (++depth > detail::max_json_depth)
                return i;
        } else if ((c == ']' || c == '}') && depth > 0) {
            --depth;
        }
    }
    return std::nullopt;
}

/// "line 3, column 8" of a 1-based byte position in `text`.
std::string line_column(std::string const& text, std::size_t byte) {
    std::size_t const end = std::min(byte == 0 ? std::size_t{0} : byte - 1, text.size());
    std::size_t line = 1;
    std::size_t line_start = 0;
    for (std::size_t i = 0; i < end; ++i) {
        if (text[i] == '\n') {
            ++line;
            line_start = i + 1;
        }
    }
    return "line " + std::to_string(line) + ", column " + std::to_string(end - line_start + 1);
}

/// nlohmann's reason without its "[json.exception...] parse error at line L, column C: " head.
std::string parse_reason(std::string const& what) {
    std::size_t const at = what.find("column ");
    if (at != std::string::npos) {
        std::size_t const colon = what.find(": ", at);
        if (colon != std::string::npos)
            return what.substr(colon + 2);
    }
    std::size_t const colon = what.find(": ");
    return colon == std::string::npos ? what : what.substr(colon + 2);
}

std::string without_json_extension(fs::path p) {
    if (p.extension() == ".json")
        p.replace_extension();
    return p.generic_string();
}

bool ignored_name(fs::path const& p) {
    std::string const n = p.filename().string();
    return n == "DIVERGENCES.md" || n == "README.md";
}

} // namespace

std::string scenario_id(fs::path const& file, fs::path const& root) {
    fs::path const base = root.empty() ? find_root(file) : root;
    if (!base.empty()) {
        std::error_code ec;
        fs::path const f = fs::weakly_canonical(fs::absolute(file, ec), ec);
        fs::path const r = fs::weakly_canonical(fs::absolute(base, ec), ec);
        if (!ec) {
            fs::path const rel = f.lexically_relative(r);
            if (!rel.empty() && rel != "." && *rel.begin() != "..")
                return without_json_extension(rel);
        }
    }
    return without_json_extension(file.filename());
}

result<scenario> load_file(fs::path const& file, fs::path const& root) {
    std::ifstream in{file, std::ios::binary};
    if (!in) {
        int const err = errno;
        return diagnostic{file.string(),
                          "",
                          "a readable scenario file",
                          err != 0 ? std::strerror(err) : "cannot open"};
    }
    std::ostringstream text;
    text << in.rdbuf();
    if (in.bad())
        return diagnostic{file.string(), "", "a readable scenario file", "a read error"};
    return parse(text.str(), file.string(), scenario_id(file, root));
}

result<scenario> parse(std::string const& text, std::string const& file, std::string const& id) {
    if (auto const at = too_deep_at(text))
        return diagnostic{file,
                          line_column(text, *at + 1),
                          "JSON nested at most " + std::to_string(detail::max_json_depth) +
                              " levels deep",
                          "deeper nesting"};
    duplicate_keys dups{file};
    json doc;
    try {
        doc = json::parse(
            text,
            [&dups](int depth, json::parse_event_t event, json& parsed) {
                return dups(depth, event, parsed);
            },
            true,
            false);
    } catch (json::parse_error const& e) {
        return diagnostic{file, line_column(text, e.byte), "valid JSON", parse_reason(e.what())};
    } catch (std::exception const& e) {
        return diagnostic{file, "$", "valid JSON", e.what()};
    }
    auto built = from_json(doc, file, id);
    if (dups.found().empty())
        return built;
    diagnostics all = dups.found();
    if (!built.has_value())
        all.insert(all.end(), built.error().begin(), built.error().end());
    return all;
}

result<scenario> from_json(json const& doc, std::string const& file, std::string const& id) {
    try {
        if (detail::depth_of(doc) > detail::max_json_depth)
            return diagnostic{file,
                              "$",
                              "JSON nested at most " + std::to_string(detail::max_json_depth) +
                                  " levels deep",
                              "deeper nesting"};
        diagnostics problems;
        scenario s = detail::read_scenario(doc, file, problems);
        if (!problems.empty())
            return problems;
        trace::assign_labels(s.application, s.lang); // decisions.md D1
        detail::check_trace_labels(s, file, problems);
        if (!problems.empty())
            return problems;
        s.id = id;
        s.file = file;
        return s;
    } catch (std::exception const& e) {
        // The reader checks every type before it reads; reaching this is a loader bug, but it
        // still must not escape as an exception (style §B.5).
        return diagnostic{file, "$", "a scenario the loader can read", e.what()};
    }
}

std::vector<fs::path> collect_files(std::vector<fs::path> const& paths) {
    std::vector<fs::path> out;
    std::set<fs::path> seen;
    auto add = [&](fs::path const& p) {
        if (seen.insert(p.lexically_normal()).second)
            out.push_back(p);
    };
    for (fs::path const& p : paths) {
        std::error_code ec;
        if (!fs::is_directory(p, ec)) {
            // A file named on the command line is kept even when it is not *.json, so the
            // loader can say what is wrong with it rather than skipping it silently.
            if (!ignored_name(p))
                add(p);
            continue;
        }
        std::vector<fs::path> found;
        fs::recursive_directory_iterator it{p, fs::directory_options::skip_permission_denied, ec};
        for (; !ec && it != fs::recursive_directory_iterator{}; it.increment(ec)) {
            fs::path const& f = it->path();
            std::error_code type_ec;
            if (it->is_regular_file(type_ec) && f.extension() == ".json" && !ignored_name(f))
                found.push_back(f);
        }
        std::sort(found.begin(), found.end());
        for (fs::path const& f : found)
            add(f);
    }
    return out;
}

fs::path find_root(fs::path const& file) {
    std::error_code ec;
    fs::path dir = fs::absolute(file, ec).lexically_normal();
    if (ec)
        return {};
    dir = dir.parent_path();
    while (!dir.empty()) {
        if (dir.filename() == "scenarios")
            return dir;
        fs::path parent = dir.parent_path();
        if (parent == dir)
            break;
        dir = std::move(parent);
    }
    return {};
}

} // namespace lifecheck::scenario
