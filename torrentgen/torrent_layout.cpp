#include "torrentgen/torrent_layout.hpp"

#include <algorithm>
#include <bit>
#include <libtorrent/file_storage.hpp>
#include <limits>

namespace blobswarm::torrentgen {

result<torrent_layout> torrent_layout::make(std::uint32_t piece_length,
                                            std::vector<layout_file> files, bool v1, bool v2) {
  if (piece_length < 16384 || !std::has_single_bit(piece_length)) {
    return fail(errc::invalid_argument, "piece length {} is not a power of two >= 16 KiB",
                piece_length);
  }
  if (!v1 && !v2) return fail(errc::invalid_argument, "a torrent needs v1 or v2 hashes");
  torrent_layout l;
  l.piece_length = piece_length;
  l.v1 = v1;
  l.v2 = v2;
  std::uint64_t offset = 0;
  for (const auto& f : files) {
    if (f.offset != offset) {
      return fail(errc::invalid_argument, "file '{}' starts at {}, expected {}", f.path, f.offset,
                  offset);
    }
    if (f.size > std::numeric_limits<std::uint64_t>::max() / 2 - offset) {
      return fail(errc::invalid_argument, "file '{}' is too large", f.path);
    }
    if (v2 && !f.pad && f.size > 0 && offset % piece_length != 0) {
      return fail(errc::invalid_argument, "file '{}' does not start on a piece boundary", f.path);
    }
    offset += f.size;
  }
  if (offset == 0) return fail(errc::invalid_argument, "the torrent holds 0 bytes");
  auto pieces = (offset + piece_length - 1) / piece_length;
  if (pieces > std::numeric_limits<std::uint32_t>::max() / 2) {
    return fail(errc::invalid_argument, "{} pieces are too many", pieces);
  }
  l.total_size = offset;
  l.num_pieces = static_cast<std::uint32_t>(pieces);
  l.files = std::move(files);
  return l;
}

result<torrent_layout> torrent_layout::from(const lt::file_storage& fs, bool v1, bool v2) {
  std::vector<layout_file> files;
  files.reserve(static_cast<std::size_t>(fs.num_files()));
  for (auto i : fs.file_range()) {
    files.push_back({.path = fs.file_path(i),
                     .offset = static_cast<std::uint64_t>(fs.file_offset(i)),
                     .size = static_cast<std::uint64_t>(fs.file_size(i)),
                     .pad = fs.pad_file_at(i)});
  }
  auto l = make(static_cast<std::uint32_t>(fs.piece_length()), std::move(files), v1, v2);
  if (l && static_cast<std::int64_t>(l->num_pieces) != fs.num_pieces()) {
    return fail(errc::invalid_argument, "libtorrent counts {} pieces, the files make {}",
                fs.num_pieces(), l->num_pieces);
  }
  return l;
}

std::uint32_t torrent_layout::piece_size(std::uint32_t piece) const noexcept {
  auto start = piece_offset(piece);
  return static_cast<std::uint32_t>(std::min<std::uint64_t>(piece_length, total_size - start));
}

std::size_t torrent_layout::file_at(std::uint64_t offset) const noexcept {
  // First file with offset + size > offset (zero-length files never are).
  auto it = std::partition_point(files.begin(), files.end(),
                                 [&](const layout_file& f) { return f.offset + f.size <= offset; });
  return static_cast<std::size_t>(it - files.begin());
}

}  // namespace blobswarm::torrentgen
