#include "mirror/cache.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <vector>

#include "common/hex.hpp"

namespace blobswarm::mirror {
namespace {

constexpr db::migration migrations[] = {
    {1, "blobs, manifests and tags",
     R"(CREATE TABLE blobs (
          digest TEXT PRIMARY KEY,
          size INTEGER NOT NULL,
          state TEXT NOT NULL CHECK (state IN ('downloading', 'complete')),
          torrent BLOB,
          file_size INTEGER, inode INTEGER, mtime_ns INTEGER, ctime_ns INTEGER,
          created_at INTEGER NOT NULL,
          last_access INTEGER NOT NULL);
        CREATE INDEX blobs_lru ON blobs(state, last_access);
        CREATE TABLE manifests (
          digest TEXT PRIMARY KEY,
          media_type TEXT NOT NULL,
          size INTEGER NOT NULL,
          created_at INTEGER NOT NULL);
        CREATE TABLE tags (
          host TEXT NOT NULL, name TEXT NOT NULL, tag TEXT NOT NULL,
          digest TEXT NOT NULL, media_type TEXT NOT NULL, size INTEGER NOT NULL,
          fetched_at_ms INTEGER NOT NULL,
          PRIMARY KEY (host, name, tag));)"},
    {2, "torrents fetched through /files",
     R"(CREATE TABLE files (
          info_hash TEXT PRIMARY KEY,
          size INTEGER NOT NULL,
          state TEXT NOT NULL CHECK (state IN ('downloading', 'complete')),
          torrent BLOB,
          verified_at_ns INTEGER,
          created_at INTEGER NOT NULL,
          last_access INTEGER NOT NULL);
        CREATE INDEX files_lru ON files(state, last_access);)"},
};

// The two kinds of entry: blobs by digest, /files torrents by info-hash.
constexpr cache::entry_table blobs_table{"blobs", "digest"};
constexpr cache::entry_table files_table{"files", "info_hash"};

std::int64_t now_s() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::int64_t to_ns(const timespec& t) {
  return static_cast<std::int64_t>(t.tv_sec) * 1'000'000'000 + t.tv_nsec;
}

}  // namespace

