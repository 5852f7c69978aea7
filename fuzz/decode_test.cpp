// Tests of the fuzz decoders and their encoders: decode(encode(x)) == x on the decoders' range.
//
// The seed corpora (make_seeds.cpp) and `lifecheck repro` rely on it: a seed encoded from a
// scenario must decode to that scenario (or, outside the decoder's range, to one fixed nearest
// scenario), and a crash input must decode to the same thing in the fuzzer and in repro.
#include "fuzz/decode.hpp"

#include "harness/scenario/load.hpp"

#include <gtest/gtest.h>

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <random>
#include <string>
#include <vector>

namespace lifecheck::fuzz {
namespace {

namespace fs = std::filesystem;

std::uint8_t const* bytes_of(std::string const& s) {
    return reinterpret_cast<std::uint8_t const*>(s.data());
}

/// Deterministic pseudo-random inputs of lengths 0..max_len (fixed seed: reruns are identical).
std::vector<std::string> random_inputs(std::size_t count, std::size_t max_len, unsigned seed) {
    std::mt19937 gen{seed};
    std::uniform_int_distribution<std::size_t> len{0, max_len};
    std::uniform_int_distribution<int> byte{0, 255};
    std::vector<std::string> out;
    for (std::size_t i = 0; i < count; ++i) {
        std::string s(len(gen), '\0');
        for (char& c : s)
            c = static_cast<char>(byte(gen));
        out.push_back(std::move(s));
    }
    return out;
}

scenario::json decode_doc(std::string const& bytes) {
    return decode_lifecycle_json(bytes_of(bytes), bytes.size());
}

//----------------------------------------------------------------------------------------------
// lifecycle

// Any input decodes to a scenario the loader accepts, and encoding that scenario gives bytes
// that decode to exactly the same document: the encoder inverts the decoder on its range.
TEST(DecodeLifecycle, EncodeInvertsDecodeOnTheDecodersRange) {
    std::size_t with_plugins = 0, with_aborts = 0, with_routes = 0, with_ops = 0;
    for (std::string const& input : random_inputs(600, 160, 20261123)) {
        scenario::json const doc = decode_doc(input);
        auto sc = decode_lifecycle(bytes_of(input), input.size());
        ASSERT_TRUE(sc.has_value()) << "the loader rejects a decoded scenario:\n"
                                    << lifecheck::describe(sc.error().front()) << "\n"
                                    << doc.dump(2);
        std::string const encoded = encode_lifecycle(sc.value());
        scenario::json const again = decode_doc(encoded);
        ASSERT_EQ(again, doc) << "decode(encode(s)) != s\nfirst:\n"
                              << doc.dump(2) << "\nafter the round trip:\n"
                              << again.dump(2);
        auto reloaded = decode_lifecycle(bytes_of(encoded), encoded.size());
        ASSERT_TRUE(reloaded.has_value());
        EXPECT_EQ(scenario::to_json(reloaded.value()), scenario::to_json(sc.value()));
        // Encoding is canonical: the round-tripped scenario encodes to the same bytes.
        EXPECT_EQ(encode_lifecycle(reloaded.value()), encoded);
        with_plugins += doc["app"].contains("plugins");
        with_ops += doc.dump().find("\"ops\"") != std::string::npos;
        with_routes += doc["app"].contains("routes");
        for (auto const& step : doc["steps"])
            with_aborts += step.contains("client");
    }
    // The inputs reach the interesting parts of the range (else the test would prove little).
    EXPECT_GT(with_plugins, 50u);
    EXPECT_GT(with_routes, 50u);
    EXPECT_GT(with_aborts, 50u);
    EXPECT_GT(with_ops, 50u); // v2 ops ACTIONs (issue 15)
}

// v2 ops (scenario-format §1.6) in the decoder's range round-trip: reply ops, a send then
// `return reply`, callback hooks ending in done(err) / done(null, payload), awaits and flags,
// on seven ACTIONs (the most the decoder turns into ops).
TEST(DecodeLifecycle, HandWrittenOpsScenarioInRangeRoundTrips) {
    char const* const text = R"({
      "description": "ops in the decoder's range",
      "dialect": "fastify",
      "app": {
        "hooks": {
          "onRequest": [{"ops": [{"code": 201}, {"send": {"kind": "json", "value": {"v": 1}}},
                                 {"return": "reply"}]}],
          "preHandler": [{"style": "callback",
                          "ops": [{"await": 10}, {"done": {"error": {"kind": "error", "message": "boom", "statusCode": 503}}}]}],
          "preSerialization": [{"ops": [{"set": {"flag": "b", "value": true}},
                                        {"return": {"kind": "buffer", "base64": "AAE="}}]}],
          "onSend": [{"style": "callback", "ops": [{"header": ["x-op", "1"]},
                                                   {"done": {"payload": {"kind": "string", "value": "text"}}}]}]
        },
        "errorHandler": {"ops": [{"removeHeader": "content-type"}, {"type": "application/json"},
                                 {"throw": {"kind": "error", "message": "boom", "statusCode": 400}}]},
        "routes": [
          {"method": "GET", "url": "/", "handler": {"style": "callback", "ops": [{"send": {"kind": "error", "message": "boom"}}]}},
          {"method": "POST", "url": "/a", "handler": {"ops": [{"code": 404}, {"return": {"kind": "string", "value": "text"}}]}}
        ]
      },
      "steps": [{"id": "r1", "request": {"method": "GET", "url": "/"}}]
    })";
    auto sc = scenario::parse(text, "<test>", "test/ops-in-range");
    ASSERT_TRUE(sc.has_value()) << lifecheck::describe(sc.error().front());
    std::string const encoded = encode_lifecycle(sc.value());
    auto back = decode_lifecycle(bytes_of(encoded), encoded.size());
    ASSERT_TRUE(back.has_value()) << lifecheck::describe(back.error().front());
    scenario::json const want = scenario::to_json(sc.value());
    scenario::json const got = scenario::to_json(back.value());
    EXPECT_EQ(got["app"], want["app"]) << "want:\n"
                                       << want["app"].dump(2) << "\ngot:\n"
                                       << got["app"].dump(2);
}

