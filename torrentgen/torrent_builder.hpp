// torrent_builder: makes a .torrent for a source_tree. libtorrent's
// create_torrent owns the format (file order and pad files for v2/hybrid,
// the info dictionary, piece layers, bencoding); we hash the bytes with
// hash_pipeline and hand it the piece hashes with set_hash()/set_hash2().
// Deterministic: the same files and options give the same bytes (no
// creation date unless asked, no file attributes, no mtimes).
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "common/error.hpp"
#include "torrentgen/source_tree.hpp"
#include "torrentgen/torrent_format.hpp"
#include "torrentgen/torrent_summary.hpp"

namespace blobswarm::torrentgen {

struct create_options {
  torrent_format format = torrent_format::hybrid;
  std::uint32_t piece_size = 0;  // 0: auto_piece_size(total)
  bool is_private = false;
  std::vector<std::vector<std::string>> trackers;  // tiers, outside the info dictionary
  std::vector<std::string> web_seeds;              // BEP 19 url-list
  std::string comment;
  std::string source;  // inside the info dictionary: changes the info-hash
  std::string created_by;
  std::optional<std::int64_t> creation_date;  // unix seconds; none by default
  unsigned threads = 0;                       // 0: all cores
  std::function<void(std::uint64_t done, std::uint64_t total)> progress;
  std::function<void(std::uint32_t first_piece)> after_run;  // tests: see hash_pipeline
};

struct created_torrent {
  std::string data;  // the bencoded .torrent
  torrent_summary summary;
};

result<created_torrent> make_torrent(const source_tree& tree, const create_options& options);

}  // namespace blobswarm::torrentgen
