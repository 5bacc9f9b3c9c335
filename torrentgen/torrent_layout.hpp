// torrent_layout: where every byte of a torrent comes from, as hashing needs
// it. Taken from libtorrent's file_storage after create_torrent has laid
// the files out (v2 and hybrid torrents sort files and insert pad files so
// each file starts on a piece boundary), or from a loaded torrent for
// `verify`, so libtorrent alone decides the layout and we only hash it.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/error.hpp"

namespace libtorrent {
class file_storage;
}

namespace blobswarm::torrentgen {

struct layout_file {
  std::string path;          // inside the torrent, as libtorrent names it ("data/a/b")
  std::uint64_t offset = 0;  // in the torrent's byte stream (the v1 view, pads included)
  std::uint64_t size = 0;
  bool pad = false;  // zeros that exist only to align the next file
};

struct torrent_layout {
  std::uint32_t piece_length = 0;
  std::uint64_t total_size = 0;  // pads included
  std::uint32_t num_pieces = 0;
  bool v1 = false;  // hash SHA-1 pieces
  bool v2 = false;  // hash SHA-256 merkle trees (files are then piece-aligned)
  std::vector<layout_file> files;

  // Checks what hashing relies on: contiguous files, the piece count, and
  // for v2 every file starting on a piece boundary.
  static result<torrent_layout> make(std::uint32_t piece_length, std::vector<layout_file> files,
                                     bool v1, bool v2);
  static result<torrent_layout> from(const libtorrent::file_storage& fs, bool v1, bool v2);

  std::uint64_t piece_offset(std::uint32_t piece) const noexcept {
    return std::uint64_t(piece) * piece_length;
  }
  std::uint32_t piece_size(std::uint32_t piece) const noexcept;
  // For v2 layouts: the file's first piece and its number of pieces.
  std::uint32_t first_piece(std::size_t file) const noexcept {
    return static_cast<std::uint32_t>(files[file].offset / piece_length);
  }
  std::uint32_t file_pieces(std::size_t file) const noexcept {
    return static_cast<std::uint32_t>((files[file].size + piece_length - 1) / piece_length);
  }
  // Index of the first file whose bytes reach past `offset`.
  std::size_t file_at(std::uint64_t offset) const noexcept;
};

}  // namespace blobswarm::torrentgen
