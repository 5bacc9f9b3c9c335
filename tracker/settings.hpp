// tracker::settings: everything blobswarm-tracker can be configured with.
#pragma once

#include <string>

#include "common/error.hpp"
#include "common/logging.hpp"
#include "common/units.hpp"

namespace blobswarm::tracker {

struct settings {
  std::string listen = "127.0.0.1:6969";
  std::string db = "blobswarm-tracker.db";
  std::string admin_token_file;
  std::string public_url;  // base URL written into .torrent files; default http://<listen>
  duration announce_interval = std::chrono::minutes(2);
  duration min_interval = std::chrono::seconds(30);
  duration peer_ttl = std::chrono::minutes(10);
  logging::settings log;

  template <class V>
  void visit(V& v) {
    v("listen", listen, "address:port for the BitTorrent, API and web endpoints");
    v("db", db, "sqlite database file (created if missing)");
    v("admin_token_file", admin_token_file, "file holding the admin API token");
    v("public_url", public_url, "base URL clients reach the tracker at (default: http://<listen>)");
    v("announce_interval", announce_interval, "interval clients are asked to re-announce at");
    v("min_interval", min_interval, "minimum re-announce interval");
    v("peer_ttl", peer_ttl, "forget peers that have not announced for this long");
    log.visit(v);
  }
  result<void> validate() const;
};

}  // namespace blobswarm::tracker
