// hash_pipeline: the parallel read -> hash pipeline behind `create` and
// `verify`. N worker threads (one per core by default) claim runs of pieces
// in order from a shared counter, read each run with pread() into a small
// reusable buffer and hash it right there while the bytes are still in
// cache: SHA-1 per piece for v1, SHA-256 per 16 KiB block plus the piece's
// merkle subtree for v2, both from the same read for hybrid. Page-cache
// reads are cheap next to hashing, so no core is spent on a separate reader
// thread; a worker asks the kernel to read ahead the run it will need a few
// runs later (POSIX_FADV_WILLNEED) so cold files on disk overlap I/O with
// hashing. Memory: one chunk buffer (<= 1 MiB) and one piece's leaf hashes
// per thread, independent of the data's size.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <libtorrent/sha1_hash.hpp>
#include <optional>
#include <span>
#include <vector>

#include "common/error.hpp"
#include "torrentgen/source_tree.hpp"
#include "torrentgen/torrent_layout.hpp"

namespace blobswarm::torrentgen {

// Where a layout file's bytes are on disk. Pad files have no path.
struct hash_source {
  std::filesystem::path disk_path;
  // When set (creating a torrent), the file must still look like this when
  // opened and after hashing, or hashing fails: it changed underneath us.
  std::optional<file_snapshot> expected;
};

enum class file_issue : std::uint8_t { none, missing, unreadable, wrong_size };

struct piece_hashes {
  std::vector<lt::sha1_hash> v1;                 // per piece, when layout.v1
  std::vector<std::vector<lt::sha256_hash>> v2;  // per layout file, its pieces, when layout.v2
  // Tolerant runs (verify) only: pieces whose bytes could not all be read,
  // and what was wrong with each layout file.
  std::vector<std::uint8_t> unreadable;
  std::vector<file_issue> issues;
  std::vector<std::uint64_t> sizes_on_disk;  // for wrong_size
};

class hash_pipeline {
 public:
  struct options {
    unsigned threads = 0;  // 0: one per available core
    // true (create): a missing, short, growing or modified file fails the
    // run. false (verify): such pieces are marked unreadable and the run
    // goes on.
    bool strict = true;
    std::size_t chunk_size = 1 << 20;  // read size; rounded down to 16 KiB multiples
    std::chrono::milliseconds progress_interval{100};
    // Called on the calling thread about every progress_interval and once
    // at the end, with bytes hashed so far and the total.
    std::function<void(std::uint64_t done, std::uint64_t total)> progress;
    // Called by a worker after each run of pieces (tests change files here).
    std::function<void(std::uint32_t first_piece)> after_run;
  };

  // `sources` is parallel to layout.files.
  static result<piece_hashes> run(const torrent_layout& layout,
                                  std::span<const hash_source> sources, const options& opts);
};

// Cores this process may run on (sched_getaffinity), at least 1.
unsigned available_cores() noexcept;

}  // namespace blobswarm::torrentgen
