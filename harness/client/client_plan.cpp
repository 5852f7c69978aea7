// The client options of a step read once: the writes, the close after writing, abortAfterMs,
// and the read limits that cut a response short (scenario-format §1.4).
#include "harness/client/client_plan.hpp"

#include <algorithm>
#include <limits>

namespace lifecheck::client {
namespace {

std::size_t non_negative(long long v) {
    return v < 0 ? 0 : static_cast<std::size_t>(v);
}

} // namespace

raw_request make_raw_request(scenario::step const& s) {
    raw_request r;
    r.id = s.id;
    r.options = s.client;
    if (s.kind == scenario::step_kind::raw) {
        r.bytes = s.raw;
        r.head = r.bytes.compare(0, 5, "HEAD ") == 0;
    } else {
        r.bytes = scenario::wire_bytes(s.id, s.request);
        r.head = s.request.method == "HEAD";
    }
    auto const blank = r.bytes.find("\r\n\r\n");
    r.body_offset = blank == std::string::npos ? r.bytes.size() : blank + 4;
    return r;
}

bool plain_client(scenario::client_options const& o) {
    return !o.aborts() && !o.bytes_per_write && !o.write_delay_ms && !o.expect_no_response;
}

client_plan plan_of(raw_request const& r) {
    auto const& o = r.options;
    client_plan p;
    // scenario-format §1.4: write only that many bytes (of the request, or of its body), then close
    std::size_t limit = r.bytes.size();
    if (o.abort_after_request_bytes)
        limit = std::min(limit, non_negative(*o.abort_after_request_bytes));
    if (o.abort_after_body_bytes)
        limit = std::min(limit, r.body_offset + non_negative(*o.abort_after_body_bytes));
    p.close_after_writing = o.abort_after_request_bytes || o.abort_after_body_bytes;
    std::size_t const step = o.bytes_per_write && *o.bytes_per_write > 0
                                 ? static_cast<std::size_t>(*o.bytes_per_write)
                                 : std::max<std::size_t>(limit, 1);
    milliseconds const pause{o.write_delay_ms && *o.write_delay_ms > 0 ? *o.write_delay_ms : 0};
    for (std::size_t off = 0; off < limit; off += step)
        p.writes.push_back({off, std::min(step, limit - off), off == 0 ? milliseconds{0} : pause});
    if (o.abort_after_ms)
        p.abort_after = milliseconds{*o.abort_after_ms};
    return p;
}

response_reader::response_reader(raw_request const& r)
    : parser_{r.head} {
    if (r.options.abort_after_response_bytes)
        total_ = non_negative(*r.options.abort_after_response_bytes);
    if (r.options.abort_after_response_body_bytes)
        body_ = non_negative(*r.options.abort_after_response_body_bytes);
}

bool response_reader::cut() const {
    if (parser_.done() || parser_.broken())
        return false;
    if (total_ && taken_ >= *total_)
        return true;
    return body_ && parser_.head_done() && parser_.body_wire_bytes() >= *body_;
}

std::size_t response_reader::want() const {
    if (parser_.done() || parser_.broken() || cut())
        return 0;
    std::size_t max = std::numeric_limits<std::size_t>::max();
    if (total_)
        max = std::min(max, *total_ - taken_);
    if (body_)
        max = parser_.head_done() ? std::min(max, *body_ - parser_.body_wire_bytes()) : 1;
    return max;
}

std::size_t response_reader::take(std::string_view bytes) {
    std::size_t const used = parser_.feed(bytes);
    taken_ += used;
    return used;
}

} // namespace lifecheck::client
