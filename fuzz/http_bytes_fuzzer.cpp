// Fuzzes the reference server's transport and engine in-process with arbitrary request bytes.
//
// Models one client connection: the input is cut into writes at fuzzer-chosen offsets with
// fuzzer-chosen pauses of virtual time between them (a slow or pipelining client), and the
// client may close early (fuzz/decode.hpp, decode_http). Whatever arrives, the process must
// survive; every request that reached the engine is checked with the harness's own checker
// (harness/check/invariants.hpp, I1–I6) against the fixed app; and a first request line that is
// malformed (with the whole head in one write) must get a 4xx answer without reaching the
// engine, and the connection closed. A fault report says what real Fastify does with the same
// bytes (fastify_replay.hpp).
// No sockets: the engine runs on its virtual clock.
#include "fuzz/decode.hpp"
#include "fuzz/fastify_replay.hpp"
#include "fuzz/fixed_app.hpp"
#include "fuzz/planted_faults.hpp"
#include "fuzz/report.hpp"
#include "harness/check/invariants.hpp"
#include "harness/client/response_parser.hpp"
#include "server_under_test/reference/net/in_memory.hpp"

#include <algorithm>
#include <cctype>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace {

using namespace lifecheck;

/// A response as the client read it from the connection.
struct response {
    int status = 0;
    bool complete = false;
    bool dated = false; // has a Date header: written through a `res`, so for a parsed request
};

/// Splits the server's output into responses. A HEAD response has no body whatever its
/// content-length says: a head followed directly by the next status line (the fixed app's
/// bodies never start with "HTTP/1.") is read that way.
std::vector<response> responses_of(std::string const& out, bool server_closed) {
    std::vector<response> list;
    std::size_t at = 0;
    while (at < out.size()) {
        auto const head_end = out.find("\r\n\r\n", at);
        bool const head_only =
            head_end != std::string::npos && out.compare(head_end + 4, 7, "HTTP/1.") == 0;
        client::response_parser p{head_only};
        std::size_t const used = p.feed(std::string_view{out}.substr(at));
        if (server_closed && at + used == out.size())
            p.finish_eof();
        if (!p.head_done() || p.broken())
            break;
        bool dated = false;
        for (auto const& [name, value] : p.headers())
            dated = dated || name == "date";
        list.push_back({p.status(), p.done(), dated});
        if (used == 0 || !p.done())
            break;
        at += used;
    }
    return list;
}

bool tchar(unsigned char c) {
    return std::isalnum(c) ||
           std::string_view{"!#$%&'*+-.^_`|~"}.find(static_cast<char>(c)) != std::string_view::npos;
}

/// True when `line` (a request line without its CRLF) is malformed in a way every HTTP/1.1
/// parser rejects (RFC 9112 §3): not METHOD SP TARGET SP HTTP/D.D, a method with a non-token
/// character, or a control character anywhere. Bytes >= 0x80 in the target are left alone.
bool malformed_request_line(std::string const& line) {
    for (char ch : line) {
        auto const c = static_cast<unsigned char>(ch);
        if (c < 0x20 || c == 0x7f)
            return true;
    }
    auto const sp1 = line.find(' ');
    if (sp1 == std::string::npos || sp1 == 0)
        return true;
    auto const sp2 = line.find(' ', sp1 + 1);
    if (sp2 == std::string::npos || sp2 == sp1 + 1 || line.find(' ', sp2 + 1) != std::string::npos)
        return true;
    for (std::size_t i = 0; i < sp1; ++i)
        if (!tchar(static_cast<unsigned char>(line[i])))
            return true;
    std::string const version = line.substr(sp2 + 1);
    return !(version.size() == 8 && version.compare(0, 5, "HTTP/") == 0 &&
             std::isdigit(static_cast<unsigned char>(version[5])) && version[6] == '.' &&
             std::isdigit(static_cast<unsigned char>(version[7])));
}

