#include "seeder/blob_store.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>

#include "common/file.hpp"
#include "common/logging.hpp"

namespace blobswarm::seeder {

namespace fs = std::filesystem;

namespace {

const db::migration migrations[] = {
    {1, "blobs index",
     "CREATE TABLE blobs ("
     " digest TEXT PRIMARY KEY,"
     " size INTEGER NOT NULL,"
     " state TEXT NOT NULL CHECK (state IN ('ingesting', 'complete')),"
     " piece_length INTEGER NOT NULL DEFAULT 0,"
     " info_hash TEXT,"
     " torrent BLOB,"
     " registered INTEGER NOT NULL DEFAULT 0,"
     " created_ms INTEGER NOT NULL,"
     " last_access_ms INTEGER NOT NULL);"
     "CREATE INDEX blobs_lru ON blobs(state, last_access_ms);"},
};

std::int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace

// Lease counts live apart from the store so that a lease outliving the
// store (a response still being sent at shutdown) stays harmless.
struct blob_store::leases {
  std::mutex mutex;
  std::map<digest, int> counts;

  bool held(const digest& d) {
    std::lock_guard lock(mutex);
    auto it = counts.find(d);
    return it != counts.end() && it->second > 0;
  }
};

blob_store::blob_store(fs::path dir, db::database db, store_options options)
    : dir_(std::move(dir)),
      db_(std::move(db)),
      options_(options),
      leases_(std::make_shared<leases>()) {}

blob_store::~blob_store() {
  (void)flush();
}

result<std::unique_ptr<blob_store>> blob_store::open(const fs::path& dir, store_options options) {
  for (const auto& sub : {dir, dir / "blobs", dir / "ingest"}) {
    if (auto r = blobswarm::create_directories(sub); !r) return fail(r.error());
  }
  auto db = db::database::open(dir / "index.db");
  if (!db) return fail(db.error());
  if (auto v = db->migrate(migrations); !v) return fail(v.error());
  std::unique_ptr<blob_store> store(new blob_store(dir, std::move(*db), options));
  if (auto r = store->load(); !r) return fail(r.error());
  return store;
}

fs::path blob_store::blob_path(const digest& d) const {
  auto hex = std::string(d.hex());
  return dir_ / "blobs" / std::string(d.algorithm_name()) / hex.substr(0, 2) / hex;
}

fs::path blob_store::ingest_path(const digest& d) const {
  return dir_ / "ingest" / std::string(d.hex());
}

result<void> blob_store::load() {
  auto log = logging::get("seeder");
  // Ingests that were running when the process stopped are gone; so are
  // their files. Nothing unverified survives a restart.
  if (auto r = db_.exec("DELETE FROM blobs WHERE state = 'ingesting'"); !r) return r;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(dir_ / "ingest", ec)) {
    fs::remove(entry.path(), ec);
  }
  auto stmt = db_.prepare(
      "SELECT digest, size, piece_length, info_hash, registered, last_access_ms FROM blobs "
      "WHERE state = 'complete'");
  if (!stmt) return fail(stmt.error());
  std::vector<digest> missing;
  while (true) {
    auto row = stmt->step();
    if (!row) return fail(row.error());
    if (!*row) break;
    auto d = digest::parse(stmt->column_text(0));
    if (!d) {
      log->error("index entry '{}' is not a digest; ignoring it", stmt->column_text(0));
      continue;
    }
    stored_blob b{.digest = *d,
                  .size = static_cast<std::uint64_t>(stmt->column_int(1)),
                  .piece_length = static_cast<std::uint32_t>(stmt->column_int(2)),
                  .last_access_ms = stmt->column_int(5),
                  .registered = stmt->column_int(4) != 0};
    if (!stmt->column_is_null(3)) {
      if (auto ih = info_hash::from_hex(stmt->column_text(3))) b.torrent_hash = *ih;
    }
    struct stat st {};
    if (::stat(blob_path(*d).c_str(), &st) != 0 ||
        static_cast<std::uint64_t>(st.st_size) != b.size) {
      log->error("stored blob {} is missing or has the wrong size; forgetting it", *d);
      missing.push_back(*d);
      continue;
    }
    used_ += b.size;
    last_access_ms_ = std::max(last_access_ms_, b.last_access_ms);
    blobs_.emplace(*d, std::move(b));
  }
  for (const auto& d : missing) {
    auto del = db_.cached("DELETE FROM blobs WHERE digest = ?");
    if (del) (void)(*del)->bind(d.str()).run();
  }
  return {};
}

std::vector<stored_blob> blob_store::list() const {
  std::lock_guard lock(mutex_);
  std::vector<stored_blob> out;
  out.reserve(blobs_.size());
  for (const auto& [d, b] : blobs_) out.push_back(b);
  return out;
}

std::optional<stored_blob> blob_store::find(const digest& d) const {
  std::lock_guard lock(mutex_);
  auto it = blobs_.find(d);
  if (it == blobs_.end()) return std::nullopt;
  return it->second;
}

std::int64_t blob_store::next_access_ms() {
  // Strictly increasing, so that the LRU order of two touches within one
  // millisecond is still their order.
  last_access_ms_ = std::max(last_access_ms_ + 1, now_ms());
  return last_access_ms_;
}

result<void> blob_store::evict_locked(const stored_blob& b) {
  auto del = db_.cached("DELETE FROM blobs WHERE digest = ?");
  if (!del) return fail(del.error());
  if (auto r = (*del)->bind(b.digest.str()).run(); !r) return r;
  std::error_code ec;
  fs::remove(blob_path(b.digest), ec);
  used_ -= b.size;
  dirty_access_.erase(b.digest);
  blobs_.erase(b.digest);
  return {};
}

result<std::vector<stored_blob>> blob_store::reserve(const digest& d, std::uint64_t size) {
  std::lock_guard lock(mutex_);
  if (reservations_.contains(d)) {
    return fail(errc::conflict, "{} is already being ingested", d);
  }
  if (options_.max_size > 0 && size > options_.max_size) {
    return fail(errc::no_space, "{} has {} bytes, more than the whole store quota of {}", d, size,
                options_.max_size);
  }
  std::uint64_t need_quota = 0;
  if (options_.max_size > 0 && used_ + reserved_ + size > options_.max_size) {
    need_quota = used_ + reserved_ + size - options_.max_size;
  }
  auto avail = available_space(dir_);
  if (!avail) return fail(avail.error());
  std::uint64_t need_disk = 0;
  if (*avail < size + options_.min_free) need_disk = size + options_.min_free - *avail;
  auto need = std::max(need_quota, need_disk);

  std::vector<stored_blob> evicted;
  if (need > 0) {
    std::vector<const stored_blob*> candidates;
    for (const auto& [digest, b] : blobs_) {
      if (!leases_->held(digest)) candidates.push_back(&b);
    }
    std::sort(candidates.begin(), candidates.end(),
              [](const auto* a, const auto* b) { return a->last_access_ms < b->last_access_ms; });
    std::uint64_t can_free = 0;
    std::size_t take = 0;
    while (take < candidates.size() && can_free < need) can_free += candidates[take++]->size;
    if (can_free < need) {
      return fail(errc::no_space,
                  "no room for {} ({} bytes): {} available on disk with {} to keep free, {} of "
                  "the {} quota in use, {} in ingests, {} evictable",
                  d, size, *avail, options_.min_free, used_,
                  options_.max_size ? std::to_string(options_.max_size) : std::string("unlimited"),
                  reserved_, can_free);
    }
    for (std::size_t i = 0; i < take; ++i) {
      auto victim = *candidates[i];
      if (auto r = evict_locked(victim); !r) return fail(r.error());
      evicted.push_back(std::move(victim));
    }
  }
  auto ins = db_.cached(
      "INSERT OR REPLACE INTO blobs (digest, size, state, created_ms, last_access_ms) "
      "VALUES (?, ?, 'ingesting', ?, ?)");
  if (!ins) return fail(ins.error());
  auto t = now_ms();
  if (auto r = (*ins)->bind(d.str(), size, t, t).run(); !r) return fail(r.error());
  reservations_[d] = size;
  reserved_ += size;
  return evicted;
}

void blob_store::abandon(const digest& d) {
  std::lock_guard lock(mutex_);
  auto it = reservations_.find(d);
  if (it != reservations_.end()) {
    reserved_ -= it->second;
    reservations_.erase(it);
  }
  if (auto del = db_.cached("DELETE FROM blobs WHERE digest = ? AND state = 'ingesting'")) {
    (void)(*del)->bind(d.str()).run();
  }
  std::error_code ec;
  fs::remove(ingest_path(d), ec);
}

result<stored_blob> blob_store::commit(const digest& d, std::uint32_t piece_length,
                                       std::optional<info_hash> torrent_hash,
                                       std::string_view torrent) {
  std::lock_guard lock(mutex_);
  auto it = reservations_.find(d);
  if (it == reservations_.end()) return fail(errc::internal, "{} was not reserved", d);
  auto size = it->second;
  auto final_path = blob_path(d);
  if (auto r = blobswarm::create_directories(final_path.parent_path()); !r) return fail(r.error());
  if (::rename(ingest_path(d).c_str(), final_path.c_str()) != 0) {
    return fail(system_error(errno, "cannot move the verified blob into the store", final_path));
  }
  // The rename must reach the disk before the index says "complete".
  if (auto dir = open_file(final_path.parent_path(), O_RDONLY | O_DIRECTORY)) ::fsync(dir->get());
  auto t = next_access_ms();
  auto upd = db_.cached(
      "UPDATE blobs SET state = 'complete', piece_length = ?, info_hash = ?, torrent = ?, "
      "last_access_ms = ? WHERE digest = ?");
  if (!upd) return fail(upd.error());
  std::optional<std::string> hex;
  if (torrent_hash) hex = torrent_hash->hex();
  if (auto r = (*upd)->bind(piece_length, hex, db::blob{torrent}, t, d.str()).run(); !r) {
    return fail(r.error());
  }
  reserved_ -= size;
  reservations_.erase(it);
  stored_blob b{.digest = d,
                .size = size,
                .piece_length = piece_length,
                .torrent_hash = torrent_hash,
                .last_access_ms = t};
  used_ += size;
  blobs_.insert_or_assign(d, b);
  return b;
}

result<std::string> blob_store::torrent(const digest& d) const {
  std::lock_guard lock(mutex_);
  auto sel = db_.cached("SELECT torrent FROM blobs WHERE digest = ? AND state = 'complete'");
  if (!sel) return fail(sel.error());
  auto row = (*sel)->bind(d.str()).step();
  if (!row) return fail(row.error());
  if (!*row || (*sel)->column_is_null(0)) return fail(errc::not_found, "{} has no torrent", d);
  return std::string((*sel)->column_blob(0));
}

void blob_store::touch(const digest& d) {
  std::lock_guard lock(mutex_);
  auto it = blobs_.find(d);
  if (it == blobs_.end()) return;
  it->second.last_access_ms = next_access_ms();
  dirty_access_[d] = true;
}

void blob_store::set_registered(const digest& d) {
  std::lock_guard lock(mutex_);
  auto it = blobs_.find(d);
  if (it == blobs_.end()) return;
  it->second.registered = true;
  if (auto upd = db_.cached("UPDATE blobs SET registered = 1 WHERE digest = ?")) {
    (void)(*upd)->bind(d.str()).run();
  }
}

std::shared_ptr<void> blob_store::lease(const digest& d) {
  {
    std::lock_guard lock(leases_->mutex);
    ++leases_->counts[d];
  }
  auto table = leases_;
  return std::shared_ptr<void>(nullptr, [table, d](void*) {
    std::lock_guard lock(table->mutex);
    auto it = table->counts.find(d);
    if (it != table->counts.end() && --it->second <= 0) table->counts.erase(it);
  });
}

result<void> blob_store::remove(const digest& d) {
  std::lock_guard lock(mutex_);
  auto it = blobs_.find(d);
  if (it == blobs_.end()) return {};
  auto copy = it->second;
  return evict_locked(copy);
}

result<void> blob_store::flush() {
  std::lock_guard lock(mutex_);
  if (dirty_access_.empty()) return {};
  auto tx = db::transaction::begin(db_);
  if (!tx) return fail(tx.error());
  auto upd = db_.cached("UPDATE blobs SET last_access_ms = ? WHERE digest = ?");
  if (!upd) return fail(upd.error());
  for (const auto& [d, dirty] : dirty_access_) {
    auto it = blobs_.find(d);
    if (it == blobs_.end()) continue;
    if (auto r = (*upd)->bind(it->second.last_access_ms, d.str()).run(); !r) return r;
  }
  if (auto r = tx->commit(); !r) return r;
  dirty_access_.clear();
  return {};
}

std::uint64_t blob_store::used_bytes() const {
  std::lock_guard lock(mutex_);
  return used_;
}

std::uint64_t blob_store::reserved_bytes() const {
  std::lock_guard lock(mutex_);
  return reserved_;
}

std::size_t blob_store::count() const {
  std::lock_guard lock(mutex_);
  return blobs_.size();
}

}  // namespace blobswarm::seeder
