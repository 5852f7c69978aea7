// Steps over loopback sockets: a request through httplib or raw_client, a parallel group on
// threads (pipelines per named connection), a close through the target protocol.
#include "harness/run/socket_driver.hpp"

#include "harness/client/scripted_client.hpp"

#include <exception>
#include <functional>
#include <thread>
#include <utility>

namespace lifecheck::run {

using clock = std::chrono::steady_clock;

namespace {

client::client_timing timing_of(std::chrono::milliseconds deadline) {
    client::client_timing t;
    t.response_timeout = deadline;
    return t;
}

} // namespace

socket_driver::socket_driver(protocol::target& target,
                             int port,
                             std::chrono::milliseconds deadline,
                             bool raw_only,
                             check::run_facts& facts,
                             std::vector<std::string>& warnings)
    : target_{target}
    , port_{port}
    , deadline_{deadline}
    , raw_only_{raw_only}
    , raw_{port, timing_of(deadline)}
    , facts_{facts}
    , warnings_{warnings} {}

void socket_driver::run_one(scenario::step const& s) {
    if (s.kind == scenario::step_kind::close)
        run_close(s);
    else
        run_request(s);
}

// A parallel group: a thread per child; children naming one connection are pipelined.
void socket_driver::run_together(std::vector<scenario::step const*> const& children) {
    std::map<std::string, std::vector<scenario::step const*>> pipelines;
    std::vector<scenario::step const*> singles;
    for (scenario::step const* c : children) {
        if (c->kind == scenario::step_kind::request && c->connection)
            pipelines[*c->connection].push_back(c);
        else
            singles.push_back(c);
    }
    std::vector<std::thread> threads;
    auto guarded = [this](std::function<void()> fn) {
        return [this, fn = std::move(fn)] {
            try {
                fn();
            } catch (std::exception const& e) {
                std::lock_guard lock{mu_};
                facts_.harness_fault = std::string{"exception in a parallel step: "} + e.what();
            }
        };
    };
    for (auto const& [name, steps] : pipelines) {
        if (steps.size() == 1) {
            singles.push_back(steps.front());
            continue;
        }
        threads.emplace_back(
            guarded([this, steps = steps, name = name] { run_pipeline(steps, name); }));
    }
    for (scenario::step const* s : singles)
        threads.emplace_back(guarded([this, s] { run_one(*s); }));
    for (std::thread& t : threads)
        t.join();
}

void socket_driver::pause(std::chrono::milliseconds ms) {
    std::this_thread::sleep_for(ms);
}

std::size_t socket_driver::events_so_far() const {
    return target_.events().size();
}

bool socket_driver::alive() const {
    return target_.alive();
}

std::optional<clock::time_point> socket_driver::last_sent() const {
    std::lock_guard lock{mu_};
    return last_sent_;
}

bool socket_driver::closed() const {
    std::lock_guard lock{mu_};
    return closed_;
}

void socket_driver::close_connections() {
    raw_.close_all();
}

void socket_driver::sent_now() {
    std::lock_guard lock{mu_};
    last_sent_ = clock::now();
}

// One request: plain steps through httplib, everything else as exact bytes.
void socket_driver::run_request(scenario::step const& s) {
    sent_now();
    check::response_observation obs =
        client::is_plain(s) && !raw_only_
            ? client::scripted_client{port_, deadline_}.send(s.id, s.request)
            : raw_.send(client::make_raw_request(s), s.connection);
    std::lock_guard lock{mu_};
    responses_[s.id] = std::move(obs);
}

void socket_driver::run_pipeline(std::vector<scenario::step const*> const& steps,
                                 std::string const& connection) {
    std::vector<client::raw_request> requests;
    for (scenario::step const* s : steps)
        requests.push_back(client::make_raw_request(*s));
    sent_now();
    auto observed = raw_.pipeline(requests, connection);
    std::lock_guard lock{mu_};
    for (std::size_t i = 0; i < steps.size(); ++i)
        responses_[steps[i]->id] = std::move(observed[i]);
}

// close: preClose/onClose callbacks are this step's trace (req `app`).
void socket_driver::run_close(scenario::step const& s) {
    auto const outcome = target_.close(deadline_);
    std::lock_guard lock{mu_};
    closed_ = true;
    close_events_[&s] = outcome.app_events;
    if (outcome.status == protocol::close_status::timed_out) {
        facts_.hung_steps.push_back("close");
        warnings_.push_back("close: " + outcome.detail);
    }
}

} // namespace lifecheck::run
