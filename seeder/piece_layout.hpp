// piece_layout: how a blob of a given size is cut into BitTorrent pieces
// and, for cold pulls, into segments. A pure function of the size (and of
// the segment size, which every seeder of one deployment must share): this
// is what makes any seeder produce the same info-hashes for the same blob.
//
// Piece length: the smallest power of two >= 16 KiB that keeps the blob at
// or below 1024 pieces, capped at 16 MiB. So a blob above 16 MiB has
// 513..1024 pieces (fine-grained enough for in-order streaming, few enough
// for small .torrent files), and no piece exceeds what clients accept.
//
// Segments: a blob larger than one segment is also published, while it
// arrives, as consecutive segment torrents of `pieces_per_segment` whole
// pieces each (the last one shorter). Segment piece hashes are therefore
// exactly the whole torrent's piece hashes for those pieces.
#pragma once

#include <cstdint>

namespace blobswarm::seeder {

struct piece_layout {
  static constexpr std::uint32_t min_piece_length = 16 * 1024;
  static constexpr std::uint32_t max_piece_length = 16 * 1024 * 1024;
  static constexpr std::uint64_t target_max_pieces = 1024;

  std::uint64_t size = 0;
  std::uint32_t piece_length = min_piece_length;
  std::uint32_t piece_count = 0;
  std::uint32_t pieces_per_segment = 0;  // 0: not segmented
  std::uint32_t segment_count = 0;       // 0: not segmented

  static std::uint32_t piece_length_for(std::uint64_t size) noexcept;
  // `segment_size` is the wanted segment size in bytes (0: never segment);
  // a segment holds max(1, segment_size / piece_length) pieces.
  static piece_layout make(std::uint64_t size, std::uint64_t segment_size) noexcept;

  bool segmented() const noexcept { return segment_count > 0; }
  std::uint64_t segment_length() const noexcept {
    return static_cast<std::uint64_t>(pieces_per_segment) * piece_length;
  }
  std::uint64_t segment_offset(std::uint32_t n) const noexcept { return n * segment_length(); }
  std::uint64_t segment_bytes(std::uint32_t n) const noexcept;
  std::uint32_t first_piece(std::uint32_t segment) const noexcept {
    return segment * pieces_per_segment;
  }
  std::uint32_t segment_pieces(std::uint32_t n) const noexcept;
  // How many whole segments `pieces_done` completed pieces make.
  std::uint32_t segments_complete(std::uint32_t pieces_done) const noexcept;
};

}  // namespace blobswarm::seeder
