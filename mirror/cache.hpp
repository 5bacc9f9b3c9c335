// cache: the mirror's content-addressed store under DIR.
//
//   DIR/index.db          sqlite index (blobs, manifests, tags, files)
//   DIR/blobs/<hex>       blob files: complete and verified, or being
//                         downloaded (libtorrent writes them in place)
//   DIR/files/<info-hash> the files of a torrent fetched through /files
//                         (mirror/file_download.hpp), laid out as the
//                         torrent names them
//   DIR/manifests/<hex>   manifest bytes, immutable by digest
//   DIR/space-reserve     disk space kept for the index (see keep_reserve)
//
// Only blobs in state `complete` are ever served. A complete blob's file
// identity (size, inode, mtime, ctime) is recorded when it is verified; a
// file that no longer matches it has been modified and must be verified
// again before it is served (re-hashing every hit would cost the
// sendfile speed a cache exists for). After a crash, entries that were
// still downloading are removed with their data.
//
// Quota: blobs and torrents share it. When the bytes held pass the high
// watermark, least recently used complete blobs and torrents that nobody
// holds a lease on are evicted until the total is under the low watermark.
#pragma once

#include <spdlog/logger.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include "common/digest.hpp"
#include "common/error.hpp"
#include "common/file.hpp"
#include "common/info_hash.hpp"
#include "db/database.hpp"

namespace blobswarm::mirror {

struct file_identity {
  std::uint64_t size = 0;
  std::uint64_t inode = 0;
  std::int64_t mtime_ns = 0;
  std::int64_t ctime_ns = 0;
  friend bool operator==(const file_identity&, const file_identity&) = default;
};
result<file_identity> identify(int fd);

// The raw digest of a file's content (for re-verifying a cached blob; blocking).
result<std::string> hash_file(const std::filesystem::path& path, hash_algorithm algorithm);

struct cached_blob {
  digest id;
  std::uint64_t size = 0;
  std::string torrent;  // the .torrent it was downloaded with, to seed it; may be empty
  file_identity identity;
};

// A torrent fetched through /files whose every piece arrived and passed its
// hash check. Its files are not re-hashed when served (a torrent may be
// terabytes); a file modified after `verified_at_ns` is not served.
struct cached_file {
  info_hash id;
  std::uint64_t size = 0;  // bytes of its files, padding excluded
  std::string torrent;     // the .torrent, to list and seed it
  std::int64_t verified_at_ns = 0;
};

struct cached_manifest {
  digest id;
  std::string media_type;
  std::string bytes;
};

struct cached_tag {
  digest id;
  std::string media_type;
  std::uint64_t size = 0;
  std::chrono::system_clock::time_point fetched_at;
};

// Blobs somebody holds a lease on, with a count each.
struct lease_table {
  std::map<std::string, int, std::less<>> counts;
};

// Keeps a blob from being evicted while it is served or downloaded. It
// refers to the cache's lease table weakly: a lease may outlive the cache
// (a request's coroutine destroyed at shutdown) without harm.
class cache_lease {
 public:
  cache_lease() = default;
  cache_lease(std::weak_ptr<lease_table> table, std::string hex)
      : table_(std::move(table)), hex_(std::move(hex)) {}
  cache_lease(cache_lease&& o) noexcept = default;
  cache_lease& operator=(cache_lease&& o) noexcept;
  cache_lease(const cache_lease&) = delete;
  cache_lease& operator=(const cache_lease&) = delete;
  ~cache_lease() { release(); }

 private:
  void release() noexcept;
  std::weak_ptr<lease_table> table_;
  std::string hex_;
};

class cache {
 public:
  struct options {
    std::filesystem::path dir;
    std::uint64_t quota = 20ULL << 30;
    double high_watermark = 0.90;
    double low_watermark = 0.80;
    // Told about every blob that leaves the cache (eviction, failed
    // verification), so its torrent stops seeding a deleted file.
    std::function<void(const digest&)> on_remove;
    // The same for torrents fetched through /files.
    std::function<void(const info_hash&)> on_remove_file;
  };

  static result<std::unique_ptr<cache>> open(options o, std::shared_ptr<spdlog::logger> log);
  ~cache();

  std::filesystem::path blob_path(const digest& d) const;
  std::filesystem::path blobs_dir() const { return options_.dir / "blobs"; }

