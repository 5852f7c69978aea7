// The one step driver: a scenario's steps walked in order through an interface with two
// implementations (bytes out, events in, a clock): sockets on a target process, or the engine.
#pragma once

#include "harness/run/observe.hpp"
#include "harness/scenario/scenario.hpp"

#include <chrono>
#include <cstddef>
#include <vector>

namespace lifecheck::run {

/// What carries out a scenario's steps. Two implementations: `socket_driver` (socket_driver.hpp:
/// a target process over loopback, cpp-httplib and raw_client, the wall clock) and property's
/// in-process driver (harness/property/in_process.cpp: the reference engine in memory, its
/// virtual clock). Both carry out request and raw steps as client::plan_of and
/// client::response_reader say (client_plan.hpp), so no driver reads a `client` option itself,
/// and both hand their events to `observe` (one raw-step id rule, decisions.md D25).
class step_driver {
public:
    virtual ~step_driver() = default;

    /// Bytes out: carries out one request, raw or close step and returns once its response came
    /// (or the client gave up or aborted) and the close ended.
    virtual void run_one(scenario::step const& s) = 0;

    /// Bytes out: starts the children of a parallel step together (children naming one
    /// connection are pipelined on it) and returns once each has ended as run_one says.
    virtual void run_together(std::vector<scenario::step const*> const& children) = 0;

    /// A clock: lets `ms` pass (a sleepMs step).
    virtual void pause(std::chrono::milliseconds ms) = 0;

    /// Events in: how many events the target has reported so far.
    virtual std::size_t events_so_far() const = 0;

    /// False once the target is gone; no later step runs.
    virtual bool alive() const = 0;
};

/// Runs the steps of `sc` through `d` in document order until the target is gone: sleepMs as
/// a pause, a parallel step's children together, every other step alone.
/// @return where each raw step started in the event log (its window), for `observe`.
std::vector<raw_window> drive_steps(scenario::scenario const& sc, step_driver& d);

} // namespace lifecheck::run
