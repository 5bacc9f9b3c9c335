// peer_fingerprint: the BitTorrent client codes blobswarm's own clients put
// at the start of their peer_id (Azureus style, "-XXvvvv-", BEP 20). The
// seeder and the mirror set them; mirrors attribute the bytes they receive
// by them (seeder or other nodes) and the tracker names clients by them, so
// they live in one place.
#pragma once

#include <string_view>

namespace blobswarm::peer_fingerprint {

// Client codes (the two letters after the dash).
inline constexpr std::string_view seeder_code = "BW";
inline constexpr std::string_view mirror_code = "BM";

// Whole fingerprints, as libtorrent's `peer_fingerprint` setting takes them
// (version 0.1.0.0, libtorrent's digit encoding).
inline constexpr std::string_view seeder = "-BW0100-";
inline constexpr std::string_view mirror = "-BM0100-";

// The prefix of every peer_id a client of that kind sends, any version.
inline constexpr std::string_view seeder_prefix = seeder.substr(0, 3);
inline constexpr std::string_view mirror_prefix = mirror.substr(0, 3);

constexpr bool is_seeder(std::string_view peer_id) noexcept {
  return peer_id.starts_with(seeder_prefix);
}

constexpr bool is_mirror(std::string_view peer_id) noexcept {
  return peer_id.starts_with(mirror_prefix);
}

static_assert(seeder.substr(1, 2) == seeder_code && mirror.substr(1, 2) == mirror_code);

}  // namespace blobswarm::peer_fingerprint
