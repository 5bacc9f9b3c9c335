// Helpers shared by the torrentgen tests: building directory trees of
// pseudo-random files, and running the torrentgen binary.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <utility>
#include <vector>

#include "tests/support/support.hpp"

namespace blobswarm::torrentgen::testing {

struct file_spec {
  std::string path;  // relative, '/'-separated
  std::size_t size;
};

// Writes each file under `root` with reproducible random content.
void make_files(const std::filesystem::path& root, const std::vector<file_spec>& files,
                std::uint64_t seed = 1);

// File sizes around v2 block and piece boundaries for a given piece size,
// with names that exercise canonical order ("a.txt" beside "a/b").
std::vector<file_spec> tricky_tree(std::size_t piece);

// Runs build/bin/torrentgen with `args`; stdout and stderr kept apart.
struct tg_result {
  int status = -1;
  std::string out;
  std::string err;
};
tg_result torrentgen(const std::vector<std::string>& args, const std::filesystem::path& cwd = {},
                     std::chrono::milliseconds timeout = std::chrono::seconds(60));

// The v1 and v2 info-hashes (hex, empty when absent) libtorrent reads from
// a .torrent file.
std::pair<std::string, std::string> lt_info_hashes(const std::filesystem::path& torrent);

}  // namespace blobswarm::torrentgen::testing