protocol::event to_protocol(engine::event const& e) {
    protocol::event p;
    p.type =
        e.what == engine::event::kind::end ? protocol::event_type::end : protocol::event_type::cb;
    p.req = e.req;
    p.label = e.label;
    p.phase = e.phase;
    p.scope = e.scope;
    p.status = e.status;
    p.aborted = e.aborted;
    return p;
}

std::string describe_input(fuzz::http_input const& in, std::string const& output) {
    std::string text = "client writes (bytes, then pause ms):\n";
    for (fuzz::http_write const& w : in.writes)
        text += "  " + std::to_string(w.bytes.size()) + " bytes, " + std::to_string(w.pause_ms) +
                " ms\n";
    text += in.close_early ? "client closed early\n" : "client closed after the answers\n";
    text += "server output:\n" + output;
    return text;
}

/// What the engine reported, request by request: callbacks in order, then `end`.
std::string describe_events(std::vector<std::string> const& order,
                            std::map<std::string, std::vector<protocol::event>> const& events) {
    std::string text = "engine events (requests in the order first reported):\n";
    for (std::string const& id : order) {
        text += "  " + id + ":";
        for (protocol::event const& e : events.at(id)) {
            if (e.type == protocol::event_type::end)
                text += " [end " + std::to_string(e.status) + (e.aborted ? " aborted]" : "]");
            else
                text += " " + e.label;
        }
        text += "\n";
    }
    return text;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(std::uint8_t const* data, std::size_t size) {
    fuzz::http_input const in = fuzz::decode_http(data, size);
    // A fresh server per input (the app has state a request changes: the shared Response of
    // GET /resp), of the app compiled once per process: the compiled app is read-only.
    static auto const compiled = engine::compile_app(fuzz::fixed_app(), fuzz::planted_faults());
    net::in_memory_server srv{compiled, fuzz::planted_faults()};
    auto const c = srv.connect();
    for (fuzz::http_write const& w : in.writes) {
        srv.feed(c, w.bytes);
        srv.advance(w.pause_ms);
    }
    if (in.close_early)
        srv.client_close(c);
    srv.settle(10'000);
    bool const server_closed = srv.server_closed(c);
    std::string const output = srv.output(c);
    if (!in.close_early)
        srv.client_close(c);
    srv.settle(10'000);

    // Every request that reached the engine, in the order it was first reported.
    std::vector<std::string> order;
    std::map<std::string, std::vector<protocol::event>> events;
    for (engine::event const& e : srv.events()) {
        if (e.req == "app")
            continue;
        auto [it, fresh] = events.try_emplace(e.req);
        if (fresh)
            order.push_back(e.req);
        it->second.push_back(to_protocol(e));
    }

    // Parse order: the engine numbers requests `auto-N` as their heads arrive (the fuzzer
    // renames x-lifecheck-req, so every id is made there). A request answered by Fastify's own
    // 400 has no callbacks, so its first event can come after a later request's.
    auto parsed_as = [](std::string const& id) {
        return id.rfind("auto-", 0) == 0 ? std::atol(id.c_str() + 5) : 0L;
    };
    std::vector<std::string> by_parse = order;
    std::stable_sort(
        by_parse.begin(), by_parse.end(), [&](std::string const& a, std::string const& b) {
            return parsed_as(a) < parsed_as(b);
        });

    // Responses go out in parse order; pair them only when every status matches the `end`
    // the engine reported (otherwise a transport 4xx came first): then the client's view of
    // each response is known, else it counts as cut short (the checks that need it stay quiet).
    // Fastify's clientError answer (a 400/431 for bytes that never became a request) is written
    // on the socket, not through a `res`: it has no Date header and belongs to no request.
    std::vector<response> const all_responses = responses_of(output, server_closed);
    std::vector<response> responses;
    for (response const& r : all_responses)
        if (r.dated)
            responses.push_back(r);
    bool paired = true;
    for (std::size_t k = 0; k < by_parse.size() && k < responses.size(); ++k)
        for (protocol::event const& e : events[by_parse[k]])
            if (e.type == protocol::event_type::end && e.status != responses[k].status)
                paired = false;

    // docs/decisions.md D22: when the connection dies under pipelined requests, a response that
    // waited behind another may never own the socket, and Node (Fastify 5.12.8 too, checked
    // over sockets) reports no `end` for it. So I1's "no end" is not a fault for a request
    // parsed while an earlier one was still unanswered, on a connection that died early.
    std::map<std::string, std::size_t> first_event;
    std::map<std::string, std::size_t> end_event;
    {
        std::size_t pos = 0;
        for (engine::event const& e : srv.events()) {
            ++pos;
            if (e.req == "app")
                continue;
            first_event.try_emplace(e.req, pos);
            if (e.what == engine::event::kind::end)
                end_event.try_emplace(e.req, pos);
        }
    }
    bool const died_early = server_closed || in.close_early;
    auto pipelined = [&](std::size_t k) {
        for (std::size_t j = 0; j < order.size(); ++j) {
            if (j == k || parsed_as(order[j]) >= parsed_as(order[k]))
                continue;
            auto const end = end_event.find(order[j]);
            if (end == end_event.end() || end->second > first_event[order[k]])
                return true;
        }
        return false;
    };

    std::string findings;
    std::vector<std::string> broken; // invariant ids, for the replay on real Fastify
    for (std::size_t k = 0; k < order.size(); ++k) {
        // A request answered by Fastify itself as it was parsed (a bad URL: no onRequest ran)
        // behind another request counts as pipelined too: its first event says nothing of when
        // it was parsed.
        bool answered_at_parse = true;
        for (protocol::event const& e : events[order[k]])
            if (e.type == protocol::event_type::cb && e.phase != "onRequestAbort")
                answered_at_parse = false;
        bool const behind_another = parsed_as(order[k]) > 1;
        bool const queued_on_dead_socket =
            died_early && (pipelined(k) || (answered_at_parse && behind_another));
        check::request_observation o;
        o.req_id = order[k];
        o.events = events[order[k]];
        std::size_t const slot = static_cast<std::size_t>(
            std::find(by_parse.begin(), by_parse.end(), order[k]) - by_parse.begin());
        if (paired && slot < responses.size()) {
            o.response.got_response = true;
            o.response.status = responses[slot].status;
            o.response.complete = responses[slot].complete;
        }
        o.response.client_aborted = in.close_early || !o.response.complete;
        for (check::finding const& f : check::check_invariants(fuzz::fixed_app(), o)) {
            if (queued_on_dead_socket && f.invariant_id == "I1" && !check::end_position(o))
                continue;
            findings += check::describe(f) + "\n";
            broken.push_back(f.invariant_id);
        }
    }
    if (!findings.empty())
        fuzz::sut_fault("an invariant broke on the fixed app",
                        findings + fuzz::on_fastify_http(in, broken, false) +
                            describe_events(order, events) + describe_input(in, output));

    // A malformed first request line (its head complete in the first write) gets a 4xx.
    std::string first;
    for (fuzz::http_write const& w : in.writes)
        if (first.empty())
            first = w.bytes;
    {
        auto const eol = first.find("\r\n");
        // Only with the whole head in: Beast reads a head once it is complete, while Node's
        // llhttp rejects a bad request line at once (a known difference, not checked here).
        bool const whole_head = first.find("\r\n\r\n") != std::string::npos;
        if (eol != std::string::npos && eol > 0 && whole_head &&
            malformed_request_line(first.substr(0, eol))) {
            bool const answered_4xx = !all_responses.empty() &&
                                      all_responses.front().status >= 400 &&
                                      all_responses.front().status < 500;
            if (!order.empty() || !answered_4xx || !server_closed)
                fuzz::sut_fault("a malformed request line must get a 4xx and a closed connection",
                                "request line: " + first.substr(0, eol) + "\n" +
                                    fuzz::on_fastify_http(in, {}, true) +
                                    describe_input(in, output));
        }
    }
    return 0;
}
