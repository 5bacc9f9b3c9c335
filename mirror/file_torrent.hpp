// file_torrent: what /files needs to know about a torrent fetched by its
// info-hash — which files it holds (padding files never among them), where
// each lies in the torrent's bytes, and which pieces cover a byte range.
// Pure: made from the .torrent's bytes, unit-tested without a session.
//
// Trust: the caller names the torrent by its info-hash (v1: the SHA-1 of the
// info dictionary; or a hybrid torrent's v2 SHA-256), so a torrent whose
// info dictionary hashes to anything else is refused; the piece hashes in
// that dictionary then authenticate every byte. Whichever hash named it,
// the torrent is known here by its v1 info-hash (id()).
//
// v2-only torrents are refused (errc::unsupported): this node verifies the
// pieces it serves against their v1 SHA-1 hashes (file_download), and a v2
// torrent has none, only per-file Merkle trees. Hybrid torrents carry both
// and are served through their v1 hashes.
#pragma once

#include <cstdint>
#include <libtorrent/fwd.hpp>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/error.hpp"
#include "common/info_hash.hpp"

namespace blobswarm::mirror {

struct torrent_file_entry {
  std::string path;          // inside the torrent, '/'-separated, without the torrent's name
  std::uint64_t offset = 0;  // where the file starts in the torrent's bytes
  std::uint64_t size = 0;
  int index = 0;  // libtorrent's file index
};

class file_torrent {
 public:
  // errc::invalid_argument: not a .torrent; errc::digest_mismatch: its
  // info-hash is not `expected`; errc::unsupported: v2-only.
  static result<file_torrent> parse(std::string_view bytes, const info_hash& expected);

  const info_hash& id() const noexcept { return id_; }
  const std::string& name() const noexcept { return name_; }
  // Several files under a directory named name(), rather than one file.
  bool is_directory() const noexcept { return directory_; }
  bool hybrid() const noexcept { return hybrid_; }
  // The files, padding excluded, in torrent order.
  const std::vector<torrent_file_entry>& files() const noexcept { return files_; }
  // Bytes of all files (padding excluded): what the cache holds.
  std::uint64_t size() const noexcept { return size_; }
  std::uint32_t piece_length() const noexcept { return piece_length_; }
  int piece_count() const noexcept { return piece_count_; }
  // Bytes of piece `p` (the last one may be shorter).
  std::uint32_t piece_size(int p) const noexcept;
  std::uint64_t piece_offset(int p) const noexcept {
    return static_cast<std::uint64_t>(p) * piece_length_;
  }
  // The piece holding torrent byte `offset`.
  int piece_at(std::uint64_t offset) const noexcept {
    return static_cast<int>(offset / piece_length_);
  }

  // The file at `path` (percent-decoded, relative to the torrent's
  // directory). A single-file torrent's one file is found by its name too.
  const torrent_file_entry* find(std::string_view path) const noexcept;
  // The files under directory `prefix` ("" or "sub/dir/"), for listings.
  std::vector<const torrent_file_entry*> under(std::string_view prefix) const;

  const std::shared_ptr<const lt::torrent_info>& info() const noexcept { return info_; }
  // The .torrent as it was fetched (to cache and seed it again).
  const std::string& bytes() const noexcept { return bytes_; }

 private:
  file_torrent() : id_(*info_hash::from_raw(std::string(20, '\0'))) {}

  info_hash id_;
  std::string name_;
  bool directory_ = false;
  bool hybrid_ = false;
  std::vector<torrent_file_entry> files_;
  std::uint64_t size_ = 0;
  std::uint64_t total_ = 0;  // torrent bytes, padding included
  std::uint32_t piece_length_ = 0;
  int piece_count_ = 0;
  std::shared_ptr<const lt::torrent_info> info_;
  std::string bytes_;
};

}  // namespace blobswarm::mirror
