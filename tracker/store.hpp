// store: the interface of the tracker's index of record: users (by passkey
// hash), web UI sessions, torrents (their .torrent bytes, info-hashes, blob
// digest and segment) and the transfer counters. Two engines implement it:
// sqlite_store (one file, the default) and pg_store (PostgreSQL, shared by
// several tracker replicas). All SQL of the tracker lives in those two
// classes. The same test suite runs against both (tests/tracker/store_test).
//
// A store is used by the service's database threads only, never on the
// announce path; an implementation says how many threads may use it at once
// (workers()).
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "common/digest.hpp"
#include "common/error.hpp"
#include "common/info_hash.hpp"
#include "common/units.hpp"
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
  std::optional<std::string> source_url;   // the URL a seeder pulled this file from, when told
};

// Who registers a torrent and what they say about it.
struct registration_details {
  std::optional<std::string> repository;
  std::optional<std::string> uploaded_by;
  std::optional<std::string> source_url;
};

// A search of the torrent list (web UI). Files are torrents without a
// digest (uploads) and files seeders pulled from URLs; blobs the rest.
struct torrent_filter {
  enum class kind { all, blobs, files };
  std::string text;  // part of the name, digest, info-hash or repository; empty: all
  kind what = kind::all;
};

struct catalog_totals {
  std::uint64_t torrents = 0;
  std::uint64_t blobs = 0;     // whole-blob torrents
  std::uint64_t segments = 0;  // segment torrents
  std::uint64_t files = 0;     // uploads and files pulled from URLs
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
  // The info-hash (v1, else v2) as submitted, when it lacked private=1 and
  // `bytes` has it added (the store keeps only `bytes`).
  std::optional<info_hash> made_private_from;
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

// A web UI session as stored: the id is kept only as its SHA-256.
struct session_row {
  passkey_hash id_hash;
  std::uint32_t user_id = 0;  // 0 for the admin
  std::string name;
  bool admin = false;
  std::string csrf;
  std::uint32_t created = 0;    // unix seconds
  std::uint32_t last_used = 0;  // unix seconds
};

// What another tracker on a shared store changed (store::listen()).
struct store_change {
  enum class kind { user, torrent, resync };
  kind what = kind::resync;
  std::int64_t id = 0;
  // A deleted torrent's keys, so trackers can forget its swarm without the row.
  std::optional<swarm_key> primary;
  std::optional<swarm_key> alias;
};

// The change feed of a shared store: a connection of its own whose socket
// becomes readable when another tracker commits a change.
class store_listener {
 public:
  virtual ~store_listener() = default;
  virtual int socket() const = 0;
  // The changes that arrived since the last call (without blocking);
  // errc::unavailable when the connection is lost (make a new listener,
  // then resync everything: changes made meanwhile were not seen).
  virtual result<std::vector<store_change>> take() = 0;
};

class store {
 public:
  virtual ~store() = default;

  // "sqlite" or "postgresql", for messages.
  virtual std::string_view engine() const noexcept = 0;
  // Where the data is, without credentials (a path, or host:port/database).
  virtual std::string describe() const = 0;
  // True when several trackers may share it (replicas): they then keep web
  // UI sessions in it and follow each other's changes through listen().
  virtual bool shared() const noexcept = 0;
  // How many threads may use the store at once (each gets a connection).
  virtual std::size_t workers() const noexcept = 0;

  // Users.
  virtual result<std::vector<user_key_row>> load_user_keys() = 0;
  // One user's passkey hash by id; errc::not_found when the user is gone.
  virtual result<user_key_row> find_user_key(std::int64_t id) = 0;
  virtual result<user_row> create_user(std::string_view name, const passkey_hash& key,
                                       std::int64_t now) = 0;
  virtual result<user_row> set_passkey(std::string_view name, const passkey_hash& key) = 0;
  virtual result<user_row> delete_user(std::string_view name) = 0;
  virtual result<user_row> find_user(std::string_view name) = 0;
  virtual result<std::vector<user_row>> list_users() = 0;
  virtual result<user_credentials> find_credentials(std::string_view name) = 0;
  // Sets (or, with nullopt, removes) a user's password hash.
  virtual result<user_row> set_password_hash(std::string_view name,
                                             const std::optional<std::string>& hash) = 0;
  virtual result<void> set_sealed_passkey(std::int64_t id,
                                          const std::optional<std::string>& sealed) = 0;
  virtual result<std::optional<std::string>> sealed_passkey(std::int64_t id) = 0;

