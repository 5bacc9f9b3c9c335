// blobswarm::expected / blobswarm::unexpected: std::expected where the
// standard library has it (g++ 12, -std=c++23: every normal build).
//
// clang 14, which the libFuzzer builds need, cannot use libstdc++ 12's
// <expected> (it lacks the conditionally trivial special members that
// header relies on). For those builds only, a minimal stand-in with the
// same interface subset is defined here. Code spells these names through
// result<T> and fail() and never needs to know which one it got.
#pragma once

#include <version>

#if defined(__cpp_lib_expected)
#include <expected>

namespace blobswarm {
using std::expected;
using std::unexpected;
}  // namespace blobswarm

#else
#include <optional>
#include <stdexcept>
#include <type_traits>
#include <utility>
#include <variant>

namespace blobswarm {

template <class E>
class unexpected {
 public:
  constexpr explicit unexpected(E e) : e_(std::move(e)) {}
  constexpr const E& error() const& noexcept { return e_; }
  constexpr E& error() & noexcept { return e_; }
  constexpr E&& error() && noexcept { return std::move(e_); }

 private:
  E e_;
};
template <class E>
unexpected(E) -> unexpected<E>;

template <class T, class E>
class expected {
 public:
  using value_type = T;
  using error_type = E;

  constexpr expected() requires std::is_default_constructible_v<T> : v_(std::in_place_index<0>) {}
  template <class U = T>
  requires(!std::is_same_v<std::remove_cvref_t<U>, expected> &&
           !std::is_same_v<std::remove_cvref_t<U>, unexpected<E> > &&
           std::is_constructible_v<T, U>) constexpr expected(U&& v)
      : v_(std::in_place_index<0>, std::forward<U>(v)) {}
  template <class G>
  constexpr expected(const unexpected<G>& u) : v_(std::in_place_index<1>, u.error()) {}
  template <class G>
  constexpr expected(unexpected<G>&& u) : v_(std::in_place_index<1>, std::move(u).error()) {}

  constexpr bool has_value() const noexcept { return v_.index() == 0; }
  constexpr explicit operator bool() const noexcept { return has_value(); }
  constexpr T& operator*() & { return std::get<0>(v_); }
  constexpr const T& operator*() const& { return std::get<0>(v_); }
  constexpr T&& operator*() && { return std::get<0>(std::move(v_)); }
  constexpr T* operator->() { return &std::get<0>(v_); }
  constexpr const T* operator->() const { return &std::get<0>(v_); }
  constexpr T& value() & { return check(), std::get<0>(v_); }
  constexpr const T& value() const& { return check(), std::get<0>(v_); }
  constexpr T&& value() && { return check(), std::get<0>(std::move(v_)); }
  constexpr E& error() & { return std::get<1>(v_); }
  constexpr const E& error() const& { return std::get<1>(v_); }
  constexpr E&& error() && { return std::get<1>(std::move(v_)); }
  template <class U>
  constexpr T value_or(U&& d) const& {
    return has_value() ? **this : static_cast<T>(std::forward<U>(d));
  }
  template <class F>
  constexpr auto and_then(F&& f) const& {
    using R = std::remove_cvref_t<std::invoke_result_t<F, const T&> >;
    return has_value() ? std::forward<F>(f)(**this) : R(unexpected<E>(error()));
  }
  template <class F>
  constexpr auto transform(F&& f) const& {
    using U = std::remove_cvref_t<std::invoke_result_t<F, const T&> >;
    return has_value() ? expected<U, E>(std::forward<F>(f)(**this))
                       : expected<U, E>(unexpected<E>(error()));
  }

 private:
  constexpr void check() const {
    if (!has_value()) throw std::logic_error("bad expected access");
  }
  std::variant<T, E> v_;
};

template <class E>
class expected<void, E> {
 public:
  using value_type = void;
  using error_type = E;

  constexpr expected() = default;
  template <class G>
  constexpr expected(const unexpected<G>& u) : e_(u.error()) {}
  template <class G>
  constexpr expected(unexpected<G>&& u) : e_(std::move(u).error()) {}

  constexpr bool has_value() const noexcept { return !e_.has_value(); }
  constexpr explicit operator bool() const noexcept { return has_value(); }
  constexpr void operator*() const noexcept {}
  constexpr void value() const {
    if (e_) throw std::logic_error("bad expected access");
  }
  constexpr E& error() & { return *e_; }
  constexpr const E& error() const& { return *e_; }
  constexpr E&& error() && { return std::move(*e_); }

 private:
  std::optional<E> e_;
};

}  // namespace blobswarm
#endif
