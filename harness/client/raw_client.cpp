// The raw socket client: writes exact bytes (optionally cut short or slowly), reads the
// response with a truncation-tolerant parser and observes how the connection ends.
#include "harness/client/raw_client.hpp"

#include "harness/client/response_parser.hpp"

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/write.hpp>

#include <algorithm>
#include <string_view>
#include <thread>
#include <utility>

namespace lifecheck::client {
namespace {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using error_code = boost::system::error_code;
using clock = std::chrono::steady_clock;

constexpr std::size_t read_chunk = 64 * 1024;

} // namespace

/// A loopback TCP connection whose blocking calls all take a deadline. Bytes read but not used
/// by the response they were read for (the next pipelined response) are kept for the next read.
class raw_client::connection {
public:
    explicit connection(int port)
        : port_{port} {}

    std::mutex use; // one call at a time on a named connection

    bool is_open() const { return open_; }

    error_code connect(clock::time_point deadline) {
        close();
        tcp::endpoint const ep{asio::ip::address_v4::loopback(),
                               static_cast<unsigned short>(port_)};
        std::size_t ignored = 0;
        error_code ec = run(
            [&](auto done) {
                sock_.async_connect(ep, [done](error_code e) mutable { done(e, 0); });
            },
            deadline,
            ignored);
        if (!ec) {
            open_ = true;
            error_code nodelay_ec;
            // Each write is its own segment: the slow writer's pauses reach the target.
            sock_.set_option(tcp::no_delay{true}, nodelay_ec);
        }
        return ec;
    }

    error_code write(std::string_view data, clock::time_point deadline) {
        std::size_t n = 0;
        return run(
            [&](auto done) {
                asio::async_write(sock_,
                                  asio::buffer(data.data(), data.size()),
                                  [done](error_code e, std::size_t k) mutable { done(e, k); });
            },
            deadline,
            n);
    }

    /// Reads at most `max` bytes (pending bytes first).
    std::pair<error_code, std::string> read_some(std::size_t max, clock::time_point deadline) {
        if (!pending_.empty()) {
            std::size_t const n = std::min(max, pending_.size());
            std::string out = pending_.substr(0, n);
            pending_.erase(0, n);
            return {error_code{}, std::move(out)};
        }
        std::string buf(std::max<std::size_t>(1, max), '\0');
        std::size_t n = 0;
        error_code const ec = run(
            [&](auto done) {
                sock_.async_read_some(asio::buffer(buf),
                                      [done](error_code e, std::size_t k) mutable { done(e, k); });
            },
            deadline,
            n);
        buf.resize(ec ? 0 : n);
        return {ec, std::move(buf)};
    }

    /// Gives back bytes read too early; the next read returns them first.
    void unread(std::string_view bytes) { pending_.insert(0, bytes); }

    /// Closes our side (a client abort, or the end of an unnamed exchange).
    void close() {
        error_code ignored;
        if (sock_.is_open())
            sock_.close(ignored);
        open_ = false;
        pending_.clear();
    }

    /// The target closed or reset the connection: nothing more can be read or written.
    void peer_closed() {
        error_code ignored;
        if (sock_.is_open())
            sock_.close(ignored);
        open_ = false;
    }

private:
    /// Starts an operation and runs the io_context until it completes or the deadline passes;
    /// then cancels it. asio::error::timed_out when the deadline won.
    template <class Start>
    error_code run(Start&& start, clock::time_point deadline, std::size_t& n) {
        error_code result = asio::error::would_block;
        bool done = false;
        start([&result, &done, &n](error_code ec, std::size_t k) {
            result = ec;
            n = k;
            done = true;
        });
        io_.restart();
        auto const left = deadline - clock::now();
        io_.run_for(left > clock::duration::zero() ? left : clock::duration{milliseconds{1}});
        if (!done) {
            error_code ignored;
            sock_.cancel(ignored);
            io_.restart();
            io_.run(); // the cancelled operation completes with operation_aborted
            if (!done || result == asio::error::operation_aborted)
                return asio::error::timed_out;
        }
        return result;
    }

