#include "torrentgen/source_tree.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <set>

#include "common/file.hpp"
#include "torrentgen/exclude_filter.hpp"

namespace blobswarm::torrentgen {
namespace {

constexpr int max_depth = 256;

file_snapshot to_snapshot(const struct stat& st) {
  return {.size = static_cast<std::uint64_t>(st.st_size),
          .mtime_ns = std::int64_t(st.st_mtim.tv_sec) * 1'000'000'000 + st.st_mtim.tv_nsec};
}

error path_error(errc code, const std::filesystem::path& path, std::string_view reason) {
  return error{code, fmt::format("{}: {}", printable(path.string()), reason)};
}

class walker {
 public:
  walker(const scan_options& options, exclude_filter filter)
      : options_(options), filter_(std::move(filter)) {}

  result<void> walk_dir(const std::filesystem::path& dir, const torrent_path& below,
                        const struct stat& dir_stat, int depth) {
    if (depth > max_depth) {
      return fail(path_error(errc::invalid_argument, dir, "directories nest too deeply"));
    }
    auto key = std::pair<std::uint64_t, std::uint64_t>(dir_stat.st_dev, dir_stat.st_ino);
    if (!active_dirs_.insert(key).second) {
      return fail(
          path_error(errc::invalid_argument, dir, "symlink loop (directory visited twice)"));
    }
    DIR* d = ::opendir(dir.c_str());
    if (!d) return fail(system_error(errno, "cannot open directory", dir));
    std::vector<std::string> names;
    errno = 0;
    while (auto* e = ::readdir(d)) {
      std::string_view n = e->d_name;
      if (n != "." && n != "..") names.emplace_back(n);
      errno = 0;
    }
    int read_errno = errno;
    ::closedir(d);
    if (read_errno != 0) return fail(system_error(read_errno, "cannot read directory", dir));
    // Sorted only to make warnings and errors come out in a stable order;
    // the torrent's order is settled after the walk.
    std::sort(names.begin(), names.end());
    for (const auto& n : names) {
      auto path = dir / n;
      torrent_path child = below;
      child.components.push_back(n);
      if (!is_valid_utf8(n)) {
        return fail(path_error(errc::invalid_argument, path,
                               "file name is not valid UTF-8 (torrents require UTF-8 names)"));
      }
      if (filter_.excluded(child.str())) continue;
      struct stat st {};
      if (::lstat(path.c_str(), &st) != 0) return fail(system_error(errno, "cannot stat", path));
      if (S_ISLNK(st.st_mode)) {
        if (!options_.follow_symlinks) {
          warn(fmt::format("skipped symlink {} (use --follow-symlinks to include it)",
                           printable(path.string())));
          continue;
        }
        if (::stat(path.c_str(), &st) != 0) {
          return fail(system_error(errno, "cannot follow symlink", path));
        }
      }
      if (S_ISDIR(st.st_mode)) {
        if (auto r = walk_dir(path, child, st, depth + 1); !r) return r;
      } else if (S_ISREG(st.st_mode)) {
        if (skipped(st)) continue;
        files_.push_back(
            {.path = std::move(child), .disk_path = path, .snapshot = to_snapshot(st)});
      } else {
        warn(fmt::format("skipped {} (not a regular file)", printable(path.string())));
      }
    }
    active_dirs_.erase(key);
    return {};
  }

  bool skipped(const struct stat& st) const {
    return std::find(options_.skip_inodes.begin(), options_.skip_inodes.end(),
                     std::pair<std::uint64_t, std::uint64_t>(st.st_dev, st.st_ino)) !=
           options_.skip_inodes.end();
  }

  std::vector<source_file> take_files() { return std::move(files_); }

 private:
  void warn(const std::string& message) {
    if (options_.warn) options_.warn(message);
  }

  const scan_options& options_;
  exclude_filter filter_;
  // Directories on the current path from the root: finding one again means
  // a symlink loop. (A directory reached twice through different symlinks
  // that is not an ancestor is legitimate and is walked twice.)
  std::set<std::pair<std::uint64_t, std::uint64_t>> active_dirs_;
  std::vector<source_file> files_;
};

}  // namespace

result<file_snapshot> snapshot_of(const std::filesystem::path& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return fail(system_error(errno, "cannot stat", path));
  return to_snapshot(st);
}

result<source_tree> source_tree::scan(const std::filesystem::path& root,
                                      const scan_options& options) {
  if (root.empty()) return fail(errc::invalid_argument, "no path given");
  auto filter = exclude_filter::make(options.excludes);
  if (!filter) return fail(filter.error());
  struct stat st {};
  // The path given on the command line is always followed, like `find -H`.
  if (::stat(root.c_str(), &st) != 0) return fail(system_error(errno, "cannot stat", root));

  // Named after the path as given ("data/" and "./data" give "data"); "."
  // and ".." need the real directory's name.
  std::error_code ec;
  auto absolute = std::filesystem::absolute(root, ec).lexically_normal();
  if (!absolute.has_filename()) absolute = absolute.parent_path();
  if (absolute.filename() == "..") absolute = std::filesystem::weakly_canonical(absolute, ec);
  std::string name = absolute.filename().string();
  if (name.empty() || name == "." || name == "..") {
    return fail(path_error(errc::invalid_argument, root, "cannot name a torrent after this path"));
  }
  if (!is_valid_utf8(name)) {
    return fail(path_error(errc::invalid_argument, root,
                           "file name is not valid UTF-8 (torrents require UTF-8 names)"));
  }

  source_tree tree;
  tree.name_ = name;
  tree.root_ = root;
  if (S_ISREG(st.st_mode)) {
    // Reading nothing from an unreadable file until hashing starts would
    // waste a long walk; fail now.
    auto fd = open_file(root, O_RDONLY);
    if (!fd) return fail(fd.error());
    tree.single_file_ = true;
    tree.files_.push_back({.path = {}, .disk_path = root, .snapshot = to_snapshot(st)});
  } else if (S_ISDIR(st.st_mode)) {
    walker w(options, std::move(*filter));
    if (auto r = w.walk_dir(root, {}, st, 0); !r) return fail(r.error());
    tree.files_ = w.take_files();
    if (tree.files_.empty()) {
      return fail(
          path_error(errc::invalid_argument, root, "directory contains no files (after excludes)"));
    }
    std::sort(tree.files_.begin(), tree.files_.end(),
              [](const source_file& a, const source_file& b) { return a.path < b.path; });
  } else {
    return fail(path_error(errc::invalid_argument, root, "not a regular file or directory"));
  }
  for (const auto& f : tree.files_) tree.total_size_ += f.snapshot.size;
  if (tree.total_size_ == 0) {
    return fail(path_error(errc::invalid_argument, root, "0 bytes in total: nothing to share"));
  }
  return tree;
}

}  // namespace blobswarm::torrentgen
