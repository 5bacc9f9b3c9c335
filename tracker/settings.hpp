// tracker::settings: everything blobswarm-tracker can be configured with.
#pragma once

#include <string>
#include <vector>

#include "common/error.hpp"
#include "common/logging.hpp"
#include "common/units.hpp"
#include "tracker/zone_map.hpp"

namespace blobswarm::tracker {

// A user provisioned from configuration: created at start-up with the
// passkey in `passkey_file`, or given that passkey if it exists with
// another one (so replacing the file and restarting rotates it).
struct configured_user {
  std::string name;
  std::string passkey_file;

  template <class V>
  void visit(V& v) {
    v("name", name, "user name");
    v("passkey_file", passkey_file, "file holding the user's passkey (16-128 characters)");
  }
};

struct settings {
  std::string listen = "127.0.0.1:6969";
  std::string db = "blobswarm-tracker.db";  // an sqlite file: no other service to run
  // Where peers live: "memory" (this process; snapshot across restarts) or
  // a redis:// URL shared by replicas.
  std::string peer_store = "memory";
  unsigned db_connections = 4;  // PostgreSQL: database threads, one connection each
  // PostgreSQL: a full resync with the shared store this often (changes
  // arrive at once through LISTEN/NOTIFY; this is the safety net and
  // refreshes completion counts other replicas flushed).
  duration resync_interval = std::chrono::minutes(1);
  std::string admin_token_file;
  std::string public_url;  // base URL written into .torrent files; default http://<listen>
  std::string mirror_url = "http://127.0.0.1:65001";  // a node's mirror, for the web UI's links
  duration announce_interval = std::chrono::minutes(2);
  duration min_interval = std::chrono::seconds(30);
  duration peer_ttl = std::chrono::minutes(10);
  unsigned numwant = 50;
  unsigned max_numwant = 200;
  unsigned origin_standby_seeders = 1;
  unsigned origin_fanout = 0;
  std::vector<std::string> trusted_addresses;  // CIDRs whose ip=/ipv4=/ipv6= are honoured
  std::vector<zone_rule> zones;                // JSON only
  std::vector<configured_user> users;          // JSON only
  unsigned threads = 0;                        // 0: one per CPU
  duration stats_flush_interval = std::chrono::seconds(10);
  std::string peer_snapshot;  // default: <db>.peers
  byte_size max_torrent_size{16ULL << 20};
  bool access_log = true;
  duration shutdown_grace = std::chrono::seconds(5);
  bool web_ui = true;
  std::string passkey_key_file;  // default: <db>.key
  duration session_ttl = std::chrono::hours(12);
  duration session_idle = std::chrono::hours(1);
  std::string tls_cert_file;
  std::string tls_key_file;
  logging::settings log;

  template <class V>
  void visit(V& v) {
    v("listen", listen, "address:port for the BitTorrent, API and web endpoints");
    v("db", db,
      "index of record: an sqlite file (created if missing), or a postgresql:// URL shared by "
      "tracker replicas (then set public_url and passkey_key_file the same on every replica)");
    v("peer_store", peer_store,
      "where peers live: memory (this process), or a redis:// URL ([:password@]host:port[/db]) "
      "shared by tracker replicas so any replica hands out the whole swarm");
    v("db_connections", db_connections,
      "PostgreSQL connections (and database threads) of this tracker (sqlite: always 1)");
    v("resync_interval", resync_interval,
      "PostgreSQL: how often to reload users and torrents in full (changes other replicas make "
      "arrive at once; this is the safety net)");
    v("admin_token_file", admin_token_file, "file holding the admin API token (required)");
    v("public_url", public_url,
      "base URL clients reach the tracker at, written into .torrent files (default: "
      "http://<listen>, or https:// with TLS)");
    v("mirror_url", mirror_url,
      "base URL of a node's blobswarm-mirror as the web UI shows it in links to fetch files "
      "(each node has its own; default: the mirror's default listen address)");
    v("announce_interval", announce_interval, "interval clients are asked to re-announce at");
    v("min_interval", min_interval, "minimum re-announce interval");
    v("peer_ttl", peer_ttl, "forget peers that have not announced for this long");
    v("numwant", numwant, "peers handed out when the client does not say (numwant=)");
    v("max_numwant", max_numwant, "most peers handed out per announce");
    v("origin_standby_seeders", origin_standby_seeders,
      "origins (blobswarm seeders) are handed out only while a swarm has fewer than this many "
      "other seeders, so nodes serve each other first (0: always)");
    v("origin_fanout", origin_fanout,
      "leechers of a swarm handed the origins at a time; the rest get the blob from them and "
      "each other (0: every leecher; the seeder sends each piece once anyway, see its "
      "resend_after; 2 for origins that do not)");
    v("trusted_addresses", trusted_addresses,
      "CIDRs (e.g. 10.0.0.0/8) whose announces may set the peer address with ip=/ipv4=/ipv6=");
    v("zones", zones,
      "CIDR -> zone rules for the peer handout, e.g. [{\"cidr\": \"10.1.0.0/16\", \"zone\": "
      "\"dc1\"}]");
    v("users", users,
      "users created at start-up with a passkey from a file, e.g. [{\"name\": \"nodes\", "
      "\"passkey_file\": \"/run/secrets/nodes-passkey\"}]");
    v("threads", threads, "server threads, each with its own listening socket (0: one per CPU)");
    v("stats_flush_interval", stats_flush_interval,
      "how often transfer counters are written to the database (one transaction)");
    v("peer_snapshot", peer_snapshot,
      "file the peers are saved to on shutdown and restored from on start (default: <db>.peers "
      "with an sqlite db; none with PostgreSQL unless set; unused with a Redis peer store)");
    v("max_torrent_size", max_torrent_size, "largest .torrent accepted by POST /api/v1/torrents");
    v("access_log", access_log, "log one line per HTTP request (passkeys redacted)");
    v("shutdown_grace", shutdown_grace, "how long requests in flight may take at shutdown");
    v("web_ui", web_ui, "serve the web UI at / (sign-in, torrents, upload, users, overview)");
    v("passkey_key_file", passkey_key_file,
      "file with the key that seals passkeys in the database, so the web UI can show them and "
      "put them into .torrent files (created if missing; default: <db>.key; required with a "
      "PostgreSQL db, the same file on every replica)");
    v("session_ttl", session_ttl, "web UI sessions end this long after sign-in");
    v("session_idle", session_idle, "web UI sessions end after this long without a request");
    v("tls_cert_file", tls_cert_file,
      "PEM certificate (chain) for HTTPS on --listen (with --tls-key-file; default: plain HTTP)");
    v("tls_key_file", tls_key_file, "PEM private key of --tls-cert-file");
    log.visit(v);
  }
  result<void> validate() const;

  // Derived values.
  std::string effective_public_url() const;
  bool shared_db() const;     // db is a postgresql:// URL
  bool shared_peers() const;  // peer_store is a redis:// URL
  // "" when no snapshot is kept (Redis peer store, or PostgreSQL without peer_snapshot).
  std::string effective_peer_snapshot() const;
  std::string effective_passkey_key_file() const;
  unsigned effective_threads() const;
};

}  // namespace blobswarm::tracker
