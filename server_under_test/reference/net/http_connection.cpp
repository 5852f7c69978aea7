// HTTP/1.1 framing for the reference server with Beast's parser, modelled on Node's http server.
#include "server_under_test/reference/net/http_connection.hpp"

#include "harness/scenario/vocabulary.hpp"
#include "server_under_test/reference/engine/values.hpp"

#include <boost/beast/core/string.hpp>
#include <boost/beast/http/basic_parser.hpp>
#include <boost/beast/http/error.hpp>

#include <cctype>
#include <chrono>
#include <ctime>
#include <limits>

namespace lifecheck::net {

namespace http = boost::beast::http;
using boost::beast::string_view;

namespace {

std::string lower(std::string_view s) {
    std::string out{s};
    for (char& c : out)
        c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return out;
}

/// The Date header, formatted once per second (Node caches it the same way: utcDate()).
std::string const& http_date() {
    thread_local std::time_t last = -1;
    thread_local std::string text;
    std::time_t const t = std::time(nullptr);
    if (t != last) {
        last = t;
        std::tm tm{};
        gmtime_r(&t, &tm);
        char buf[64];
        std::strftime(buf, sizeof buf, "%a, %d %b %Y %H:%M:%S GMT", &tm);
        text = buf;
    }
    return text;
}

std::string reason(int status) {
    std::string r = engine::status_text(status);
    return r.empty() ? "unknown" : r;
}

/// The buffered bytes hold a whole head (leading empty lines skipped, as parsers do).
bool head_complete(std::string const& pending) {
    std::size_t const start = pending.find_first_not_of("\r\n");
    return start != std::string::npos && pending.find("\r\n\r\n", start) != std::string::npos;
}

/// A transfer-encoding value that names the chunked coding: Node's RE_TE_CHUNKED,
/// /(?:^|\W)chunked(?:$|\W)/i.
bool te_chunked(std::string_view value) {
    std::string const v = lower(value);
    auto const word = [](char c) {
        return std::isalnum(static_cast<unsigned char>(c)) || c == '_';
    };
    for (std::size_t at = v.find("chunked"); at != std::string::npos;
         at = v.find("chunked", at + 1)) {
        std::size_t const after = at + 7;
        if ((at == 0 || !word(v[at - 1])) && (after == v.size() || !word(v[after])))
            return true;
    }
    return false;
}

/// The buffered bytes start with a method llhttp cannot be parsing: llhttp matches the method
/// byte by byte against its table (Node's http.METHODS, PRI and the RTSP methods) and fails with
/// HPE_INVALID_METHOD at the first byte that leaves it, before the line is complete ("oooops!",
/// "GEX"; Fastify's test/reply-error.test.js "Should reply 400 on client error"). Beast waits
/// for the whole start line; on_request_impl still refuses the table's methods Node's http
/// module does not serve.
bool method_cannot_start(std::string const& pending) {
    std::size_t const start = pending.find_first_not_of("\r\n");
    if (start == std::string::npos)
        return false;
    // Before the space a method must still be a prefix of one in the table; once the space is
    // in, the whole of one (llhttp: "GE /" fails at the space, "DESCRIBE /" waits).
    std::size_t const space = pending.find(' ', start);
    std::string_view const seen =
        std::string_view{pending}.substr(start, space == std::string::npos ? space : space - start);
    for (std::string_view m : scenario::llhttp_method_table)
        if (space == std::string::npos ? m.substr(0, seen.size()) == seen : m == seen)
            return false;
    return true;
}

/// The buffered whole head has a header line that starts with SP or HTAB: an obs-fold
/// (RFC 9112 §5.2), which Node's llhttp refuses with 400 and Beast unfolds.
bool head_has_obs_fold(std::string const& pending) {
    std::size_t const start = pending.find_first_not_of("\r\n");
    if (start == std::string::npos)
        return false;
    std::size_t const end = pending.find("\r\n\r\n", start);
    if (end == std::string::npos)
        return false;
    for (std::size_t eol = pending.find("\r\n", start); eol < end;
         eol = pending.find("\r\n", eol + 2))
        if (pending[eol + 2] == ' ' || pending[eol + 2] == '\t')
            return true;
    return false;
}

} // namespace

/// One request/response on this connection: what Node calls `req` + `res`.
struct http_connection::exchange_impl final : engine::exchange {
    std::weak_ptr<http_connection> conn;
    std::shared_ptr<engine::request> req;
    std::string method;
    bool request_close = false;    // the request said `connection: close` (or HTTP/1.0)
    bool chunked = false;          // response framing
    bool no_body = false;          // HEAD, 1xx, 204, 304
    bool response_close = false;   // the response said `connection: close`, or had no framing
    int keep_alive_timeout_s = 72; // connection_options::keep_alive_timeout_s
    bool head_written = false;
    bool ended = false;
    bool finished_reported = false;
    bool dead = false;            // destroyed or connection closed
    bool destroy_pending = false; // destroy() while queued: the socket dies once it is ours
    std::string buffered;         // output waiting for the exchanges before it
    std::string head;             // the written head, not on the wire until the first body bytes

