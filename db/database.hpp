// db: the sqlite layer the services share. A database is one connection
// (WAL mode, busy timeout, foreign keys on), prepared statements with bound
// parameters, transactions that roll back unless committed, and numbered
// migrations applied at start-up in one transaction.
//
// Opening never recreates or "repairs" anything: a file that is not a
// database, is read-only, is locked, or carries a schema newer than this
// binary knows, is an error that says so.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "common/error.hpp"
#include "common/units.hpp"
#include "db/migration.hpp"

struct sqlite3;
struct sqlite3_stmt;

namespace blobswarm::db {

// A BLOB parameter or column (a string_view would bind as TEXT).
struct blob {
  std::string_view bytes;
};

class statement {
 public:
  statement() = default;
  statement(statement&&) noexcept;
  statement& operator=(statement&&) noexcept;
  ~statement();

  // Resets the statement and binds all parameters, 1-based, in order.
  template <class... Args>
  statement& bind(const Args&... args) {
    reset();
    int index = 1;
    (bind_one(index++, args), ...);
    return *this;
  }

  // True when a row is available, false when done.
  result<bool> step();
  // Steps to completion (INSERT, UPDATE, DELETE).
  result<void> run();
  // Resets and clears bindings; called by bind().
  void reset();

  std::int64_t column_int(int i) const;
  double column_double(int i) const;
  std::string_view column_text(int i) const;
  std::string_view column_blob(int i) const;
  bool column_is_null(int i) const;
  std::optional<std::int64_t> column_int_or_null(int i) const;

 private:
  friend class database;
  statement(sqlite3_stmt* s, sqlite3* db) : stmt_(s), db_(db) {}

  void bind_one(int i, std::int64_t v);
  void bind_one(int i, int v) { bind_one(i, static_cast<std::int64_t>(v)); }
  void bind_one(int i, std::uint64_t v) { bind_one(i, static_cast<std::int64_t>(v)); }
  void bind_one(int i, unsigned v) { bind_one(i, static_cast<std::int64_t>(v)); }
  void bind_one(int i, long long v) { bind_one(i, static_cast<std::int64_t>(v)); }
  void bind_one(int i, bool v) { bind_one(i, static_cast<std::int64_t>(v)); }
  void bind_one(int i, double v);
  void bind_one(int i, std::string_view v);
  void bind_one(int i, const std::string& v) { bind_one(i, std::string_view(v)); }
  void bind_one(int i, const char* v) { bind_one(i, std::string_view(v)); }
  void bind_one(int i, blob v);
  void bind_one(int i, std::nullptr_t);
  template <class T>
  void bind_one(int i, const std::optional<T>& v) {
    if (v) {
      bind_one(i, *v);
    } else {
      bind_one(i, nullptr);
    }
  }

  sqlite3_stmt* stmt_ = nullptr;
  sqlite3* db_ = nullptr;
};

struct open_options {
  bool create = true;
  bool read_only = false;
  duration busy_timeout = std::chrono::seconds(5);
};

class database {
 public:
  static result<database> open(const std::filesystem::path& path, open_options options = {});

  database(database&&) noexcept;
  database& operator=(database&&) noexcept;
  ~database();

  // Runs one or more statements without parameters.
  result<void> exec(std::string_view sql);
  result<statement> prepare(std::string_view sql);
  // A statement prepared once per connection and reused; valid as long as
  // the database. Use it through bind() (which resets it).
  result<statement*> cached(std::string_view sql);

  // Brings the schema to the newest migration. Returns the version now in
  // effect. Fails without changing anything if a migration fails or the
  // database has a version newer than the newest migration.
  result<int> migrate(std::span<const migration> migrations);
  result<int> schema_version();

  std::int64_t last_insert_rowid() const;
  int changes() const;
  const std::filesystem::path& path() const noexcept { return path_; }
  sqlite3* handle() const noexcept { return db_; }

 private:
  database(sqlite3* db, std::filesystem::path path) : db_(db), path_(std::move(path)) {}
  sqlite3* db_ = nullptr;
  std::filesystem::path path_;
  std::map<std::string, statement, std::less<>> cache_;
};

class transaction {
 public:
  enum class mode { deferred, immediate, exclusive };
  static result<transaction> begin(database& db, mode m = mode::immediate);

  transaction(transaction&& o) noexcept : db_(std::exchange(o.db_, nullptr)) {}
  transaction& operator=(transaction&&) = delete;
  ~transaction();  // rolls back unless committed

  result<void> commit();

 private:
  explicit transaction(database* db) : db_(db) {}
  database* db_;
};

// Maps an sqlite result code to an error with context.
error sqlite_error(int code, std::string_view what, sqlite3* db);

}  // namespace blobswarm::db