result<std::string> hash_file(const std::filesystem::path& path, hash_algorithm algorithm) {
  auto fd = open_file(path, O_RDONLY);
  if (!fd) return fail(fd.error());
  hasher h(algorithm);
  std::vector<char> buf(1 << 20);
  while (true) {
    auto n = ::read(fd->get(), buf.data(), buf.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return fail(system_error(errno, "cannot read", path));
    if (n == 0) break;
    h.update(std::string_view(buf.data(), static_cast<std::size_t>(n)));
  }
  return h.finish();
}

result<file_identity> identify(int fd) {
  struct stat st {};
  if (::fstat(fd, &st) != 0) return fail(system_error(errno, "cannot stat", "blob"));
  return file_identity{static_cast<std::uint64_t>(st.st_size),
                       static_cast<std::uint64_t>(st.st_ino), to_ns(st.st_mtim), to_ns(st.st_ctim)};
}

cache_lease& cache_lease::operator=(cache_lease&& o) noexcept {
  if (this != &o) {
    release();
    table_ = std::move(o.table_);
    hex_ = std::move(o.hex_);
  }
  return *this;
}

void cache_lease::release() noexcept {
  auto table = table_.lock();
  table_.reset();
  if (!table) return;
  auto it = table->counts.find(hex_);
  if (it != table->counts.end() && --it->second <= 0) table->counts.erase(it);
}

cache::cache(options o, std::shared_ptr<spdlog::logger> log, db::database db)
    : options_(std::move(o)), log_(std::move(log)), db_(std::move(db)) {}

cache::~cache() = default;

result<std::unique_ptr<cache>> cache::open(options o, std::shared_ptr<spdlog::logger> log) {
  for (auto sub : {"blobs", "manifests", "files"}) {
    if (auto r = blobswarm::create_directories(o.dir / sub); !r) return fail(r.error());
  }
  auto db = db::database::open(o.dir / "index.db");
  if (!db) return fail(db.error());
  if (auto m = db->migrate(migrations); !m) return fail(m.error());
  std::unique_ptr<cache> c(new cache(std::move(o), std::move(log), std::move(*db)));
  if (auto r = c->recover(); !r) return fail(r.error());
  c->keep_reserve();
  return c;
}

std::filesystem::path cache::blob_path(const digest& d) const {
  return blobs_dir() / std::string(d.hex());
}

namespace {
// The inverse of blob_path's naming: a file is named after its digest's
// hex, whose length says the algorithm (64: sha256, 128: sha512).
result<digest> digest_of_file(std::string_view name) {
  for (std::string_view algorithm : {"sha256:", "sha512:"}) {
    if (auto d = digest::parse(std::string(algorithm) + std::string(name))) return d;
  }
  return fail(errc::invalid_argument, "'{}' is not a blob file name", name);
}
}  // namespace

result<void> cache::recover() {
  // Downloads that were in progress when the process stopped: their data
  // was never verified, so it goes.
  auto partial = partial_entries(blobs_table);
  if (!partial) return fail(partial.error());
  for (const auto& text : *partial) {
    log_->warn("discarding unverified partial download of {} left by a previous run", text);
    if (auto d = digest::parse(text)) remove_blob(std::string(d->hex()));
    (void)delete_entry(blobs_table, text);
  }
  // Files without an index entry (crash between write and index update).
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(blobs_dir(), ec)) {
    auto name = entry.path().filename().string();
    auto d = digest_of_file(name);
    bool known = false;
    if (d) {
      auto s = db_.prepare("SELECT 1 FROM blobs WHERE digest = ?");
      if (s && s->bind(d->str()).step().value_or(false)) known = true;
    }
    if (!known) {
      log_->warn("removing stray cache file {}", entry.path().string());
      std::filesystem::remove_all(entry.path(), ec);
    }
  }
  if (auto r = recover_files(); !r) return r;
  auto total = db_.prepare(
      "SELECT (SELECT coalesce(sum(size), 0) FROM blobs) + (SELECT coalesce(sum(size), 0) FROM "
      "files)");
  if (!total) return fail(total.error());
  if (auto r = total->step(); !r) return fail(r.error());
  used_ = static_cast<std::uint64_t>(total->column_int(0));
  return {};
}

result<void> cache::recover_files() {
  // As for blobs: a torrent that was downloading when the process stopped
  // is dropped with its files.
  auto partial = partial_entries(files_table);
  if (!partial) return fail(partial.error());
  for (const auto& hex : *partial) {
    log_->warn("discarding the partial download of torrent {} left by a previous run", hex);
    remove_file_dir(hex);
    (void)delete_entry(files_table, hex);
  }
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(options_.dir / "files", ec)) {
    auto name = entry.path().filename().string();
    auto s = db_.prepare("SELECT 1 FROM files WHERE info_hash = ?");
    bool known = info_hash::from_hex(name) && s && s->bind(name).step().value_or(false);
    if (!known) {
      log_->warn("removing stray cache directory {}", entry.path().string());
      std::filesystem::remove_all(entry.path(), ec);
    }
  }
  return {};
}

result<std::optional<cached_blob>> cache::find_blob(const digest& d) {
  auto s = db_.cached(
      "SELECT size, torrent, file_size, inode, mtime_ns, ctime_ns FROM blobs "
      "WHERE digest = ? AND state = 'complete'");
  if (!s) return fail(s.error());
  auto row = (*s)->bind(d.str()).step();
  if (!row) return fail(row.error());
  if (!*row) return std::optional<cached_blob>{};
  auto& q = **s;
  cached_blob b{d,
                static_cast<std::uint64_t>(q.column_int(0)),
                std::string(q.column_blob(1)),
                {static_cast<std::uint64_t>(q.column_int(2)),
                 static_cast<std::uint64_t>(q.column_int(3)), q.column_int(4), q.column_int(5)}};
  q.reset();
  return std::optional<cached_blob>(std::move(b));
}