// Non-Error values thrown and passed to done(err) (issue 15, decisions.md D49) are in the
// decoder's range: each round-trips.
TEST(DecodeLifecycle, NonErrorThrowsRoundTrip) {
    char const* const values[] = {
        R"({"kind": "undefined"})",
        R"({"kind": "json", "value": null})",
        R"({"kind": "json", "value": false})",
        R"({"kind": "string", "value": "oops"})",
        R"({"kind": "json", "value": 42})",
        R"({"kind": "json", "value": {"statusCode": 418, "message": "thrown object"}})"};
    for (char const* v : values) {
        std::string const text =
            std::string{R"({"description": "a non-Error thrown", "dialect": "fastify", "app": {
              "hooks": {"preHandler": [{"style": "callback", "ops": [{"done": {"error": )"} +
            v + R"(}}]}]},
              "routes": [{"method": "GET", "url": "/", "handler": {"ops": [{"throw": )" +
            v +
            R"(}]}}]},
              "steps": [{"id": "r1", "request": {"method": "GET", "url": "/"}}]})";
        auto sc = scenario::parse(text, "<test>", "test/non-error");
        ASSERT_TRUE(sc.has_value()) << lifecheck::describe(sc.error().front());
        std::string const encoded = encode_lifecycle(sc.value());
        auto back = decode_lifecycle(bytes_of(encoded), encoded.size());
        ASSERT_TRUE(back.has_value()) << lifecheck::describe(back.error().front());
        EXPECT_EQ(scenario::to_json(back.value())["app"], scenario::to_json(sc.value())["app"])
            << v;
    }
}

// Inputs from before ops decode as they did: the ops choices are read after everything else,
// so an input whose bytes run out before them (a missing byte chooses 0: no ops) decodes as
// without ops. An encoded scenario without ops ends its choices with that 0 (the first byte:
// FuzzedDataProvider reads from the end); without it the input decodes the same.
TEST(DecodeLifecycle, OpsAreReadAfterEverythingElse) {
    std::size_t checked = 0;
    for (std::string const& input : random_inputs(300, 160, 15)) {
        auto sc = decode_lifecycle(bytes_of(input), input.size());
        ASSERT_TRUE(sc.has_value());
        scenario::json const doc = scenario::to_json(sc.value());
        std::string const app = doc["app"].dump();
        bool const has_action =
            app.find("\"hooks\"") != std::string::npos || app.find("andler\"") != std::string::npos;
        if (!has_action || doc.dump().find("\"ops\"") != std::string::npos)
            continue; // no ACTION: no ops choice at all
        std::string const encoded = encode_lifecycle(sc.value());
        ASSERT_FALSE(encoded.empty());
        EXPECT_EQ(encoded.front(), '\0');
        EXPECT_EQ(decode_doc(encoded.substr(1)), decode_doc(encoded));
        ++checked;
    }
    EXPECT_GT(checked, 100u);
}

// Outside the range the encoder picks the nearest expressible scenario; that projection is
// stable (projecting twice changes nothing) and always loads, for every fastify scenario of
// scenarios/ (the lifecycle seed corpus is exactly these encodings).
TEST(DecodeLifecycle, ScenarioCorpusProjectionLoadsAndIsStable) {
    fs::path const root = fs::path{LIFECHECK_SOURCE_DIR} / "scenarios";
    std::size_t fastify = 0;
    for (fs::path const& file : scenario::collect_files({root})) {
        auto sc = scenario::load_file(file, root);
        if (!sc.has_value() || sc.value().lang != scenario::dialect::fastify)
            continue;
        ++fastify;
        std::string const once = encode_lifecycle(sc.value());
        auto projected = decode_lifecycle(bytes_of(once), once.size());
        ASSERT_TRUE(projected.has_value())
            << file << ": the seed does not decode to a loadable scenario: "
            << lifecheck::describe(projected.error().front());
        std::string const twice = encode_lifecycle(projected.value());
        EXPECT_EQ(decode_doc(twice), decode_doc(once)) << file;
    }
    EXPECT_GT(fastify, 100u) << "the fastify corpus under " << root << " went missing";
}

// The ops scenarios (scenarios/fastify/ops/) project to seeds that keep ops ACTIONs: the
// lifecycle seed corpus starts the fuzzer inside v2 ops (issue 15).
TEST(DecodeLifecycle, OpsScenariosProjectToSeedsWithOps) {
    fs::path const root = fs::path{LIFECHECK_SOURCE_DIR} / "scenarios";
    std::size_t files = 0, with_ops = 0;
    for (fs::path const& file : scenario::collect_files({root / "fastify" / "ops"})) {
        auto sc = scenario::load_file(file, root);
        ASSERT_TRUE(sc.has_value()) << file;
        ++files;
        std::string const seed = encode_lifecycle(sc.value());
        scenario::json const doc = decode_doc(seed);
        with_ops += doc.dump().find("\"ops\"") != std::string::npos;
    }
    EXPECT_GT(files, 20u);
    EXPECT_EQ(with_ops, files) << "every ops scenario has ops ACTIONs; so must its seed";
}

//----------------------------------------------------------------------------------------------
// http_bytes

// encode_http(b) decodes to one write of exactly b: no pause, no early close.
TEST(DecodeHttp, EncodeGivesOneWriteOfTheBytes) {
    std::vector<std::string> inputs = random_inputs(500, 600, 7);
    inputs.push_back("GET / HTTP/1.1\r\nhost: x\r\n\r\n");
    for (std::string const& bytes : inputs) {
        if (bytes.empty())
            continue;
        if (bytes.find("x-lifecheck-req") != std::string::npos)
            continue; // renamed on purpose, see the next test
        std::string const encoded = encode_http(bytes);
        http_input const in = decode_http(bytes_of(encoded), encoded.size());
        ASSERT_EQ(in.writes.size(), 1u);
        EXPECT_EQ(in.writes[0].bytes, bytes);
        EXPECT_EQ(in.writes[0].pause_ms, 0);
        EXPECT_FALSE(in.close_early);
    }
}

// Empty input: nothing to write (the fuzzer then just opens and closes a connection).
TEST(DecodeHttp, EmptyInputHasNoWrites) {
    http_input const in = decode_http(nullptr, 0);
    EXPECT_TRUE(in.writes.empty());
    std::string const encoded = encode_http("");
    EXPECT_TRUE(decode_http(bytes_of(encoded), encoded.size()).writes.empty());
}

// Request-id headers are renamed in any case, also when split across two writes, so every
// request gets an id the target makes up.
TEST(DecodeHttp, RequestIdHeadersAreRenamedAcrossWrites) {
    std::string const bytes = "GET / HTTP/1.1\r\nX-Lifecheck-Req: a\r\nx-lifecheck-req: b\r\n\r\n";
    std::string const encoded = encode_http(bytes);
    http_input const one = decode_http(bytes_of(encoded), encoded.size());
    ASSERT_EQ(one.writes.size(), 1u);
    EXPECT_EQ(one.writes[0].bytes,
              "GET / HTTP/1.1\r\nX-Lifecheck-Rex: a\r\nx-lifecheck-rex: b\r\n\r\n");

    // Cut inside the first header name: one chosen write of `cut` bytes, then the rest as a
    // second write. The tail is read from the end: writes - 1, close_early, then the first
    // write's length and pause.
    std::size_t const cut = bytes.find("Req");
    std::string split = bytes;
    split += static_cast<char>(0); // pause of write 1: index 0 (read last)
    split += static_cast<char>(cut);
    split += static_cast<char>(0); // close_early = false
    split += static_cast<char>(0); // 1 chosen write
    ASSERT_LT(cut, 256u);
    http_input const two = decode_http(bytes_of(split), split.size());
    ASSERT_EQ(two.writes.size(), 2u);
    EXPECT_EQ(two.writes[0].bytes, bytes.substr(0, cut));
    EXPECT_EQ(two.all_bytes(), one.writes[0].bytes);
}

// Every input decodes to at most 9 writes (8 chosen + the rest) with a known pause, and the
// written bytes are the input's data bytes in order.
TEST(DecodeHttp, AnyInputDecodesToBoundedWrites) {
    for (std::string const& input : random_inputs(2000, 300, 99)) {
        http_input const in = decode_http(bytes_of(input), input.size());
        EXPECT_LE(in.writes.size(), 9u);
        EXPECT_LE(in.all_bytes().size(), input.size());
        for (http_write const& w : in.writes) {
            EXPECT_TRUE(w.pause_ms == 0 || w.pause_ms == 1 || w.pause_ms == 10 ||
                        w.pause_ms == 100 || w.pause_ms == 250);
            EXPECT_TRUE(!w.bytes.empty() || w.pause_ms > 0);
        }
        // Data is read from the front of the input.
        std::string const all = in.all_bytes();
        if (all.find("x-lifecheck-re") == std::string::npos &&
            all.find("X-Lifecheck-Re") == std::string::npos) {
            EXPECT_EQ(input.compare(0, all.size(), all), 0);
        }
    }
}

} // namespace
} // namespace lifecheck::fuzz
