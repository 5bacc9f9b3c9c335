// postgres: the PostgreSQL layer (libpq) for services that keep their
// index of record in a shared database (several tracker replicas on one
// PostgreSQL). A pg_connection is one libpq connection used by one thread
// at a time; statements take bound parameters only (text, or binary for
// bytea) and return results in binary form, so integers and bytes come
// back without text parsing. Errors are values carrying the SQLSTATE, so a
// caller can retry what PostgreSQL says is retryable (serialization
// failures, deadlocks) and treat unique violations as conflicts.
//
// Migrations run under a transaction-scoped advisory lock: however many
// processes start at the same moment, each step is applied exactly once
// and the others wait, then find the schema current.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/error.hpp"
#include "common/units.hpp"
#include "db/database.hpp"
#include "db/migration.hpp"
#include "db/urls.hpp"

struct pg_conn;
struct pg_result;

namespace blobswarm::db {

class pg_rows {
 public:
  pg_rows() = default;
  pg_rows(pg_rows&&) noexcept;
  pg_rows& operator=(pg_rows&&) noexcept;
  ~pg_rows();

  int size() const noexcept;
  bool empty() const noexcept { return size() == 0; }
  bool is_null(int row, int col) const;
  // bigint, integer, smallint or boolean columns.
  std::int64_t integer(int row, int col) const;
  std::optional<std::int64_t> integer_or_null(int row, int col) const;
  bool boolean(int row, int col) const { return integer(row, col) != 0; }
  // text and bytea columns: the raw bytes.
  std::string_view bytes(int row, int col) const;
  std::optional<std::string> text_or_null(int row, int col) const;
  // Rows an INSERT, UPDATE or DELETE touched.
  std::int64_t affected() const;

 private:
  friend class pg_connection;
  explicit pg_rows(::pg_result* r) : r_(r) {}
  ::pg_result* r_ = nullptr;
};

struct pg_notification {
  std::string channel;
  std::string payload;
};

class pg_connection {
 public:
  // `url`: a postgresql:// URI (libpq's syntax). Waits at most
  // `connect_timeout` for the server.
  static result<pg_connection> open(const std::string& url,
                                    duration connect_timeout = std::chrono::seconds(5));

  pg_connection(pg_connection&&) noexcept;
  pg_connection& operator=(pg_connection&&) noexcept;
  ~pg_connection();

  // One statement with parameters $1, $2, ... bound in order. Arguments:
  // integers, bool, strings (text), db::blob (bytea), std::nullopt or
  // std::optional of those (NULL when empty).
  template <class... Args>
  result<pg_rows> exec(std::string_view sql, const Args&... args) {
    params p;
    (p.add(args), ...);
    return exec_params(sql, p);
  }
  // Several statements without parameters (migrations).
  result<void> exec_script(std::string_view sql);

  // Brings the schema to the newest migration under an advisory lock on
  // `lock_key`, so concurrent starters apply each step once. Returns how
  // many steps this call applied (0: the schema was current).
  result<int> migrate(std::span<const migration> migrations, std::int64_t lock_key);
  result<int> schema_version();

  // The SQLSTATE of the last failed statement ("" when none or no server
  // answer): 23505 unique violation, 40001 serialization failure, 40P01
  // deadlock.
  const std::string& last_sqlstate() const noexcept { return sqlstate_; }
  bool last_failure_retryable() const noexcept;
  // Whether the connection is usable (false after the server went away).
  bool healthy() const;
  // host:port/database, without credentials, for messages.
  std::string describe() const;

  // LISTEN support: the socket to wait on, and the notifications that have
  // arrived (reads what the socket holds without blocking).
  int socket() const;
  result<std::vector<pg_notification>> notifications();

 private:
  struct params {
    std::vector<std::optional<std::string>> values;
    std::vector<int> binary;
    void add(std::int64_t v) { text(std::to_string(v)); }
    void add(std::uint64_t v) { text(std::to_string(v)); }
    void add(int v) { text(std::to_string(v)); }
    void add(unsigned v) { text(std::to_string(v)); }
    void add(long long v) { text(std::to_string(v)); }
    void add(bool v) { text(v ? "t" : "f"); }
    void add(std::string_view v) { text(std::string(v)); }
    void add(const std::string& v) { text(v); }
    void add(const char* v) { text(v); }
    void add(blob v) {
      values.emplace_back(std::string(v.bytes));
      binary.push_back(1);
    }
    void add(std::nullopt_t) {
      values.emplace_back(std::nullopt);
      binary.push_back(0);
    }
    template <class T>
    void add(const std::optional<T>& v) {
      if (v) {
        add(*v);
      } else {
        add(std::nullopt);
      }
    }
    void text(std::string v) {
      values.emplace_back(std::move(v));
      binary.push_back(0);
    }
  };

  explicit pg_connection(::pg_conn* c) : c_(c) {}
  result<pg_rows> exec_params(std::string_view sql, const params& p);
  error failure(std::string_view what, ::pg_result* r);

  ::pg_conn* c_ = nullptr;
  std::string sqlstate_;
};

// BEGIN ... COMMIT on a connection; rolls back unless committed.
class pg_transaction {
 public:
  static result<pg_transaction> begin(pg_connection& c, std::string_view mode = "");
  pg_transaction(pg_transaction&& o) noexcept : c_(std::exchange(o.c_, nullptr)) {}
  pg_transaction& operator=(pg_transaction&&) = delete;
  ~pg_transaction();
  result<void> commit();

 private:
  explicit pg_transaction(pg_connection* c) : c_(c) {}
  pg_connection* c_;
};

}  // namespace blobswarm::db
