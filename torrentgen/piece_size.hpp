// Piece sizes: the automatic choice and the parser for sizes people type.
// Every torrentgen piece size is a power of two of at least 16 KiB, the
// BitTorrent v2 block size, so the same rules hold for v1, v2 and hybrid.
#pragma once

#include <cstdint>
#include <string_view>

#include "common/error.hpp"

namespace blobswarm::torrentgen {

inline constexpr std::uint32_t min_piece_size = 16 * 1024;
// The largest size `auto` picks and the largest accepted without --force:
// bigger pieces make clients waste more on every bad piece.
inline constexpr std::uint32_t max_default_piece_size = 16 * 1024 * 1024;
// The largest size accepted at all (mktorrent's limit, 2^28).
inline constexpr std::uint32_t max_piece_size = 256 * 1024 * 1024;

bool is_valid_piece_size(std::uint64_t size) noexcept;

// The smallest power of two from 16 KiB to 16 MiB that gives at most 2000
// pieces, so a torrent has roughly 1000-2000 pieces unless it is very small
// (16 KiB pieces) or very large (16 MiB pieces).
std::uint32_t auto_piece_size(std::uint64_t total_size) noexcept;

// "auto" gives 0 (choose later); otherwise a size with optional unit
// ("4MiB", "512KiB", "1M", "16384") that must be a power of two >= 16 KiB,
// and <= 16 MiB unless `force`.
result<std::uint32_t> parse_piece_size(std::string_view text, bool force);

}  // namespace blobswarm::torrentgen
