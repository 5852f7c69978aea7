// The socket implementation of step_driver: a target process over loopback on the wall clock,
// plain requests through cpp-httplib and the rest through raw_client.
#pragma once

#include "harness/check/verdict.hpp"
#include "harness/client/raw_client.hpp"
#include "harness/protocol/target.hpp"
#include "harness/run/step_driver.hpp"

#include <chrono>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

namespace lifecheck::run {

/// Carries out steps on a loaded app at 127.0.0.1:port: plain request steps (client::is_plain)
/// through scripted_client unless `raw_only`, the rest through one raw_client (named
/// keep-alive connections live there), parallel children on a thread each (children naming
/// one connection pipelined on one thread), close steps as the target's `close`.
/// Thread-safe where parallel children need it.
class socket_driver final : public step_driver {
public:
    /// @param facts where a hung close ("close") and a fault in a parallel child are noted
    /// @param warnings where a hung close's detail is noted
    socket_driver(protocol::target& target,
                  int port,
                  std::chrono::milliseconds deadline,
                  bool raw_only,
                  check::run_facts& facts,
                  std::vector<std::string>& warnings);

    void run_one(scenario::step const& s) override;
    void run_together(std::vector<scenario::step const*> const& children) override;
    void pause(std::chrono::milliseconds ms) override;
    std::size_t events_so_far() const override;
    bool alive() const override;

    /// The response of each request and raw step that ran, by step id.
    std::map<std::string, check::response_observation> const& responses() const {
        return responses_;
    }

    /// The app events (preClose, onClose) of each close step that ran.
    std::map<scenario::step const*, std::vector<protocol::event>> const& close_events() const {
        return close_events_;
    }

    /// When the last request started (the start of the collection deadline); nothing before
    /// the first.
    std::optional<std::chrono::steady_clock::time_point> last_sent() const;

    /// A close step ran: the app is closed already.
    bool closed() const;

    /// Closes every named keep-alive connection.
    void close_connections();

private:
    void run_request(scenario::step const& s);
    void run_pipeline(std::vector<scenario::step const*> const& steps,
                      std::string const& connection);
    void run_close(scenario::step const& s);
    void sent_now();

    protocol::target& target_;
    int port_;
    std::chrono::milliseconds deadline_;
    bool raw_only_;
    client::raw_client raw_;
    check::run_facts& facts_;
    std::vector<std::string>& warnings_;

    mutable std::mutex mu_; // guards the fields below and facts_/warnings_ (parallel steps)
    std::optional<std::chrono::steady_clock::time_point> last_sent_;
    bool closed_ = false;
    std::map<std::string, check::response_observation> responses_; // by step id
    std::map<scenario::step const*, std::vector<protocol::event>> close_events_;
};

} // namespace lifecheck::run
