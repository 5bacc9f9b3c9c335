// manifest: the parts of an image manifest or image index a distribution
// system needs — which blobs an image consists of (config, layers) and
// which manifests an index lists for which platform. Parses all four
// current media types (Docker schema 2 and manifest list, OCI manifest and
// index) and, for old registries, the blob list of a schema 1 manifest.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/digest.hpp"
#include "common/error.hpp"

namespace blobswarm::registry {

// An OS/architecture pair as "linux/amd64" or "linux/arm64/v8".
struct platform {
  std::string os;
  std::string architecture;
  std::string variant;     // optional: "v7", "v8"
  std::string os_version;  // optional (Windows)

  // "os/arch[/variant]"; each part non-empty, lowercase letters, digits, '.', '_', '-'.
  static result<platform> parse(std::string_view text);
  std::string str() const;
  // True when `this` (an index entry) satisfies `wanted` (a filter): os and
  // architecture equal, and variant equal unless the filter leaves it empty.
  bool satisfies(const platform& wanted) const noexcept;

  friend bool operator==(const platform&, const platform&) = default;
};

struct descriptor {
  std::string media_type;
  blobswarm::digest digest;
  std::uint64_t size = 0;  // 0 and size_known=false for schema 1 layers
  bool size_known = true;
  std::vector<std::string> urls;
  std::optional<registry::platform> platform;  // index entries
  std::map<std::string, std::string> annotations;

  // Foreign / non-distributable layers (Windows base layers) live outside
  // the registry and must not be fetched from it.
  bool is_distributable() const noexcept;
};

struct manifest {
  enum class kind { image, index };

  std::string media_type;  // the effective media type (see parse_manifest)
  kind what = kind::image;
  int schema_version = 2;
  std::optional<descriptor> config;   // image (absent for schema 1)
  std::vector<descriptor> layers;     // image
  std::vector<descriptor> manifests;  // index

  bool is_index() const noexcept { return what == kind::index; }
  // The blobs an image is made of, config first, distributable ones only,
  // duplicates removed (a layer may repeat).
  std::vector<descriptor> blobs() const;
  // Index entries matching any of `wanted` (all of them when it is empty).
  std::vector<descriptor> select(const std::vector<platform>& wanted) const;
};

// Limits that keep a hostile manifest from costing much.
inline constexpr std::size_t max_manifest_bytes = 4 << 20;
inline constexpr std::size_t max_manifest_entries = 10000;

// Parses a manifest body. `content_type` is the response's Content-Type
// (parameters such as "; charset=utf-8" are ignored); when it is not a
// manifest type the body's "mediaType" decides, and failing that the shape
// of the document (an index has "manifests", an image "layers").
result<manifest> parse_manifest(std::string_view body, std::string_view content_type = {});

// "application/json; charset=utf-8" -> "application/json"
std::string_view strip_media_type_parameters(std::string_view content_type) noexcept;

}  // namespace blobswarm::registry
