// registry_error: the error body of the Registry HTTP API v2,
//   {"errors": [{"code": "BLOB_UNKNOWN", "message": "...", "detail": ...}]}
// parsed from upstream answers and written by our own registry-style APIs,
// and the mapping between those codes, HTTP statuses and blobswarm errc.
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/error.hpp"

namespace blobswarm::registry {

// The codes of the distribution spec (plus Docker Hub's TOOMANYREQUESTS).
namespace code {
inline constexpr std::string_view blob_unknown = "BLOB_UNKNOWN";
inline constexpr std::string_view blob_upload_invalid = "BLOB_UPLOAD_INVALID";
inline constexpr std::string_view blob_upload_unknown = "BLOB_UPLOAD_UNKNOWN";
inline constexpr std::string_view digest_invalid = "DIGEST_INVALID";
inline constexpr std::string_view manifest_blob_unknown = "MANIFEST_BLOB_UNKNOWN";
inline constexpr std::string_view manifest_invalid = "MANIFEST_INVALID";
inline constexpr std::string_view manifest_unknown = "MANIFEST_UNKNOWN";
inline constexpr std::string_view name_invalid = "NAME_INVALID";
inline constexpr std::string_view name_unknown = "NAME_UNKNOWN";
inline constexpr std::string_view size_invalid = "SIZE_INVALID";
inline constexpr std::string_view tag_invalid = "TAG_INVALID";
inline constexpr std::string_view unauthorized = "UNAUTHORIZED";
inline constexpr std::string_view denied = "DENIED";
inline constexpr std::string_view unsupported = "UNSUPPORTED";
inline constexpr std::string_view too_many_requests = "TOOMANYREQUESTS";
// Not in the spec, used by blobswarm for failures of its own.
inline constexpr std::string_view unavailable = "UNAVAILABLE";
inline constexpr std::string_view timeout = "TIMEOUT";
inline constexpr std::string_view upstream_error = "UPSTREAM_ERROR";
inline constexpr std::string_view no_space = "NO_SPACE";
inline constexpr std::string_view internal = "INTERNAL_ERROR";
}  // namespace code

struct error_entry {
  std::string code;
  std::string message;
  nlohmann::json detail;  // null when absent

  friend bool operator==(const error_entry&, const error_entry&) = default;
};

// Parses an error body. Anything that is not a well-formed error document
// is an invalid_argument error (callers then fall back to the status).
result<std::vector<error_entry>> parse_errors(std::string_view body);

// Writes {"errors":[...]} (compact, newline-terminated).
std::string format_errors(const std::vector<error_entry>& errors);
std::string format_error(std::string_view code, std::string_view message,
                         const nlohmann::json& detail = nullptr);

// What a request was about, to pick the precise *_UNKNOWN / *_INVALID code.
enum class subject { blob, manifest, repository, other };

// The registry code for one of our errors: not_found about a blob is
// BLOB_UNKNOWN, invalid_argument about a digest is DIGEST_INVALID, ...
std::string_view code_for(errc e, subject about) noexcept;

// The errc an upstream answer maps to: its error code when it sent one,
// otherwise its HTTP status.
errc errc_for(int status, std::string_view registry_code = {}) noexcept;

// An error from an upstream's non-success answer: code from the status and
// the body's registry error code, message naming `what` (e.g. "GET
// https://r/v2/x/blobs/sha256:..") and quoting the upstream's own message.
error upstream_failure(int status, std::string_view body, std::string_view what);

}  // namespace blobswarm::registry
