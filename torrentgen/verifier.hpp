// verifier: checks data on disk against a .torrent. Hashes with the same
// pipeline as `create` (tolerant of missing and short files) and compares
// every piece: SHA-1 pieces for v1, the v2 piece layers (or the file's
// pieces root when a file has one piece) for v2, both for hybrid.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <libtorrent/torrent_info.hpp>
#include <string>
#include <vector>

#include "common/error.hpp"
#include "torrentgen/hash_pipeline.hpp"

namespace blobswarm::torrentgen {

struct verify_options {
  unsigned threads = 0;  // 0: all cores
  std::function<void(std::uint64_t done, std::uint64_t total)> progress;
};

struct verify_report {
  struct file_result {
    std::string path;  // inside the torrent
    std::filesystem::path disk_path;
    std::uint64_t size = 0;
    file_issue issue = file_issue::none;
    std::uint64_t size_on_disk = 0;  // for wrong_size
    std::uint32_t bad_pieces = 0;    // pieces touching this file that failed
  };
  std::uint32_t num_pieces = 0;
  std::vector<std::uint32_t> bad_pieces;  // ascending
  std::vector<file_result> files;         // pad files excluded

  bool ok() const noexcept;
};

// Where the torrent's files are expected below `data`: for a single-file
// torrent `data` is the file (or a directory holding `<name>`); for a
// multi-file torrent `data` is the torrent's top directory (or a directory
// holding `<name>/`).
std::filesystem::path resolve_data_root(const lt::torrent_info& ti,
                                        const std::filesystem::path& data);

result<verify_report> verify_torrent(const lt::torrent_info& ti, const std::filesystem::path& data,
                                     const verify_options& options);

}  // namespace blobswarm::torrentgen