  // Web UI sessions (used when the store is shared()).
  virtual result<void> insert_session(const session_row& s) = 0;
  virtual result<std::optional<session_row>> find_session(const passkey_hash& id_hash) = 0;
  // Sets last_used (never backwards).
  virtual result<void> touch_session(const passkey_hash& id_hash, std::uint32_t now) = 0;
  virtual result<void> delete_session(const passkey_hash& id_hash) = 0;
  // Every session of a user that is not the admin; returns how many.
  virtual result<std::size_t> delete_user_sessions(std::uint32_t user_id) = 0;
  // Sessions created before `created_before` or last used before `used_before`.
  virtual result<std::size_t> purge_sessions(std::uint32_t created_before,
                                             std::uint32_t used_before) = 0;
  virtual result<std::size_t> count_sessions() = 0;
  // Deletes the least recently used sessions beyond the newest `keep`.
  virtual result<std::size_t> trim_sessions(std::size_t keep) = 0;

  // Torrents.
  virtual result<std::vector<torrent_row>> load_torrents() = 0;
  // Same torrent again: the existing row, created=false. A different whole
  // torrent for the same digest, another torrent for the same segment, or
  // the same torrent under another digest/segment: errc::conflict.
  virtual result<registration_outcome> register_torrent(const new_torrent& t) = 0;
  // By a 20-byte key (v1 or truncated v2) or a 32-byte v2 hash.
  virtual result<torrent_row> find_torrent(const info_hash& h) = 0;
  virtual result<torrent_row> find_torrent_by_id(std::int64_t id) = 0;
  virtual result<std::string> torrent_bytes(std::int64_t id) = 0;
  virtual result<blob_torrents> find_blob(const digest& d) = 0;
  virtual result<std::optional<torrent_row>> find_segment(const digest& d,
                                                          std::int64_t segment) = 0;
  // Torrents with id > after, oldest first.
  virtual result<std::vector<torrent_row>> list_torrents(std::int64_t after, std::size_t limit) = 0;
  virtual result<void> delete_torrent(const torrent_row& t) = 0;
  // Torrents matching `f`, in one of the orders known_order() accepts
  // (name, size, created), from `offset`, at most `limit`.
  virtual result<std::vector<torrent_row>> search_torrents(const torrent_filter& f,
                                                           std::string_view order, bool descending,
                                                           std::size_t offset,
                                                           std::size_t limit) = 0;
  // Every torrent matching `f` as (id, swarm key), for orders by live
  // figures (seeders, leechers) that the database does not have.
  virtual result<std::vector<std::pair<std::int64_t, swarm_key>>> search_keys(
      const torrent_filter& f) = 0;
  // The torrents with these ids, in the order given (unknown ids left out).
  virtual result<std::vector<torrent_row>> find_torrents(const std::vector<std::int64_t>& ids) = 0;
  virtual result<std::uint64_t> count_torrents(const torrent_filter& f) = 0;
  virtual result<catalog_totals> totals() = 0;
  // Completions recorded per torrent (id, completed), to refresh live figures.
  virtual result<std::vector<std::pair<std::int64_t, std::uint64_t>>> completions() = 0;
  static bool known_order(std::string_view order) noexcept {
    return order == "name" || order == "size" || order == "created";
  }

  // Adds batched counters in one transaction.
  virtual result<void> add_stats(
      const std::vector<torrent_stats_delta>& torrents,
      const std::vector<std::pair<std::uint32_t, user_pending>>& users) = 0;

  // A feed of the changes other trackers make (shared stores only;
  // errc::unsupported otherwise).
  virtual result<std::unique_ptr<store_listener>> listen() = 0;
};

// The registration rules, the same for both engines. A store reads, in
// the registration's transaction, the torrent already filed under t's
// key (if any) and, when t names a blob, that blob's torrents; this says
// what to do.
enum class registration_step {
  keep,    // the same torrent is registered there already: answer it, created=false
  update,  // registered without a digest before: file the existing row under t's blob/segment
  insert,  // a new row
};
result<registration_step> plan_registration(const new_torrent& t,
                                            const std::optional<torrent_row>& existing,
                                            const blob_torrents& blob);
// The keys a torrent's swarm is filed under: v1 (or truncated v2 of a
// v2-only torrent), and the truncated v2 of a hybrid; errc::invalid_argument
// for a torrent with no hash, or a segment without a blob.
struct registration_keys {
  swarm_key primary;
  std::optional<swarm_key> alias;
  const info_hash* lookup = nullptr;  // the hash to find an existing registration by
};
result<registration_keys> keys_of(const new_torrent& t);

// Text both engines put into messages and queries.
// "<info-hash> (<digest> segment <n>)": where a registered torrent is filed.
std::string describe_placement(const torrent_row& r);
// The LIKE pattern of a search ("%text%", with %, _ and \ escaped by \);
// nullopt for an empty search.
std::optional<std::string> like_pattern(const torrent_filter& f);

struct store_options {
  // PostgreSQL connections (one per database thread of the tracker).
  std::size_t connections = 2;
  duration connect_timeout = std::chrono::seconds(5);
};

// Opens the store `db` names: a postgresql:// URL (pg_store) or an sqlite
// file (sqlite_store), migrating its schema to the newest version.
result<std::unique_ptr<store>> open_store(const std::string& db, const store_options& o = {});

}  // namespace blobswarm::tracker
