// The model on v2 `ops` ACTIONs (scenario-format §1.6): every scenario under scenarios/fastify/ops/
// predicted exactly (recorded from Fastify 5.12.8), and the timing rules ops depend on.
#include "harness/model/model.hpp"
#include "harness/model/test_support.hpp"
#include "harness/scenario/load.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

namespace {

using namespace lifecheck;
using labels = std::vector<std::string>;

std::string lower(std::string s) {
    std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) {
        return static_cast<char>(std::tolower(c));
    });
    return s;
}

model::step_prediction predict_step(std::string const& text, std::string const& id) {
    auto r = scenario::parse(text, "ops_model_test.json", "ops_model_test");
    if (!r.has_value()) {
        std::string all;
        for (auto const& d : r.error())
            all += d.json_path + ": expected " + d.expected + ", got " + d.got + "\n";
        ADD_FAILURE() << all;
        return {};
    }
    for (auto const& p : model::predict(r.value())) {
        if (p.step_id == id)
            return p;
    }
    ADD_FAILURE() << "no prediction for step " << id;
    return {};
}

/// A one-route GET app with root `hooks` and the route's `handler` (both JSON text).
std::string
get_app(std::string const& hooks, std::string const& handler, std::string const& extra = "") {
    return R"({"app":{"hooks":)" + hooks + extra +
           R"(,"routes":[{"method":"GET","url":"/","handler":)" + handler +
           R"(}]},"steps":[{"id":"r1","request":{"method":"GET","url":"/"}}]})";
}

/// The value the model predicts for header `name` (content-type from `content_type`).
std::optional<std::string> predicted_header(model::step_prediction const& p,
                                            std::string const& name) {
    if (lower(name) == "content-type")
        return p.content_type;
    for (auto const& [k, v] : p.headers) {
        if (lower(k) == lower(name))
            return v;
    }
    return std::nullopt;
}

// Every scenario of `folder` (under scenarios/fastify/): each step deterministic, no crash, and
// trace, endAt, status, body and every listed header (Node's own framing headers aside) as
// recorded from Fastify 5.12.8. Returns the steps compared; failures go to `report`.
int predict_folder_exactly(std::string const& folder, std::string& report) {
    namespace fs = std::filesystem;
    fs::path const root = fs::path{LIFECHECK_SOURCE_DIR} / "scenarios";
    fs::path const dir = root / "fastify" / folder;
    if (!fs::exists(dir)) {
        report += dir.string() + " is missing\n";
        return 0;
    }
    int steps_compared = 0;
    for (auto const& file : scenario::collect_files({dir})) {
        auto loaded = scenario::load_file(file, root);
        if (!loaded.has_value()) {
            report += file.string() + " does not load\n";
            continue;
        }
        scenario::scenario const& sc = loaded.value();
        std::map<std::string, scenario::step const*> steps;
        model::test_support::collect_expected(sc.steps, steps);
        for (auto const& p : model::predict(sc)) {
            auto const it = steps.find(p.step_id);
            if (it == steps.end())
                continue;
            std::string const where = sc.id + " step " + p.step_id + ": ";
            if (!it->second->expect || !it->second->expect->trace) {
                report += where + "no recorded expect\n";
                continue;
            }
            if (!p.deterministic) {
                report += where + "not deterministic: " + p.why + "\n";
                continue;
            }
            if (p.crash)
                report += where + "the model predicts a crash\n";
            ++steps_compared;
            for (auto const& d : model::disagreements(p, *it->second->expect))
                report += where + d + "\n";
            for (auto const& h : it->second->expect->headers) {
                auto const got = predicted_header(p, h.name);
                bool const ok =
                    !h.value ? !got : (*h.value == "*" ? got.has_value() : got == h.value);
                if (!ok)
                    report += where + "header " + h.name + ": expected " +
                              h.value.value_or("absent") + ", model " + got.value_or("absent") +
                              "\n";
            }
        }
    }
    return steps_compared;
}

TEST(ModelOpsCorpus, PredictsEveryOpsScenarioExactly) {
    std::string report;
    EXPECT_GT(predict_folder_exactly("ops", report), 20);
    EXPECT_TRUE(report.empty()) << report;
}

// v2.6 (scenario-format §1.12): reply.callNotFound() and setNotFoundHandler's hook options.
TEST(ModelOpsCorpus, PredictsEveryNotFoundScenarioExactly) {
    std::string report;
    EXPECT_GE(predict_folder_exactly("not-found", report), 8);
    EXPECT_TRUE(report.empty()) << report;
}