result<unique_fd> cache::open_blob(const cached_blob& b) {
  auto fd = open_file(blob_path(b.id), O_RDONLY);
  if (!fd) return fail(fd.error());
  auto id = identify(fd->get());
  if (!id) return fail(id.error());
  if (*id != b.identity || id->size != b.size) {
    return fail(errc::corrupt, "cached blob {} was modified after it was verified", b.id.str());
  }
  return fd;
}

result<void> cache::record_identity(const digest& d, const file_identity& id) {
  auto s = db_.prepare(
      "UPDATE blobs SET file_size = ?, inode = ?, mtime_ns = ?, ctime_ns = ? WHERE digest = ? AND "
      "state = 'complete'");
  if (!s) return fail(s.error());
  return s->bind(id.size, id.inode, id.mtime_ns, id.ctime_ns, d.str()).run();
}

result<void> cache::make_room(std::string_view what, std::uint64_t size) {
  enforce_quota(size);
  if (used_ + size > options_.quota) {
    return fail(errc::no_space, "cache quota {} cannot hold {} of {} bytes", options_.quota, what,
                size);
  }
  auto avail = available_space(blobs_dir());
  if (avail && *avail < size) {
    return fail(errc::no_space, "disk has {} bytes free, {} needs {}", *avail, what, size);
  }
  keep_reserve();
  return {};
}

result<void> cache::begin_blob(const digest& d, std::uint64_t size) {
  return begin_entry(blobs_table, d.str(), size, "blob " + d.str());
}

result<void> cache::begin_entry(const entry_table& t, const std::string& key, std::uint64_t size,
                                const std::string& what) {
  if (auto room = make_room(what, size); !room) return room;
  // A 'downloading' row may be left by an earlier download whose abort
  // could not delete it (a full disk refuses sqlite writes too); only one
  // download per key runs, so it is stale: take it over.
  auto s = db_.prepare(fmt::format(
      "INSERT INTO {0}({1}, size, state, created_at, last_access) "
      "VALUES (?, ?, 'downloading', ?, ?) "
      "ON CONFLICT({1}) DO UPDATE SET size = excluded.size, created_at = excluded.created_at, "
      "last_access = excluded.last_access WHERE {0}.state = 'downloading'",
      t.name, t.key));
  if (!s) return fail(s.error());
  auto now = now_s();
  if (auto r = s->bind(key, size, now, now).run(); !r) return r;
  if (db_.changes() != 1) return fail(errc::conflict, "{} is already cached", what);
  used_ += size;
  return {};
}

result<std::vector<std::string>> cache::partial_entries(const entry_table& t) {
  auto s = db_.prepare(fmt::format("SELECT {} FROM {} WHERE state = 'downloading'", t.key, t.name));
  if (!s) return fail(s.error());
  std::vector<std::string> out;
  while (true) {
    auto row = s->step();
    if (!row) return fail(row.error());
    if (!*row) break;
    out.emplace_back(s->column_text(0));
  }
  return out;
}

result<void> cache::delete_entry(const entry_table& t, const std::string& key) {
  auto del = db_.prepare(fmt::format("DELETE FROM {} WHERE {} = ?", t.name, t.key));
  return del ? del->bind(key).run() : result<void>(fail(del.error()));
}

void cache::drop_entry(const entry_table& t, const std::string& key,
                       const std::function<void()>& remove_data) {
  auto s = db_.prepare(fmt::format("SELECT size FROM {} WHERE {} = ?", t.name, t.key));
  if (s && s->bind(key).step().value_or(false)) {
    used_ -= std::min(used_, static_cast<std::uint64_t>(s->column_int(0)));
  }
  // The data first: on a full disk its space is what lets sqlite write
  // the deletion. A row without its data is harmless (a 'downloading' row
  // is dropped at start-up, a 'complete' one is a miss when served).
  remove_data();
  auto deleted = delete_entry(t, key);
  if (!deleted && deleted.error().code == errc::no_space && release_reserve()) {
    deleted = delete_entry(t, key);
  }
  if (!deleted) {
    // A 'downloading' row left behind is taken over by the next begin or
    // dropped at the next start.
    log_->warn("cannot remove {} from the index: {}", key, deleted.error().message);
  }
}

