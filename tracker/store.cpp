#include "tracker/store.hpp"

#include "db/postgres.hpp"
#include "tracker/pg_store.hpp"
#include "tracker/sqlite_store.hpp"

namespace blobswarm::tracker {

result<registration_keys> keys_of(const new_torrent& t) {
  if (!t.v1 && !t.v2) return fail(errc::invalid_argument, "torrent has no info-hash");
  if (t.segment && !t.blob) {
    return fail(errc::invalid_argument, "a segment torrent needs the blob's digest");
  }
  registration_keys k;
  k.primary = t.v1 ? swarm_key::from(t.v1->raw()) : swarm_key::from(t.v2->raw());
  if (t.v1 && t.v2) k.alias = swarm_key::from(t.v2->raw());
  k.lookup = t.v1 ? &*t.v1 : &*t.v2;
  return k;
}

result<registration_step> plan_registration(const new_torrent& t,
                                            const std::optional<torrent_row>& existing,
                                            const blob_torrents& blob) {
  if (existing) {
    bool same_place = existing->blob == t.blob && existing->segment == t.segment;
    // The same file pulled from another URL (or first told its URL): record it.
    bool new_source = t.details.source_url && t.details.source_url != existing->source_url;
    if (same_place && new_source) return registration_step::update;
    if (same_place || (!t.blob && !t.segment)) return registration_step::keep;
    if (existing->blob) {
      return fail(errc::conflict, "torrent {} is already registered",
                  describe_placement(*existing));
    }
    // Registered without a digest before: file it under the digest now.
  }
  if (t.blob) {
    if (!t.segment && blob.whole) {
      return fail(errc::conflict, "blob {} already has a different whole torrent {}", t.blob->str(),
                  describe_placement(*blob.whole));
    }
    if (t.segment) {
      for (const auto& s : blob.segments) {
        if (s.segment == t.segment) {
          return fail(errc::conflict, "segment {} of blob {} already has a different torrent {}",
                      *t.segment, t.blob->str(), describe_placement(s));
        }
      }
    }
  }
  return existing ? registration_step::update : registration_step::insert;
}

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