//------------------------------------------------------------------------------
// timing

// An ops function is one async function (D29): an ops onSend without awaits, started by a v1
// onRequest's send-then-continue, ends the response before the onRequest chain resumes, which
// then stops on reply.sent (checked against fastify 5.12.8:
// scenarios/fastify/ops/send-then-continue-ops-onsend-settles-late.json).
TEST(ModelOps, AsyncOpsFunctionSettlesWithItsLastOp) {
    auto const p = predict_step(
        get_app(
            R"({"onRequest":[{"do":"sendThenContinue","payload":{"kind":"string","value":"hook"}}],
                    "onSend":[{"ops":[]}],"preHandler":[{}]})",
            R"({"ops":[{"return":{"kind":"string","value":"handler"}}]})"),
        "r1");
    ASSERT_TRUE(p.deterministic) << p.why;
    EXPECT_EQ(p.trace, (labels{"onRequest@root", "onSend@root"}));
    EXPECT_EQ(p.body_text, "hook");
}

// Both sides ops: the onSend started inside the onRequest's send settles first, ends the
// response, and the onRequest chain stops on reply.sent (checked against fastify 5.12.8:
// onrequest-send-forgot-return-quick-onsend.json).
TEST(ModelOps, OpsOnRequestSendStopsWhenItsOnSendEndsFirst) {
    auto const p =
        predict_step(get_app(R"({"onRequest":[{"ops":[{"send":{"kind":"string","value":"hook"}}]}],
                    "onSend":[{"ops":[]}],"preHandler":[{}]})",
                             R"({"ops":[{"return":{"kind":"string","value":"handler"}}]})"),
                     "r1");
    ASSERT_TRUE(p.deterministic) << p.why;
    EXPECT_EQ(p.trace, (labels{"onRequest@root", "onSend@root"}));
    EXPECT_EQ(p.body_text, "hook");
}

// With an onSend that awaits a timer the reply is not sent when the onRequest promise settles:
// the chain goes on and the handler's value is a second send (checked against fastify 5.12.8:
// onrequest-send-forgot-return-async-onsend.json).
TEST(ModelOps, ForgottenReturnReplyWithPendingOnSendRunsTheHandler) {
    auto const p =
        predict_step(get_app(R"({"onRequest":[{"ops":[{"send":{"kind":"string","value":"hook"}}]}],
                    "onSend":[{"ops":[{"await":30}]}]})",
                             R"({"ops":[{"return":{"kind":"string","value":"handler"}}]})"),
                     "r1");
    ASSERT_TRUE(p.deterministic) << p.why;
    EXPECT_EQ(p.trace, (labels{"onRequest@root", "onSend@root", "handler", "onSend@root"}));
}

// Callback style: ops after `await` run from a timer; done() runs the rest of the lifecycle
// synchronously before the next op.
TEST(ModelOps, CallbackDoneRunsTheLifecycleBeforeTheNextOp) {
    auto const p =
        predict_step(get_app(R"({"onRequest":[{"style":"callback","ops":[{"done":null},{"code":203},
                    {"send":{"kind":"string","value":"hook"}}]}]})",
                             R"({"ops":[{"return":{"kind":"string","value":"handler"}}]})"),
                     "r1");
    ASSERT_TRUE(p.deterministic) << p.why;
    EXPECT_EQ(p.trace, (labels{"onRequest@root", "handler"}));
    EXPECT_EQ(p.status, 203);
    EXPECT_EQ(p.body_text, "hook");
}

// done() with a falsy value continues (hookRunner: `if (err || ...)`); a synchronous throw is
// caught by the hook runner.
TEST(ModelOps, CallbackDoneFalsyContinuesAndSyncThrowIsCaught) {
    auto const cont = predict_step(
        get_app(
            R"({"preHandler":[{"style":"callback","ops":[{"done":{"error":{"kind":"json","value":null}}}]}]})",
            R"({"ops":[{"return":{"kind":"string","value":"ok"}}]})"),
        "r1");
    EXPECT_EQ(cont.status, 200);
    EXPECT_EQ(cont.body_text, "ok");
    auto const thrown = predict_step(
        get_app(
            R"({"preHandler":[{"style":"callback","ops":[{"throw":{"kind":"error","message":"s","statusCode":418}}]}]})",
            R"({"ops":[{"return":{"kind":"string","value":"never"}}]})"),
        "r1");
    ASSERT_TRUE(thrown.deterministic) << thrown.why;
    EXPECT_FALSE(thrown.crash);
    EXPECT_EQ(thrown.trace, (labels{"preHandler@root"}));
    EXPECT_EQ(thrown.status, 418);
}

