#include "seeder/url_index.hpp"

namespace blobswarm::seeder {
namespace {

const db::migration url_migrations[] = {
    {1, "files pulled from URLs",
     "CREATE TABLE urls ("
     " url TEXT PRIMARY KEY,"
     " digest TEXT NOT NULL,"
     " size INTEGER NOT NULL,"
     " etag TEXT NOT NULL DEFAULT '',"
     " last_modified TEXT NOT NULL DEFAULT '',"
     " fetched_ms INTEGER NOT NULL,"
     " checked_ms INTEGER NOT NULL);"},
};

}  // namespace

result<std::unique_ptr<url_index>> url_index::open(const std::filesystem::path& file) {
  auto db = db::database::open(file);
  if (!db) return fail(db.error());
  if (auto m = db->migrate(url_migrations); !m) return fail(m.error());
  return std::unique_ptr<url_index>(new url_index(std::move(*db)));
}

result<std::optional<url_record>> url_index::find(const std::string& url) const {
  std::lock_guard lock(mutex_);
  auto s = db_.cached(
      "SELECT digest, size, etag, last_modified, fetched_ms, checked_ms FROM urls WHERE url = ?");
  if (!s) return fail(s.error());
  auto row = (*s)->bind(url).step();
  if (!row) return fail(row.error());
  if (!*row) return std::optional<url_record>{};
  auto& q = **s;
  auto d = digest::parse(q.column_text(0));
  if (!d) {
    q.reset();
    return std::optional<url_record>{};
  }
  url_record r{url,
               *d,
               static_cast<std::uint64_t>(q.column_int(1)),
               std::string(q.column_text(2)),
               std::string(q.column_text(3)),
               q.column_int(4),
               q.column_int(5)};
  q.reset();
  return std::optional<url_record>(std::move(r));
}

result<void> url_index::put(const url_record& r) {
  std::lock_guard lock(mutex_);
  auto s = db_.cached(
      "INSERT OR REPLACE INTO urls (url, digest, size, etag, last_modified, fetched_ms, "
      "checked_ms) VALUES (?, ?, ?, ?, ?, ?, ?)");
  if (!s) return fail(s.error());
  return (*s)
      ->bind(r.url, r.digest.str(), r.size, r.etag, r.last_modified, r.fetched_ms, r.checked_ms)
      .run();
}

result<void> url_index::confirm(const std::string& url, std::int64_t now_ms) {
  std::lock_guard lock(mutex_);
  auto s = db_.cached("UPDATE urls SET checked_ms = ? WHERE url = ?");
  if (!s) return fail(s.error());
  return (*s)->bind(now_ms, url).run();
}

std::size_t url_index::count() const {
  std::lock_guard lock(mutex_);
  auto s = db_.cached("SELECT count(*) FROM urls");
  if (!s) return 0;
  auto row = (*s)->step();
  std::size_t n = row && *row ? static_cast<std::size_t>((*s)->column_int(0)) : 0;
  (*s)->reset();
  return n;
}

}  // namespace blobswarm::seeder
