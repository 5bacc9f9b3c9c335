// HTTP Range requests (RFC 9110 §14) for single byte ranges, which is what
// registry clients send. Multiple ranges are answered with the whole body,
// as the RFC allows.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace blobswarm::http {

struct byte_range {
  std::uint64_t first = 0;
  std::uint64_t last = 0;  // inclusive
  std::uint64_t length() const noexcept { return last - first + 1; }
  friend bool operator==(const byte_range&, const byte_range&) = default;
};

struct range_request {
  enum class kind {
    whole,          // no usable Range header: send 200 with everything
    partial,        // send 206 with `range`
    unsatisfiable,  // send 416 with Content-Range: bytes */size
  };
  kind what = kind::whole;
  byte_range range;
};

// `header` is the Range header's value, or nullopt when absent. A
// syntactically invalid header is ignored (whole), as the RFC says.
range_request parse_range(std::optional<std::string_view> header, std::uint64_t size);

// "bytes 0-99/1000"
std::string content_range(const byte_range& r, std::uint64_t size);

}  // namespace blobswarm::http
