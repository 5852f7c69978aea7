// Incremental, truncation-tolerant parsing of HTTP/1.x responses (RFC 9112).
#include "harness/client/response_parser.hpp"

#include "harness/common/text.hpp"

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <optional>
#include <utility>

namespace lifecheck::client {
namespace {

constexpr std::size_t max_head_bytes = 1024 * 1024;
constexpr std::size_t max_line_bytes = 64 * 1024;

std::string trim(std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t'))
        s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r'))
        s.remove_suffix(1);
    return std::string{s};
}

/// Whether a comma-separated header value lists `token` (case-insensitive).
bool lists_token(std::string const& value, std::string const& token) {
    std::size_t start = 0;
    std::string const v = lower(value);
    while (start <= v.size()) {
        auto const comma = v.find(',', start);
        std::string const part = trim(std::string_view{v}.substr(
            start, comma == std::string::npos ? std::string::npos : comma - start));
        if (part == token)
            return true;
        if (comma == std::string::npos)
            break;
        start = comma + 1;
    }
    return false;
}

/// Where the head ends (index after the blank line), or npos. Accepts bare LF line ends.
std::size_t head_end(std::string const& buf) {
    for (std::size_t i = 0; i < buf.size(); ++i) {
        if (buf[i] != '\n')
            continue;
        if (i + 1 < buf.size() && buf[i + 1] == '\n')
            return i + 2;
        if (i + 2 < buf.size() && buf[i + 1] == '\r' && buf[i + 2] == '\n')
            return i + 3;
    }
    return std::string::npos;
}

} // namespace

response_parser::response_parser(bool head_request)
    : head_request_{head_request} {}

std::size_t response_parser::feed(std::string_view bytes) {
    std::size_t used = 0;
    while (used < bytes.size() && (state_ == state::head || state_ == state::body)) {
        std::size_t const n =
            state_ == state::head ? feed_head(bytes.substr(used)) : feed_body(bytes.substr(used));
        used += n;
        if (n == 0 && state_ != state::done)
            break;
    }
    consumed_ += used;
    return used;
}

void response_parser::finish_eof() {
    if (state_ == state::body && mode_ == body_mode::until_close)
        state_ = state::done;
}

bool response_parser::keep_alive() const {
    if (mode_ == body_mode::until_close)
        return false;
    bool close = false;
    bool keep = false;
    for (auto const& [name, value] : headers_) {
        if (lower(name) != "connection")
            continue;
        close = close || lists_token(value, "close");
        keep = keep || lists_token(value, "keep-alive");
    }
    if (close)
        return false;
    return minor_version_ >= 1 || keep;
}

std::size_t response_parser::feed_head(std::string_view bytes) {
    std::size_t const before = head_buf_.size();
    head_buf_.append(bytes);
    std::size_t const end = head_end(head_buf_);
    if (end == std::string::npos) {
        if (head_buf_.size() > max_head_bytes)
            fail("a response head longer than " + std::to_string(max_head_bytes) + " bytes");
        return bytes.size();
    }
    std::string const head = head_buf_.substr(0, end);
    head_buf_.clear();
    std::size_t const used = end - before;
    if (!parse_head(head))
        return used;
    if (status_ >= 100 && status_ < 200 && status_ != 101) {
        headers_.clear(); // an interim response: the real one follows
        status_ = 0;
        return used;
    }
    bool const no_body =
        head_request_ || (status_ >= 100 && status_ < 200) || status_ == 204 || status_ == 304;
    std::optional<std::string> length;
    bool chunked = false;
    for (auto const& [name, value] : headers_) {
        std::string const n = lower(name);
        if (n == "transfer-encoding")
            chunked = lists_token(value, "chunked");
        else if (n == "content-length") {
            if (length && *length != trim(value)) {
                fail("two different content-length headers");
                return used;
            }
            length = trim(value);
        }
    }
    if (no_body) {
        mode_ = body_mode::none;
        state_ = state::done;
    } else if (chunked) { // RFC 9112 §6.3: Transfer-Encoding overrides Content-Length
        mode_ = body_mode::chunked;
        state_ = state::body;
    } else if (length) {
        if (length->empty() ||
            !std::all_of(length->begin(),
                         length->end(),
                         [](char c) { return std::isdigit(static_cast<unsigned char>(c)); }) ||
            length->size() > 18) {
            fail("a content-length that is not a number: \"" + *length + "\"");
            return used;
        }
        remaining_ = static_cast<std::size_t>(std::strtoull(length->c_str(), nullptr, 10));
        mode_ = body_mode::length;
        state_ = remaining_ == 0 ? state::done : state::body;
    } else {
        mode_ = body_mode::until_close;
        state_ = state::body;
    }
    return used;
}

bool response_parser::parse_head(std::string const& head) {
    std::size_t pos = 0;
    auto next_line = [&]() -> std::string {
        auto const nl = head.find('\n', pos);
        std::string line = head.substr(pos, nl == std::string::npos ? std::string::npos : nl - pos);
        pos = nl == std::string::npos ? head.size() : nl + 1;
        if (!line.empty() && line.back() == '\r')
            line.pop_back();
        return line;
    };
    std::string const status_line = next_line();
    // "HTTP/1.1 200 OK": version, a 3-digit status, an optional reason.
    if (status_line.size() < 12 || status_line.compare(0, 7, "HTTP/1.") != 0 ||
        !std::isdigit(static_cast<unsigned char>(status_line[7])) || status_line[8] != ' ' ||
        !std::isdigit(static_cast<unsigned char>(status_line[9])) ||
        !std::isdigit(static_cast<unsigned char>(status_line[10])) ||
        !std::isdigit(static_cast<unsigned char>(status_line[11])) ||
        (status_line.size() > 12 && status_line[12] != ' ')) {
        fail("an HTTP/1.x status line, got \"" + status_line.substr(0, 80) + "\"");
        return false;
    }
    minor_version_ = status_line[7] - '0';
    status_ = std::atoi(status_line.substr(9, 3).c_str());
    headers_.clear();
    for (std::string line = next_line(); !line.empty(); line = next_line()) {
        auto const colon = line.find(':');
        if (colon == std::string::npos || colon == 0) {
            fail("a header line \"name: value\", got \"" + line.substr(0, 80) + "\"");
            return false;
        }
        headers_.emplace_back(line.substr(0, colon),
                              trim(std::string_view{line}.substr(colon + 1)));
    }
    return true;
}

std::size_t response_parser::feed_body(std::string_view bytes) {
    std::size_t used = 0;
    switch (mode_) {
    case body_mode::none:
        state_ = state::done;
        break;
    case body_mode::length:
        used = std::min(remaining_, bytes.size());
        body_.append(bytes.substr(0, used));
        remaining_ -= used;
        if (remaining_ == 0)
            state_ = state::done;
        break;
    case body_mode::until_close:
        used = bytes.size();
        body_.append(bytes);
        break;
    case body_mode::chunked:
        used = feed_chunked(bytes);
        break;
    }
    body_wire_ += used;
    return used;
}

std::size_t response_parser::feed_chunked(std::string_view bytes) {
    std::size_t used = 0;
    while (used < bytes.size() && state_ == state::body) {
        std::string_view const rest = bytes.substr(used);
        if (chunk_ == chunk_state::data) {
            std::size_t const n = std::min(remaining_, rest.size());
            body_.append(rest.substr(0, n));
            remaining_ -= n;
            used += n;
            if (remaining_ == 0)
                chunk_ = chunk_state::data_end;
            continue;
        }
        // size_line, data_end and trailers read one line at a time.
        auto const nl = rest.find('\n');
        std::size_t const take = nl == std::string_view::npos ? rest.size() : nl + 1;
        line_buf_.append(rest.substr(0, take));
        used += take;
        if (nl == std::string_view::npos) {
            if (line_buf_.size() > max_line_bytes)
                fail("a chunk line longer than " + std::to_string(max_line_bytes) + " bytes");
            continue;
        }
        std::string line = trim(std::string_view{line_buf_}.substr(0, line_buf_.size() - 1));
        line_buf_.clear();
        switch (chunk_) {
        case chunk_state::size_line: {
            std::string const hex = trim(std::string_view{line}.substr(0, line.find(';')));
            if (hex.empty() || hex.size() > 15 || !std::all_of(hex.begin(), hex.end(), [](char c) {
                    return std::isxdigit(static_cast<unsigned char>(c));
                })) {
                fail("a chunk size in hex, got \"" + line.substr(0, 40) + "\"");
                break;
            }
            remaining_ = static_cast<std::size_t>(std::strtoull(hex.c_str(), nullptr, 16));
            chunk_ = remaining_ == 0 ? chunk_state::trailers : chunk_state::data;
            break;
        }
        case chunk_state::data_end:
            if (!line.empty()) {
                fail("CRLF after chunk data, got \"" + line.substr(0, 40) + "\"");
                break;
            }
            chunk_ = chunk_state::size_line;
            break;
        case chunk_state::trailers:
            if (line.empty())
                state_ = state::done;
            break;
        case chunk_state::data:
            break;
        }
    }
    return used;
}

void response_parser::fail(std::string why) {
    state_ = state::broken;
    error_ = std::move(why);
}

} // namespace lifecheck::client
