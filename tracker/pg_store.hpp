// pg_store: the tracker's index of record in PostgreSQL, so several
// tracker replicas serve one cluster from the same users, passkeys, web UI
// sessions, torrents and counters. Chosen when `db` is a postgresql:// URL.
//
// Connections: a small pool, one per database thread of the tracker
// (workers()), opened on first use; a connection the server dropped is
// replaced on the next use, and an operation that failed only because its
// connection was gone is tried once more on a new one. Serialization
// failures and deadlocks (concurrent replicas writing the same rows) are
// retried a few times.
//
// Replicas learn each other's changes through LISTEN/NOTIFY: every write
// to users or torrents notifies channel "blobswarm_tracker" in its own
// transaction (delivered on commit), and listen() gives a feed of them.
// Migrations run under an advisory lock, once however many replicas start.
#pragma once

#include <spdlog/logger.h>

#include <condition_variable>
#include <memory>
#include <mutex>
#include <vector>

#include "db/postgres.hpp"
#include "tracker/store.hpp"

namespace blobswarm::tracker {

class pg_store final : public store {
 public:
  // Connects once (to migrate) and keeps that connection in the pool.
  static result<std::unique_ptr<pg_store>> open(const std::string& url, const store_options& o);

  std::string_view engine() const noexcept override { return "postgresql"; }
  std::string describe() const override { return where_; }
  bool shared() const noexcept override { return true; }
  std::size_t workers() const noexcept override { return options_.connections; }
  // Migration steps the last open() applied (0: the schema was current).
  int migrations_applied() const noexcept { return migrated_; }

  result<std::vector<user_key_row>> load_user_keys() override;
  result<user_key_row> find_user_key(std::int64_t id) override;
  result<user_row> create_user(std::string_view name, const passkey_hash& key,
                               std::int64_t now) override;
  result<user_row> set_passkey(std::string_view name, const passkey_hash& key) override;
  result<user_row> delete_user(std::string_view name) override;
  result<user_row> find_user(std::string_view name) override;
  result<std::vector<user_row>> list_users() override;
  result<user_credentials> find_credentials(std::string_view name) override;
  result<user_row> set_password_hash(std::string_view name,
                                     const std::optional<std::string>& hash) override;
  result<void> set_sealed_passkey(std::int64_t id,
                                  const std::optional<std::string>& sealed) override;
  result<std::optional<std::string>> sealed_passkey(std::int64_t id) override;

  result<void> insert_session(const session_row& s) override;
  result<std::optional<session_row>> find_session(const passkey_hash& id_hash) override;
  result<void> touch_session(const passkey_hash& id_hash, std::uint32_t now) override;
  result<void> delete_session(const passkey_hash& id_hash) override;
  result<std::size_t> delete_user_sessions(std::uint32_t user_id) override;
  result<std::size_t> purge_sessions(std::uint32_t created_before,
                                     std::uint32_t used_before) override;
  result<std::size_t> count_sessions() override;
  result<std::size_t> trim_sessions(std::size_t keep) override;

  result<std::vector<torrent_row>> load_torrents() override;
  result<registration_outcome> register_torrent(const new_torrent& t) override;
  result<torrent_row> find_torrent(const info_hash& h) override;
  result<torrent_row> find_torrent_by_id(std::int64_t id) override;
  result<std::string> torrent_bytes(std::int64_t id) override;
  result<blob_torrents> find_blob(const digest& d) override;
  result<std::optional<torrent_row>> find_segment(const digest& d, std::int64_t segment) override;
  result<std::vector<torrent_row>> list_torrents(std::int64_t after, std::size_t limit) override;
  result<void> delete_torrent(const torrent_row& t) override;
  result<std::vector<torrent_row>> search_torrents(const torrent_filter& f, std::string_view order,
                                                   bool descending, std::size_t offset,
                                                   std::size_t limit) override;
  result<std::vector<std::pair<std::int64_t, swarm_key>>> search_keys(
      const torrent_filter& f) override;
  result<std::vector<torrent_row>> find_torrents(const std::vector<std::int64_t>& ids) override;
  result<std::uint64_t> count_torrents(const torrent_filter& f) override;
  result<catalog_totals> totals() override;
  result<std::vector<std::pair<std::int64_t, std::uint64_t>>> completions() override;
  result<void> add_stats(const std::vector<torrent_stats_delta>& torrents,
                         const std::vector<std::pair<std::uint32_t, user_pending>>& users) override;
  result<std::unique_ptr<store_listener>> listen() override;

 private:
  pg_store(std::string url, store_options o, std::shared_ptr<spdlog::logger> log);

  // Runs f(connection) on a pooled connection, as described above.
  template <class F>
  auto run(F&& f) -> decltype(f(std::declval<db::pg_connection&>()));
  result<std::unique_ptr<db::pg_connection>> acquire();
  void release(std::unique_ptr<db::pg_connection> c);

  std::string url_;
  std::string where_;  // host:port/database
  store_options options_;
  std::shared_ptr<spdlog::logger> log_;
  int migrated_ = 0;

  std::mutex mutex_;
  std::condition_variable available_;
  std::vector<std::unique_ptr<db::pg_connection>> idle_;
  std::size_t open_ = 0;  // connections made and not dropped (idle or in use)
  bool lost_ = false;     // the last attempt to reach the server failed (logged once)
};

}  // namespace blobswarm::tracker
