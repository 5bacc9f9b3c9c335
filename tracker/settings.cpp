#include "tracker/settings.hpp"

#include <thread>

#include "common/net.hpp"
#include "db/urls.hpp"

namespace blobswarm::tracker {

result<void> settings::validate() const {
  if (auto l = host_port::parse(listen); !l) return fail(l.error().with_context("listen"));
  if (admin_token_file.empty()) {
    return fail(errc::invalid_argument,
                "admin_token_file is required (a file holding the admin API token)");
  }
  if (db.empty()) {
    return fail(errc::invalid_argument, "db must name an sqlite file or a postgresql:// URL");
  }
  if (peer_store != "memory") {
    if (!db::redis_url::is_redis_url(peer_store)) {
      return fail(errc::invalid_argument, "peer_store must be memory or a redis:// URL (got '{}')",
                  peer_store.substr(0, 100));
    }
    if (auto u = db::redis_url::parse(peer_store); !u) {
      return fail(u.error().with_context("peer_store"));
    }
  }
  if (shared_db()) {
    // Replicas must be interchangeable: the same announce URL in every
    // .torrent, the same key for the passkeys sealed in the database.
    if (public_url.empty()) {
      return fail(errc::invalid_argument,
                  "public_url is required with a PostgreSQL db: every replica writes it into "
                  ".torrent files (the address clients reach all replicas at)");
    }
    if (web_ui && passkey_key_file.empty()) {
      return fail(errc::invalid_argument,
                  "passkey_key_file is required with a PostgreSQL db (the same file on every "
                  "replica: it opens the passkeys sealed in the shared database)");
    }
  }
  if (db_connections == 0 || db_connections > 64) {
    return fail(errc::invalid_argument, "db_connections must be between 1 and 64");
  }
  if (resync_interval < std::chrono::seconds(1)) {
    return fail(errc::invalid_argument, "resync_interval must be at least 1s");
  }
  if (announce_interval < std::chrono::seconds(1)) {
    return fail(errc::invalid_argument, "announce_interval must be at least 1s");
  }
  if (min_interval > announce_interval) {
    return fail(errc::invalid_argument, "min_interval must not exceed announce_interval");
  }
  if (peer_ttl < announce_interval) {
    return fail(errc::invalid_argument,
                "peer_ttl must be at least announce_interval (else peers vanish between "
                "announces)");
  }
  if (max_numwant == 0 || max_numwant > 2000) {
    return fail(errc::invalid_argument, "max_numwant must be between 1 and 2000");
  }
  if (numwant > max_numwant) {
    return fail(errc::invalid_argument, "numwant must not exceed max_numwant");
  }
  for (const auto& t : trusted_addresses) {
    if (auto c = cidr::parse(t); !c) return fail(c.error().with_context("trusted_addresses"));
  }
  if (auto z = zone_map::build(zones); !z) return fail(z.error());
  for (std::size_t i = 0; i < users.size(); ++i) {
    if (users[i].name.empty() || users[i].passkey_file.empty()) {
      return fail(errc::invalid_argument, "users[{}] needs a name and a passkey_file", i);
    }
  }
  if (threads > 256) return fail(errc::invalid_argument, "threads must be at most 256");
  if (stats_flush_interval < std::chrono::milliseconds(100)) {
    return fail(errc::invalid_argument, "stats_flush_interval must be at least 100ms");
  }
  if (max_torrent_size.bytes < 1024) {
    return fail(errc::invalid_argument, "max_torrent_size must be at least 1KiB");
  }
  if (!public_url.empty() && !public_url.starts_with("http://") &&
      !public_url.starts_with("https://")) {
    return fail(errc::invalid_argument, "public_url must start with http:// or https://");
  }
  if (session_ttl < std::chrono::minutes(1) || session_idle < std::chrono::minutes(1)) {
    return fail(errc::invalid_argument, "session_ttl and session_idle must be at least 1m");
  }
  if (tls_cert_file.empty() != tls_key_file.empty()) {
    return fail(errc::invalid_argument, "tls_cert_file and tls_key_file go together");
  }
  if (!mirror_url.starts_with("http://") && !mirror_url.starts_with("https://")) {
    return fail(errc::invalid_argument, "mirror_url '{}' must be an http(s) URL", mirror_url);
  }
  return log.validate();
}

std::string settings::effective_public_url() const {
  std::string url = public_url;
  if (url.empty()) url = (tls_cert_file.empty() ? "http://" : "https://") + listen;
  while (url.ends_with('/')) url.pop_back();
  return url;
}

bool settings::shared_db() const {
  return db::is_postgres_url(db);
}

bool settings::shared_peers() const {
  return db::redis_url::is_redis_url(peer_store);
}

std::string settings::effective_peer_snapshot() const {
  if (shared_peers()) return {};
  if (!peer_snapshot.empty() || shared_db()) return peer_snapshot;
  return db + ".peers";
}

std::string settings::effective_passkey_key_file() const {
  return passkey_key_file.empty() ? db + ".key" : passkey_key_file;
}

unsigned settings::effective_threads() const {
  if (threads > 0) return threads;
  auto n = std::thread::hardware_concurrency();
  return n == 0 ? 1 : n;
}

}  // namespace blobswarm::tracker
