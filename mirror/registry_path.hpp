// registry_path: parses the Registry HTTP API v2 paths a mirror serves
// (/v2/, /v2/<name>/manifests/<ref>, /v2/<name>/blobs/<digest>, ...) into
// a typed route. Pure; fuzzed. Names end where the last route keyword
// begins, as the distribution spec's anchored patterns say, so a name may
// itself contain "blobs" or "manifests" as a component.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "common/digest.hpp"
#include "common/error.hpp"
#include "common/repository_name.hpp"

namespace blobswarm::mirror {

// The registry error codes a route can fail with (distribution spec).
enum class route_error_code { name_invalid, digest_invalid, tag_invalid, not_found, unsupported };

struct route_error {
  route_error_code code;
  std::string message;
};

struct registry_path {
  enum class kind {
    base,       // /v2/
    manifest,   // /v2/<name>/manifests/<tag|digest>
    blob,       // /v2/<name>/blobs/<digest>
    tags_list,  // /v2/<name>/tags/list
    upload,     // /v2/<name>/blobs/uploads/...
    catalog,    // /v2/_catalog
    referrers,  // /v2/<name>/referrers/<digest>
  };
  kind what = kind::base;
  // Set when the path named a configured registry host: /v2/<host>/<name>/...
  std::string host;
  std::optional<repository_name> name;
  // manifests: the tag, or the digest's text
  std::string reference;
  // manifests by digest, blobs, referrers
  std::optional<digest> content_digest;

  bool by_digest() const noexcept { return content_digest.has_value(); }
};

// `path` is the raw request path (before '?'), percent-encoded.
// `is_registry_host` says whether a first path component names a configured
// upstream (for /v2/<host>/<name>/... addressing); pass nullptr to disable.
expected<registry_path, route_error> parse_registry_path(
    std::string_view path, const std::function<bool(std::string_view)>& is_registry_host);

std::string_view to_string(route_error_code c) noexcept;  // "NAME_INVALID", ...

}  // namespace blobswarm::mirror
