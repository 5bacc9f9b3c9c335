// catalog: the tracker's index of record: the store (sqlite or PostgreSQL)
// and the in-memory indexes the announce path reads (users by passkey
// hash, swarms by info-hash), changed together so they agree. Every method
// blocks on the database: the service calls them on its database threads.
//
// With a shared store (replicas on one PostgreSQL), another tracker may
// change the database: apply() brings one such change (from the store's
// change feed) into the indexes, and resync() makes them equal to the
// database again when the feed was interrupted.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/digest.hpp"
#include "common/error.hpp"
#include "common/info_hash.hpp"
#include "tracker/passkey_vault.hpp"
#include "tracker/peer_store.hpp"
#include "tracker/store.hpp"
#include "tracker/swarm_table.hpp"
#include "tracker/torrent_file.hpp"
#include "tracker/user_table.hpp"

namespace blobswarm::tracker {

struct new_user {
  user_row user;
  std::string passkey;  // shown once; only its hash is kept
};

// One page of a torrent search.
struct torrent_page {
  std::vector<torrent_row> rows;
  std::uint64_t total = 0;  // matches in all pages
};

struct flush_report {
  std::size_t torrents = 0;
  std::size_t users = 0;
};

// What a resync changed in the in-memory indexes.
struct resync_report {
  std::size_t users_changed = 0;   // added, given a new passkey, or removed
  std::size_t swarms_changed = 0;  // added or removed
};

class catalog {
 public:
  // `peers`: where the swarms' peers live; null: in memory, in `swarms`.
  catalog(std::unique_ptr<store> db, user_table& users, swarm_table& swarms,
          peer_store* peers = nullptr);
  ~catalog();

  // Fills the in-memory indexes from the database (at start-up).
  result<void> load();
  // From now on, passkeys made or provisioned are also kept sealed, so the
  // web UI can show them and put them into .torrent files.
  void keep_passkeys(passkey_vault vault) { vault_ = std::move(vault); }

  // User names: 1-64 characters of [A-Za-z0-9._@-].
  static result<void> check_user_name(std::string_view name);
  result<new_user> create_user(std::string_view name, std::int64_t now);
  result<new_user> rotate_passkey(std::string_view name);
  // Makes sure `name` exists and has exactly `passkey` (configured users).
  // Returns true when something changed.
  result<bool> provision_user(std::string_view name, std::string_view passkey, std::int64_t now);
  // Deletes the user and drops their peers from every swarm.
  result<user_row> delete_user(std::string_view name);
  result<user_row> find_user(std::string_view name);
  result<std::vector<user_row>> list_users();
  result<user_credentials> find_credentials(std::string_view name);
  // Sets (a PBKDF2 string from `passwords`) or removes a user's web UI password.
  result<user_row> set_password_hash(std::string_view name, const std::optional<std::string>& hash);
  // The user's passkey when it is on record (sealed); nullopt when not
  // (made before the vault existed: rotating it puts one on record).
  result<std::optional<std::string>> passkey_of(std::int64_t user_id);

  // What the store is asked to register for a .torrent: its hashes, name,
  // sizes and flags (parsed and checked) with the caller's details.
  static result<new_torrent> describe_registration(std::string_view bytes,
                                                   const std::optional<digest>& blob,
                                                   std::optional<std::int64_t> segment,
                                                   std::int64_t now,
                                                   const registration_details& details = {});
  // Parses, checks and registers a .torrent (optionally for a blob digest
  // and segment) and whitelists its swarm. A torrent without private=1 is
  // registered with the flag added (BEP 27: clients of a private torrent use
  // only this tracker, no DHT or PEX, so the swarm stays inside): the
  // outcome's row has the new info-hashes and made_private_from the old.
  // Every way in (REST API, web UI upload) comes through here.
  result<registration_outcome> register_torrent(std::string_view bytes,
                                                const std::optional<digest>& blob,
                                                std::optional<std::int64_t> segment,
                                                std::int64_t now,
                                                const registration_details& details = {});
  result<torrent_row> find_torrent(const info_hash& h);
  result<std::vector<torrent_row>> list_torrents(std::int64_t after, std::size_t limit);
  result<blob_torrents> find_blob(const digest& d);
  result<std::optional<torrent_row>> find_segment(const digest& d, std::int64_t segment);
  result<std::string> torrent_bytes(std::int64_t id);
  // Torrents matching `f` in `order`: name, size, created (sqlite) or
  // seeders, leechers, completed (live figures from the swarms).
  result<torrent_page> search_torrents(const torrent_filter& f, std::string_view order,
                                       bool descending, std::size_t offset, std::size_t limit);
  static bool known_order(std::string_view order) noexcept;
  result<catalog_totals> totals();
  // Unregisters a torrent and forgets its swarm.
  result<torrent_row> delete_torrent(const info_hash& h);

  // Writes the counters gathered in memory since the last flush, in one
  // transaction; on failure they stay pending for the next attempt.
  result<flush_report> flush_stats();

  // Replicas: one change another tracker made (read again from the store).
  result<void> apply(const store_change& c);
  // Replicas: the in-memory indexes made equal to the store (users,
  // swarms), and every swarm's recorded completions refreshed.
  result<resync_report> resync();

  store& records() noexcept { return *store_; }
  peer_store& peers() noexcept { return *peers_; }

 private:
  result<bool> provision_once(std::string_view name, std::string_view passkey, std::int64_t now);
  // Seals `passkey` for the user when a vault is set.
  result<void> keep_passkey(std::int64_t user_id, std::string_view passkey);

  // Files a user's passkey hash in users_ (added, or moved to a new hash).
  void file_user(const passkey_hash& key, std::uint32_t id, const std::string& name);

  std::unique_ptr<store> store_;
  std::optional<passkey_vault> vault_;
  user_table& users_;
  swarm_table& swarms_;
  std::unique_ptr<peer_store> owned_peers_;
  peer_store* peers_;
};

}  // namespace blobswarm::tracker
