// BitTorrent v2 (BEP 52) merkle trees: leaves are SHA-256 hashes of 16 KiB
// blocks (the last block of a file hashed as it is, not padded), missing
// leaves are zero hashes, and a file's tree is padded to a power of two.
// A piece's hash is the root of its blocks' subtree; a file's "pieces root"
// is the root over its piece hashes, padded with the hash of an all-zero
// piece subtree. libtorrent builds the file roots from the piece hashes we
// give it (create_torrent::set_hash2); we compute the piece hashes.
#pragma once

#include <cstddef>
#include <cstdint>
#include <libtorrent/sha1_hash.hpp>
#include <span>

#include "torrentgen/digest_engine.hpp"

namespace blobswarm::torrentgen {

inline constexpr std::size_t v2_block_size = 16 * 1024;

// The smallest power of two >= n (1 for n == 0).
std::size_t merkle_width(std::size_t n) noexcept;

// How many leaves a file's piece hash covers. A piece of a file larger than
// one piece spans piece_length / 16 KiB leaves (the file's last piece is
// padded with zero leaves). A file no larger than one piece has a single
// piece whose hash is the file's root, over the next power of two of its
// block count (libtorrent's create_torrent does the same).
std::size_t piece_leaf_width(std::uint64_t file_size, std::uint32_t piece_length) noexcept;

// Root of the tree over `leaves` followed by zero hashes up to `width`
// leaves (a power of two >= leaves.size()). Uses `leaves` as scratch space.
lt::sha256_hash merkle_root_in_place(std::span<lt::sha256_hash> leaves, std::size_t width,
                                     digest_engine& sha256);

// Root of a subtree of `width` zero leaves.
lt::sha256_hash merkle_pad(std::size_t width, digest_engine& sha256);

}  // namespace blobswarm::torrentgen
