// store: the tracker's index of record in sqlite: users (by passkey hash),
// torrents (their .torrent bytes, info-hashes, blob digest and segment)
// and the transfer counters. All SQL of the tracker lives here. A store is
// used by one thread at a time (the service runs it on a single-threaded
// pool), so no statement is shared between threads.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "common/digest.hpp"
#include "common/error.hpp"
#include "common/info_hash.hpp"
#include "db/database.hpp"
#include "tracker/passkey.hpp"
#include "tracker/swarm_key.hpp"
#include "tracker/user_table.hpp"

namespace blobswarm::tracker {

struct user_row {
  std::int64_t id = 0;
  std::string name;
  std::int64_t created_at = 0;  // unix seconds
  std::uint64_t uploaded = 0;
  std::uint64_t downloaded = 0;
  std::uint64_t completed = 0;
  std::uint64_t announces = 0;
  std::optional<std::int64_t> last_announce;
  bool has_password = false;       // may sign in to the web UI
  bool passkey_on_record = false;  // the passkey is kept sealed (passkey_vault)
};

// What signing in needs to know about a user.
struct user_credentials {
  std::int64_t id = 0;
  std::string name;
  std::optional<std::string> password_hash;
};

struct user_key_row {
  std::int64_t id = 0;
  std::string name;
  passkey_hash key;
};

struct torrent_row {
  std::int64_t id = 0;
  std::optional<info_hash> v1;
  std::optional<info_hash> v2;
  swarm_key primary;               // the key the swarm is filed under
  std::optional<swarm_key> alias;  // truncated v2 of a hybrid torrent
  std::string name;
  std::uint64_t size = 0;
  std::uint64_t piece_length = 0;
  bool is_private = false;
  std::optional<digest> blob;
  std::optional<std::int64_t> segment;
  std::int64_t created_at = 0;
  std::uint64_t uploaded = 0;
  std::uint64_t downloaded = 0;
  std::uint64_t completed = 0;
  std::optional<std::string> repository;   // where the blob was pulled from, when told
  std::optional<std::string> uploaded_by;  // user name, for torrents uploaded in the web UI
};

// Who registers a torrent and what they say about it.
struct registration_details {
  std::optional<std::string> repository;
  std::optional<std::string> uploaded_by;
};

// A search of the torrent list (web UI).
struct torrent_filter {
  enum class kind { all, blobs, files };
  std::string text;  // part of the name, digest, info-hash or repository; empty: all
  kind what = kind::all;
};

struct catalog_totals {
  std::uint64_t torrents = 0;
  std::uint64_t blobs = 0;     // whole-blob torrents
  std::uint64_t segments = 0;  // segment torrents
  std::uint64_t files = 0;     // torrents without a digest (uploads)
  std::uint64_t size = 0;      // bytes in all torrents
  std::uint64_t uploaded = 0;  // reported, flushed
  std::uint64_t downloaded = 0;
  std::uint64_t completed = 0;
  std::uint64_t users = 0;
};

struct new_torrent {
  std::optional<info_hash> v1;
  std::optional<info_hash> v2;
  std::string name;
  std::uint64_t size = 0;
  std::uint64_t piece_length = 0;
  bool is_private = false;
  std::string bytes;  // the .torrent as registered
  std::optional<digest> blob;
  std::optional<std::int64_t> segment;
  std::int64_t now = 0;
  registration_details details;
};

struct registration_outcome {
  torrent_row row;
  bool created = false;  // false: the same torrent was already registered
  // The info-hash (v1, else v2) of the .torrent as submitted, when it lacked
  // private=1 and the tracker added it (which changed the info-hash).
  std::optional<info_hash> made_private_from;
};

struct blob_torrents {
  std::optional<torrent_row> whole;
  std::vector<torrent_row> segments;  // by index
};

struct torrent_stats_delta {
  std::int64_t torrent_id = 0;
  std::uint64_t uploaded = 0;
  std::uint64_t downloaded = 0;
  std::uint64_t completed = 0;
};

class store {
 public:
  static result<store> open(const std::filesystem::path& path);

  // Users.
  result<std::vector<user_key_row>> load_user_keys();
  result<user_row> create_user(std::string_view name, const passkey_hash& key, std::int64_t now);
  result<user_row> set_passkey(std::string_view name, const passkey_hash& key);
  result<user_row> delete_user(std::string_view name);
  result<user_row> find_user(std::string_view name);
  result<std::vector<user_row>> list_users();
  result<user_credentials> find_credentials(std::string_view name);
  // Sets (or, with nullopt, removes) a user's password hash.
  result<user_row> set_password_hash(std::string_view name, const std::optional<std::string>& hash);
  result<void> set_sealed_passkey(std::int64_t id, const std::optional<std::string>& sealed);
  result<std::optional<std::string>> sealed_passkey(std::int64_t id);

  // Torrents.
  result<std::vector<torrent_row>> load_torrents();
  // Same torrent again: the existing row, created=false. A different whole
  // torrent for the same digest, another torrent for the same segment, or
  // the same torrent under another digest/segment: errc::conflict.
  result<registration_outcome> register_torrent(const new_torrent& t);
  // By a 20-byte key (v1 or truncated v2) or a 32-byte v2 hash.
  result<torrent_row> find_torrent(const info_hash& h);
  result<std::string> torrent_bytes(std::int64_t id);
  result<blob_torrents> find_blob(const digest& d);
  result<std::optional<torrent_row>> find_segment(const digest& d, std::int64_t segment);
  // Torrents with id > after, oldest first.
  result<std::vector<torrent_row>> list_torrents(std::int64_t after, std::size_t limit);
  result<void> delete_torrent(std::int64_t id);
  // Torrents matching `f`, in one of the orders known_order() accepts
  // (name, size, created), from `offset`, at most `limit`.
  result<std::vector<torrent_row>> search_torrents(const torrent_filter& f, std::string_view order,
                                                   bool descending, std::size_t offset,
                                                   std::size_t limit);
  // Every torrent matching `f` as (id, swarm key), for orders by live
  // figures (seeders, leechers) that sqlite does not have.
  result<std::vector<std::pair<std::int64_t, swarm_key>>> search_keys(const torrent_filter& f);
  // The torrents with these ids, in the order given (unknown ids left out).
  result<std::vector<torrent_row>> find_torrents(const std::vector<std::int64_t>& ids);
  result<std::uint64_t> count_torrents(const torrent_filter& f);
  result<catalog_totals> totals();
  static bool known_order(std::string_view order) noexcept;

  // Adds batched counters in one transaction.
  result<void> add_stats(const std::vector<torrent_stats_delta>& torrents,
                         const std::vector<std::pair<std::uint32_t, user_pending>>& users);

  db::database& database() noexcept { return db_; }

 private:
  explicit store(db::database db) : db_(std::move(db)) {}
  db::database db_;
};

}  // namespace blobswarm::tracker
