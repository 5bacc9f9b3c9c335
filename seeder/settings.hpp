// seeder::settings: everything blobswarm-seeder can be configured with.
#pragma once

#include <string>

#include "common/error.hpp"
#include "common/logging.hpp"
#include "common/units.hpp"

namespace blobswarm::seeder {

struct settings {
  std::string listen = "127.0.0.1:8001";
  std::string data = "blobswarm-seeder-data";
  std::string upstream = "https://registry-1.docker.io";
  std::string tracker = "http://127.0.0.1:6969";
  std::string tracker_token_file;
  std::string peer_listen = "127.0.0.1:6881";
  logging::settings log;

  template <class V>
  void visit(V& v) {
    v("listen", listen, "address:port for the seeder's HTTP API");
    v("data", data, "directory for blobs and the index");
    v("upstream", upstream, "default upstream registry URL");
    v("tracker", tracker, "tracker base URL");
    v("tracker_token_file", tracker_token_file, "file holding the tracker admin token");
    v("peer_listen", peer_listen, "address:port for BitTorrent peer connections");
    log.visit(v);
  }
  result<void> validate() const { return log.validate(); }
};

}  // namespace blobswarm::seeder
