// service: wires the seeder together — store, libtorrent session, tracker
// link, upstream clients, ingestor (with, for replicated seeders, the
// ingest lease, swarm fetch and replicator), preheater and HTTP API — on one
// io_context (plus the blocking pool for libcurl and sqlite), and runs it
// until SIGINT/SIGTERM with a graceful shutdown.
#pragma once

#include <boost/asio/io_context.hpp>
#include <memory>

#include "common/blocking_pool.hpp"
#include "common/error.hpp"
#include "common/metrics.hpp"
#include "seeder/settings.hpp"

namespace blobswarm::http {
class server;
}
namespace blobswarm::registry {
class client_pool;
}

namespace blobswarm::seeder {

class api;
class blob_store;
class file_api;
class url_ingest;
class cluster_ingest;
class ingest_lease;
class ingestor;
class replicator;
class swarm_fetch;
class preheater;
class torrent_session;
class tracker_link;

class service {
 public:
  // Opens the store and reads secrets; fails with a message naming the
  // problem (bad data directory, unreadable token file, ...).
  static result<std::unique_ptr<service>> make(const settings& s);
  ~service();

  // Listens (HTTP and peers), re-seeds the store, and serves until a signal.
  // Returns the exit code.
  int run();

 private:
  explicit service(settings s);
  result<void> start();
  // /api/v1/files: the allow-list, the URL index and their fetcher.
  result<void> start_files();
  awaitable<void> shutdown();
  void schedule_flush();

  settings settings_;
  asio::io_context io_;
  metrics::registry metrics_;
  std::unique_ptr<blocking_pool> pool_;
  std::unique_ptr<blob_store> store_;
  std::unique_ptr<torrent_session> session_;
  std::unique_ptr<registry::client_pool> clients_;
  std::unique_ptr<tracker_link> tracker_;
  // Replicated seeders only.
  std::unique_ptr<ingest_lease> lease_;
  std::unique_ptr<swarm_fetch> swarm_;
  std::unique_ptr<replicator> replicator_;
  std::unique_ptr<cluster_ingest> cluster_;
  std::unique_ptr<ingestor> ingest_;
  std::unique_ptr<preheater> preheater_;
  std::unique_ptr<api> api_;
  std::unique_ptr<http::server> server_;
  // Files pulled from URLs (url_ingest.hpp).
  std::unique_ptr<url_ingest> urls_;
  std::unique_ptr<file_api> file_api_;
  std::string tracker_token_;
  std::string api_token_;
  std::string notification_token_;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace blobswarm::seeder
