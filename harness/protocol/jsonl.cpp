// Line splitting for the JSON-lines target protocol.
#include "harness/protocol/jsonl.hpp"

#include <utility>

namespace lifecheck::protocol {

void line_splitter::feed(std::string_view bytes) {
    while (!bytes.empty()) {
        auto const nl = bytes.find('\n');
        if (nl == std::string_view::npos) {
            partial_.append(bytes);
            if (partial_.size() > max_line_bytes) {
                // NOTE: an endless line must not grow without bound; cut it and move on.
                push(std::move(partial_));
                partial_.clear();
            }
            return;
        }
        partial_.append(bytes.substr(0, nl));
        push(std::move(partial_));
        partial_.clear();
        bytes.remove_prefix(nl + 1);
    }
}

void line_splitter::finish() {
    if (!partial_.empty()) {
        push(std::move(partial_));
        partial_.clear();
    }
}

std::optional<std::string> line_splitter::next() {
    if (lines_.empty())
        return std::nullopt;
    std::string line = std::move(lines_.front());
    lines_.pop_front();
    return line;
}

void line_splitter::push(std::string line) {
    if (!line.empty() && line.back() == '\r')
        line.pop_back();
    lines_.push_back(std::move(line));
}

} // namespace lifecheck::protocol
