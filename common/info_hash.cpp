#include "common/info_hash.hpp"

#include "common/hex.hpp"

namespace blobswarm {

result<info_hash> info_hash::from_raw(std::string_view raw) {
  if (raw.size() != v1_size && raw.size() != v2_size) {
    return fail(errc::invalid_argument, "info-hash must be 20 or 32 bytes, got {}", raw.size());
  }
  info_hash h;
  std::memcpy(h.bytes_.data(), raw.data(), raw.size());
  h.size_ = static_cast<std::uint8_t>(raw.size());
  return h;
}

result<info_hash> info_hash::from_hex(std::string_view hex) {
  if (hex.size() != 2 * v1_size && hex.size() != 2 * v2_size) {
    return fail(errc::invalid_argument, "info-hash must be 40 or 64 hex characters, got {}",
                hex.size());
  }
  auto raw = ::blobswarm::from_hex(hex);
  if (!raw) return fail(errc::invalid_argument, "info-hash '{}' is not hex", hex);
  return from_raw(*raw);
}

std::string info_hash::hex() const {
  return to_hex(raw());
}

info_hash info_hash::swarm_key() const noexcept {
  info_hash h = *this;
  h.size_ = v1_size;
  std::memset(h.bytes_.data() + v1_size, 0, v2_size - v1_size);
  return h;
}

}  // namespace blobswarm