result<void> cache::commit_blob(const digest& d, std::string_view torrent) {
  auto fd = open_file(blob_path(d), O_RDONLY);
  if (!fd) return fail(fd.error());
  auto id = identify(fd->get());
  if (!id) return fail(id.error());
  auto s = db_.prepare(
      "UPDATE blobs SET state = 'complete', torrent = ?, file_size = ?, inode = ?, mtime_ns = ?, "
      "ctime_ns = ?, last_access = ? WHERE digest = ? AND state = 'downloading'");
  if (!s) return fail(s.error());
  if (auto r = s->bind(db::blob{torrent}, id->size, id->inode, id->mtime_ns, id->ctime_ns, now_s(),
                       d.str())
                   .run();
      !r) {
    return r;
  }
  if (db_.changes() != 1) return fail(errc::conflict, "blob {} was not being downloaded", d.str());
  return {};
}

result<void> cache::set_torrent(const digest& d, std::string_view torrent) {
  auto s = db_.prepare("UPDATE blobs SET torrent = ? WHERE digest = ? AND state = 'complete'");
  if (!s) return fail(s.error());
  return s->bind(db::blob{torrent}, d.str()).run();
}

void cache::abort_blob(const digest& d) {
  drop_entry(blobs_table, d.str(), [&] { remove_blob(std::string(d.hex())); });
  if (options_.on_remove) options_.on_remove(d);
}

void cache::keep_reserve() {
  if (reserve_held_) return;
  auto path = options_.dir / "space-reserve";
  auto fd = open_file(path, O_WRONLY | O_CREAT, 0600);
  if (!fd) return;
  if (::posix_fallocate(fd->get(), 0, reserve_bytes) == 0) {
    reserve_held_ = true;
  } else {
    std::error_code ec;
    std::filesystem::remove(path, ec);
  }
}

bool cache::release_reserve() {
  if (!reserve_held_) return false;
  reserve_held_ = false;
  std::error_code ec;
  std::filesystem::remove(options_.dir / "space-reserve", ec);
  log_->warn("the disk is full: released the index's reserved space to record a removal");
  return !ec;
}

void cache::touch_blob(const digest& d) {
  auto s = db_.cached("UPDATE blobs SET last_access = ? WHERE digest = ?");
  if (s) (void)(*s)->bind(now_s(), d.str()).run();
}

result<std::vector<cached_blob>> cache::complete_blobs() {
  auto s = db_.prepare(
      "SELECT digest, size, torrent, file_size, inode, mtime_ns, ctime_ns FROM blobs "
      "WHERE state = 'complete'");
  if (!s) return fail(s.error());
  std::vector<cached_blob> out;
  while (true) {
    auto row = s->step();
    if (!row) return fail(row.error());
    if (!*row) break;
    auto d = digest::parse(s->column_text(0));
    if (!d) continue;
    out.push_back(cached_blob{
        *d,
        static_cast<std::uint64_t>(s->column_int(1)),
        std::string(s->column_blob(2)),
        {static_cast<std::uint64_t>(s->column_int(3)), static_cast<std::uint64_t>(s->column_int(4)),
         s->column_int(5), s->column_int(6)}});
  }
  return out;
}

cache_lease cache::lease(const digest& d) {
  return lease_key(std::string(d.hex()));
}

// Blob leases are keyed by the digest's hex (64 or 128 characters), torrent
// leases by the v1 info-hash's (40): the two never collide.
cache_lease cache::lease_key(std::string hex) {
  ++leases_->counts[hex];
  return cache_lease(leases_, std::move(hex));
}

bool cache::leased(const std::string& hex) const {
  return leases_->counts.contains(hex);
}

void cache::remove_blob(const std::string& hex) {
  std::error_code ec;
  std::filesystem::remove(blobs_dir() / hex, ec);
}

