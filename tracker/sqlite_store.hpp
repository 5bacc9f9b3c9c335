// sqlite_store: the tracker's index of record in one sqlite file, the
// default (no other service to run). One connection, used by one thread at
// a time: the service runs it on a single database thread.
#pragma once

#include <filesystem>
#include <memory>

#include "db/database.hpp"
#include "tracker/store.hpp"

namespace blobswarm::tracker {

class sqlite_store final : public store {
 public:
  static result<std::unique_ptr<sqlite_store>> open(const std::filesystem::path& path);

  std::string_view engine() const noexcept override { return "sqlite"; }
  std::string describe() const override { return db_.path().string(); }
  bool shared() const noexcept override { return false; }
  std::size_t workers() const noexcept override { return 1; }

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

  db::database& database() noexcept { return db_; }

 private:
  explicit sqlite_store(db::database db) : db_(std::move(db)) {}
  db::database db_;
};

}  // namespace blobswarm::tracker
