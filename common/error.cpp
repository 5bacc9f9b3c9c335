#include "common/error.hpp"

namespace blobswarm {

std::string_view to_string(errc code) noexcept {
  switch (code) {
    case errc::invalid_argument:
      return "invalid_argument";
    case errc::not_found:
      return "not_found";
    case errc::unauthorized:
      return "unauthorized";
    case errc::forbidden:
      return "forbidden";
    case errc::conflict:
      return "conflict";
    case errc::too_large:
      return "too_large";
    case errc::unsupported:
      return "unsupported";
    case errc::timeout:
      return "timeout";
    case errc::unavailable:
      return "unavailable";
    case errc::upstream:
      return "upstream";
    case errc::digest_mismatch:
      return "digest_mismatch";
    case errc::corrupt:
      return "corrupt";
    case errc::no_space:
      return "no_space";
    case errc::io:
      return "io";
    case errc::internal:
      return "internal";
  }
  return "unknown";
}

std::string error::describe() const {
  return fmt::format("{}: {}", category(), message);
}

error error::with_context(std::string_view context) const {
  return error{code, fmt::format("{}: {}", context, message)};
}

}  // namespace blobswarm
