// js_stringify against JSON.stringify, and small_function's ownership rules.
#include "server_under_test/reference/engine/values.hpp"

#include "server_under_test/reference/engine/small_function.hpp"

#include <gtest/gtest.h>

#include <array>
#include <memory>
#include <string>

namespace lifecheck::engine {
namespace {

TEST(JsStringify, MatchesNodeJsonStringify) {
    // The expected text is what node 20 prints for
    // JSON.stringify({"a\"b\\":"x\u0001\n\t\b\f\r\u001f\u007f é ✓",n:-12,u:1e21,f:1.5,z:-0,
    //                 big:12345678901234,t:true,nl:null,arr:[1,"2",[]],o:{}})
    auto const v = scenario::json::parse(
        R"({"a\"b\\":"x\u0001\n\t\b\f\r\u001f\u007f é ✓","n":-12,"u":1e21,"f":1.5,"z":-0.0,)"
        R"("big":12345678901234,"t":true,"nl":null,"arr":[1,"2",[]],"o":{}})");
    EXPECT_EQ(
        js_stringify(v),
        "{\"a\\\"b\\\\\":\"x\\u0001\\n\\t\\b\\f\\r\\u001f\x7f é ✓\",\"n\":-12,\"u\":1e+21,"
        "\"f\":1.5,\"z\":0,\"big\":12345678901234,\"t\":true,\"nl\":null,\"arr\":[1,\"2\",[]],"
        "\"o\":{}}");
}

TEST(JsStringify, KeepsInsertionOrderAndUnsigned) {
    scenario::json v = scenario::json::object();
    v["z"] = 1;
    v["a"] = std::uint64_t{18446744073709551615ULL};
    EXPECT_EQ(js_stringify(v), R"({"z":1,"a":18446744073709551615})");
}

TEST(SmallFunction, SmallCapturesStayInPlaceAndAreDestroyedOnce) {
    auto counter = std::make_shared<int>(0);
    {
        small_function<void()> f = [counter] {
            ++*counter;
        };
        EXPECT_EQ(counter.use_count(), 2);
        small_function<void()> g = std::move(f);
        EXPECT_FALSE(static_cast<bool>(f));
        EXPECT_EQ(counter.use_count(), 2); // moved, not copied
        g();
        g();
    }
    EXPECT_EQ(*counter, 2);
    EXPECT_EQ(counter.use_count(), 1); // the capture was destroyed with g
}

TEST(SmallFunction, LargeCapturesGoToTheHeapAndStillWork) {
    auto counter = std::make_shared<int>(0);
    std::array<char, 200> big{};
    big[199] = 7;
    small_function<int(int)> f = [counter, big](int x) {
        return x + big[199] + ++*counter;
    };
    small_function<int(int)> g;
    g = std::move(f);
    EXPECT_EQ(g(1), 9);
    g = nullptr;
    EXPECT_EQ(counter.use_count(), 1);
}

TEST(SmallFunction, EmptyStdFunctionIsEmptyAndCallingItThrows) {
    std::function<void()> none;
    small_function<void()> f = none;
    EXPECT_FALSE(static_cast<bool>(f));
    EXPECT_THROW(f(), std::bad_function_call);
}

TEST(SmallFunction, ForwardsMoveOnlyArguments) {
    small_function<int(std::unique_ptr<int>)> f = [](std::unique_ptr<int> p) {
        return *p;
    };
    EXPECT_EQ(f(std::make_unique<int>(5)), 5);
}

} // namespace
} // namespace lifecheck::engine
