// Plain request steps through cpp-httplib, with the response read incrementally.
#include "harness/client/scripted_client.hpp"

#include "harness/client/client_plan.hpp"
#include "harness/common/text.hpp"

#include <httplib.h>

#include <cstdint>

namespace lifecheck::client {
namespace {

using clock = std::chrono::steady_clock;

bool is_close(std::string const& v) {
    return lower(v).find("close") != std::string::npos;
}

std::string describe_error(httplib::Error e) {
    switch (e) {
    case httplib::Error::Connection:
        return "connect failed";
    case httplib::Error::Read:
        return "read failed: the connection ended before the response was complete";
    case httplib::Error::Write:
        return "write failed: the target closed the connection";
    case httplib::Error::ConnectionTimeout:
        return "timeout: no connection";
    default:
        return "httplib error " + httplib::to_string(e);
    }
}

} // namespace

bool is_plain(scenario::step const& s) {
    if (s.kind != scenario::step_kind::request)
        return false;
    if (!plain_client(s.client))
        return false;
    if (s.connection || s.request.chunked)
        return false;
    // The step frames its own body: only exact bytes keep that framing (httplib would add its own).
    for (auto const& [name, value] : s.request.headers)
        if (lower(name) == "content-length" || lower(name) == "transfer-encoding")
            return false;
    return !(s.expect && s.expect->connection);
}

scripted_client::scripted_client(int port, std::chrono::milliseconds timeout)
    : port_{port}
    , timeout_{timeout} {}

check::response_observation scripted_client::send(std::string const& id,
                                                  scenario::request_spec const& spec) {
    check::response_observation obs;
    httplib::Client cli{"127.0.0.1", port_};
    // Keep-alive on: with it off httplib adds `Connection: close`, which the step did not ask
    // for and which changes the target's answer. The socket closes with `cli`.
    cli.set_keep_alive(true);
    cli.set_decompress(false); // no Accept-Encoding: the target must see what the step says
    auto const secs = static_cast<time_t>(timeout_.count() / 1000);
    auto const usecs = static_cast<time_t>((timeout_.count() % 1000) * 1000);
    cli.set_connection_timeout(secs, usecs);
    cli.set_read_timeout(secs, usecs);
    cli.set_write_timeout(secs, usecs);

    httplib::Request req;
    req.method = spec.method;
    req.path = spec.url;
    req.headers.emplace("host",
                        "127.0.0.1"); // scenario-format §1.4; httplib adds its own otherwise
    req.headers.emplace("x-lifecheck-req", id);
    for (auto const& [name, value] : spec.headers)
        req.headers.emplace(name, value);
    if (spec.body)
        req.body = *spec.body;
    req.response_handler = [&obs](httplib::Response const& r) {
        obs.got_response = true;
        obs.status = r.status;
        for (auto const& [name, value] : r.headers)
            obs.headers.emplace_back(name, value);
        return true;
    };
    req.content_receiver = [&obs](char const* data, std::size_t n, std::uint64_t, std::uint64_t) {
        obs.body.append(data, n);
        return true;
    };

    auto const started = clock::now();
    httplib::Result const res = cli.send(req);
    if (res) {
        if (!obs.got_response) { // httplib skips the handlers when there is no body (HEAD, 204)
            obs.got_response = true;
            obs.status = res->status;
            for (auto const& [name, value] : res->headers)
                obs.headers.emplace_back(name, value);
            obs.body = res->body;
        }
        obs.complete = true;
        obs.connection =
            res->has_header("connection") && is_close(res->get_header_value("connection"))
                ? scenario::connection_fate::closed
                : scenario::connection_fate::kept;
        return obs;
    }
    obs.complete = false;
    obs.connection = scenario::connection_fate::closed;
    obs.client_error = describe_error(res.error());
    if (res.error() == httplib::Error::Read &&
        clock::now() - started + std::chrono::milliseconds{50} >= timeout_)
        obs.client_error =
            "timeout: no complete response within " + std::to_string(timeout_.count()) + " ms";
    return obs;
}

} // namespace lifecheck::client
