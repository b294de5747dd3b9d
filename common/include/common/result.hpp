#pragma once
// A small value-or-error type: the hot path reports failures as values, not exceptions.
#include <string>
#include <utility>
#include <variant>

namespace dkr {

// What kind of failure, for the machine (admin maps it to an HTTP status in one switch); the text is
// for the human. Modelled on OpenDKIM's DKIM_STAT_* beside dkim_error().
enum class ErrorCode {
  internal,     // a failure of ours or of the system (I/O, OpenSSL): 500
  invalid,      // the request itself is malformed (a bad name, an unsupported size): 400
  not_found,    // no such domain or selector: 404
  conflict,     // not allowed in the current state (already exists, illegal transition): 409
  unavailable,  // a backend needed for this is unreachable for now: 503
};

struct Error {
  std::string message;
  ErrorCode code = ErrorCode::internal;
};

template <class T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}      // NOLINT(google-explicit-constructor)
  Result(Error error) : v_(std::move(error)) {}  // NOLINT(google-explicit-constructor)

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

template <>
class [[nodiscard]] Result<void> {
 public:
  Result() = default;
  Result(Error error) : error_(std::move(error)), ok_(false) {}  // NOLINT(google-explicit-constructor)
  bool ok() const { return ok_; }
  explicit operator bool() const { return ok_; }
  const Error& error() const { return error_; }

 private:
  Error error_;
  bool ok_ = true;
};

inline Error make_error(std::string message) { return Error{std::move(message)}; }
inline Error make_error(ErrorCode code, std::string message) { return Error{std::move(message), code}; }

inline const char* to_string(ErrorCode code) {
  switch (code) {
    case ErrorCode::internal:
      return "internal";
    case ErrorCode::invalid:
      return "invalid";
    case ErrorCode::not_found:
      return "not_found";
    case ErrorCode::conflict:
      return "conflict";
    case ErrorCode::unavailable:
      return "unavailable";
  }
  return "internal";
}

}  // namespace dkr
