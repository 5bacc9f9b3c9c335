// swarm_key: the 20 bytes a swarm is filed under. That is a v1 info-hash,
// or a v2 info-hash truncated to 20 bytes (BEP 52), which is what clients
// put in `info_hash` when they announce a v2 torrent. Also the shape of a
// peer_id. Fixed-size so the announce path never allocates for it.
#pragma once

#include <array>
#include <cstddef>
#include <cstring>
#include <string_view>

namespace blobswarm::tracker {

struct swarm_key {
  std::array<char, 20> bytes{};

  static swarm_key from(std::string_view raw20) noexcept {
    swarm_key k;
    std::memcpy(k.bytes.data(), raw20.data(), raw20.size() < 20 ? raw20.size() : 20);
    return k;
  }
  std::string_view view() const noexcept { return {bytes.data(), bytes.size()}; }
  friend bool operator==(const swarm_key&, const swarm_key&) = default;
  friend auto operator<=>(const swarm_key&, const swarm_key&) = default;
};

// A peer_id is also 20 opaque bytes.
using peer_id = swarm_key;

struct swarm_key_hash {
  std::size_t operator()(const swarm_key& k) const noexcept {
    // Info-hashes are uniformly distributed; peer_ids are not (client
    // prefixes), so mix the tail too.
    std::size_t a, b;
    std::memcpy(&a, k.bytes.data(), sizeof a);
    std::memcpy(&b, k.bytes.data() + 12, sizeof b);
    return a ^ (b * 0x9e3779b97f4a7c15ULL);
  }
};

}  // namespace blobswarm::tracker
