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

/// Builds the document from nlohmann's SAX events and records keys that appear twice in one
/// object (nlohmann keeps one of them). The value of a repeated key replaces the first one in
/// its place, as json::parse does.
/// NOTE: not json::parse with a callback: its parser scans the whole parent container after
/// every object ends, which made a 400,000-route file quadratic (issue 19); and members gather
/// in a movable vector first, because an ordered_json object copies its members when it grows.
class dom_builder {
public:
    explicit dom_builder(std::string file)
        : file_{std::move(file)} {}

    bool null() { return value(json(nullptr)); }

    bool boolean(bool v) { return value(json(v)); }

    bool number_integer(json::number_integer_t v) { return value(json(v)); }

    bool number_unsigned(json::number_unsigned_t v) { return value(json(v)); }

    bool number_float(json::number_float_t v, std::string const& /*text*/) {
        return value(json(v));
    }

    bool string(std::string& v) { return value(json(std::move(v))); }

    bool binary(json::binary_t& v) { return value(json::binary(std::move(v))); }

    bool start_object(std::size_t /*elements*/) {
        frames_.emplace_back();
        return true;
    }

    bool key(std::string& k) {
        frame& top = frames_.back();
        top.repeat = top.members.size();
        for (std::size_t i = 0; i < top.members.size(); ++i)
            if (top.members[i].first == k)
                top.repeat = i;
        if (top.repeat != top.members.size())
            found_.push_back(diagnostic{file_,
                                        detail::member_path(path_of_top(), k),
                                        "each key at most once in an object",
                                        detail::shown(json(k))});
        top.key = std::move(k);
        return true;
    }

    bool end_object() {
        frame top = std::move(frames_.back());
        frames_.pop_back();
        json obj(json::value_t::object);
        auto& members = obj.get_ref<json::object_t&>();
        members.reserve(top.members.size());
        for (auto& [k, v] : top.members)
            members.emplace_back(std::move(k), std::move(v));
        // A route is kept packed until the reader gets to it (detail::packed_route): 400,000
        // routes took 330 MB as objects, held beside their structs (issue 19).
        if (in_routes_array(frames_.size()))
            return value(detail::packed_route(obj));
        return value(std::move(obj));
    }

    bool start_array(std::size_t /*elements*/) {
        frames_.emplace_back();
        frames_.back().array = true;
        return true;
    }

    bool end_array() {
        frame top = std::move(frames_.back());
        frames_.pop_back();
        json arr(json::value_t::array);
        arr.get_ref<json::array_t&>() = std::move(top.items);
        return value(std::move(arr));
    }

    bool parse_error(std::size_t position,
                     std::string const& /*last_token*/,
                     nlohmann::detail::exception const& e) {
        error_byte_ = position;
        error_ = e.what();
        return false;
    }

    json& document() { return root_; }

    diagnostics const& found() const { return found_; }

    /// nlohmann's message and the byte it names (1-based), after a syntax error.
    std::string const& error() const { return error_; }

    std::size_t error_byte() const { return error_byte_; }

private:
    struct frame {
        bool array = false;
        json::array_t items;                               // array: the elements so far
        std::vector<std::pair<std::string, json>> members; // object: the members so far
        std::string key;                                   // object: the key being read
        std::size_t repeat = 0; // object: the member `key` repeats, or members.size()
    };

    bool value(json&& v) {
        if (frames_.empty()) {
            root_ = std::move(v);
            return true;
        }
        frame& top = frames_.back();
        if (top.array)
            top.items.push_back(std::move(v));
        else if (top.repeat != top.members.size())
            top.members[top.repeat].second = std::move(v);
        else
            top.members.emplace_back(std::move(top.key), std::move(v));
        return true;
    }

    /// True when the container opened at frames_[n] (or the value completed with n open) is an
    /// element of the `routes` array of the app or of a plugin: $.app(.plugins[i])*.routes[j].
    bool in_routes_array(std::size_t n) const {
        return n >= 3 && frames_[n - 1].array && !frames_[n - 2].array &&
               frames_[n - 2].key == "routes" && is_scope(n - 2);
    }

