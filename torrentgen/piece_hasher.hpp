// piece_hasher: SHA-1 piece hashes (BitTorrent v1) over a byte stream fed
// in arbitrary chunks, for callers that see the data once as it arrives
// (the seeder hashes a blob while it downloads it).
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "common/hasher.hpp"

namespace blobswarm::torrentgen {

class piece_hasher {
 public:
  explicit piece_hasher(std::uint32_t piece_size);

  void update(std::span<const std::byte> data);
  // Completes the last (short) piece. Call once, after the last update().
  void finish();

  std::uint32_t piece_size() const noexcept { return piece_size_; }
  std::uint64_t bytes() const noexcept { return bytes_; }
  // Raw 20-byte hashes of the pieces completed so far, in order.
  const std::vector<std::string>& hashes() const noexcept { return hashes_; }

 private:
  std::uint32_t piece_size_;
  std::uint64_t bytes_ = 0;
  std::uint32_t in_piece_ = 0;
  hasher sha1_{hash_algorithm::sha1};
  std::vector<std::string> hashes_;
};

}  // namespace blobswarm::torrentgen