    void emit(std::string_view bytes) {
        auto c = conn.lock();
        if (!c || dead)
            return;
        // Node's writeHead only stores the head (`_header`); `_send` puts it on the wire with
        // the first body bytes or with end(), in one write. A stream that fails before its
        // first chunk, or a destroy() after writeHead, leaves the client without a head.
        if (!head.empty()) {
            if (buffered.empty())
                buffered.swap(head); // the common case: no copy of the head
            else
                buffered += head;
            head.clear();
        }
        buffered += bytes;
        c->deliver(*this);
    }

    void write_head(int status, scenario::header_list const& headers, bool te_removed) override {
        if (head_written || dead)
            return;
        head_written = true;
        no_body =
            method == "HEAD" || status == 204 || status == 304 || (status >= 100 && status < 200);
        bool has_length = false;
        bool has_connection = false;
        bool has_date = false;
        std::string& out = head;
        out.reserve(256);
        out.append("HTTP/1.1 ")
            .append(std::to_string(status))
            .append(" ")
            .append(reason(status))
            .append("\r\n");
        for (auto const& [k, v] : headers) {
            if (boost::beast::iequals(k, "content-length"))
                has_length = true;
            if (boost::beast::iequals(k, "transfer-encoding")) {
                has_length = true;
                // Node's matchHeader: an app-set `transfer-encoding: chunked` makes Node frame
                // the body in chunks itself (RE_TE_CHUNKED); any other coding leaves it raw.
                // Fastify's test/stream.5.test.js "request terminated should not crash fastify".
                if (!no_body && te_chunked(v))
                    chunked = true;
            }
            if (boost::beast::iequals(k, "date"))
                has_date = true;
            if (boost::beast::iequals(k, "connection")) {
                has_connection = true;
                if (lower(v).find("close") != std::string::npos)
                    response_close = true;
            }
            out.append(k).append(": ").append(v).append("\r\n");
        }
        // Node's _storeHeader: Date, Connection, Keep-Alive, Transfer-Encoding.
        if (!has_date)
            out.append("Date: ").append(http_date()).append("\r\n");
        if (!has_connection) {
            if (request_close)
                out += "Connection: close\r\n";
            else
                out.append("Connection: keep-alive\r\nKeep-Alive: timeout=")
                    .append(std::to_string(keep_alive_timeout_s))
                    .append("\r\n");
        }
        if (!has_length && !no_body) {
            if (te_removed) {
                // Node: both Content-Length and Transfer-Encoding removed by the app (Koa's
                // `ctx.body = null`): no framing header, the body ends when the connection
                // does (_last), though the head still says keep-alive.
                response_close = true;
            } else {
                chunked = true;
                out += "Transfer-Encoding: chunked\r\n";
            }
        }
        out += "\r\n";
    }

    void flush_head() override {
        if (!dead && !head.empty())
            emit({});
    }

    void write(std::string_view data) override {
        if (dead || ended || data.empty() || no_body)
            return;
        if (chunked) {
            char size[32];
            std::snprintf(size, sizeof size, "%zx\r\n", data.size());
            emit(std::string{size} + std::string{data} + "\r\n");
        } else {
            emit(data);
        }
    }