std::uint64_t cache::enforce_quota(std::uint64_t incoming) {
  auto high =
      static_cast<std::uint64_t>(static_cast<double>(options_.quota) * options_.high_watermark);
  auto low =
      static_cast<std::uint64_t>(static_cast<double>(options_.quota) * options_.low_watermark);
  if (used_ + incoming <= high) return 0;
  auto target = incoming > low ? 0 : low - incoming;
  // Blobs and torrents fetched through /files, oldest access first.
  auto s = db_.prepare(
      "SELECT 0, digest, size, last_access FROM blobs WHERE state = 'complete' "
      "UNION ALL SELECT 1, info_hash, size, last_access FROM files WHERE state = 'complete' "
      "ORDER BY 4 ASC");
  if (!s) return 0;
  std::vector<std::pair<digest, std::uint64_t>> victims;
  std::vector<std::pair<info_hash, std::uint64_t>> file_victims;
  std::uint64_t projected = used_;
  while (projected > target) {
    auto row = s->step();
    if (!row || !*row) break;
    auto size = static_cast<std::uint64_t>(s->column_int(2));
    if (s->column_int(0) == 0) {
      auto d = digest::parse(s->column_text(1));
      if (!d || leased(std::string(d->hex()))) continue;
      victims.emplace_back(*d, size);
    } else {
      auto ih = info_hash::from_hex(s->column_text(1));
      if (!ih || leased(ih->hex())) continue;
      file_victims.emplace_back(*ih, size);
    }
    projected -= std::min(projected, size);
  }
  s->reset();
  std::uint64_t freed = 0;
  for (const auto& [d, size] : victims) {
    log_->info("evicting {} ({} bytes, least recently used)", d.str(), size);
    abort_blob(d);
    freed += size;
  }
  for (const auto& [ih, size] : file_victims) {
    log_->info("evicting torrent {} ({} bytes, least recently used)", ih.hex(), size);
    abort_file(ih);
    freed += size;
  }
  return freed;
}

std::filesystem::path cache::file_dir(const info_hash& ih) const {
  return options_.dir / "files" / ih.hex();
}

void cache::remove_file_dir(const std::string& hex) {
  std::error_code ec;
  std::filesystem::remove_all(options_.dir / "files" / hex, ec);
}

result<std::optional<cached_file>> cache::find_file(const info_hash& ih) {
  auto s = db_.cached(
      "SELECT size, torrent, verified_at_ns FROM files WHERE info_hash = ? AND state = "
      "'complete'");
  if (!s) return fail(s.error());
  auto row = (*s)->bind(ih.hex()).step();
  if (!row) return fail(row.error());
  if (!*row) return std::optional<cached_file>{};
  auto& q = **s;
  cached_file f{ih, static_cast<std::uint64_t>(q.column_int(0)), std::string(q.column_blob(1)),
                q.column_int(2)};
  q.reset();
  return std::optional<cached_file>(std::move(f));
}

result<void> cache::begin_file(const info_hash& ih, std::uint64_t size) {
  return begin_entry(files_table, ih.hex(), size, "torrent " + ih.hex());
}

result<void> cache::commit_file(const info_hash& ih, std::string_view torrent) {
  auto now_ns = std::chrono::duration_cast<std::chrono::nanoseconds>(
                    std::chrono::system_clock::now().time_since_epoch())
                    .count();
  auto s = db_.prepare(
      "UPDATE files SET state = 'complete', torrent = ?, verified_at_ns = ?, last_access = ? "
      "WHERE info_hash = ? AND state = 'downloading'");
  if (!s) return fail(s.error());
  if (auto r = s->bind(db::blob{torrent}, now_ns, now_s(), ih.hex()).run(); !r) return r;
  if (db_.changes() != 1) {
    return fail(errc::conflict, "torrent {} was not being downloaded", ih.hex());
  }
  return {};
}

void cache::abort_file(const info_hash& ih) {
  auto hex = ih.hex();
  drop_entry(files_table, hex, [&] { remove_file_dir(hex); });
  if (options_.on_remove_file) options_.on_remove_file(ih);
}

