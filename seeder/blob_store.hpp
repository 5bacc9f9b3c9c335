// blob_store: the seeder's content-addressed store under the data
// directory, with its sqlite index:
//   index.db                         digest, size, state, piece length,
//                                    info-hash, .torrent, last access
//   blobs/sha256/<ab>/<hex>          verified blobs
//   ingest/<hex>                     a blob being fetched (never served as
//                                    stored; removed at start-up)
// A blob enters under its final name only after its digest was verified
// (commit renames the ingest file). A quota (and a minimum of free disk
// space) is enforced when an ingest starts: least recently used blobs are
// evicted, never one that is leased (being served); if the blob cannot fit,
// the ingest fails with no_space before writing anything.
//
// Thread-safe (one mutex): the ingest threads commit, the HTTP executor
// looks up and leases.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "common/digest.hpp"
#include "common/error.hpp"
#include "common/info_hash.hpp"
#include "db/database.hpp"

namespace blobswarm::seeder {

struct stored_blob {
  blobswarm::digest digest;
  std::uint64_t size = 0;
  std::uint32_t piece_length = 0;
  std::optional<info_hash> torrent_hash;  // none for a 0-byte blob
  std::int64_t last_access_ms = 0;
  bool registered = false;  // the tracker has its whole torrent
};

struct store_options {
  std::uint64_t max_size = 0;  // 0: no quota
  std::uint64_t min_free = 0;  // bytes to leave free on the filesystem
};

class blob_store {
 public:
  static result<std::unique_ptr<blob_store>> open(const std::filesystem::path& dir,
                                                  store_options options);
  ~blob_store();

  std::vector<stored_blob> list() const;
  std::optional<stored_blob> find(const blobswarm::digest& d) const;
  std::filesystem::path blob_path(const blobswarm::digest& d) const;
  std::filesystem::path ingest_path(const blobswarm::digest& d) const;

  // Makes room for an ingest of `size` bytes; returns the blobs evicted for
  // it (the caller stops seeding them).
  result<std::vector<stored_blob>> reserve(const blobswarm::digest& d, std::uint64_t size);
  // Drops a reservation whose ingest failed, with its ingest file.
  void abandon(const blobswarm::digest& d);
  // The verified ingest file becomes the stored blob.
  result<stored_blob> commit(const blobswarm::digest& d, std::uint32_t piece_length,
                             std::optional<info_hash> torrent_hash, std::string_view torrent);

  result<std::string> torrent(const blobswarm::digest& d) const;
  void touch(const blobswarm::digest& d);
  void set_registered(const blobswarm::digest& d);
  // While the returned handle lives, the blob is not evicted.
  std::shared_ptr<void> lease(const blobswarm::digest& d);
  // Forgets a blob and deletes its file (it failed verification on disk).
  result<void> remove(const blobswarm::digest& d);
  // Writes access times kept in memory to the index.
  result<void> flush();

  std::uint64_t used_bytes() const;
  std::uint64_t reserved_bytes() const;
  std::size_t count() const;
  const store_options& options() const noexcept { return options_; }

 private:
  struct leases;
  blob_store(std::filesystem::path dir, db::database db, store_options options);
  result<void> load();
  result<void> evict_locked(const stored_blob& b);
  std::int64_t next_access_ms();

  std::filesystem::path dir_;
  mutable db::database db_;
  store_options options_;
  mutable std::mutex mutex_;
  std::map<blobswarm::digest, stored_blob> blobs_;
  std::map<blobswarm::digest, std::uint64_t> reservations_;
  std::map<blobswarm::digest, bool> dirty_access_;
  std::shared_ptr<leases> leases_;
  std::uint64_t used_ = 0;
  std::uint64_t reserved_ = 0;
  std::int64_t last_access_ms_ = 0;
};

}  // namespace blobswarm::seeder
