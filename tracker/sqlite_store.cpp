#include "tracker/sqlite_store.hpp"

namespace blobswarm::tracker {
namespace {

constexpr db::migration migrations[] = {
    {1, "users, torrents, counters", R"sql(
CREATE TABLE users (
  id            INTEGER PRIMARY KEY,
  name          TEXT NOT NULL UNIQUE,
  passkey_hash  BLOB NOT NULL UNIQUE,   -- SHA-256 of the passkey; the passkey is never stored
  password_hash TEXT,                   -- web UI sign-in (issue 5); NULL: cannot sign in
  created_at    INTEGER NOT NULL,
  uploaded      INTEGER NOT NULL DEFAULT 0,
  downloaded    INTEGER NOT NULL DEFAULT 0,
  completed     INTEGER NOT NULL DEFAULT 0,
  announces     INTEGER NOT NULL DEFAULT 0,
  last_announce INTEGER
);
CREATE TABLE torrents (
  id           INTEGER PRIMARY KEY,
  info_hash_v1 BLOB UNIQUE,
  info_hash_v2 BLOB UNIQUE,
  swarm_key    BLOB NOT NULL UNIQUE,    -- v1 hash, or truncated v2 of a v2-only torrent
  alias_key    BLOB UNIQUE,             -- truncated v2 of a hybrid torrent
  name         TEXT NOT NULL,
  size         INTEGER NOT NULL,
  piece_length INTEGER NOT NULL,
  private      INTEGER NOT NULL,
  digest       TEXT,
  segment      INTEGER,
  torrent      BLOB NOT NULL,           -- the .torrent as registered
  created_at   INTEGER NOT NULL,
  uploaded     INTEGER NOT NULL DEFAULT 0,
  downloaded   INTEGER NOT NULL DEFAULT 0,
  completed    INTEGER NOT NULL DEFAULT 0,
  CHECK (segment IS NULL OR (digest IS NOT NULL AND segment >= 0))
);
CREATE UNIQUE INDEX torrents_whole_blob ON torrents(digest)
  WHERE digest IS NOT NULL AND segment IS NULL;
CREATE UNIQUE INDEX torrents_blob_segment ON torrents(digest, segment)
  WHERE segment IS NOT NULL;
)sql"},
    {2, "web UI: sealed passkeys, torrent repository and uploader", R"sql(
ALTER TABLE users ADD COLUMN sealed_passkey BLOB;  -- AES-256-GCM (passkey_vault); NULL: not on record
ALTER TABLE torrents ADD COLUMN repository TEXT;   -- where a blob was pulled from, when told
ALTER TABLE torrents ADD COLUMN uploaded_by TEXT;  -- user who uploaded it in the web UI
CREATE INDEX torrents_created ON torrents(created_at);
)sql"},
    {3, "web UI sessions (kept here when the store is shared)", R"sql(
CREATE TABLE sessions (
  id_hash    BLOB PRIMARY KEY,          -- SHA-256 of the cookie value
  user_id    INTEGER NOT NULL,          -- 0: the admin
  name       TEXT NOT NULL,
  admin      INTEGER NOT NULL,
  csrf       TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  last_used  INTEGER NOT NULL
);
CREATE INDEX sessions_user ON sessions(user_id);
)sql"},
    {4, "files pulled from URLs", R"sql(
ALTER TABLE torrents ADD COLUMN source_url TEXT;  -- the URL a seeder pulled the file from
)sql"},
};

constexpr std::string_view torrent_columns =
    "id, info_hash_v1, info_hash_v2, swarm_key, alias_key, name, size, piece_length, private, "
    "digest, segment, created_at, uploaded, downloaded, completed, repository, uploaded_by, "
    "source_url";

constexpr std::string_view user_columns =
    "id, name, created_at, uploaded, downloaded, completed, announces, last_announce, "
    "password_hash IS NOT NULL, sealed_passkey IS NOT NULL";

std::optional<std::string> text_or_null(const db::statement& s, int i) {
  if (s.column_is_null(i)) return std::nullopt;
  return std::string(s.column_text(i));
}

std::uint64_t u64(const db::statement& s, int i) {
  return static_cast<std::uint64_t>(s.column_int(i));
}

torrent_row read_torrent(const db::statement& s) {
  torrent_row r;
  r.id = s.column_int(0);
  if (!s.column_is_null(1)) {
    if (auto h = info_hash::from_raw(s.column_blob(1))) r.v1 = *h;
  }
  if (!s.column_is_null(2)) {
    if (auto h = info_hash::from_raw(s.column_blob(2))) r.v2 = *h;
  }
  r.primary = swarm_key::from(s.column_blob(3));
  if (!s.column_is_null(4)) r.alias = swarm_key::from(s.column_blob(4));
  r.name = std::string(s.column_text(5));
  r.size = u64(s, 6);
  r.piece_length = u64(s, 7);
  r.is_private = s.column_int(8) != 0;
  if (!s.column_is_null(9)) {
    if (auto d = digest::parse(s.column_text(9))) r.blob = *d;
  }
  r.segment = s.column_int_or_null(10);
  r.created_at = s.column_int(11);
  r.uploaded = u64(s, 12);
  r.downloaded = u64(s, 13);
  r.completed = u64(s, 14);
  r.repository = text_or_null(s, 15);
  r.uploaded_by = text_or_null(s, 16);
  r.source_url = text_or_null(s, 17);
  return r;
}

user_row read_user(const db::statement& s) {
  user_row u;
  u.id = s.column_int(0);
  u.name = std::string(s.column_text(1));
  u.created_at = s.column_int(2);
  u.uploaded = u64(s, 3);
  u.downloaded = u64(s, 4);
  u.completed = u64(s, 5);
  u.announces = u64(s, 6);
  u.last_announce = s.column_int_or_null(7);
  u.has_password = s.column_int(8) != 0;
  u.passkey_on_record = s.column_int(9) != 0;
  return u;
}

std::optional<db::blob> blob_of(const std::optional<info_hash>& h) {
  if (!h) return std::nullopt;
  return db::blob{h->raw()};
}

}  // namespace

result<std::unique_ptr<sqlite_store>> sqlite_store::open(const std::filesystem::path& path) {
  auto db = db::database::open(path);
  if (!db) return fail(db.error());
  if (auto m = db->migrate(migrations); !m) return fail(m.error());
  return std::unique_ptr<sqlite_store>(new sqlite_store(std::move(*db)));
}

// --- users -----------------------------------------------------------------

result<std::vector<user_key_row>> sqlite_store::load_user_keys() {
  auto s = db_.prepare("SELECT id, name, passkey_hash FROM users");
  if (!s) return fail(s.error());
  std::vector<user_key_row> out;
  while (true) {
    auto row = s->step();
    if (!row) return fail(row.error());
    if (!*row) break;
    out.push_back(
        {s->column_int(0), std::string(s->column_text(1)), passkey_hash::from(s->column_blob(2))});
  }
  return out;
}

result<user_key_row> sqlite_store::find_user_key(std::int64_t id) {
  auto s = db_.cached("SELECT id, name, passkey_hash FROM users WHERE id = ?");
  if (!s) return fail(s.error());
  auto row = (*s)->bind(id).step();
  if (!row) return fail(row.error());
  if (!*row) return fail(errc::not_found, "user {} does not exist", id);
  user_key_row k{(*s)->column_int(0), std::string((*s)->column_text(1)),
                 passkey_hash::from((*s)->column_blob(2))};
  (*s)->reset();
  return k;
}

result<user_row> sqlite_store::find_user(std::string_view name) {
  auto s = db_.cached(fmt::format("SELECT {} FROM users WHERE name = ?", user_columns));
  if (!s) return fail(s.error());
  auto row = (*s)->bind(name).step();
  if (!row) return fail(row.error());
  if (!*row) return fail(errc::not_found, "user '{}' does not exist", name);
  auto u = read_user(**s);
  (*s)->reset();
  return u;
}

result<user_row> sqlite_store::create_user(std::string_view name, const passkey_hash& key,
                                           std::int64_t now) {
  auto tx = db::transaction::begin(db_);
  if (!tx) return fail(tx.error());
  if (auto existing = find_user(name)) {
    return fail(errc::conflict, "user '{}' already exists", name);
  } else if (existing.error().code != errc::not_found) {
    return fail(existing.error());
  }
  auto s = db_.cached("INSERT INTO users(name, passkey_hash, created_at) VALUES (?, ?, ?)");
  if (!s) return fail(s.error());
  if (auto r = (*s)->bind(name, db::blob{key.view()}, now).run(); !r) return fail(r.error());
  auto u = find_user(name);
  if (!u) return u;
  if (auto c = tx->commit(); !c) return fail(c.error());
  return u;
}

result<user_row> sqlite_store::set_passkey(std::string_view name, const passkey_hash& key) {
  auto s = db_.cached("UPDATE users SET passkey_hash = ? WHERE name = ?");
  if (!s) return fail(s.error());
  if (auto r = (*s)->bind(db::blob{key.view()}, name).run(); !r) return fail(r.error());
  if (db_.changes() == 0) return fail(errc::not_found, "user '{}' does not exist", name);
  return find_user(name);
}

result<user_row> sqlite_store::delete_user(std::string_view name) {
  auto u = find_user(name);
  if (!u) return u;
  auto s = db_.cached("DELETE FROM users WHERE id = ?");
  if (!s) return fail(s.error());
  if (auto r = (*s)->bind(u->id).run(); !r) return fail(r.error());
  return u;
}

result<std::vector<user_row>> sqlite_store::list_users() {
  auto s = db_.prepare(fmt::format("SELECT {} FROM users ORDER BY name", user_columns));
  if (!s) return fail(s.error());
  std::vector<user_row> out;
  while (true) {
    auto row = s->step();
    if (!row) return fail(row.error());
    if (!*row) break;
    out.push_back(read_user(*s));
  }
  return out;
}

// --- torrents --------------------------------------------------------------

namespace {
result<std::vector<torrent_row>> collect(db::statement& s) {
  std::vector<torrent_row> out;
  while (true) {
    auto row = s.step();
    if (!row) return fail(row.error());
    if (!*row) break;
    out.push_back(read_torrent(s));
  }
  s.reset();
  return out;
}
}  // namespace

result<std::vector<torrent_row>> sqlite_store::load_torrents() {
  auto s = db_.prepare(fmt::format("SELECT {} FROM torrents ORDER BY id", torrent_columns));
  if (!s) return fail(s.error());
  return collect(*s);
}

result<torrent_row> sqlite_store::find_torrent(const info_hash& h) {
  auto sql = h.is_v1()
                 ? fmt::format(
                       "SELECT {} FROM torrents WHERE swarm_key = ?1 OR "
                       "alias_key = ?1",
                       torrent_columns)
                 : fmt::format("SELECT {} FROM torrents WHERE info_hash_v2 = ?1", torrent_columns);
  auto s = db_.cached(sql);
  if (!s) return fail(s.error());
  auto rows = collect((*s)->bind(db::blob{h.raw()}));
  if (!rows) return fail(rows.error());
  if (rows->empty()) return fail(errc::not_found, "torrent {} is not registered", h.hex());
  return std::move(rows->front());
}

result<std::string> sqlite_store::torrent_bytes(std::int64_t id) {
  auto s = db_.cached("SELECT torrent FROM torrents WHERE id = ?");
  if (!s) return fail(s.error());
  auto row = (*s)->bind(id).step();
  if (!row) return fail(row.error());
  if (!*row) return fail(errc::not_found, "torrent {} is gone", id);
  std::string bytes((*s)->column_blob(0));
  (*s)->reset();
  return bytes;
}

result<blob_torrents> sqlite_store::find_blob(const digest& d) {
  auto s = db_.cached(
      fmt::format("SELECT {} FROM torrents WHERE digest = ? ORDER BY segment IS NOT NULL, segment",
                  torrent_columns));
  if (!s) return fail(s.error());
  auto rows = collect((*s)->bind(d.str()));
  if (!rows) return fail(rows.error());
  blob_torrents out;
  for (auto& r : *rows) {
    if (r.segment) {
      out.segments.push_back(std::move(r));
    } else {
      out.whole = std::move(r);
    }
  }
  return out;
}

result<std::optional<torrent_row>> sqlite_store::find_segment(const digest& d,
                                                              std::int64_t segment) {
  auto s = db_.cached(
      fmt::format("SELECT {} FROM torrents WHERE digest = ? AND segment = ?", torrent_columns));
  if (!s) return fail(s.error());
  auto rows = collect((*s)->bind(d.str(), segment));
  if (!rows) return fail(rows.error());
  if (rows->empty()) return std::optional<torrent_row>{};
  return std::optional<torrent_row>(std::move(rows->front()));
}

result<std::vector<torrent_row>> sqlite_store::list_torrents(std::int64_t after,
                                                             std::size_t limit) {
  auto s = db_.cached(
      fmt::format("SELECT {} FROM torrents WHERE id > ? ORDER BY id LIMIT ?", torrent_columns));
  if (!s) return fail(s.error());
  return collect((*s)->bind(after, static_cast<std::int64_t>(limit)));
}

result<void> sqlite_store::delete_torrent(const torrent_row& t) {
  auto s = db_.cached("DELETE FROM torrents WHERE id = ?");
  if (!s) return fail(s.error());
  return (*s)->bind(t.id).run();
}

result<torrent_row> sqlite_store::find_torrent_by_id(std::int64_t id) {
  auto s = db_.cached(fmt::format("SELECT {} FROM torrents WHERE id = ?", torrent_columns));
  if (!s) return fail(s.error());
  auto rows = collect((*s)->bind(id));
  if (!rows) return fail(rows.error());
  if (rows->empty()) return fail(errc::not_found, "torrent {} is not registered", id);
  return std::move(rows->front());
}

result<std::vector<std::pair<std::int64_t, std::uint64_t>>> sqlite_store::completions() {
  auto s = db_.prepare("SELECT id, completed FROM torrents");
  if (!s) return fail(s.error());
  std::vector<std::pair<std::int64_t, std::uint64_t>> out;
  while (true) {
    auto row = s->step();
    if (!row) return fail(row.error());
    if (!*row) break;
    out.emplace_back(s->column_int(0), u64(*s, 1));
  }
  return out;
}

result<std::unique_ptr<store_listener>> sqlite_store::listen() {
  return fail(errc::unsupported, "an sqlite store is not shared: there is no change feed");
}

result<registration_outcome> sqlite_store::register_torrent(const new_torrent& t) {
  auto keys = keys_of(t);
  if (!keys) return fail(keys.error());
  auto tx = db::transaction::begin(db_);
  if (!tx) return fail(tx.error());
  auto found = find_torrent(*keys->lookup);
  if (!found && found.error().code != errc::not_found) return fail(found.error());
  std::optional<torrent_row> existing;
  if (found) existing = std::move(*found);
  blob_torrents blob;
  if (t.blob) {
    auto b = find_blob(*t.blob);
    if (!b) return fail(b.error());
    blob = std::move(*b);
  }
  auto step = plan_registration(t, existing, blob);
  if (!step) return fail(step.error());
  if (*step == registration_step::keep) return registration_outcome{std::move(*existing), false};
  auto primary = keys->primary;
  auto alias = keys->alias;
  if (existing) {
    auto s = db_.cached(
        "UPDATE torrents SET digest = ?, segment = ?, repository = coalesce(?, repository), "
        "source_url = coalesce(?, source_url) WHERE id = ?");
    if (!s) return fail(s.error());
    if (auto r = (*s)->bind(t.blob->str(), t.segment, t.details.repository, t.details.source_url,
                            existing->id)
                     .run();
        !r)
      return fail(r.error());
  } else {
    auto s = db_.cached(
        "INSERT INTO torrents(info_hash_v1, info_hash_v2, swarm_key, alias_key, name, size, "
        "piece_length, private, digest, segment, torrent, created_at, repository, uploaded_by, "
        "source_url) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");
    if (!s) return fail(s.error());
    std::optional<std::string> digest_text;
    if (t.blob) digest_text = t.blob->str();
    std::optional<db::blob> alias_blob;
    if (alias) alias_blob = db::blob{alias->view()};
    auto r =
        (*s)->bind(blob_of(t.v1), blob_of(t.v2), db::blob{primary.view()}, alias_blob, t.name,
                   t.size, t.piece_length, t.is_private, digest_text, t.segment, db::blob{t.bytes},
                   t.now, t.details.repository, t.details.uploaded_by, t.details.source_url)
            .run();
    if (!r) return fail(r.error());
  }
  auto row = find_torrent(*keys->lookup);
  if (!row) return fail(row.error());
  if (auto c = tx->commit(); !c) return fail(c.error());
  return registration_outcome{std::move(*row), true};
}

result<void> sqlite_store::add_stats(
    const std::vector<torrent_stats_delta>& torrents,
    const std::vector<std::pair<std::uint32_t, user_pending>>& users) {
  if (torrents.empty() && users.empty()) return {};
  auto tx = db::transaction::begin(db_);
  if (!tx) return fail(tx.error());
  auto ts = db_.cached(
      "UPDATE torrents SET uploaded = uploaded + ?, downloaded = downloaded + ?, "
      "completed = completed + ? WHERE id = ?");
  if (!ts) return fail(ts.error());
  for (const auto& d : torrents) {
    if (auto r = (*ts)->bind(d.uploaded, d.downloaded, d.completed, d.torrent_id).run(); !r) {
      return fail(r.error());
    }
  }
  auto us = db_.cached(
      "UPDATE users SET uploaded = uploaded + ?, downloaded = downloaded + ?, "
      "completed = completed + ?, announces = announces + ?, "
      "last_announce = max(coalesce(last_announce, 0), ?) WHERE id = ?");
  if (!us) return fail(us.error());
  for (const auto& [id, d] : users) {
    if (auto r = (*us)
                     ->bind(d.uploaded, d.downloaded, d.completed, d.announces,
                            static_cast<std::int64_t>(d.last_announce), id)
                     .run();
        !r) {
      return fail(r.error());
    }
  }
  return tx->commit();
}

// --- web UI: credentials, sealed passkeys, search ---------------------------

result<user_credentials> sqlite_store::find_credentials(std::string_view name) {
  auto s = db_.cached("SELECT id, name, password_hash FROM users WHERE name = ?");
  if (!s) return fail(s.error());
  auto row = (*s)->bind(name).step();
  if (!row) return fail(row.error());
  if (!*row) return fail(errc::not_found, "user '{}' does not exist", name);
  user_credentials c{(*s)->column_int(0), std::string((*s)->column_text(1)), text_or_null(**s, 2)};
  (*s)->reset();
  return c;
}

result<user_row> sqlite_store::set_password_hash(std::string_view name,
                                                 const std::optional<std::string>& hash) {
  auto s = db_.cached("UPDATE users SET password_hash = ? WHERE name = ?");
  if (!s) return fail(s.error());
  if (auto r = (*s)->bind(hash, name).run(); !r) return fail(r.error());
  if (db_.changes() == 0) return fail(errc::not_found, "user '{}' does not exist", name);
  return find_user(name);
}

result<void> sqlite_store::set_sealed_passkey(std::int64_t id,
                                              const std::optional<std::string>& sealed) {
  auto s = db_.cached("UPDATE users SET sealed_passkey = ? WHERE id = ?");
  if (!s) return fail(s.error());
  std::optional<db::blob> b;
  if (sealed) b = db::blob{*sealed};
  return (*s)->bind(b, id).run();
}

result<std::optional<std::string>> sqlite_store::sealed_passkey(std::int64_t id) {
  auto s = db_.cached("SELECT sealed_passkey FROM users WHERE id = ?");
  if (!s) return fail(s.error());
  auto row = (*s)->bind(id).step();
  if (!row) return fail(row.error());
  if (!*row) return fail(errc::not_found, "user {} does not exist", id);
  std::optional<std::string> out;
  if (!(*s)->column_is_null(0)) out = std::string((*s)->column_blob(0));
  (*s)->reset();
  return out;
}

// --- web UI sessions -------------------------------------------------------

result<void> sqlite_store::insert_session(const session_row& r) {
  auto s = db_.cached(
      "INSERT INTO sessions(id_hash, user_id, name, admin, csrf, created_at, last_used) "
      "VALUES (?, ?, ?, ?, ?, ?, ?)");
  if (!s) return fail(s.error());
  return (*s)
      ->bind(db::blob{r.id_hash.view()}, r.user_id, r.name, r.admin, r.csrf, r.created, r.last_used)
      .run();
}

result<std::optional<session_row>> sqlite_store::find_session(const passkey_hash& id_hash) {
  auto s = db_.cached(
      "SELECT user_id, name, admin, csrf, created_at, last_used FROM sessions WHERE id_hash = ?");
  if (!s) return fail(s.error());
  auto row = (*s)->bind(db::blob{id_hash.view()}).step();
  if (!row) return fail(row.error());
  if (!*row) return std::optional<session_row>{};
  session_row r;
  r.id_hash = id_hash;
  r.user_id = static_cast<std::uint32_t>((*s)->column_int(0));
  r.name = std::string((*s)->column_text(1));
  r.admin = (*s)->column_int(2) != 0;
  r.csrf = std::string((*s)->column_text(3));
  r.created = static_cast<std::uint32_t>((*s)->column_int(4));
  r.last_used = static_cast<std::uint32_t>((*s)->column_int(5));
  (*s)->reset();
  return std::optional<session_row>(std::move(r));
}

result<void> sqlite_store::touch_session(const passkey_hash& id_hash, std::uint32_t now) {
  auto s = db_.cached("UPDATE sessions SET last_used = max(last_used, ?) WHERE id_hash = ?");
  if (!s) return fail(s.error());
  return (*s)->bind(now, db::blob{id_hash.view()}).run();
}

result<void> sqlite_store::delete_session(const passkey_hash& id_hash) {
  auto s = db_.cached("DELETE FROM sessions WHERE id_hash = ?");
  if (!s) return fail(s.error());
  return (*s)->bind(db::blob{id_hash.view()}).run();
}

result<std::size_t> sqlite_store::delete_user_sessions(std::uint32_t user_id) {
  auto s = db_.cached("DELETE FROM sessions WHERE user_id = ? AND admin = 0");
  if (!s) return fail(s.error());
  if (auto r = (*s)->bind(user_id).run(); !r) return fail(r.error());
  return static_cast<std::size_t>(db_.changes());
}

result<std::size_t> sqlite_store::purge_sessions(std::uint32_t created_before,
                                                 std::uint32_t used_before) {
  auto s = db_.cached("DELETE FROM sessions WHERE created_at < ? OR last_used < ?");
  if (!s) return fail(s.error());
  if (auto r = (*s)->bind(created_before, used_before).run(); !r) return fail(r.error());
  return static_cast<std::size_t>(db_.changes());
}

result<std::size_t> sqlite_store::count_sessions() {
  auto s = db_.cached("SELECT count(*) FROM sessions");
  if (!s) return fail(s.error());
  auto row = (*s)->bind().step();
  if (!row) return fail(row.error());
  auto n = static_cast<std::size_t>((*s)->column_int(0));
  (*s)->reset();
  return n;
}

result<std::size_t> sqlite_store::trim_sessions(std::size_t keep) {
  auto s = db_.cached(
      "DELETE FROM sessions WHERE id_hash IN (SELECT id_hash FROM sessions ORDER BY last_used "
      "LIMIT max(0, (SELECT count(*) FROM sessions) - ?))");
  if (!s) return fail(s.error());
  if (auto r = (*s)->bind(static_cast<std::int64_t>(keep)).run(); !r) return fail(r.error());
  return static_cast<std::size_t>(db_.changes());
}

namespace {

// A WHERE clause for a filter; ?1 is the LIKE pattern (bound even when unused).
std::string where_of(const torrent_filter& f) {
  std::string w = "WHERE 1";
  if (!f.text.empty()) {
    w += " AND (name LIKE ?1 ESCAPE '\\' OR digest LIKE ?1 ESCAPE '\\' OR "
         "hex(info_hash_v1) LIKE ?1 ESCAPE '\\' OR hex(info_hash_v2) LIKE ?1 ESCAPE '\\' OR "
         "repository LIKE ?1 ESCAPE '\\' OR uploaded_by LIKE ?1 ESCAPE '\\' OR "
         "source_url LIKE ?1 ESCAPE '\\')";
  } else {
    w += " AND ?1 IS NULL";
  }
  if (f.what == torrent_filter::kind::blobs) w += " AND digest IS NOT NULL AND source_url IS NULL";
  if (f.what == torrent_filter::kind::files) w += " AND (digest IS NULL OR source_url IS NOT NULL)";
  return w;
}

std::string_view order_column(std::string_view order) {
  if (order == "name") return "name COLLATE NOCASE";
  if (order == "size") return "size";
  return "created_at";
}

}  // namespace

result<std::vector<torrent_row>> sqlite_store::search_torrents(const torrent_filter& f,
                                                               std::string_view order,
                                                               bool descending, std::size_t offset,
                                                               std::size_t limit) {
  if (!known_order(order)) return fail(errc::invalid_argument, "unknown order '{}'", order);
  auto dir = descending ? "DESC" : "ASC";
  auto s =
      db_.cached(fmt::format("SELECT {} FROM torrents {} ORDER BY {} {}, id {} LIMIT ?2 OFFSET ?3",
                             torrent_columns, where_of(f), order_column(order), dir, dir));
  if (!s) return fail(s.error());
  return collect((*s)->bind(like_pattern(f), static_cast<std::int64_t>(limit),
                            static_cast<std::int64_t>(offset)));
}

result<std::vector<std::pair<std::int64_t, swarm_key>>> sqlite_store::search_keys(
    const torrent_filter& f) {
  auto s =
      db_.cached(fmt::format("SELECT id, swarm_key FROM torrents {} ORDER BY id", where_of(f)));
  if (!s) return fail(s.error());
  (*s)->bind(like_pattern(f));
  std::vector<std::pair<std::int64_t, swarm_key>> out;
  while (true) {
    auto row = (*s)->step();
    if (!row) return fail(row.error());
    if (!*row) break;
    out.emplace_back((*s)->column_int(0), swarm_key::from((*s)->column_blob(1)));
  }
  (*s)->reset();
  return out;
}

result<std::vector<torrent_row>> sqlite_store::find_torrents(const std::vector<std::int64_t>& ids) {
  auto s = db_.cached(fmt::format("SELECT {} FROM torrents WHERE id = ?", torrent_columns));
  if (!s) return fail(s.error());
  std::vector<torrent_row> out;
  for (auto id : ids) {
    auto rows = collect((*s)->bind(id));
    if (!rows) return fail(rows.error());
    for (auto& r : *rows) out.push_back(std::move(r));
  }
  return out;
}

result<std::uint64_t> sqlite_store::count_torrents(const torrent_filter& f) {
  auto s = db_.cached(fmt::format("SELECT count(*) FROM torrents {}", where_of(f)));
  if (!s) return fail(s.error());
  auto row = (*s)->bind(like_pattern(f)).step();
  if (!row) return fail(row.error());
  auto n = static_cast<std::uint64_t>((*s)->column_int(0));
  (*s)->reset();
  return n;
}

result<catalog_totals> sqlite_store::totals() {
  auto s = db_.cached(
      "SELECT count(*), "
      "coalesce(sum(digest IS NOT NULL AND segment IS NULL AND source_url IS NULL), 0), "
      "coalesce(sum(segment IS NOT NULL), 0), "
      "coalesce(sum(digest IS NULL OR source_url IS NOT NULL), 0), "
      "coalesce(sum(size), 0), coalesce(sum(uploaded), 0), coalesce(sum(downloaded), 0), "
      "coalesce(sum(completed), 0), (SELECT count(*) FROM users) FROM torrents");
  if (!s) return fail(s.error());
  auto row = (*s)->bind().step();
  if (!row) return fail(row.error());
  catalog_totals t;
  t.torrents = u64(**s, 0);
  t.blobs = u64(**s, 1);
  t.segments = u64(**s, 2);
  t.files = u64(**s, 3);
  t.size = u64(**s, 4);
  t.uploaded = u64(**s, 5);
  t.downloaded = u64(**s, 6);
  t.completed = u64(**s, 7);
  t.users = u64(**s, 8);
  (*s)->reset();
  return t;
}

}  // namespace blobswarm::tracker
