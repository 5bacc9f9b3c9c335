// error: the value every module boundary returns on failure.
//
// An error has a code (what kind of failure, which callers branch on and
// which maps to an HTTP status) and a human message (what happened, naming
// the offending input). `result<T>` is expected<T, error> (std::expected; see expected.hpp).
#pragma once

#include <fmt/format.h>

#include <string>
#include <string_view>

#include "common/expected.hpp"

namespace blobswarm {

enum class errc {
  invalid_argument,  // malformed input from a caller
  not_found,         // the thing asked for does not exist
  unauthorized,      // missing or bad credentials
  forbidden,         // valid credentials, no permission
  conflict,          // state does not allow the operation
  too_large,         // a size limit was exceeded
  unsupported,       // a valid request we do not implement
  timeout,           // an operation ran out of time
  unavailable,       // a dependency is down or refused; may succeed later
  upstream,          // an upstream answered with an error
  digest_mismatch,   // content does not hash to what it claims
  corrupt,           // stored data failed validation
  no_space,          // the disk or quota is full
  io,                // a local I/O failure
  internal,          // a bug or an unexpected library failure
};

// Stable lowercase name of a code, e.g. "not_found".
std::string_view to_string(errc code) noexcept;

struct error {
  errc code = errc::internal;
  std::string message;

  std::string_view category() const noexcept { return to_string(code); }
  // "<category>: <message>"
  std::string describe() const;

  // Returns a copy whose message is "<context>: <message>".
  error with_context(std::string_view context) const;
};

template <class T = void>
using result = expected<T, error>;

// fail(errc::not_found, "blob {} is not cached", d) builds the unexpected value.
template <class... Args>
unexpected<error> fail(errc code, fmt::format_string<Args...> format, Args&&... args) {
  return unexpected<error>(error{code, fmt::format(format, std::forward<Args>(args)...)});
}

inline unexpected<error> fail(error e) {
  return unexpected<error>(std::move(e));
}

}  // namespace blobswarm

template <>
struct fmt::formatter<blobswarm::error> : fmt::formatter<std::string_view> {
  auto format(const blobswarm::error& e, fmt::format_context& ctx) const {
    return fmt::formatter<std::string_view>::format(e.message, ctx);
  }
};

template <>
struct fmt::formatter<blobswarm::errc> : fmt::formatter<std::string_view> {
  auto format(blobswarm::errc c, fmt::format_context& ctx) const {
    return fmt::formatter<std::string_view>::format(blobswarm::to_string(c), ctx);
  }
};
