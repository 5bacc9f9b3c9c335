// Deterministic single-file v1 torrents from precomputed piece hashes.
// libtorrent's create_torrent owns the format; this fixes the choices that
// make the output a function of the content only: no creation date, no
// "created by", no trackers or web seeds unless asked for, and file
// attributes/mtimes never recorded.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "common/error.hpp"

namespace blobswarm::torrentgen {

struct single_file_torrent {
  std::string name;                           // the file's name (no '/')
  std::uint64_t size = 0;                     // bytes; must be > 0
  std::uint32_t piece_size = 0;               // a power of two >= 16 KiB
  std::span<const std::string> piece_hashes;  // raw 20-byte SHA-1s, ceil(size/piece_size)
  bool is_private = true;
  // Outside the info dictionary: they do not change the info-hash.
  std::vector<std::vector<std::string>> tracker_tiers;
  std::vector<std::string> web_seeds;
};

// The bencoded .torrent.
result<std::string> make_single_file_torrent(const single_file_torrent& spec);

}  // namespace blobswarm::torrentgen