//------------------------------------------------------------------------------
// reply operations and errors

// Reply.prototype.code: outside 100..599 it throws FST_ERR_BAD_STATUS_CODE (500), shown with
// `code || String(code)`.
TEST(ModelOps, InvalidStatusCodeThrows) {
    for (auto const& [code, shown] : std::vector<std::pair<std::string, std::string>>{
             {"99", "99"}, {"600", "600"}, {"0", "0"}, {"99.5", "99.5"}}) {
        auto const p = predict_step(
            get_app("{}",
                    R"({"ops":[{"code":)" + code + R"(},{"send":{"kind":"string","value":"x"}}]})"),
            "r1");
        ASSERT_TRUE(p.deterministic) << p.why;
        EXPECT_EQ(p.status, 500) << code;
        EXPECT_EQ(
            p.body_text,
            R"({"statusCode":500,"code":"FST_ERR_BAD_STATUS_CODE","error":"Internal Server Error","message":"Called reply with an invalid status code: )" +
                shown + R"("})")
            << code;
    }
}

// setErrorHeaders + setErrorStatusCode: err.statusCode, then err.status, then a 4xx/5xx reply
// code, else 500; without reply.code() the error alone decides; err.headers are copied.
TEST(ModelOps, DefaultErrorHandlerStatusAndHeaders) {
    auto status_of = [](std::string const& ops) {
        return predict_step(get_app("{}", R"({"ops":)" + ops + "}"), "r1").status;
    };
    EXPECT_EQ(status_of(R"([{"code":451},{"throw":{"kind":"error","statusCode":502}}])"), 502);
    EXPECT_EQ(status_of(R"([{"code":451},{"throw":{"kind":"error"}}])"), 451);
    EXPECT_EQ(status_of(R"([{"code":201},{"throw":{"kind":"error","status":404}}])"), 404);
    EXPECT_EQ(status_of(R"([{"code":201},{"throw":{"kind":"error"}}])"), 500);
    EXPECT_EQ(status_of(R"([{"throw":{"kind":"error","status":409,"statusCode":200}}])"), 409);
    auto const p = predict_step(
        get_app("{}", R"({"ops":[{"throw":{"kind":"error","headers":{"X-Err":"1"}}}]})"), "r1");
    EXPECT_EQ(p.status, 500);
    EXPECT_EQ(predicted_header(p, "x-err"), "1");
}

// What the model does not follow is said, not guessed: non-Error throws, `return reply` from a
// callback-style function (the reference answers `unsupported` for both).
TEST(ModelOps, UnsupportedShapesAreNotDeterministic) {
    // a thrown string is modelled since issue 15 (scenarios/fastify/values/); a Buffer is not
    auto const thrown = predict_step(
        get_app("{}", R"({"ops":[{"throw":{"kind":"buffer","base64":"AA=="}}]})"), "r1");
    EXPECT_FALSE(thrown.deterministic);
    EXPECT_NE(thrown.why.find("thrown Buffer"), std::string::npos) << thrown.why;
    auto const string_thrown = predict_step(
        get_app("{}", R"({"ops":[{"throw":{"kind":"string","value":"oops"}}]})"), "r1");
    EXPECT_TRUE(string_thrown.deterministic) << string_thrown.why;
    EXPECT_EQ(string_thrown.status, 500);
    EXPECT_EQ(string_thrown.body_text, "oops");
    auto const ret = predict_step(
        get_app("{}", R"({"style":"callback","ops":[{"send":null},{"return":"reply"}]})"), "r1");
    EXPECT_FALSE(ret.deterministic);
    EXPECT_NE(ret.why.find("return reply"), std::string::npos) << ret.why;
    auto const app_hook =
        predict_step(get_app(R"({"onReady":[{"ops":[{"await":10}]}]})", R"({})"), "r1");
    EXPECT_FALSE(app_hook.deterministic);
    EXPECT_NE(app_hook.why.find("application hook"), std::string::npos) << app_hook.why;
}

} // namespace
