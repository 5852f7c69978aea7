// Builds the HTTP fuzzer's fixed app once, from scenario JSON, through the real loader.
#include "fuzz/fixed_app.hpp"

#include "fuzz/decode.hpp"
#include "harness/common/assert.hpp"
#include "harness/scenario/load.hpp"

namespace lifecheck::fuzz {

namespace {

char const* const app_json = R"({
  "description": "fuzz_http fixed app",
  "app": {
    "hooks": {
      "onRequest": [{}], "preParsing": [{}], "preValidation": [{}], "preHandler": [{}],
      "preSerialization": [{}], "onSend": [{}, {"style": "callback"}], "onResponse": [{}],
      "onError": [{}], "onRequestAbort": [{}], "onTimeout": [{}]
    },
    "errorHandler": {"do": "send", "status": 500, "payload": {"kind": "json", "value": {"handled": true}}},
    "routes": [
      {"method": "GET", "url": "/", "handler": {"payload": {"kind": "json", "value": {"ok": true}}}},
      {"method": "POST", "url": "/echo", "handler": {"payload": {"kind": "string", "value": "posted"}}},
      {"method": "GET", "url": "/items/:id", "handler": {"delayMs": 5, "payload": {"kind": "buffer", "base64": "AAEC"}}},
      {"method": "GET", "url": "/stream", "handler": {"do": "send", "payload": {"kind": "stream", "chunks": ["a", "b", "c"], "chunkDelayMs": 2, "failAfterChunks": 2}}},
      {"method": "GET", "url": "/web", "handler": {"do": "send", "payload": {"kind": "webStream", "chunks": ["x"], "locked": true}}},
      {"method": "GET", "url": "/resp", "handler": {"do": "send", "payload": {"kind": "response", "shared": "r", "body": {"kind": "string", "value": "once"}}}},
      {"method": "GET", "url": "/throw", "handler": {"do": "throw", "error": {"statusCode": 418}}}
    ],
    "plugins": [
      {"name": "v1", "prefix": "/v1", "hooks": {"onRequest": [{"style": "callback"}], "onSend": [{"do": "replacePayload", "payload": {"kind": "string", "value": "replaced"}}]},
       "errorHandler": {"do": "rethrow"},
       "notFoundHandler": {"do": "send", "status": 404, "payload": {"kind": "string", "value": "v1 404"}},
       "routes": [{"method": "PUT", "url": "/x", "handler": {"do": "throw"}},
                  {"method": "GET", "url": "/slow", "handler": {"delayMs": 50}}]}
    ],
    "options": {"bodyLimit": 64, "connectionTimeoutMs": 200}
  },
  "steps": [{"sleepMs": 0}]
})";

} // namespace

char const* fixed_app_scenario_text() {
    return app_json;
}

scenario::app const& fixed_app() {
    static scenario::app const app = [] {
        auto sc = scenario::parse(app_json, "<fuzz/fixed_app>", "fuzz/fixed-app");
        LIFECHECK_ASSERT(sc.has_value(), "the fuzzer's fixed app must load");
        return sc.value().application;
    }();
    return app;
}

} // namespace lifecheck::fuzz
