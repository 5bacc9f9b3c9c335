// info_hash: a BitTorrent info-hash, v1 (SHA-1, 20 bytes) or v2 (SHA-256,
// 32 bytes). A hybrid torrent has one of each; trackers key a v2 swarm by
// the hash truncated to 20 bytes (BEP 52), which `swarm_key()` returns.
#pragma once

#include <array>
#include <compare>
#include <cstdint>
#include <cstring>
#include <functional>
#include <string>
#include <string_view>

#include "common/error.hpp"

namespace blobswarm {

class info_hash {
 public:
  static constexpr std::size_t v1_size = 20;
  static constexpr std::size_t v2_size = 32;

  // 40 or 64 hex characters (either case).
  static result<info_hash> from_hex(std::string_view hex);
  // 20 or 32 raw bytes.
  static result<info_hash> from_raw(std::string_view raw);

  bool is_v1() const noexcept { return size_ == v1_size; }
  bool is_v2() const noexcept { return size_ == v2_size; }
  std::string_view raw() const noexcept { return {bytes_.data(), size_}; }
  std::string hex() const;
  // The 20-byte key a tracker files this hash under: itself for v1, the
  // first 20 bytes for v2.
  info_hash swarm_key() const noexcept;

  friend bool operator==(const info_hash& a, const info_hash& b) noexcept {
    return a.raw() == b.raw();
  }
  friend auto operator<=>(const info_hash& a, const info_hash& b) noexcept {
    return a.raw() <=> b.raw();
  }

 private:
  info_hash() = default;
  std::array<char, v2_size> bytes_{};
  std::uint8_t size_ = 0;
};

}  // namespace blobswarm

template <>
struct std::hash<blobswarm::info_hash> {
  std::size_t operator()(const blobswarm::info_hash& h) const noexcept {
    // Info-hashes are uniformly distributed: the first bytes are a fine hash.
    std::size_t v;
    std::memcpy(&v, h.raw().data(), sizeof v);
    return v;
  }
};

template <>
struct fmt::formatter<blobswarm::info_hash> : fmt::formatter<std::string_view> {
  auto format(const blobswarm::info_hash& h, fmt::format_context& ctx) const {
    return fmt::formatter<std::string_view>::format(h.hex(), ctx);
  }
};
