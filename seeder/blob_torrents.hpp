// blob_torrents: the deterministic torrents of a blob (see docs/seeder.md):
//  - the whole torrent: single-file v1, named the digest's hex, private,
//    no creation date, nothing else in the info dictionary;
//  - segment n: single-file v1 named "<hex>.<n>" over the segment's bytes,
//    with the whole torrent's piece length and piece hashes.
// Web seeds and trackers are outside the info dictionary and never change
// the info-hash.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "common/digest.hpp"
#include "common/error.hpp"
#include "common/info_hash.hpp"
#include "seeder/piece_layout.hpp"

namespace blobswarm::seeder {

struct blob_torrent {
  std::string bytes;  // bencoded .torrent
  info_hash v1;
};

// `hashes` holds every piece hash of the blob (raw 20-byte SHA-1s).
result<blob_torrent> make_whole_torrent(const blobswarm::digest& d, const piece_layout& layout,
                                        std::span<const std::string> hashes);
// `hashes` holds (at least) the piece hashes of segments 0..n.
result<blob_torrent> make_segment_torrent(const blobswarm::digest& d, const piece_layout& layout,
                                          std::uint32_t n, std::span<const std::string> hashes);
std::string segment_file_name(const blobswarm::digest& d, std::uint32_t n);

// A blob torrent made elsewhere (another seeder registered it with the
// tracker): the whole torrent of `d` (no `segment`) or its segment n, as
// `layout` cuts the blob. Checks what the rules above fix (one file, its
// name, size and piece length, v1 only) and returns it with nothing but its
// info dictionary; errc::corrupt when it is not the torrent this seeder
// would make.
result<blob_torrent> adopt_blob_torrent(std::string_view torrent, const blobswarm::digest& d,
                                        const piece_layout& layout,
                                        std::optional<std::uint32_t> segment);

// The total size of the files a .torrent describes.
result<std::uint64_t> torrent_size(std::string_view torrent);

// The v1 info-hash of a .torrent.
result<info_hash> torrent_info_hash(std::string_view torrent);
// A copy of `torrent` with url-list (BEP 19) web seeds; the info-hash is unchanged.
result<std::string> with_web_seed(std::string_view torrent, const std::string& url);

}  // namespace blobswarm::seeder
