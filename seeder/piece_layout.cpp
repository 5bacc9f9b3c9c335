#include "seeder/piece_layout.hpp"

#include <algorithm>

namespace blobswarm::seeder {

std::uint32_t piece_layout::piece_length_for(std::uint64_t size) noexcept {
  std::uint64_t length = min_piece_length;
  while (length < max_piece_length && (size + length - 1) / length > target_max_pieces) {
    length *= 2;
  }
  return static_cast<std::uint32_t>(length);
}

piece_layout piece_layout::make(std::uint64_t size, std::uint64_t segment_size) noexcept {
  piece_layout l;
  l.size = size;
  l.piece_length = piece_length_for(size);
  l.piece_count = static_cast<std::uint32_t>((size + l.piece_length - 1) / l.piece_length);
  if (segment_size > 0) {
    auto per = std::max<std::uint64_t>(1, segment_size / l.piece_length);
    auto count = (l.piece_count + per - 1) / per;
    if (count >= 2) {
      l.pieces_per_segment = static_cast<std::uint32_t>(per);
      l.segment_count = static_cast<std::uint32_t>(count);
    }
  }
  return l;
}

std::uint64_t piece_layout::segment_bytes(std::uint32_t n) const noexcept {
  if (n >= segment_count) return 0;
  auto offset = segment_offset(n);
  return std::min(segment_length(), size - offset);
}

std::uint32_t piece_layout::segment_pieces(std::uint32_t n) const noexcept {
  if (n >= segment_count) return 0;
  return std::min(pieces_per_segment, piece_count - first_piece(n));
}

std::uint32_t piece_layout::segments_complete(std::uint32_t pieces_done) const noexcept {
  if (!segmented()) return 0;
  if (pieces_done >= piece_count) return segment_count;
  return pieces_done / pieces_per_segment;
}

}  // namespace blobswarm::seeder
