// source_tree: the files a new torrent describes, found by walking a file or
// directory: regular files only, in canonical order (torrent_path), with
// --exclude applied and symlinks skipped unless asked to follow them. Each
// file's size and mtime are recorded so the hasher can tell when a file
// changes while it is being read.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include "common/error.hpp"
#include "torrentgen/torrent_path.hpp"

namespace blobswarm::torrentgen {

// Size and modification time as stat() reported them.
struct file_snapshot {
  std::uint64_t size = 0;
  std::int64_t mtime_ns = 0;
  friend bool operator==(const file_snapshot&, const file_snapshot&) = default;
};

struct source_file {
  torrent_path path;  // below the root; no components for a single-file torrent
  std::filesystem::path disk_path;
  file_snapshot snapshot;
};

struct scan_options {
  std::vector<std::string> excludes;  // globs, see exclude_filter
  bool follow_symlinks = false;
  // Files never to include, by (st_dev, st_ino): the output torrent when it
  // is written inside the tree being hashed.
  std::vector<std::pair<std::uint64_t, std::uint64_t>> skip_inodes;
  // Told about symlinks and special files that were left out.
  std::function<void(const std::string& message)> warn;
};

class source_tree {
 public:
  // Errors (one line, naming the path): missing or unreadable path, a
  // directory without files, 0 bytes in total, non-UTF-8 names, symlink
  // loops when following symlinks.
  static result<source_tree> scan(const std::filesystem::path& root, const scan_options& options);

  const std::string& name() const noexcept { return name_; }
  bool single_file() const noexcept { return single_file_; }
  const std::filesystem::path& root() const noexcept { return root_; }
  const std::vector<source_file>& files() const noexcept { return files_; }
  std::uint64_t total_size() const noexcept { return total_size_; }

 private:
  std::string name_;
  bool single_file_ = false;
  std::filesystem::path root_;
  std::vector<source_file> files_;
  std::uint64_t total_size_ = 0;
};

// stat() of `path` (following symlinks) as a snapshot.
result<file_snapshot> snapshot_of(const std::filesystem::path& path);

}  // namespace blobswarm::torrentgen
