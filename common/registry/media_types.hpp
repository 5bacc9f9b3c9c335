// Media types of the Registry HTTP API v2 and the OCI image spec, and the
// Accept header values a client sends so that a registry returns a
// manifest in its native form instead of down-converting it.
#pragma once

#include <array>
#include <string_view>

namespace blobswarm::registry::media_type {

inline constexpr std::string_view docker_manifest_v2 =
    "application/vnd.docker.distribution.manifest.v2+json";
inline constexpr std::string_view docker_manifest_list =
    "application/vnd.docker.distribution.manifest.list.v2+json";
inline constexpr std::string_view docker_manifest_v1 =
    "application/vnd.docker.distribution.manifest.v1+json";
inline constexpr std::string_view docker_manifest_v1_signed =
    "application/vnd.docker.distribution.manifest.v1+prettyjws";
inline constexpr std::string_view docker_config = "application/vnd.docker.container.image.v1+json";
inline constexpr std::string_view docker_layer =
    "application/vnd.docker.image.rootfs.diff.tar.gzip";
inline constexpr std::string_view docker_foreign_layer =
    "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip";

inline constexpr std::string_view oci_manifest = "application/vnd.oci.image.manifest.v1+json";
inline constexpr std::string_view oci_index = "application/vnd.oci.image.index.v1+json";
inline constexpr std::string_view oci_config = "application/vnd.oci.image.config.v1+json";
inline constexpr std::string_view oci_layer = "application/vnd.oci.image.layer.v1.tar";
inline constexpr std::string_view oci_layer_gzip = "application/vnd.oci.image.layer.v1.tar+gzip";
inline constexpr std::string_view oci_layer_zstd = "application/vnd.oci.image.layer.v1.tar+zstd";

// Distribution's push/pull notifications.
inline constexpr std::string_view events_v1 = "application/vnd.docker.distribution.events.v1+json";
// Registry error bodies.
inline constexpr std::string_view json = "application/json";
inline constexpr std::string_view octet_stream = "application/octet-stream";

// What we ask for when fetching a manifest on our own behalf: every
// current manifest type. Schema 1 is accepted last so that an old
// registry still answers, but a current one never down-converts.
inline constexpr std::array<std::string_view, 5> manifest_accept = {
    oci_index, oci_manifest, docker_manifest_list, docker_manifest_v2, docker_manifest_v1_signed};

// True for the manifest types that list other manifests (by platform).
constexpr bool is_index(std::string_view t) noexcept {
  return t == oci_index || t == docker_manifest_list;
}
// True for the types a registry serves from /manifests/.
constexpr bool is_manifest(std::string_view t) noexcept {
  return is_index(t) || t == oci_manifest || t == docker_manifest_v2 || t == docker_manifest_v1 ||
         t == docker_manifest_v1_signed;
}

}  // namespace blobswarm::registry::media_type
