// mirror::settings: everything blobswarm-mirror can be configured with.
#pragma once

#include <string>

#include "common/error.hpp"
#include "common/logging.hpp"
#include "common/units.hpp"

namespace blobswarm::mirror {

struct settings {
  std::string listen = "127.0.0.1:65001";
  std::string data = "blobswarm-mirror-data";
  std::string tracker = "http://127.0.0.1:6969";
  std::string passkey_file;
  std::string seeder = "http://127.0.0.1:8001";
  std::string peer_listen = "0.0.0.0:6882";
  std::string upstream = "https://registry-1.docker.io";
  byte_size cache_size{20ULL << 30};
  logging::settings log;

  template <class V>
  void visit(V& v) {
    v("listen", listen, "address:port for the registry mirror API");
    v("data", data, "cache directory");
    v("tracker", tracker, "tracker base URL");
    v("passkey_file", passkey_file, "file holding this node's tracker passkey");
    v("seeder", seeder, "seeder base URL");
    v("peer_listen", peer_listen, "address:port for BitTorrent peer connections");
    v("upstream", upstream, "default upstream registry URL");
    v("cache_size", cache_size, "disk cache quota");
    log.visit(v);
  }
  result<void> validate() const { return log.validate(); }
};

}  // namespace blobswarm::mirror
