#include "torrentgen/merkle.hpp"

#include <bit>

namespace blobswarm::torrentgen {
namespace {

lt::sha256_hash hash_pair(const lt::sha256_hash& a, const lt::sha256_hash& b,
                          digest_engine& sha256) {
  lt::sha256_hash out;
  sha256.init();
  sha256.update(a.data(), a.size());
  sha256.update(b.data(), b.size());
  sha256.final(out.data());
  return out;
}

}  // namespace

std::size_t merkle_width(std::size_t n) noexcept {
  return n <= 1 ? 1 : std::bit_ceil(n);
}

std::size_t piece_leaf_width(std::uint64_t file_size, std::uint32_t piece_length) noexcept {
  if (file_size < piece_length) {
    return merkle_width(static_cast<std::size_t>((file_size + v2_block_size - 1) / v2_block_size));
  }
  return piece_length / v2_block_size;
}

lt::sha256_hash merkle_root_in_place(std::span<lt::sha256_hash> leaves, std::size_t width,
                                     digest_engine& sha256) {
  lt::sha256_hash pad;  // zero: the hash of a missing leaf
  std::size_t n = leaves.size();
  if (width < n) width = merkle_width(n);
  if (n == 0) {
    return merkle_pad(width, sha256);
  }
  while (width > 1) {
    std::size_t parents = (n + 1) / 2;
    for (std::size_t i = 0; i < parents; ++i) {
      const auto& right = 2 * i + 1 < n ? leaves[2 * i + 1] : pad;
      leaves[i] = hash_pair(leaves[2 * i], right, sha256);
    }
    n = parents;
    pad = hash_pair(pad, pad, sha256);
    width /= 2;
  }
  return leaves[0];
}

lt::sha256_hash merkle_pad(std::size_t width, digest_engine& sha256) {
  lt::sha256_hash pad;
  for (; width > 1; width /= 2) pad = hash_pair(pad, pad, sha256);
  return pad;
}

}  // namespace blobswarm::torrentgen
