// torrent_file: reading a .torrent someone registers, and writing the copy a
// caller downloads with their own announce URL. libtorrent owns the format;
// the info dictionary is carried over byte for byte, so the info-hashes of
// what the tracker hands out are the ones that were registered.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/error.hpp"
#include "common/info_hash.hpp"

namespace blobswarm::tracker {

struct torrent_meta {
  std::optional<info_hash> v1;
  std::optional<info_hash> v2;
  std::string name;
  std::uint64_t size = 0;
  std::uint64_t piece_length = 0;
  bool is_private = false;
  std::size_t files = 0;
};

// errc::invalid_argument with libtorrent's reason when `bytes` is not a
// valid .torrent.
result<torrent_meta> inspect_torrent(std::string_view bytes);

// The .torrent with `announce` set to `announce_url` and any announce-list
// removed; without a URL, with no tracker at all. Other keys outside the
// info dictionary (piece layers, url-list, comment) are kept.
result<std::string> with_announce(std::string_view bytes,
                                  const std::optional<std::string>& announce_url);

// What the web UI's detail page shows of a .torrent beyond torrent_meta.
struct torrent_file_entry {
  std::string path;
  std::uint64_t size = 0;
};
struct torrent_contents {
  std::vector<torrent_file_entry> files;  // without pad files, at most max_files
  std::size_t total_files = 0;
  std::string comment;
  std::string created_by;
  std::int64_t creation_date = 0;  // unix seconds; 0: none
};
result<torrent_contents> describe_torrent(std::string_view bytes, std::size_t max_files = 1000);

// The .torrent with private=1 in its info dictionary (BEP 27), which
// changes its info-hashes; the input itself when it is private already.
result<std::string> make_private(std::string_view bytes);

// A magnet link for the .torrent (v1 and/or v2 hashes, name) with
// `announce_url` as its tracker, when given.
result<std::string> magnet_link(std::string_view bytes,
                                const std::optional<std::string>& announce_url);

}  // namespace blobswarm::tracker
