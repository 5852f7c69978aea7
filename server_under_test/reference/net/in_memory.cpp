// The in-process reference server: connections over string buffers, driven by a virtual clock.
#include "server_under_test/reference/net/in_memory.hpp"

#include "harness/common/assert.hpp"

namespace lifecheck::net {

struct in_memory_server::client final : wire {
    std::string out;
    bool closed = false;
    std::shared_ptr<http_connection> conn;

    void send(std::string bytes) override {
        if (!closed)
            out += bytes;
    }

    void close(bool) override { closed = true; }
};

in_memory_server::in_memory_server(scenario::app const& a,
                                   engine::fault_set faults,
                                   connection_options opts,
                                   scenario::dialect d)
    : opts_{opts} {
    opts_.keep_alive_timeout_s = keep_alive_timeout_s(d);
    set_timeouts(a);
    srv_ = engine::make_server(
        a, d, loop_, [this](engine::event const& e) { events_.push_back(e); }, faults);
    LIFECHECK_ASSERT(srv_ != nullptr, "no engine for this dialect");
}

in_memory_server::in_memory_server(std::shared_ptr<engine::compiled_app const> app,
                                   engine::fault_set faults,
                                   connection_options opts)
    : opts_{opts} {
    LIFECHECK_ASSERT(app != nullptr, "no compiled app");
    set_timeouts(app->app);
    srv_ = std::make_unique<engine::server>(
        std::move(app), loop_, [this](engine::event const& e) { events_.push_back(e); }, faults);
}

void in_memory_server::set_timeouts(scenario::app const& a) {
    if (opts_.connection_timeout_ms == 0)
        opts_.connection_timeout_ms = a.options.connection_timeout_ms;
    if (opts_.request_timeout_ms == 0)
        opts_.request_timeout_ms = a.options.request_timeout_ms;
}

in_memory_server::~in_memory_server() {
    for (auto& c : clients_)
        c->conn.reset();
    srv_.reset();
}

std::size_t in_memory_server::connect() {
    auto c = std::make_unique<client>();
    c->conn = std::make_shared<http_connection>(*srv_, *c, opts_);
    clients_.push_back(std::move(c));
    return clients_.size() - 1;
}

void in_memory_server::feed(std::size_t c, std::string_view bytes) {
    clients_.at(c)->conn->feed(bytes);
    clients_.at(c)->conn->flushed();
    loop_.run_due();
}

void in_memory_server::client_close(std::size_t c) {
    clients_.at(c)->conn->peer_closed();
    loop_.run_due();
}

void in_memory_server::advance(double ms) {
    loop_.advance_to(loop_.now() + ms);
}

void in_memory_server::settle(double limit_ms) {
    loop_.run_until_idle(loop_.now() + limit_ms);
}

void in_memory_server::ready() {
    srv_->ready([](std::optional<engine::startup_failure> const&) {});
    loop_.run_due();
}

void in_memory_server::close() {
    srv_->close(
        [this](std::function<void()> drained) {
            for (auto& c : clients_)
                c->conn->close_if_idle();
            drained();
        },
        [] {});
    loop_.run_due();
}

std::string const& in_memory_server::output(std::size_t c) const {
    return clients_.at(c)->out;
}

bool in_memory_server::server_closed(std::size_t c) const {
    return clients_.at(c)->closed;
}

} // namespace lifecheck::net
