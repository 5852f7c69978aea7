// Node's ServerResponse and its socket for one request, after Node lib/_http_outgoing.js and
// lib/_http_server.js.
#include "server_under_test/reference/engine/node_response.hpp"

#include <algorithm>
#include <cctype>

namespace lifecheck::engine {

std::string ascii_lower(std::string s) {
    for (char& c : s)
        c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return s;
}

std::string const* node_response::get_header(std::string const& name) const {
    std::string const key = ascii_lower(name);
    for (auto const& [k, v] : headers_)
        if (ascii_lower(k) == key)
            return &v;
    return nullptr;
}

void node_response::set_header(std::string const& name, std::string v) {
    std::string const key = ascii_lower(name);
    for (auto& [k, old] : headers_)
        if (ascii_lower(k) == key) {
            k = name;
            old = std::move(v);
            return;
        }
    headers_.emplace_back(name, std::move(v));
}

void node_response::remove_header(std::string const& name) {
    std::string const key = ascii_lower(name);
    if (key == "content-length")
        removed_content_length_ = true;
    if (key == "transfer-encoding")
        removed_te_ = true;
    headers_.erase(std::remove_if(headers_.begin(),
                                  headers_.end(),
                                  [&](auto const& h) { return ascii_lower(h.first) == key; }),
                   headers_.end());
}

void node_response::write_head(scenario::header_list const& headers) {
    if (headers_sent_)
        return;
    headers_sent_ = true; // Node stores _header even when the socket is gone (headersSent)
    if (closed_)
        return;
    out_->write_head(status_, headers, removed_te_);
}

void node_response::write(std::string_view data) {
    if (closed_ || ended_)
        return;
    write_head(headers_); // _implicitHeader
    out_->write(data);
}

void node_response::end(std::string_view data) {
    if (ended_)
        return;
    ended_ = true;
    if (!headers_sent_) {
        // Node's end(data) before the head: an implicit Content-Length.
        if (!data.empty() && get_header("content-length") == nullptr &&
            get_header("transfer-encoding") == nullptr && !removed_content_length_)
            headers_.emplace_back("Content-Length", std::to_string(data.size()));
        write_head(headers_); // end() runs _implicitHeader first, with or without a socket
    }
    if (closed_)
        return;
    if (!data.empty())
        out_->write(data);
    out_->end();
}

void node_response::destroy() {
    // Node: a finished response has let go of its socket (res.detachSocket), so destroy() is
    // a no-op; the transport's exchange for this request may already be gone.
    if (closed_ || finished_)
        return;
    server_cut_ = true;
    out_->destroy();
}

bool node_response::on_finish(std::shared_ptr<void> owner) {
    if (finished_ || closed_)
        return false;
    finished_ = true;
    // Node lib/_http_server.js resOnFinish: res 'close' is emitted on the nextTick after
    // 'finish', so listeners of 'finish' run before `end`.
    ev_->next_tick([this, owner = std::move(owner)] { emit_end(); });
    return true;
}

bool node_response::on_close(bool by_client) {
    if (closed_)
        return false;
    bool const response_done = finished_;
    closed_ = true;
    if (!by_client)
        server_cut_ = true;
    return !response_done; // after the response: an idle keep-alive socket closing
}

bool node_response::on_timeout() {
    if (closed_ || finished_)
        return false;
    destroy();
    return true;
}

void node_response::emit_end() {
    if (end_emitted_)
        return;
    end_emitted_ = true;
    event e;
    e.what = event::kind::end;
    e.req = *id_;
    e.status = status_;
    // scenario-format §3: aborted only when the client closed its side before the response
    // finished.
    e.aborted = closed_ && !finished_ && !server_cut_;
    (*sink_)(e);
}

} // namespace lifecheck::engine
