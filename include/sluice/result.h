#pragma once
// Result<T>: a value or an Error, shaped like std::expected (C++20 lacks it). Errors carry an errno-style
// code plus context that each layer extends ("apply plan: update sl_svc_v1: EPERM").
#include <string>
#include <system_error>
#include <utility>
#include <variant>

namespace sluice {

struct Error {
  std::error_code code;
  std::string context;

  static Error fromErrno(int err, std::string context) {
    return Error{std::error_code(err, std::system_category()), std::move(context)};
  }
  static Error invalid(std::string context) {
    return fromErrno(EINVAL, std::move(context));
  }
  // Prepends the caller's context: "outer: inner".
  Error wrap(const std::string& outer) const {
    return Error{code, outer + ": " + context};
  }
  std::string message() const {
    return code ? context + ": " + code.message() : context;
  }
};

template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}  // NOLINT: implicit like std::expected
  Result(Error error) : v_(std::move(error)) {}  // NOLINT

  bool ok() const { return v_.index() == 0; }
  explicit operator bool() const { return ok(); }
  T& value() & { return std::get<0>(v_); }
  const T& value() const& { return std::get<0>(v_); }
  T&& value() && { return std::get<0>(std::move(v_)); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  const Error& error() const { return std::get<1>(v_); }

 private:
  std::variant<T, Error> v_;
};

struct Ok {};
using Status = Result<Ok>;
inline Status okStatus() { return Ok{}; }

}  // namespace sluice
