// A value or the diagnostics that explain why there is none (member names of std::expected).
#pragma once

#include "harness/common/diagnostic.hpp"

#include <utility>
#include <variant>

namespace lifecheck {

/// Either a `T` or a non-empty list of diagnostics. Never throws on construction from either.
template <class T>
class result {
public:
    result(T value)
        : state_{std::in_place_index<0>, std::move(value)} {}

    result(diagnostics errors)
        : state_{std::in_place_index<1>, std::move(errors)} {}

    result(diagnostic error)
        : state_{std::in_place_index<1>, diagnostics{std::move(error)}} {}

    bool has_value() const { return state_.index() == 0; }

    explicit operator bool() const { return has_value(); }

    T& value() & { return std::get<0>(state_); }

    T const& value() const& { return std::get<0>(state_); }

    T&& value() && { return std::get<0>(std::move(state_)); }

    diagnostics const& error() const { return std::get<1>(state_); }

    T* operator->() { return &value(); }

    T const* operator->() const { return &value(); }

    T& operator*() & { return value(); }

    T const& operator*() const& { return value(); }

private:
    std::variant<T, diagnostics> state_; // the value, or why there is none
};

} // namespace lifecheck
