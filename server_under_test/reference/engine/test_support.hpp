// Test helpers for the engine: parse an app from JSON text and run requests in memory.
#pragma once

#include "harness/scenario/load.hpp"
#include "server_under_test/reference/net/in_memory.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace lifecheck::engine::test_support {

/// Parses `{"app": ...}` text into an app with labels assigned; fails the test if invalid.
/// `dialect_field` is empty (fastify) or a `"dialect":"koa",` member.
inline scenario::app app_from(std::string const& app_json, std::string const& dialect_field = {}) {
    std::string const doc = R"({"description":"t",)" + dialect_field + R"("app":)" + app_json +
                            R"(,"steps":[{"sleepMs":0}]})";
    auto sc = scenario::parse(doc, "<test>", "test");
    if (!sc.has_value()) {
        std::string why;
        for (auto const& d : sc.error())
            why += describe(d) + "\n";
        ADD_FAILURE() << why;
        return {};
    }
    return sc.value().application;
}

/// Parses `{"middleware": [...], "onError": ...}` as a koa app, labels assigned.
inline scenario::app koa_app(std::string const& app_json) {
    return app_from(app_json, R"("dialect":"koa",)");
}

/// The labels of cb events for request `id`, in order.
inline std::vector<std::string> trace(std::vector<event> const& events, std::string const& id) {
    std::vector<std::string> out;
    for (auto const& e : events)
        if (e.req == id && e.what == event::kind::cb)
            out.push_back(e.label);
    return out;
}

/// The end events for request `id`.
inline std::vector<event> ends(std::vector<event> const& events, std::string const& id) {
    std::vector<event> out;
    for (auto const& e : events)
        if (e.req == id && e.what == event::kind::end)
            out.push_back(e);
    return out;
}

inline std::string
get(std::string const& id, std::string const& url, std::string const& method = "GET") {
    return method + " " + url + " HTTP/1.1\r\nhost: 127.0.0.1\r\nx-lifecheck-req: " + id +
           "\r\n\r\n";
}

/// Status code of the first response in `out`, or 0.
inline int status_of(std::string const& out) {
    if (out.rfind("HTTP/1.1 ", 0) != 0 || out.size() < 12)
        return 0;
    return std::stoi(out.substr(9, 3));
}

/// The body after the first blank line (identity framing only).
inline std::string body_of(std::string const& out) {
    auto p = out.find("\r\n\r\n");
    return p == std::string::npos ? std::string{} : out.substr(p + 4);
}

} // namespace lifecheck::engine::test_support