void cache::touch_file(const info_hash& ih) {
  auto s = db_.cached("UPDATE files SET last_access = ? WHERE info_hash = ?");
  if (s) (void)(*s)->bind(now_s(), ih.hex()).run();
}

result<std::vector<cached_file>> cache::complete_files() {
  auto s = db_.prepare(
      "SELECT info_hash, size, torrent, verified_at_ns FROM files WHERE state = 'complete'");
  if (!s) return fail(s.error());
  std::vector<cached_file> out;
  while (true) {
    auto row = s->step();
    if (!row) return fail(row.error());
    if (!*row) break;
    auto ih = info_hash::from_hex(s->column_text(0));
    if (!ih) continue;
    out.push_back(cached_file{*ih, static_cast<std::uint64_t>(s->column_int(1)),
                              std::string(s->column_blob(2)), s->column_int(3)});
  }
  return out;
}

cache_lease cache::lease_file(const info_hash& ih) {
  return lease_key(ih.hex());
}

result<void> cache::put_manifest(const cached_manifest& m) {
  if (auto w = write_file_atomic(options_.dir / "manifests" / std::string(m.id.hex()), m.bytes);
      !w) {
    return w;
  }
  auto s = db_.prepare(
      "INSERT OR REPLACE INTO manifests(digest, media_type, size, created_at) VALUES (?, ?, ?, ?)");
  if (!s) return fail(s.error());
  return s->bind(m.id.str(), m.media_type, m.bytes.size(), now_s()).run();
}

result<std::optional<cached_manifest>> cache::find_manifest(const digest& d) {
  auto s = db_.cached("SELECT media_type FROM manifests WHERE digest = ?");
  if (!s) return fail(s.error());
  auto row = (*s)->bind(d.str()).step();
  if (!row) return fail(row.error());
  if (!*row) return std::optional<cached_manifest>{};
  std::string media_type((*s)->column_text(0));
  (*s)->reset();
  auto bytes = read_file(options_.dir / "manifests" / std::string(d.hex()), 16ULL << 20);
  if (!bytes) return std::optional<cached_manifest>{};
  // Manifests are small: verify on every read.
  auto actual = digest::from_raw(d.algorithm(), hasher(d.algorithm()).update(*bytes).finish());
  if (!actual || *actual != d) {
    log_->error("CORRUPT CACHE ENTRY: manifest {} no longer matches its digest", d.str());
    return std::optional<cached_manifest>{};
  }
  return std::optional<cached_manifest>(
      cached_manifest{d, std::move(media_type), std::move(*bytes)});
}

result<void> cache::put_tag(std::string_view host, std::string_view name, std::string_view tag,
                            const cached_tag& t) {
  auto s = db_.prepare(
      "INSERT OR REPLACE INTO tags(host, name, tag, digest, media_type, size, fetched_at_ms) "
      "VALUES (?, ?, ?, ?, ?, ?, ?)");
  if (!s) return fail(s.error());
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(t.fetched_at.time_since_epoch());
  return s->bind(host, name, tag, t.id.str(), t.media_type, t.size, ms.count()).run();
}

result<std::optional<cached_tag>> cache::find_tag(std::string_view host, std::string_view name,
                                                  std::string_view tag) {
  auto s = db_.cached(
      "SELECT digest, media_type, size, fetched_at_ms FROM tags WHERE host = ? AND name = ? AND "
      "tag = ?");
  if (!s) return fail(s.error());
  auto row = (*s)->bind(host, name, tag).step();
  if (!row) return fail(row.error());
  if (!*row) return std::optional<cached_tag>{};
  auto& q = **s;
  auto d = digest::parse(q.column_text(0));
  if (!d) {
    q.reset();
    return std::optional<cached_tag>{};
  }
  cached_tag t{*d, std::string(q.column_text(1)), static_cast<std::uint64_t>(q.column_int(2)),
               std::chrono::system_clock::time_point(std::chrono::milliseconds(q.column_int(3)))};
  q.reset();
  return std::optional<cached_tag>(std::move(t));
}

}  // namespace blobswarm::mirror