    void end() override {
        if (dead || ended)
            return;
        ended = true;
        emit(chunked ? std::string_view{"0\r\n\r\n"} : std::string_view{});
        if (auto c = conn.lock())
            c->deliver(*this);
    }

    void destroy() override {
        if (dead)
            return;
        if (auto c = conn.lock()) {
            // Node: a queued pipelined response has no socket yet; res.destroy() waits for
            // 'socket' (assigned when the one before finished) and destroys it then, before
            // its own buffered output is flushed (lifecheck prop, Fastify 5.12.8).
            if (!c->queue_.empty() && c->queue_.front().get() != this) {
                destroy_pending = true;
                return;
            }
            c->close_now(false);
        }
    }
};

/// Beast's push parser with callbacks that start the engine's request as soon as the head is in.
class http_connection::parser final : public http::basic_parser<true> {
public:
    explicit parser(http_connection& c)
        : c_{c} {}

    engine::request_head head;
    bool keep_alive_http10 = false;
    int version = 11;
    bool started = false;

private:
    void on_request_impl(http::verb verb,
                         string_view method,
                         string_view target,
                         int ver,
                         boost::system::error_code& ec) override {
        // Node's llhttp knows only http.METHODS and answers any other method with 400 before
        // Fastify sees it; Beast accepts every token (fuzz crash 605ba8da: "OPST /up" ran the
        // lifecycle). Beast's verb list is Node's except SOURCE and QUERY.
        if (verb == http::verb::unknown && method != "SOURCE" && method != "QUERY") {
            ec = http::error::bad_method;
            return;
        }
        // Node's llhttp refuses bytes >= 0x80 in the request target (400, client error); Beast
        // accepts them (fuzz crash 251f61b7: they reached the 404 JSON message as non-UTF-8).
        for (char c : target)
            if (static_cast<unsigned char>(c) >= 0x80) {
                ec = http::error::bad_target;
                return;
            }
        head.method = std::string{method};
        head.target = std::string{target};
        version = ver;
    }

    void on_response_impl(int, string_view, int, boost::system::error_code&) override {}

    void on_field_impl(http::field,
                       string_view name,
                       string_view value,
                       boost::system::error_code&) override {
        head.headers.emplace_back(lower(std::string_view{name.data(), name.size()}),
                                  std::string{value});
    }

    void on_header_impl(boost::system::error_code&) override {
        head.chunked = this->chunked();
        if (auto len = this->content_length())
            head.content_length = static_cast<long long>(*len);
        head.has_body = head.chunked || head.content_length > 0;
        c_.start_request();
        started = true;
    }

    void on_body_init_impl(boost::optional<std::uint64_t> const&,
                           boost::system::error_code&) override {}

    std::size_t on_body_impl(string_view body, boost::system::error_code&) override {
        if (c_.receiving_ && c_.receiving_->req)
            c_.receiving_->req->body(std::string_view{body.data(), body.size()});
        return body.size();
    }

    void on_chunk_header_impl(std::uint64_t, string_view, boost::system::error_code&) override {}

    std::size_t
    on_chunk_body_impl(std::uint64_t, string_view body, boost::system::error_code&) override {
        if (c_.receiving_ && c_.receiving_->req)
            c_.receiving_->req->body(std::string_view{body.data(), body.size()});
        return body.size();
    }

    void on_finish_impl(boost::system::error_code&) override {
        if (c_.receiving_ && c_.receiving_->req)
            c_.receiving_->req->body_end();
        c_.receiving_.reset();
    }

