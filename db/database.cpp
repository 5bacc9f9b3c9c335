#include "db/database.hpp"

#include <sqlite3.h>

namespace blobswarm::db {

error sqlite_error(int code, std::string_view what, sqlite3* db) {
  errc e = errc::io;
  std::string hint;
  switch (code & 0xff) {
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
      e = errc::unavailable;
      hint = " (another process holds a lock on the database)";
      break;
    case SQLITE_READONLY:
    case SQLITE_PERM:
    case SQLITE_AUTH:
      e = errc::forbidden;
      break;
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB:
      e = errc::corrupt;
      hint = " (the file is damaged or not an sqlite database; restore it from a backup)";
      break;
    case SQLITE_FULL:
      e = errc::no_space;
      break;
    case SQLITE_CONSTRAINT:
      e = errc::conflict;
      break;
    case SQLITE_CANTOPEN:
      e = errc::not_found;
      break;
    case SQLITE_TOOBIG:
      e = errc::too_large;
      break;
    case SQLITE_MISUSE:
    case SQLITE_RANGE:
    case SQLITE_ERROR:
      e = errc::internal;
      break;
    default:
      break;
  }
  const char* msg = db ? sqlite3_errmsg(db) : sqlite3_errstr(code);
  return error{e, fmt::format("{}: {}{}", what, msg, hint)};
}

// --- statement -------------------------------------------------------------

statement::statement(statement&& o) noexcept : stmt_(std::exchange(o.stmt_, nullptr)), db_(o.db_) {}

statement& statement::operator=(statement&& o) noexcept {
  if (this != &o) {
    sqlite3_finalize(stmt_);
    stmt_ = std::exchange(o.stmt_, nullptr);
    db_ = o.db_;
  }
  return *this;
}

statement::~statement() {
  sqlite3_finalize(stmt_);
}

void statement::reset() {
  sqlite3_reset(stmt_);
  sqlite3_clear_bindings(stmt_);
}

result<bool> statement::step() {
  int rc = sqlite3_step(stmt_);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  auto e = sqlite_error(rc, fmt::format("sqlite: {}", sqlite3_sql(stmt_)), db_);
  sqlite3_reset(stmt_);
  return fail(e);
}

result<void> statement::run() {
  while (true) {
    auto r = step();
    if (!r) return fail(r.error());
    if (!*r) return {};
  }
}

void statement::bind_one(int i, std::int64_t v) {
  sqlite3_bind_int64(stmt_, i, v);
}
void statement::bind_one(int i, double v) {
  sqlite3_bind_double(stmt_, i, v);
}
void statement::bind_one(int i, std::string_view v) {
  sqlite3_bind_text64(stmt_, i, v.data(), v.size(), SQLITE_TRANSIENT, SQLITE_UTF8);
}
void statement::bind_one(int i, blob v) {
  sqlite3_bind_blob64(stmt_, i, v.bytes.data(), v.bytes.size(), SQLITE_TRANSIENT);
}
void statement::bind_one(int i, std::nullptr_t) {
  sqlite3_bind_null(stmt_, i);
}

std::int64_t statement::column_int(int i) const {
  return sqlite3_column_int64(stmt_, i);
}
double statement::column_double(int i) const {
  return sqlite3_column_double(stmt_, i);
}
std::string_view statement::column_text(int i) const {
  auto* p = reinterpret_cast<const char*>(sqlite3_column_text(stmt_, i));
  return p ? std::string_view(p, static_cast<std::size_t>(sqlite3_column_bytes(stmt_, i)))
           : std::string_view{};
}
std::string_view statement::column_blob(int i) const {
  auto* p = static_cast<const char*>(sqlite3_column_blob(stmt_, i));
  return p ? std::string_view(p, static_cast<std::size_t>(sqlite3_column_bytes(stmt_, i)))
           : std::string_view{};
}
bool statement::column_is_null(int i) const {
  return sqlite3_column_type(stmt_, i) == SQLITE_NULL;
}
std::optional<std::int64_t> statement::column_int_or_null(int i) const {
  if (column_is_null(i)) return std::nullopt;
  return column_int(i);
}

// --- database --------------------------------------------------------------

result<database> database::open(const std::filesystem::path& path, open_options options) {
  int flags = SQLITE_OPEN_FULLMUTEX;
  if (options.read_only) {
    flags |= SQLITE_OPEN_READONLY;
  } else {
    flags |= SQLITE_OPEN_READWRITE;
    if (options.create) flags |= SQLITE_OPEN_CREATE;
  }
  sqlite3* raw = nullptr;
  int rc = sqlite3_open_v2(path.c_str(), &raw, flags, nullptr);
  if (rc != SQLITE_OK) {
    auto e = sqlite_error(rc, fmt::format("cannot open database {}", path.string()), raw);
    sqlite3_close(raw);
    return fail(e);
  }
  database db(raw, path);
  sqlite3_extended_result_codes(raw, 1);
  sqlite3_busy_timeout(raw, static_cast<int>(options.busy_timeout.count()));
  // Reading the schema is what exposes a file that is not a database.
  if (auto r = db.exec("SELECT count(*) FROM sqlite_master"); !r) {
    return fail(r.error().with_context(fmt::format("database {}", path.string())));
  }
  if (!options.read_only) {
    if (auto r = db.exec("PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;"); !r) {
      return fail(r.error().with_context(fmt::format("database {}", path.string())));
    }
  }
  if (auto r = db.exec("PRAGMA foreign_keys=ON"); !r) return fail(r.error());
  return db;
}

database::database(database&& o) noexcept
    : db_(std::exchange(o.db_, nullptr)), path_(std::move(o.path_)), cache_(std::move(o.cache_)) {}

database& database::operator=(database&& o) noexcept {
  if (this != &o) {
    cache_.clear();
    sqlite3_close(db_);
    db_ = std::exchange(o.db_, nullptr);
    path_ = std::move(o.path_);
    cache_ = std::move(o.cache_);
  }
  return *this;
}

database::~database() {
  cache_.clear();  // statements must be finalized before the connection closes
  sqlite3_close(db_);
}

result<void> database::exec(std::string_view sql) {
  std::string text(sql);
  char* message = nullptr;
  int rc = sqlite3_exec(db_, text.c_str(), nullptr, nullptr, &message);
  if (rc != SQLITE_OK) {
    std::string detail = message ? message : sqlite3_errstr(rc);
    sqlite3_free(message);
    auto e = sqlite_error(rc, "sqlite", db_);
    e.message = fmt::format("sqlite: {}{}", detail,
                            e.code == errc::corrupt ? " (the file is damaged or not an sqlite "
                                                      "database; restore it from a backup)"
                            : e.code == errc::unavailable ? " (another process holds a lock)"
                                                          : "");
    return fail(e);
  }
  return {};
}

result<statement> database::prepare(std::string_view sql) {
  sqlite3_stmt* s = nullptr;
  int rc = sqlite3_prepare_v3(db_, sql.data(), static_cast<int>(sql.size()),
                              SQLITE_PREPARE_PERSISTENT, &s, nullptr);
  if (rc != SQLITE_OK) {
    return fail(sqlite_error(rc, fmt::format("sqlite: cannot prepare '{}'", sql), db_));
  }
  return statement(s, db_);
}

result<statement*> database::cached(std::string_view sql) {
  if (auto it = cache_.find(sql); it != cache_.end()) return &it->second;
  auto s = prepare(sql);
  if (!s) return fail(s.error());
  auto [it, inserted] = cache_.emplace(std::string(sql), std::move(*s));
  return &it->second;
}

std::int64_t database::last_insert_rowid() const {
  return sqlite3_last_insert_rowid(db_);
}
int database::changes() const {
  return sqlite3_changes(db_);
}

result<int> database::schema_version() {
  auto exists =
      prepare("SELECT count(*) FROM sqlite_master WHERE type='table' AND name='schema_version'");
  if (!exists) return fail(exists.error());
  if (auto r = exists->step(); !r) return fail(r.error());
  if (exists->column_int(0) == 0) return 0;
  auto s = prepare("SELECT coalesce(max(version), 0) FROM schema_version");
  if (!s) return fail(s.error());
  if (auto r = s->step(); !r) return fail(r.error());
  return static_cast<int>(s->column_int(0));
}

result<int> database::migrate(std::span<const migration> migrations) {
  if (auto o = check_order(migrations); !o) return fail(o.error());
  int newest = static_cast<int>(migrations.size());
  auto tx = transaction::begin(*this, transaction::mode::exclusive);
  if (!tx) return fail(tx.error());
  if (auto r = exec("CREATE TABLE IF NOT EXISTS schema_version ("
                    " version INTEGER PRIMARY KEY,"
                    " summary TEXT NOT NULL,"
                    " applied_at INTEGER NOT NULL DEFAULT (strftime('%s','now')))");
      !r) {
    return fail(r.error());
  }
  auto current = schema_version();
  if (!current) return fail(current.error());
  if (*current > newest) {
    return newer_schema(path_.string(), *current, newest);
  }
  for (int v = *current + 1; v <= newest; ++v) {
    const auto& m = migrations[static_cast<std::size_t>(v - 1)];
    if (auto r = exec(m.sql); !r) {
      return fail(r.error().with_context(fmt::format("migration {} ({})", v, m.summary)));
    }
    auto record = prepare("INSERT INTO schema_version(version, summary) VALUES (?, ?)");
    if (!record) return fail(record.error());
    if (auto r = record->bind(v, m.summary).run(); !r) return fail(r.error());
  }
  if (auto r = tx->commit(); !r) return fail(r.error());
  return newest;
}

// --- transaction -----------------------------------------------------------

result<transaction> transaction::begin(database& db, mode m) {
  const char* sql = m == mode::deferred    ? "BEGIN DEFERRED"
                    : m == mode::immediate ? "BEGIN IMMEDIATE"
                                           : "BEGIN EXCLUSIVE";
  if (auto r = db.exec(sql); !r) return fail(r.error());
  return transaction(&db);
}

transaction::~transaction() {
  if (db_) (void)db_->exec("ROLLBACK");
}

result<void> transaction::commit() {
  if (!db_) return fail(errc::internal, "transaction already finished");
  auto r = db_->exec("COMMIT");
  if (!r) return r;
  db_ = nullptr;
  return {};
}

}  // namespace blobswarm::db