    /// True when the object frames_[k] is the app ($.app) or a plugin ($.app.plugins[i], ...).
    bool is_scope(std::size_t k) const {
        if (k == 1)
            return !frames_[0].array && frames_[0].key == "app";
        return k >= 3 && frames_[k - 1].array && !frames_[k - 2].array &&
               frames_[k - 2].key == "plugins" && is_scope(k - 2);
    }

    /// The JSONPath of the innermost open container.
    std::string path_of_top() const {
        std::string path = "$";
        for (std::size_t i = 0; i + 1 < frames_.size(); ++i) {
            frame const& f = frames_[i];
            if (f.array)
                path += "[" + std::to_string(f.items.size()) + "]";
            else
                path = detail::member_path(path, f.key);
        }
        return path;
    }

    std::string file_;
    std::vector<frame> frames_; // open containers, outermost first
    json root_;
    diagnostics found_;
    std::string error_;
    std::size_t error_byte_ = 0;
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

/// from_json for a document the caller keeps (`Doc` = json const&) or gives away (json&&,
/// parse's case: the reader frees each route's JSON once it has read it, so a big app is not held
/// whole twice, as JSON and as structs).
template <typename Doc>
result<scenario>
build(Doc&& doc, std::string const& file, std::string const& id, bool depth_known) {
    try {
        if (!depth_known && detail::depth_of(doc) > detail::max_json_depth)
            return diagnostic{file,
                              "$",
                              "JSON nested at most " + std::to_string(detail::max_json_depth) +
                                  " levels deep",
                              "deeper nesting"};
        diagnostics problems;
        scenario s = detail::read_scenario(std::forward<Doc>(doc), file, problems);
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

/// parse(); when `release` is given (it is `text`, owned by the caller), the text is freed once
/// the document is built, so a big file is not held three times (text, document, structs).
result<scenario> parse_text(std::string const& text,
                            std::string* release,
                            std::string const& file,
                            std::string const& id) {
    if (auto const at = too_deep_at(text))
        return diagnostic{file,
                          line_column(text, *at + 1),
                          "JSON nested at most " + std::to_string(detail::max_json_depth) +
                              " levels deep",
                          "deeper nesting"};
    dom_builder dom{file};
    bool parsed = false;
    try {
        parsed = json::sax_parse(text, &dom, json::input_format_t::json, true, false);
    } catch (std::exception const& e) {
        return diagnostic{file, "$", "valid JSON", e.what()};
    }
    if (!parsed)
        return diagnostic{
            file, line_column(text, dom.error_byte()), "valid JSON", parse_reason(dom.error())};
    if (release != nullptr)
        std::string{}.swap(*release); // `text` is not read below
    // too_deep_at has checked the nesting on the text already.
    auto built = build(std::move(dom.document()), file, id, true);
    if (dom.found().empty())
        return built;
    diagnostics all = dom.found();
    if (!built.has_value())
        all.insert(all.end(), built.error().begin(), built.error().end());
    return all;
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
    // One buffer of the file's size (a string stream would hold it twice: its buffer and str()).
    std::string text;
    in.seekg(0, std::ios::end);
    std::streamoff const size = in.tellg();
    in.seekg(0, std::ios::beg);
    if (size >= 0 && in) {
        text.resize(static_cast<std::size_t>(size));
        in.read(text.data(), size);
        text.resize(static_cast<std::size_t>(in.gcount()));
    } else { // not seekable (a pipe): read it as a stream
        in.clear();
        std::ostringstream stream;
        stream << in.rdbuf();
        text = std::move(stream).str();
    }
    if (in.bad())
        return diagnostic{file.string(), "", "a readable scenario file", "a read error"};
    return parse_text(text, &text, file.string(), scenario_id(file, root));
}

result<scenario> parse(std::string const& text, std::string const& file, std::string const& id) {
    return parse_text(text, nullptr, file, id);
}

result<scenario> from_json(json const& doc, std::string const& file, std::string const& id) {
    return build(doc, file, id, false);
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