  // A complete blob, or nullopt.
  result<std::optional<cached_blob>> find_blob(const digest& d);
  // Opens a complete blob for serving. errc::corrupt when the file changed
  // since it was verified (call reverify()), errc::not_found when absent.
  result<unique_fd> open_blob(const cached_blob& b);
  // A complete blob whose file changed was re-hashed (hash_file) and still
  // matches: remember its new identity so it can be served again.
  result<void> record_identity(const digest& d, const file_identity& id);

  // Makes room for `size` bytes (evicting if needed) and records a download
  // in progress. errc::no_space when the quota or the disk cannot hold it.
  result<void> begin_blob(const digest& d, std::uint64_t size);
  // Records the torrent a complete blob can be seeded with.
  result<void> set_torrent(const digest& d, std::string_view torrent);
  // The download was verified: the blob becomes servable.
  result<void> commit_blob(const digest& d, std::string_view torrent);
  // A download failed or did not verify: forget it and delete its data.
  void abort_blob(const digest& d);
  void touch_blob(const digest& d);
  // Every complete blob (to re-seed at start-up).
  result<std::vector<cached_blob>> complete_blobs();

  cache_lease lease(const digest& d);

  // --- torrents fetched through /files, by v1 info-hash ------------------------

  // Where the torrent's files are (libtorrent's save path for it).
  std::filesystem::path file_dir(const info_hash& ih) const;
  result<std::optional<cached_file>> find_file(const info_hash& ih);
  // Makes room for `size` bytes and records a download in progress, like begin_blob.
  result<void> begin_file(const info_hash& ih, std::uint64_t size);
  // Every piece arrived and passed its hash check: the torrent becomes servable.
  result<void> commit_file(const info_hash& ih, std::string_view torrent);
  // Forgets the torrent and deletes its files.
  void abort_file(const info_hash& ih);
  void touch_file(const info_hash& ih);
  result<std::vector<cached_file>> complete_files();
  cache_lease lease_file(const info_hash& ih);

  result<void> put_manifest(const cached_manifest& m);
  result<std::optional<cached_manifest>> find_manifest(const digest& d);
  result<void> put_tag(std::string_view host, std::string_view name, std::string_view tag,
                       const cached_tag& t);
  result<std::optional<cached_tag>> find_tag(std::string_view host, std::string_view name,
                                             std::string_view tag);

  std::uint64_t bytes_used() const noexcept { return used_; }
  std::uint64_t quota() const noexcept { return options_.quota; }
  // Evicts down to the low watermark if above the high one; returns bytes freed.
  std::uint64_t enforce_quota(std::uint64_t incoming = 0);

 private:
  cache(options o, std::shared_ptr<spdlog::logger> log, db::database db);
  result<void> recover();
  bool leased(const std::string& hex) const;
  cache_lease lease_key(std::string hex);
  void remove_blob(const std::string& hex);
  void remove_file_dir(const std::string& hex);
  result<void> recover_files();
  // Reserves quota and disk space for an incoming entry, evicting if needed.
  result<void> make_room(std::string_view what, std::uint64_t size);

 public:
  // A table of entries with a size, a state and an access time: blobs (by
  // digest) and /files torrents (by info-hash) are kept alike.
  struct entry_table {
    std::string_view name;
    std::string_view key;
  };

 private:
  // Records a download in progress of `key` (`what` names it in errors).
  result<void> begin_entry(const entry_table& t, const std::string& key, std::uint64_t size,
                           const std::string& what);
  result<std::vector<std::string>> partial_entries(const entry_table& t);
  result<void> delete_entry(const entry_table& t, const std::string& key);
  // Forgets an entry: its size, then its data (remove_data), then its row.
  void drop_entry(const entry_table& t, const std::string& key,
                  const std::function<void()>& remove_data);
  // DIR/space-reserve: a little disk space held back so that sqlite can
  // still record removals when the disk is full (a failed download must
  // not leave its entry behind). Released when a removal needs it, taken
  // again when a download begins with space to spare.
  static constexpr std::uint64_t reserve_bytes = 256 * 1024;
  void keep_reserve();
  bool release_reserve();

  options options_;
  std::shared_ptr<spdlog::logger> log_;
  db::database db_;
  std::uint64_t used_ = 0;
  bool reserve_held_ = false;
  std::shared_ptr<lease_table> leases_ = std::make_shared<lease_table>();
};

}  // namespace blobswarm::mirror