    int port_;
    asio::io_context io_;
    tcp::socket sock_{io_};
    bool open_ = false;
    std::string pending_; // bytes read but not yet used
};

namespace {

using connection = raw_client::connection;

/// What ended the reading of a response.
enum class read_end { done, eof, reset, failed, timeout, abort };

std::string ms_text(milliseconds ms) {
    return std::to_string(ms.count()) + " ms";
}

/// Reads one response as far as `reader` wants it; `abort_at` is abortAfterMs's moment.
read_end read_response(connection& c,
                       response_reader& reader,
                       std::optional<clock::time_point> abort_at,
                       clock::time_point deadline,
                       milliseconds timeout,
                       std::string& error) {
    response_parser& p = reader.parser();
    while (std::size_t const want = reader.want()) {
        auto const until = abort_at ? std::min(deadline, *abort_at) : deadline;
        auto [ec, data] = c.read_some(std::min(want, read_chunk), until);
        if (ec == asio::error::timed_out) {
            if (abort_at && clock::now() >= *abort_at)
                return read_end::abort;
            error = "timeout: no complete response within " + ms_text(timeout);
            return read_end::timeout;
        }
        if (ec == asio::error::eof) {
            p.finish_eof();
            c.peer_closed();
            return p.done() ? read_end::done : read_end::eof;
        }
        if (ec == asio::error::connection_reset) {
            c.peer_closed();
            error = "connection reset by the target";
            return read_end::reset;
        }
        if (ec) {
            c.peer_closed();
            error = "read: " + ec.message();
            return read_end::failed;
        }
        std::size_t const used = reader.take(data);
        if (used < data.size())
            c.unread(std::string_view{data}.substr(used));
    }
    if (reader.cut())
        return read_end::abort;
    if (p.broken()) {
        error = "not an HTTP response: " + p.error();
        return read_end::failed;
    }
    return read_end::done;
}

/// After a complete response: is the connection still open a moment later?
scenario::connection_fate observe_fate(connection& c, bool keep_alive, client_timing const& t) {
    if (!c.is_open())
        return scenario::connection_fate::closed;
    auto const grace = keep_alive ? t.keep_grace : t.close_grace;
    auto [ec, data] = c.read_some(read_chunk, clock::now() + grace);
    if (ec == asio::error::timed_out)
        return scenario::connection_fate::kept;
    if (!ec) {
        c.unread(data); // more bytes: the connection is still in use
        return scenario::connection_fate::kept;
    }
    c.peer_closed();
    return ec == asio::error::connection_reset ? scenario::connection_fate::reset
                                               : scenario::connection_fate::closed;
}

scenario::connection_fate fate_of(read_end e) {
    switch (e) {
    case read_end::reset:
        return scenario::connection_fate::reset;
    case read_end::timeout:
        return scenario::connection_fate::kept;
    default:
        return scenario::connection_fate::closed;
    }
}

void fill(check::response_observation& obs, response_parser const& p) {
    obs.got_response = p.head_done();
    obs.status = p.status();
    obs.headers = p.headers();
    obs.body = p.body();
    obs.complete = p.done();
}

void note_error(check::response_observation& obs, std::string const& e) {
    if (e.empty())
        return;
    obs.client_error = obs.client_error.empty() ? e : obs.client_error + "; " + e;
}

/// Writes the request as its plan says (cut short, or slowly).
bool write_request(connection& c,
                   raw_request const& r,
                   client_plan const& plan,
                   clock::time_point deadline,
                   check::response_observation& obs) {
    std::string_view const bytes{r.bytes};
    std::size_t const total =
        plan.writes.empty() ? 0 : plan.writes.back().offset + plan.writes.back().size;
    for (planned_write const& w : plan.writes) {
        if (w.pause_before > milliseconds{0})
            std::this_thread::sleep_for(w.pause_before);
        if (error_code const ec = c.write(bytes.substr(w.offset, w.size), deadline)) {
            note_error(obs,
                       "write failed after " + std::to_string(w.offset) + " of " +
                           std::to_string(total) + " bytes: " + ec.message());
            return false;
        }
    }
    return true;
}

} // namespace

raw_client::raw_client(int port, client_timing timing)
    : port_{port}
    , timing_{timing} {}

raw_client::~raw_client() {
    close_all();
}

std::shared_ptr<raw_client::connection> raw_client::open(std::optional<std::string> const& name) {
    if (!name)
        return std::make_shared<connection>(port_);
    std::lock_guard lock{mu_};
    auto& slot = named_[*name];
    if (!slot)
        slot = std::make_shared<connection>(port_);
    return slot;
}

check::response_observation raw_client::send(raw_request const& r,
                                             std::optional<std::string> const& name) {
    auto const c = open(name);
    std::lock_guard use{c->use};
    check::response_observation obs;
    auto const deadline = clock::now() + timing_.response_timeout;
    if (!c->is_open()) {
        if (error_code const ec = c->connect(deadline)) {
            note_error(obs, "connect: " + ec.message());
            return obs;
        }
    }
    client_plan const plan = plan_of(r);
    write_request(*c, r, plan, deadline, obs);
    if (plan.close_after_writing) {
        c->close(); // scenario-format §1.4: write only that many bytes, then close
        obs.client_aborted = true;
        obs.connection = scenario::connection_fate::closed;
        return obs;
    }

    std::optional<clock::time_point> abort_at;
    if (plan.abort_after)
        abort_at = clock::now() + *plan.abort_after;
    response_reader reader{r};
    std::string error;
    read_end const end =
        read_response(*c, reader, abort_at, deadline, timing_.response_timeout, error);
    response_parser const& p = reader.parser();
    fill(obs, p);
    note_error(obs, error);
    if (end == read_end::abort) {
        c->close();
        obs.client_aborted = true;
        obs.connection = scenario::connection_fate::closed;
    } else if (end == read_end::done) {
        obs.connection = observe_fate(*c, p.keep_alive(), timing_);
        if (abort_at && c->is_open()) {
            // The response beat abortAfterMs; the client still closes when it said it would.
            std::this_thread::sleep_until(*abort_at);
            c->close();
        }
    } else {
        obs.connection = fate_of(end);
    }
    if (!name)
        c->close();
    return obs;
}

std::vector<check::response_observation>
raw_client::pipeline(std::vector<raw_request> const& rs, std::optional<std::string> const& name) {
    std::vector<check::response_observation> out(rs.size());
    auto const c = open(name);
    std::lock_guard use{c->use};
    auto const deadline = clock::now() + timing_.response_timeout;
    if (!c->is_open()) {
        if (error_code const ec = c->connect(deadline)) {
            for (auto& obs : out)
                note_error(obs, "connect: " + ec.message());
            return out;
        }
    }
    std::string all;
    for (raw_request const& r : rs)
        all += r.bytes;
    if (error_code const ec = c->write(all, deadline))
        for (auto& obs : out)
            note_error(obs, "pipelined write failed: " + ec.message());

    for (std::size_t i = 0; i < rs.size(); ++i) {
        check::response_observation& obs = out[i];
        if (!c->is_open()) {
            note_error(obs, "the connection closed before this pipelined response");
            continue;
        }
        response_reader reader{rs[i].head}; // pipelined: read whole, no read limit (see pipeline())
        response_parser const& p = reader.parser();
        std::string error;
        read_end const end =
            read_response(*c, reader, std::nullopt, deadline, timing_.response_timeout, error);
        fill(obs, p);
        note_error(obs, error);
        if (end != read_end::done)
            obs.connection = fate_of(end);
        else if (i + 1 < rs.size() && p.keep_alive())
            obs.connection = scenario::connection_fate::kept; // the next response follows on it
        else
            obs.connection = observe_fate(*c, p.keep_alive(), timing_);
    }
    if (!name)
        c->close();
    return out;
}

void raw_client::close_all() {
    std::map<std::string, std::shared_ptr<connection>> all;
    {
        std::lock_guard lock{mu_};
        all.swap(named_);
    }
    for (auto& [name, c] : all) {
        std::lock_guard use{c->use};
        c->close();
    }
}

} // namespace lifecheck::client
