#include "db/postgres.hpp"

#include <arpa/inet.h>
#include <libpq-fe.h>

#include <cstring>

namespace blobswarm::db {
namespace {

std::string trimmed(const char* message) {
  std::string m = message ? message : "";
  while (!m.empty() && (m.back() == '\n' || m.back() == ' ')) m.pop_back();
  return m;
}

}  // namespace

// --- pg_rows ---------------------------------------------------------------

pg_rows::pg_rows(pg_rows&& o) noexcept : r_(std::exchange(o.r_, nullptr)) {}

pg_rows& pg_rows::operator=(pg_rows&& o) noexcept {
  if (this != &o) {
    PQclear(r_);
    r_ = std::exchange(o.r_, nullptr);
  }
  return *this;
}

pg_rows::~pg_rows() {
  PQclear(r_);
}

int pg_rows::size() const noexcept {
  return r_ ? PQntuples(r_) : 0;
}

bool pg_rows::is_null(int row, int col) const {
  return PQgetisnull(r_, row, col) != 0;
}

std::int64_t pg_rows::integer(int row, int col) const {
  const char* v = PQgetvalue(r_, row, col);
  switch (PQgetlength(r_, row, col)) {
    case 8: {
      std::uint32_t hi, lo;
      std::memcpy(&hi, v, 4);
      std::memcpy(&lo, v + 4, 4);
      return static_cast<std::int64_t>((std::uint64_t{ntohl(hi)} << 32) | ntohl(lo));
    }
    case 4: {
      std::uint32_t x;
      std::memcpy(&x, v, 4);
      return static_cast<std::int32_t>(ntohl(x));
    }
    case 2: {
      std::uint16_t x;
      std::memcpy(&x, v, 2);
      return static_cast<std::int16_t>(ntohs(x));
    }
    case 1:
      return static_cast<unsigned char>(v[0]);
    default:
      return 0;
  }
}

std::optional<std::int64_t> pg_rows::integer_or_null(int row, int col) const {
  if (is_null(row, col)) return std::nullopt;
  return integer(row, col);
}

std::string_view pg_rows::bytes(int row, int col) const {
  return {PQgetvalue(r_, row, col), static_cast<std::size_t>(PQgetlength(r_, row, col))};
}

std::optional<std::string> pg_rows::text_or_null(int row, int col) const {
  if (is_null(row, col)) return std::nullopt;
  return std::string(bytes(row, col));
}

std::int64_t pg_rows::affected() const {
  const char* n = PQcmdTuples(r_);
  return n && *n ? std::stoll(n) : 0;
}

// --- pg_connection ---------------------------------------------------------

result<pg_connection> pg_connection::open(const std::string& url, duration connect_timeout) {
  auto seconds = std::max<long long>(
      1, std::chrono::duration_cast<std::chrono::seconds>(connect_timeout).count());
  auto timeout = std::to_string(seconds);
  const char* keys[] = {"dbname", "connect_timeout", "application_name", nullptr};
  const char* values[] = {url.c_str(), timeout.c_str(), "blobswarm", nullptr};
  pg_connection c(PQconnectdbParams(keys, values, 1));
  if (c.c_ == nullptr) return fail(errc::internal, "libpq could not allocate a connection");
  if (PQstatus(c.c_) != CONNECTION_OK) {
    return fail(errc::unavailable, "cannot connect to PostgreSQL: {}",
                trimmed(PQerrorMessage(c.c_)));
  }
  // Plain answers from the server; notices (e.g. "relation already exists,
  // skipping") are not errors and are not logged.
  PQsetNoticeProcessor(
      c.c_, [](void*, const char*) {}, nullptr);
  return c;
}

pg_connection::pg_connection(pg_connection&& o) noexcept
    : c_(std::exchange(o.c_, nullptr)), sqlstate_(std::move(o.sqlstate_)) {}

pg_connection& pg_connection::operator=(pg_connection&& o) noexcept {
  if (this != &o) {
    PQfinish(c_);
    c_ = std::exchange(o.c_, nullptr);
    sqlstate_ = std::move(o.sqlstate_);
  }
  return *this;
}

pg_connection::~pg_connection() {
  PQfinish(c_);
}

bool pg_connection::healthy() const {
  return c_ != nullptr && PQstatus(c_) == CONNECTION_OK;
}

bool pg_connection::last_failure_retryable() const noexcept {
  return sqlstate_ == "40001" || sqlstate_ == "40P01";
}

std::string pg_connection::describe() const {
  if (c_ == nullptr) return "(no connection)";
  return fmt::format("{}:{}/{}", PQhost(c_), PQport(c_), PQdb(c_));
}

error pg_connection::failure(std::string_view what, ::pg_result* r) {
  const char* state = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : nullptr;
  sqlstate_ = state ? state : "";
  std::string message = trimmed(r ? PQresultErrorMessage(r) : PQerrorMessage(c_));
  if (message.empty()) message = trimmed(PQerrorMessage(c_));
  errc code = errc::internal;
  if (!healthy()) {
    code = errc::unavailable;
    message += " (the connection to PostgreSQL is lost)";
  } else if (sqlstate_.starts_with("23")) {
    code = errc::conflict;  // integrity constraint violations
  } else if (last_failure_retryable() || sqlstate_.starts_with("08") ||
             sqlstate_.starts_with("57")) {
    code = errc::unavailable;  // retry, connection or operator intervention
  } else if (sqlstate_ == "53100") {
    code = errc::no_space;
  }
  return error{code, fmt::format("postgresql: {}: {}", what, message)};
}

result<pg_rows> pg_connection::exec_params(std::string_view sql, const params& p) {
  sqlstate_.clear();
  if (c_ == nullptr) return fail(errc::unavailable, "postgresql: no connection");
  std::string text(sql);
  std::vector<const char*> values;
  std::vector<int> lengths;
  values.reserve(p.values.size());
  for (const auto& v : p.values) {
    values.push_back(v ? v->data() : nullptr);
    lengths.push_back(v ? static_cast<int>(v->size()) : 0);
  }
  ::pg_result* r =
      PQexecParams(c_, text.c_str(), static_cast<int>(values.size()), nullptr, values.data(),
                   lengths.data(), p.binary.data(), /*resultFormat binary*/ 1);
  auto status = r ? PQresultStatus(r) : PGRES_FATAL_ERROR;
  if (status != PGRES_TUPLES_OK && status != PGRES_COMMAND_OK) {
    auto e = failure(sql.substr(0, sql.find_first_of("(\n")).substr(0, 60), r);
    PQclear(r);
    return fail(e);
  }
  return pg_rows(r);
}

result<void> pg_connection::exec_script(std::string_view sql) {
  sqlstate_.clear();
  if (c_ == nullptr) return fail(errc::unavailable, "postgresql: no connection");
  std::string text(sql);
  ::pg_result* r = PQexec(c_, text.c_str());
  auto status = r ? PQresultStatus(r) : PGRES_FATAL_ERROR;
  if (status != PGRES_TUPLES_OK && status != PGRES_COMMAND_OK) {
    auto e = failure("script", r);
    PQclear(r);
    return fail(e);
  }
  PQclear(r);
  return {};
}

result<int> pg_connection::schema_version() {
  auto exists = exec("SELECT to_regclass('schema_version') IS NOT NULL");
  if (!exists) return fail(exists.error());
  if (!exists->boolean(0, 0)) return 0;
  auto v = exec("SELECT coalesce(max(version), 0)::bigint FROM schema_version");
  if (!v) return fail(v.error());
  return static_cast<int>(v->integer(0, 0));
}

result<int> pg_connection::migrate(std::span<const migration> migrations, std::int64_t lock_key) {
  if (auto o = check_order(migrations); !o) return fail(o.error());
  int newest = static_cast<int>(migrations.size());
  auto tx = pg_transaction::begin(*this);
  if (!tx) return fail(tx.error());
  // Held until COMMIT or ROLLBACK: a second process starting at the same
  // moment waits here, then finds every step applied.
  if (auto l = exec("SELECT pg_advisory_xact_lock($1)", lock_key); !l) return fail(l.error());
  if (auto r =
          exec_script("CREATE TABLE IF NOT EXISTS schema_version ("
                      " version INTEGER PRIMARY KEY,"
                      " summary TEXT NOT NULL,"
                      " applied_at BIGINT NOT NULL DEFAULT extract(epoch FROM now())::bigint)");
      !r) {
    return fail(r.error());
  }
  auto current = schema_version();
  if (!current) return fail(current.error());
  if (*current > newest) {
    return newer_schema(describe(), *current, newest);
  }
  for (int v = *current + 1; v <= newest; ++v) {
    const auto& m = migrations[static_cast<std::size_t>(v - 1)];
    if (auto r = exec_script(m.sql); !r) {
      return fail(r.error().with_context(fmt::format("migration {} ({})", v, m.summary)));
    }
    auto record =
        exec("INSERT INTO schema_version(version, summary) VALUES ($1, $2)", v, m.summary);
    if (!record) return fail(record.error());
  }
  if (auto r = tx->commit(); !r) return fail(r.error());
  return newest - *current;
}

int pg_connection::socket() const {
  return c_ ? PQsocket(c_) : -1;
}

result<std::vector<pg_notification>> pg_connection::notifications() {
  if (c_ == nullptr || PQconsumeInput(c_) == 0) {
    return fail(errc::unavailable, "postgresql: lost the connection: {}",
                trimmed(c_ ? PQerrorMessage(c_) : "no connection"));
  }
  std::vector<pg_notification> out;
  while (PGnotify* n = PQnotifies(c_)) {
    out.push_back({n->relname ? n->relname : "", n->extra ? n->extra : ""});
    PQfreemem(n);
  }
  return out;
}

// --- pg_transaction ----------------------------------------------------------

result<pg_transaction> pg_transaction::begin(pg_connection& c, std::string_view mode) {
  std::string sql = "BEGIN";
  if (!mode.empty()) sql += " " + std::string(mode);
  if (auto r = c.exec_script(sql); !r) return fail(r.error());
  return pg_transaction(&c);
}

pg_transaction::~pg_transaction() {
  if (c_) (void)c_->exec_script("ROLLBACK");
}

result<void> pg_transaction::commit() {
  if (!c_) return fail(errc::internal, "transaction already finished");
  auto r = c_->exec_script("COMMIT");
  c_ = nullptr;
  return r;
}

}  // namespace blobswarm::db
