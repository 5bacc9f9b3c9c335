// torrent_summary: what a .torrent holds, read with libtorrent (which
// validates it: bencoding, required keys, v2 piece layers against their
// roots). Backs `info`, `info --json`, `magnet` and the summary `create`
// prints. Pure: bytes in, values out; fuzzed through fuzz_torrentgen_inspect.
#pragma once

#include <cstdint>
#include <libtorrent/torrent_info.hpp>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "common/error.hpp"
#include "torrentgen/torrent_format.hpp"

namespace blobswarm::torrentgen {

// Limits for loading untrusted .torrent files: larger than libtorrent's
// defaults (a 1 TiB torrent in 16 KiB pieces has a 1.3 GB piece list, so
// the limit caps what we accept rather than what exists), small enough to
// stop a hostile file from exhausting memory.
inline constexpr int max_torrent_file_size = 64 << 20;

// Parses and validates a .torrent. Errors say what is wrong with it.
result<std::shared_ptr<const lt::torrent_info>> load_torrent_info(std::span<const char> bytes);

struct torrent_summary {
  struct file {
    std::string path;  // as libtorrent names it: "<name>/<dirs>/<file>" in multi-file torrents
    std::uint64_t size = 0;
  };

  std::string name;
  torrent_format format = torrent_format::v1;
  std::optional<std::string> info_hash_v1;  // lowercase hex
  std::optional<std::string> info_hash_v2;
  std::uint64_t total_size = 0;  // the files' bytes, pad files excluded
  std::uint32_t piece_length = 0;
  std::uint32_t num_pieces = 0;
  bool is_private = false;
  std::vector<std::vector<std::string>> trackers;  // tiers
  std::vector<std::string> web_seeds;
  std::vector<file> files;  // pad files excluded
  std::string comment;
  std::string source;
  std::string created_by;
  std::optional<std::int64_t> creation_date;  // unix seconds
  std::string magnet;

  // `bytes` is the .torrent `ti` was loaded from: libtorrent shuffles the
  // trackers within each tier when it loads a torrent (as BEP 12 asks
  // clients to), so the order in the file is read from the bytes.
  static torrent_summary of(const lt::torrent_info& ti, std::span<const char> bytes);
  static result<torrent_summary> parse(std::span<const char> bytes);

  nlohmann::ordered_json to_json() const;
  // Human-readable, several lines, ends with a newline.
  std::string to_text() const;
};

}  // namespace blobswarm::torrentgen
