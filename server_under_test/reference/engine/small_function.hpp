// A move-only callable with room for small captures: queuing a continuation does not allocate.
#pragma once

#include <cstddef>
#include <functional>
#include <memory>
#include <new>
#include <type_traits>
#include <utility>

namespace lifecheck::engine {

template <class Signature, std::size_t Capacity = 48>
class small_function;

/// Like std::function, but move-only and with `Capacity` bytes of in-place storage for the
/// callable (libstdc++'s std::function keeps only trivially copyable 16-byte callables in place,
/// so every lambda holding a shared_ptr costs a malloc). Larger callables go to the heap.
/// The engine queues several continuations per hook (bench/README.md, "What the misses come
/// from"); this type keeps them off the allocator.
template <class R, class... Args, std::size_t Capacity>
class small_function<R(Args...), Capacity> {
public:
    small_function() noexcept = default;

    small_function(std::nullptr_t) noexcept {}

    template <class F,
              class D = std::decay_t<F>,
              class = std::enable_if_t<!std::is_same_v<D, small_function> &&
                                       std::is_invocable_r_v<R, D&, Args...>>>
    small_function(F&& f) { // NOLINT: implicit, like std::function
        if constexpr (std::is_pointer_v<D> || std::is_member_pointer_v<D> ||
                      is_std_function<D>::value) {
            if (!f)
                return;
        }
        if constexpr (fits<D>) {
            ::new (static_cast<void*>(buf_)) D(std::forward<F>(f));
            ops_ = &inline_ops<D>;
        } else {
            ::new (static_cast<void*>(buf_)) D*(new D(std::forward<F>(f)));
            ops_ = &heap_ops<D>;
        }
    }

    small_function(small_function&& o) noexcept { take(o); }

    small_function& operator=(small_function&& o) noexcept {
        if (this != &o) {
            reset();
            take(o);
        }
        return *this;
    }

    small_function& operator=(std::nullptr_t) noexcept {
        reset();
        return *this;
    }

    small_function(small_function const&) = delete;
    small_function& operator=(small_function const&) = delete;

    ~small_function() { reset(); }

    explicit operator bool() const noexcept { return ops_ != nullptr; }

    R operator()(Args... args) {
        if (ops_ == nullptr)
            throw std::bad_function_call{};
        return ops_->call(buf_, std::forward<Args>(args)...);
    }

private:
    template <class T>
    struct is_std_function : std::false_type {};

    template <class S>
    struct is_std_function<std::function<S>> : std::true_type {};

    template <class D>
    static constexpr bool
        fits = sizeof(D) <= Capacity &&
               alignof(D) <= alignof(std::max_align_t) && std::is_nothrow_move_constructible_v<D>;

    struct ops {
        R (*call)(void*, Args&&...);
        void (*move)(void* dst, void* src) noexcept; // move-construct dst from src, destroy src
        void (*destroy)(void*) noexcept;
    };

    template <class D>
    static constexpr ops inline_ops{
        [](void* p, Args&&... a) -> R { return (*static_cast<D*>(p))(std::forward<Args>(a)...); },
        [](void* dst, void* src) noexcept {
            ::new (dst) D(std::move(*static_cast<D*>(src)));
            static_cast<D*>(src)->~D();
        },
        [](void* p) noexcept { static_cast<D*>(p)->~D(); },
    };

    template <class D>
    static constexpr ops heap_ops{
        [](void* p, Args&&... a) -> R { return (**static_cast<D**>(p))(std::forward<Args>(a)...); },
        [](void* dst, void* src) noexcept { ::new (dst) D*(*static_cast<D**>(src)); },
        [](void* p) noexcept { delete *static_cast<D**>(p); },
    };

    void take(small_function& o) noexcept {
        if (o.ops_ == nullptr)
            return;
        o.ops_->move(buf_, o.buf_);
        ops_ = o.ops_;
        o.ops_ = nullptr;
    }

    void reset() noexcept {
        if (ops_ != nullptr) {
            ops_->destroy(buf_);
            ops_ = nullptr;
        }
    }

    alignas(std::max_align_t) unsigned char buf_[Capacity];
    ops const* ops_ = nullptr;
};

} // namespace lifecheck::engine
