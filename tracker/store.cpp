#include "tracker/store.hpp"

#include "db/postgres.hpp"
#include "tracker/pg_store.hpp"
#include "tracker/sqlite_store.hpp"

namespace blobswarm::tracker {

std::string describe_placement(const torrent_row& r) {
  std::string where = r.blob ? r.blob->str() : std::string("no digest");
  if (r.segment) where += fmt::format(" segment {}", *r.segment);
  return fmt::format("{} ({})", r.v1 ? r.v1->hex() : r.v2->hex(), where);
}

std::optional<std::string> like_pattern(const torrent_filter& f) {
  if (f.text.empty()) return std::nullopt;
  std::string p = "%";
  for (char c : f.text) {
    if (c == '%' || c == '_' || c == '\\') p += '\\';
    p += c;
  }
  return p + "%";
}

result<std::unique_ptr<store>> open_store(const std::string& db, const store_options& o) {
  if (db::is_postgres_url(db)) {
    auto s = pg_store::open(db, o);
    if (!s) return fail(s.error());
    return std::unique_ptr<store>(std::move(*s));
  }
  auto s = sqlite_store::open(db);
  if (!s) return fail(s.error());
  return std::unique_ptr<store>(std::move(*s));
}

}  // namespace blobswarm::tracker
