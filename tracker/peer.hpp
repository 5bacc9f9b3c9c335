// peer: what the tracker remembers about one peer of one swarm, as a
// fixed-size record (no heap), so a swarm is a flat vector of them.
//
// A peer's identity is (user, peer_id, key): the same client announcing
// over IPv4 and IPv6 updates one record with two addresses, and its
// transfer totals are counted once.
#pragma once

#include <array>
#include <cstdint>
#include <tuple>

#include "tracker/swarm_key.hpp"
#include "tracker/zone_map.hpp"

namespace blobswarm::tracker {

struct peer_identity {
  peer_id id;
  std::uint32_t user = 0;
  std::uint64_t key = 0;

  friend bool operator==(const peer_identity&, const peer_identity&) = default;
};

struct peer {
  // `left` of the last announce in KiB, rounded up (0 only when nothing is
  // left), for the progress the web UI shows; unknown_left when the record
  // came from a snapshot. 32 bits fill the padding after last_seen, so a
  // record stays 88 bytes.
  static constexpr std::uint32_t unknown_left = UINT32_MAX;

  peer_id id;
  std::uint32_t user = 0;
  std::uint32_t last_seen = 0;  // unix seconds of the last announce
  std::uint32_t left_kib = unknown_left;
  std::uint64_t key = 0;
  // Totals the client last reported; the next announce counts the difference.
  std::uint64_t uploaded = 0;
  std::uint64_t downloaded = 0;
  std::array<std::uint8_t, 16> ip6{};
  std::array<std::uint8_t, 4> ip4{};
  std::uint16_t port4 = 0;  // 0: no IPv4 address known
  std::uint16_t port6 = 0;  // 0: no IPv6 address known
  zone_id zone = 0;
  bool seeder = false;
  bool completed = false;  // sent event=completed (counted once)
  bool fed = false;        // a leecher handed the origins (selection_request::origin_fanout)

  peer_identity identity() const noexcept { return {id, user, key}; }
  bool has_v4() const noexcept { return port4 != 0; }
  bool has_v6() const noexcept { return port6 != 0; }
};
static_assert(sizeof(peer) <= 88, "a peer record is 88 bytes; memory per peer is benchmarked");

// KiB rounded up, saturating below peer::unknown_left.
constexpr std::uint32_t left_in_kib(std::uint64_t left) noexcept {
  auto kib = left / 1024 + (left % 1024 != 0 ? 1 : 0);
  return kib >= peer::unknown_left ? peer::unknown_left - 1 : static_cast<std::uint32_t>(kib);
}

// Order of the records in a swarm (binary search by identity).
inline bool identity_less(const peer& p, const peer_identity& i) noexcept {
  return std::tie(p.id, p.user, p.key) < std::tie(i.id, i.user, i.key);
}

}  // namespace blobswarm::tracker
