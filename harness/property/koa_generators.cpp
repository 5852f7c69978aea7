// Koa scenario generators: every choice goes through rc::gen (inside gen::exec), so RapidCheck
// shrinks towards fewer middleware, fewer steps and the first (simplest) option of each pick.
#include "harness/property/koa_generators.hpp"

#include "harness/property/generators.hpp"
#include "harness/scenario/load.hpp"

#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace lifecheck::property {
namespace {

using scenario::action;
using scenario::payload;
using scenario::payload_kind;
using scenario::verb;
namespace gen = rc::gen;

/// A weighted pick; shrinks towards the first entry (weight 0 = never).
template <typename T>
T pick(std::vector<std::pair<int, T>> const& weighted) {
    int total = 0;
    for (auto const& e : weighted)
        total += e.first;
    int n = *gen::inRange(0, total);
    for (auto const& e : weighted) {
        if (n < e.first)
            return e.second;
        n -= e.first;
    }
    return weighted.front().second;
}

bool one_in(int n) {
    return *gen::inRange(0, n) == n - 1;
}

payload koa_payload(std::string const& label) {
    payload p;
    switch (pick<int>({{5, 0}, {3, 1}, {1, 2}, {1, 3}, {1, 4}, {1, 5}, {1, 6}, {2, 7}})) {
    case 0:
        p.kind = payload_kind::json_value;
        p.value = scenario::json::object({{"from", label}});
        break;
    case 1:
        p.kind = payload_kind::string;
        p.bytes = one_in(3) ? "<p>" + label + "</p>" : label;
        break;
    case 2:
        p.kind = payload_kind::json_value; // null: Koa answers 204
        break;
    case 3:
        p.kind = payload_kind::json_value;
        p.value = *gen::element<scenario::json>(
            scenario::json(7), scenario::json(false), scenario::json("txt"));
        break;
    case 4:
        p.kind = payload_kind::buffer;
        p.bytes = "\x01\x02" + label;
        break;
    case 5:
        p.kind = payload_kind::empty;
        break;
    case 6:
        p.kind = payload_kind::json_value;
        p.value = scenario::json::array({1, label});
        break;
    default: {
        p.kind = payload_kind::stream;
        int const n = *gen::inRange(1, 4);
        for (int i = 0; i < n; ++i)
            p.chunks.push_back(label + std::to_string(i) + ";");
        p.chunk_delay_ms = *gen::element(0, 10, 30);
        if (one_in(3))
            p.fail_after_chunks = *gen::inRange(0, n + 1);
        break;
    }
    }
    return p;
}

/// Set while generating an app whose response may never end (a `hang`, a stream failing after
/// its first chunk): every request of the case then gets a client abort, so each has an `end`.
struct gen_state {
    bool may_hang = false;
    bool empty_status = false; // some ACTION answers 204 or 205 (a send or a throw)
    bool raw_writes = false;   // v2.6: the ACTION with the app's ctx.res.write/end is chosen
};

action koa_action(std::string const& label, bool allow_hang, gen_state& st) {
    action a;
    if (one_in(5))
        a.when = scenario::flag_condition{*gen::element<std::string>("f1", "f2"),
                                          *gen::arbitrary<bool>()};
    if (one_in(4))
        a.set = scenario::flag_assignment{*gen::element<std::string>("f1", "f2"),
                                          *gen::arbitrary<bool>()};
    int const delay = pick<int>({{6, -1}, {1, 0}, {2, 30}, {1, 80}});
    if (delay >= 0)
        a.delay_ms = delay;
    int const what = pick<int>({{3, 0}, {4, 1}, {2, 2}, {allow_hang ? 1 : 0, 3}});
    switch (what) {
    case 1:
        a.what = verb::send;
        // no 304: the scripted client waits for a body on a 304 without framing headers
        if (!one_in(4))
            a.status = *gen::element(200, 201, 202, 204, 205, 299, 400, 401, 404, 418, 500, 503);
        st.empty_status = st.empty_status || a.status == 204 || a.status == 205;
        if (one_in(5))
            a.headers.emplace_back("x-" + label, "1");
        if (one_in(6))
            a.headers.emplace_back("content-type", "application/x-" + label);
        if (!one_in(5)) {
            a.body = koa_payload(label);
            if (a.body->fail_after_chunks && *a.body->fail_after_chunks > 0)
                st.may_hang = true;
        }
        break;
    case 2:
        a.what = verb::throw_;
        if (one_in(2))
            a.status = *gen::element(400, 401, 403, 404, 418, 500, 503, 599, 204, 302);
        st.empty_status = st.empty_status || a.status == 204;
        if (one_in(5)) {
            scenario::error_spec e;
            e.message = label + " failed";
            if (one_in(2))
                e.code = *gen::element<std::string>("ENOENT", "E_MINE");
            if (one_in(2))
                e.status_code = *gen::element(409, 451, 599);
            a.error = e;
        }
        break;
    case 3:
        a.what = verb::hang;
        st.may_hang = true;
        break;
    default:
        break;
    }
    return a;
}

/// A value koa ops throw (scenario-format §1.7): mostly Errors with status, statusCode, expose
/// and headers; sometimes a non-Error (a string, an object, null or undefined).
payload koa_thrown(std::string const& label, gen_state& st) {
    payload p;
    switch (pick<int>({{6, 0}, {1, 1}, {1, 2}, {1, 3}})) {
    case 1:
        p.kind = payload_kind::string;
        p.bytes = label + " oops";
        break;
    case 2:
        p.kind = payload_kind::json_value;
        p.value = scenario::json::object({{"status", 409}, {"message", label}});
        break;
    case 3:
        // null == err: Koa never answers an uncaught one
        p.kind = one_in(2) ? payload_kind::undefined : payload_kind::json_value;
        st.may_hang = true;
        break;
    default: {
        p.kind = payload_kind::error;
        p.error.message = label + " failed";
        if (one_in(2))
            p.error.status = *gen::element(400, 401, 404, 418, 500, 503);
        if (one_in(3))
            p.error.status_code = *gen::element(403, 409, 502);
        if (one_in(3))
            p.error.props = scenario::json::object({{"expose", *gen::arbitrary<bool>()}});
        if (one_in(4))
            p.error.headers.emplace_back("x-err-" + label, "1");
        break;
    }
    }
    return p;
}

/// ctx.throw / ctx.assert arguments: a 4xx or 5xx status, maybe a message and props.
void http_error_args(scenario::op& o, std::string const& label) {
    o.status = *gen::element(400, 401, 403, 404, 418, 500, 503);
    if (one_in(2))
        o.message = label + " says no";
    if (one_in(3)) {
        o.props = scenario::json::object();
        if (one_in(2))
            o.props["expose"] = *gen::arbitrary<bool>();
        if (one_in(2))
            o.props["headers"] = scenario::json::object({{"x-why-" + label, "1"}});
        if (one_in(4))
            o.props["code"] = "ENOENT";
    }
}

/// v2.6 ctx.throw(...args): one to three arguments in any order, as createError reads them.
scenario::json throw_args(std::string const& label) {
    scenario::json args = scenario::json::array();
    int const n = *gen::inRange(1, 4);
    for (int i = 0; i < n; ++i)
        switch (pick<int>({{3, 0}, {3, 1}, {2, 2}, {2, 3}})) {
        case 0:
            args.push_back(*gen::element(400, 404, 422, 500, 503));
            break;
        case 1:
            args.push_back(label + " refused");
            break;
        case 2: {
            scenario::json e = scenario::json::object({{"message", label + " failed"}});
            if (one_in(2))
                e[one_in(2) ? "status" : "statusCode"] = *gen::element(-1, 0, 302, 404, 503, 700);
            args.push_back(scenario::json::object({{"error", e}}));
            break;
        }
        default: {
            scenario::json p = scenario::json::object();
            if (one_in(2))
                p["expose"] = *gen::arbitrary<bool>();
            if (one_in(2))
                p["status"] = -1;
            if (one_in(2))
                p["headers"] = scenario::json::object({{"x-why-" + label, "1"}});
            args.push_back(scenario::json::object({{"props", p}}));
            break;
        }
        }
    return args;
}

/// One op of Koa's response API (v2.4, scenario-format §1.7). Not `ctx.length`: a length that
/// disagrees with a stream body is a framing error of the app, not of Koa.
scenario::op koa_response_op(std::string const& label) {
    scenario::op o;
    auto header_value = [&]() -> scenario::json {
        switch (*gen::inRange(0, 3)) {
        case 0:
            return label;
        case 1:
            return *gen::element(0, 7, -1);
        default:
            return scenario::json::array({label, 2});
        }
    };
    switch (pick<int>(
        {{3, 0}, {2, 1}, {2, 2}, {2, 3}, {1, 4}, {1, 5}, {1, 6}, {1, 7}, {1, 8}, {1, 9}})) {
    case 8: { // v2.6 ctx.set(object), values Koa stringifies
        o.kind = scenario::op_kind::ctx_set;
        o.arg = scenario::json{{"x-a", label}, {"x-b", scenario::json{{"kind", "undefined"}}}};
        o.headers = {{"x-a", label}, {"x-b", "undefined"}};
        if (one_in(2)) {
            o.arg["x-c"] = nullptr;
            o.headers.emplace_back("x-c", "null");
        }
        break;
    }
    case 9: // v2.6 Node's res underneath: statusCode, setHeader (throws once the head went out)
        if (one_in(2)) {
            o.kind = scenario::op_kind::ctx_res_status_code;
            o.code = *gen::element(200, 201, 418);
            o.arg = o.code;
        } else {
            o.kind = scenario::op_kind::ctx_res_set_header;
            o.name = "x-raw";
            o.values = {label};
            o.arg = scenario::json::array({"x-raw", label});
        }
        break;
    case 0:
    case 1: {
        o.kind = *gen::element(scenario::op_kind::ctx_set, scenario::op_kind::ctx_append);
        std::string const name = *gen::element<std::string>("x-a", "x-b", "Content-Type");
        scenario::json v =
            name == "Content-Type" ? scenario::json("text/x-" + label) : header_value();
        o.arg = scenario::json::array({name, v});
        o.name = name;
        o.array = v.is_array();
        for (auto const& x : o.array ? v : scenario::json::array({v}))
            o.values.push_back(x.is_string() ? x.get<std::string>() : std::to_string(x.get<int>()));
        break;
    }
    case 2:
        o.kind = scenario::op_kind::ctx_remove;
        o.name = *gen::element<std::string>("x-a", "content-type", "Content-Length");
        o.arg = o.name;
        break;
    case 3:
        o.kind = scenario::op_kind::ctx_type;
        o.arg = *gen::element<std::string>("json", "text/html", "png", "", "asdf");
        break;
    case 4:
        o.kind = scenario::op_kind::ctx_message;
        o.arg = label + " msg";
        break;
    case 5:
        o.kind = scenario::op_kind::ctx_redirect;
        o.arg = *gen::element<scenario::json>(scenario::json("/login"),
                                              scenario::json("http://example.com"),
                                              scenario::json("back"), // v2.6
                                              scenario::json{{"back", "/home"}});
        break;
    case 6:
        o.kind = scenario::op_kind::ctx_attachment;
        o.arg = one_in(2) ? scenario::json(nullptr) : scenario::json("files/" + label + ".json");
        break;
    default:
        o.kind = scenario::op_kind::ctx_flush_headers;
        o.arg = true;
        break;
    }
    return o;
}

/// v2.6 raw control (§1.10), the app's only ACTION with ctx.res.write/end: maybe
/// `ctx.respond = false`, a write, then maybe the end (without it and with respond false the
/// request hangs). Appended after the ACTION's ops unless one of them ends the function.
void raw_block(std::string const& label, std::vector<scenario::op>& ops, gen_state& st) {
    for (auto const& o : ops)
        if (o.kind == scenario::op_kind::throw_ || o.kind == scenario::op_kind::rethrow ||
            o.kind == scenario::op_kind::hang || o.kind == scenario::op_kind::ctx_throw ||
            (o.kind == scenario::op_kind::ctx_assert && !o.holds))
            return;
    st.raw_writes = true;
    auto op_of = [](scenario::op_kind k, scenario::json arg) {
        scenario::op o;
        o.kind = k;
        o.arg = std::move(arg);
        return o;
    };
    bool const bypass = one_in(2);
    if (bypass)
        ops.push_back(op_of(scenario::op_kind::ctx_respond, false));
    if (one_in(2))
        ops.push_back(op_of(scenario::op_kind::ctx_res_write, label + "-raw"));
    if (one_in(3)) {
        if (bypass)
            st.may_hang = true;
        return;
    }
    // with text: an end() without data before the head is Finding 53 (open)
    ops.push_back(op_of(scenario::op_kind::ctx_res_end, label + "-end"));
}

/// An ACTION of v2.3 koa ops (scenario-format §1.7); `in_catch` adds the ops that read err.
action koa_ops_action(std::string const& label, bool in_catch, bool allow_hang, gen_state& st) {
    action a;
    a.ops.emplace();
    int const n = *gen::inRange(0, 4);
    for (int i = 0; i < n; ++i) {
        scenario::op o;
        bool ends = false;
        switch (pick<int>({{3, 0},
                           {3, 1},
                           {2, 2},
                           {1, 3},
                           {2, 4},
                           {in_catch ? 3 : 0, 5},
                           {in_catch ? 2 : 0, 6},
                           {1, 7},
                           {1, 8},
                           {allow_hang ? 1 : 0, 9},
                           {4, 10}})) {
        case 0:
            o.kind = scenario::op_kind::ctx_status;
            if (in_catch && one_in(2)) {
                o.from_error = true;
            } else if (one_in(16)) {
                o.code = "forbidden"; // v2.6: Koa's setter throws
            } else {
                int const code = *gen::element(200, 201, 204, 205, 404, 418, 500);
                o.code = code;
                st.empty_status = st.empty_status || code == 204 || code == 205;
            }
            break;
        case 1:
            o.kind = scenario::op_kind::ctx_body;
            if (in_catch && one_in(2)) {
                o.from_error = true;
            } else {
                o.body = koa_payload(label);
                if (o.body->fail_after_chunks && *o.body->fail_after_chunks > 0)
                    st.may_hang = true;
            }
            break;
        case 2:
            o.kind = scenario::op_kind::ctx_throw;
            if (one_in(3))
                o.arg = throw_args(label);
            else
                http_error_args(o, label);
            ends = true;
            break;
        case 3:
            o.kind = scenario::op_kind::ctx_assert;
            o.holds = one_in(2);
            http_error_args(o, label);
            ends = !o.holds;
            break;
        case 4:
            o.kind = scenario::op_kind::throw_;
            o.body = koa_thrown(label, st);
            ends = true;
            break;
        case 5:
            o.kind = scenario::op_kind::rethrow;
            ends = true;
            break;
        case 6:
            o.kind = scenario::op_kind::ctx_app_emit;
            break;
        case 7:
            o.kind = scenario::op_kind::set;
            o.flag = scenario::flag_assignment{*gen::element<std::string>("f1", "f2"),
                                               *gen::arbitrary<bool>()};
            break;
        case 8:
            o.kind = scenario::op_kind::await_;
            o.ms = *gen::element(0, 30);
            break;
        case 9:
            o.kind = scenario::op_kind::hang;
            st.may_hang = true;
            ends = true;
            break;
        default:
            o = koa_response_op(label);
            break;
        }
        a.ops->push_back(std::move(o));
        if (ends)
            break;
    }
    // the raw block (ctx.respond, ctx.res.write/end) is not drawn while Findings 54 and 55
    // are open
    (void)&raw_block;
    return a;
}

scenario::step koa_request(int id, bool may_abort, bool must_abort, bool read_limit = true) {
    scenario::step st;
    st.kind = scenario::step_kind::request;
    st.id = "r" + std::to_string(id);
    st.request.method = pick<std::string>({{6, "GET"}, {2, "POST"}, {1, "HEAD"}});
    st.request.url = *gen::element<std::string>("/", "/x?q=1");
    if (st.request.method == "POST") {
        st.request.headers.emplace_back("content-type", "application/json");
        st.request.body = std::string{"{\"x\":1}"};
    }
    if (one_in(6)) // v2.6: what ctx.redirect('back') reads
        st.request.headers.emplace_back(
            *gen::element<std::string>("referer", "referrer"),
            *gen::element<std::string>(
                "/from", "http://127.0.0.1/from", "https://other.example/x", "//evil.example/x/"));
    if (must_abort || (may_abort && one_in(6)))
        st.client.abort_after_ms = *gen::element(40, 150);
    else if (may_abort && read_limit && one_in(8)) // the client stops reading (scenarios/koa/node/)
        st.client.abort_after_response_body_bytes = *gen::element<long long>(2, 6, 40);
    return st;
}

/// A raw step: one request written by hand (a GET with a query, or a POST with a body Koa
/// never reads).
scenario::step koa_raw(int id) {
    scenario::step st;
    st.kind = scenario::step_kind::raw;
    st.id = "r" + std::to_string(id);
    st.raw = one_in(2) ? std::string{"GET /x?q=1 HTTP/1.1\r\nHost: localhost\r\n\r\n"}
                       : std::string{"POST / HTTP/1.1\r\nHost: localhost\r\nContent-Type: "
                                     "text/plain\r\nContent-Length: 3\r\n\r\nabc"};
    return st;
}

scenario::scenario generate(koa_gen_options const& opts) {
    scenario::scenario sc;
    sc.id = "generated";
    sc.description = "generated by lifecheck prop (koa)";
    sc.lang = scenario::dialect::koa;
    int const n = *gen::inRange(1, opts.max_middleware + 1);
    bool const allow_hang = one_in(4);
    gen_state gs;
    for (int i = 0; i < n; ++i) {
        scenario::middleware m;
        m.label = "m" + std::to_string(i);
        m.next = pick<scenario::next_mode>({{8, scenario::next_mode::once},
                                            {2, scenario::next_mode::never},
                                            {1, scenario::next_mode::twice}});
        bool const ops = opts.ops && one_in(2);
        if (!one_in(3))
            m.before = ops ? koa_ops_action(m.label, false, allow_hang, gs)
                           : koa_action(m.label, allow_hang, gs);
        if (opts.ops && m.next != scenario::next_mode::never && one_in(3))
            m.on_catch = koa_ops_action(m.label, true, false, gs);
        if (one_in(2))
            m.after =
                ops ? koa_ops_action(m.label, false, false, gs) : koa_action(m.label, false, gs);
        sc.application.koa.chain.push_back(std::move(m));
    }
    if (!one_in(3)) {
        action l;
        if (one_in(4))
            l.when = scenario::flag_condition{"f1", *gen::arbitrary<bool>()};
        if (one_in(3))
            l.set = scenario::flag_assignment{*gen::element<std::string>("f1", "f2"),
                                              *gen::arbitrary<bool>()};
        if (l.set && one_in(3))
            l.delay_ms = 30;
        if (one_in(4)) {
            l.label = "listener";
            l.label_given = true;
        }
        sc.application.koa.on_error = l;
    }
    int const steps = *gen::inRange(1, opts.max_steps + 1);
    int id = 1;
    for (int k = 0; k < steps; ++k) {
        // request, parallel, sleep, keep-alive, pipelined pair, raw
        int kind = pick<int>({{6, 0}, {2, 1}, {1, 2}, {1, 3}, {1, 4}, {1, 5}});
        if ((kind == 4 || kind == 5) && gs.may_hang)
            kind = 0; // a request that may hang needs a client abort; these steps have none
        if (kind == 5) {
            sc.steps.push_back(koa_raw(id++));
            continue;
        }
        if (kind == 4) {
            scenario::step group;
            group.kind = scenario::step_kind::parallel;
            for (int i = 0; i < 2; ++i) {
                group.children.push_back(koa_request(id++, false, false));
                group.children.back().connection = "p" + std::to_string(k);
            }
            sc.steps.push_back(std::move(group));
            continue;
        }
        if (kind == 2) {
            scenario::step s;
            s.kind = scenario::step_kind::sleep;
            s.sleep_ms = *gen::element(10, 100);
            sc.steps.push_back(s);
            continue;
        }
        if (kind == 1) {
            scenario::step group;
            group.kind = scenario::step_kind::parallel;
            for (int i = 0; i < 2; ++i)
                group.children.push_back(koa_request(id++, true, gs.may_hang, !gs.empty_status));
            sc.steps.push_back(std::move(group));
            continue;
        }
        scenario::step s = koa_request(id++, kind == 0, gs.may_hang, !gs.empty_status);
        if (kind == 3)
            s.connection = "k";
        sc.steps.push_back(std::move(s));
    }
    return load_generated(scenario::to_json(sc), "the koa generator");
}

} // namespace

rc::Gen<scenario::scenario> koa_scenario_gen(koa_gen_options opts) {
    return gen::exec([opts] { return generate(opts); });
}

} // namespace lifecheck::property