    http_connection& c_;
};

http_connection::http_connection(engine::app_server& srv, wire& out, connection_options opts)
    : srv_{srv}
    , loop_{srv.events_loop()}
    , out_{out}
    , opts_{opts} {}

http_connection::~http_connection() {
    if (idle_timer_ != 0)
        loop_.clear_timeout(idle_timer_);
    if (head_timer_ != 0)
        loop_.clear_timeout(head_timer_);
}

bool http_connection::idle() const {
    return queue_.empty() && !parser_ && pending_.empty();
}

std::size_t http_connection::socket_timers() const {
    return (idle_timer_ != 0 && loop_.pending(idle_timer_) ? 1 : 0) +
           (head_timer_ != 0 && loop_.pending(head_timer_) ? 1 : 0);
}

void http_connection::feed(std::string_view data) {
    if (closed_)
        return;
    touch();
    pending_.append(data.data(), data.size());
    while (!closed_ && !pending_.empty()) {
        if (!parser_) {
            parser_ = std::make_unique<parser>(*this);
            parser_->eager(true);
            parser_->header_limit(static_cast<std::uint32_t>(opts_.header_limit));
            // Fastify's bodyLimit is enforced by the engine, not the transport.
            parser_->body_limit(std::numeric_limits<std::uint64_t>::max());
            if (opts_.request_timeout_ms > 0 && !head_timer_armed_) {
                head_timer_armed_ = true;
                std::weak_ptr<http_connection> weak = weak_from_this();
                head_timer_ = loop_.set_timeout(opts_.request_timeout_ms, [weak] {
                    auto self = weak.lock();
                    if (self && self->parser_ && !self->parser_->started)
                        self->client_error(408);
                });
            }
        }
        if (!parser_->is_header_done() && head_has_obs_fold(pending_)) {
            // fuzz crash 0d3c6e1a: Beast accepted a folded header line, Node answers 400.
            std::fprintf(stderr, "lifecheck-reference: client error: obs-fold in the head\n");
            client_error(400);
            return;
        }
        boost::system::error_code ec;
        std::size_t const used =
            parser_->put(boost::asio::buffer(pending_.data(), pending_.size()), ec);
        pending_.erase(0, used);
        if (ec == http::error::need_more) {
            // Beast keeps the start line once it is whole (head.method set) and asks for the
            // fields: only bytes before that can still be a method.
            if (parser_->head.method.empty() && method_cannot_start(pending_)) {
                std::fprintf(stderr, "lifecheck-reference: client error: invalid method\n");
                client_error(400);
                return;
            }
            // Beast also asks for more when a complete head has a start line shorter than it
            // expects ("DT / r2": the version needs 8 bytes), and would wait forever; Node's
            // llhttp answers such a request line with 400 (fuzz crash 322a0b42).
            if (!parser_->is_header_done() && head_complete(pending_)) {
                std::fprintf(stderr, "lifecheck-reference: client error: malformed start line\n");
                client_error(400);
                return;
            }
            break;
        }
        if (ec) {
            // Node's clientError → Fastify's defaultClientErrorHandler.
            std::fprintf(stderr, "lifecheck-reference: client error: %s\n", ec.message().c_str());
            client_error(ec == http::error::header_limit ? 431 : 400);
            return;
        }
        if (parser_->is_done()) {
            parser_.reset();
            head_timer_armed_ = false;
            if (head_timer_ != 0) {
                loop_.clear_timeout(head_timer_);
                head_timer_ = 0;
            }
        } else if (used == 0) {
            break;
        }
    }
}

void http_connection::start_request() {
    auto x = std::make_shared<exchange_impl>();
    x->conn = weak_from_this();
    x->method = parser_->head.method;
    x->keep_alive_timeout_s = opts_.keep_alive_timeout_s;
    std::string conn_header;
    for (auto const& [k, v] : parser_->head.headers)
        if (k == "connection")
            conn_header = lower(v);
    x->request_close =
        conn_header.find("close") != std::string::npos ||
        (parser_->version == 10 && conn_header.find("keep-alive") == std::string::npos);
    queue_.push_back(x);
    receiving_ = x;
    if (head_timer_ != 0) {
        loop_.clear_timeout(head_timer_);
        head_timer_ = 0;
    }
    x->req = srv_.begin(parser_->head, *x);
}

void http_connection::deliver(exchange_impl& x) {
    if (closed_ || queue_.empty() || queue_.front().get() != &x)
        return; // a later pipelined response waits for the ones before it
    if (x.destroy_pending) {
        close_now(false);
        return;
    }
    if (!x.buffered.empty()) {
        out_.send(std::move(x.buffered));
        x.buffered.clear();
    }
    if (x.ended && !x.finished_reported) {
        x.finished_reported = true;
        // 'finish' fires once the socket write completed. Small loopback writes complete
        // synchronously in libuv, and Writable defers the callback to a nextTick.
        std::weak_ptr<http_connection> weak = weak_from_this();
        auto keep = queue_.front();
        loop_.next_tick([weak, keep] {
            auto self = weak.lock();
            if (!self)
                return;
            self->exchange_done(*keep);
        });
    }
}

void http_connection::exchange_done(exchange_impl& x) {
    if (x.req)
        x.req->finished();
    bool const close = x.request_close || x.response_close;
    if (!queue_.empty() && queue_.front().get() == &x)
        queue_.pop_front();
    if (close) {
        close_now(true);
        return;
    }
    touch();
    if (!queue_.empty())
        deliver(*queue_.front());
}

void http_connection::client_error(int status) {
    std::string body;
    if (status == 408)
        body = R"({"error":"Request Timeout","message":"Client Timeout","statusCode":408})";
    else if (status == 431)
        body =
            R"({"error":"Request Header Fields Too Large","message":"Exceeded maximum allowed HTTP header size","statusCode":431})";
    else
        body = R"({"error":"Bad Request","message":"Client Error","statusCode":400})";
    std::string out = "HTTP/1.1 " + std::to_string(status) + " " + reason(status) +
                      "\r\nContent-Length: " + std::to_string(body.size()) +
                      "\r\nContent-Type: application/json\r\n\r\n" + body;
    // Only when nothing of an earlier response is still owed; Node writes it straight away.
    out_.send(std::move(out));
    parser_.reset();
    pending_.clear();
    close_now(true);
}

void http_connection::mark_closed() {
    closed_ = true;
    if (idle_timer_ != 0) {
        loop_.clear_timeout(idle_timer_);
        idle_timer_ = 0;
    }
}

template <class Notify>
void http_connection::notify_closed(Notify notify) {
    auto pending = std::make_shared<std::deque<std::shared_ptr<exchange_impl>>>(std::move(queue_));
    queue_.clear();
    bool queued = false; // every exchange after the first waits behind it (Node's state.outgoing)
    for (auto& x : *pending) {
        x->dead = true;
        if (x->req)
            notify(x->req, queued, pending);
        queued = true;
    }
}

void http_connection::close_now(bool graceful) {
    if (closed_)
        return;
    mark_closed();
    out_.close(graceful);
    // The socket's 'close' reaches every request still in flight on a later turn.
    // NOTE: each deferred call keeps every in-flight exchange alive until it has run.
    notify_closed([this](auto req, bool queued, auto const& pending) {
        loop_.set_timeout(0, [req, queued, pending] {
            if (queued)
                req->closed_queued(false);
            else
                req->closed(false);
        });
    });
}

void http_connection::peer_closed() {
    if (closed_)
        return;
    mark_closed();
    notify_closed([](auto req, bool queued, auto const&) {
        if (queued)
            req->closed_queued(true);
        else
            req->closed(true);
    });
    out_.close(false);
}

void http_connection::flushed() {
    touch();
}

void http_connection::close_if_idle() {
    if (idle())
        close_now(true);
}

void http_connection::touch() {
    if (opts_.connection_timeout_ms <= 0 || closed_)
        return;
    if (idle_timer_ != 0)
        loop_.clear_timeout(idle_timer_);
    std::weak_ptr<http_connection> weak = weak_from_this();
    idle_timer_ = loop_.set_timeout(opts_.connection_timeout_ms, [weak] {
        if (auto self = weak.lock())
            self->on_timeout();
    });
}

void http_connection::on_timeout() {
    idle_timer_ = 0;
    if (closed_)
        return;
    // Node: the idle socket times out while a request is processed (not an idle keep-alive).
    for (auto& x : queue_)
        if (x->req && !x->ended) {
            auto req = x->req;
            req->timed_out();
            return;
        }
    if (parser_)
        close_now(false);
}

} // namespace lifecheck::net
