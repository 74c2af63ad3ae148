// An optional number in the number's own 8 bytes: one bit pattern the
// value never takes means "none". std::optional<double> takes 16 bytes (its
// flag padded to 8), and the job tables hold a dozen of them a job for every
// allocation of a facility's history on rank 0 (776,696 at Eagle's nine
// months: ~100 MB of flags and padding).
//
// The interface is std::optional's where the tables use it (has_value,
// operator bool, *, value, value_or, reset, = nullopt, == value), so a
// member changes type, not its uses.
//   double: a NaN with a payload arithmetic never makes (a computed NaN is
//     a value, as it was in std::optional, and prints as before);
//   int64 (counts, instants): INT64_MIN, which no count or instant is.
#pragma once

#include <bit>
#include <cstdint>
#include <limits>
#include <optional>
#include <type_traits>

namespace wattrun {

template <typename T>
struct MaybeNone;
template <>
struct MaybeNone<double> {
  static constexpr std::uint64_t kBits = 0x7ff8'7761'7474'6e6fULL;  // quiet NaN, payload "wattno"
  static constexpr double Value() { return std::bit_cast<double>(kBits); }
  static constexpr bool Is(double v) { return std::bit_cast<std::uint64_t>(v) == kBits; }
};
template <>
struct MaybeNone<std::int64_t> {
  static constexpr std::int64_t Value() { return std::numeric_limits<std::int64_t>::min(); }
  static constexpr bool Is(std::int64_t v) { return v == Value(); }
};

template <typename T>
class Maybe {
 public:
  using value_type = T;
  constexpr Maybe() = default;
  constexpr Maybe(std::nullopt_t) {}           // NOLINT(google-explicit-constructor): as std::optional
  constexpr Maybe(T value) : value_(value) {}  // NOLINT(google-explicit-constructor)
  template <typename U>
  requires std::is_convertible_v<U, T>
  constexpr Maybe(const std::optional<U>& v)  // NOLINT(google-explicit-constructor)
      : value_(v ? static_cast<T>(*v) : MaybeNone<T>::Value()) {}

  constexpr Maybe& operator=(std::nullopt_t) {
    value_ = MaybeNone<T>::Value();
    return *this;
  }
  constexpr bool has_value() const { return !MaybeNone<T>::Is(value_); }
  constexpr explicit operator bool() const { return has_value(); }
  constexpr const T& operator*() const { return value_; }
  constexpr T& operator*() { return value_; }
  constexpr T value() const {
    if (!has_value()) throw std::bad_optional_access();
    return value_;
  }
  constexpr T value_or(T fallback) const { return has_value() ? value_ : fallback; }
  constexpr void reset() { value_ = MaybeNone<T>::Value(); }
  constexpr std::optional<T> optional() const { return has_value() ? std::optional<T>(value_) : std::nullopt; }
  // For the functions that take a const std::optional<T>&.
  constexpr operator std::optional<T>() const { return optional(); }  // NOLINT(google-explicit-constructor)

  friend constexpr bool operator==(const Maybe& a, std::nullopt_t) { return !a.has_value(); }
  friend constexpr bool operator==(const Maybe& a, const T& b) { return a.has_value() && a.value_ == b; }
  friend constexpr bool operator==(const Maybe& a, const Maybe& b) {
    return a.has_value() == b.has_value() && (!a.has_value() || a.value_ == b.value_);
  }

 private:
  T value_ = MaybeNone<T>::Value();
};

static_assert(sizeof(Maybe<double>) == 8 && sizeof(Maybe<std::int64_t>) == 8);

}  // namespace wattrun
