// service: blobswarm-mirror's HTTP front-end and the objects behind it.
// The Registry v2 pull API for runtimes (manifests proxied and cached,
// blobs from the cache or through the swarm), /metrics, /healthz and
// /api/v1/stats. Runs on one io_context thread; blocking work goes to a pool.
#pragma once

#include <spdlog/logger.h>

#include <deque>
#include <map>
#include <memory>
#include <set>

#include "common/blocking_pool.hpp"
#include "common/http/range.hpp"
#include "common/http/server.hpp"
#include "common/metrics.hpp"
#include "mirror/authorizer.hpp"
#include "mirror/blob_download.hpp"
#include "mirror/cache.hpp"
#include "mirror/file_api.hpp"
#include "mirror/file_downloads.hpp"
#include "mirror/file_sources.hpp"
#include "mirror/http_sources.hpp"
#include "mirror/manifest_proxy.hpp"
#include "mirror/prefetcher.hpp"
#include "mirror/registry_path.hpp"
#include "mirror/settings.hpp"
#include "mirror/swarm.hpp"
#include "mirror/upstreams.hpp"

namespace blobswarm::mirror {

class service {
 public:
  // Opens the cache, starts the swarm and re-seeds cached blobs. Fails on
  // unusable settings (passkey file, upstreams) or an unusable cache.
  static result<std::unique_ptr<service>> make(asio::io_context& io, const settings& s,
                                               std::shared_ptr<spdlog::logger> log);
  ~service();

  result<ip_endpoint> listen();
  awaitable<void> stop();

 private:
  struct counters;
  struct recent_blob {
    std::string digest;
    download_stats stats;
    std::int64_t finished_at = 0;
  };

  service(asio::io_context& io, const settings& s, std::shared_ptr<spdlog::logger> log);
  result<void> init();
  // /files (file_api.hpp), unless settings say no.
  result<void> init_files(std::string seeder_token);
  http::router routes();

  awaitable<http::response> handle_v2(http::request& req);
  awaitable<http::response> handle_base(http::request& req, const registry_path& route);
  awaitable<http::response> handle_manifest(http::request& req, const registry_path& route);
  awaitable<http::response> handle_blob(http::request& req, const registry_path& route);
  // An image manifest was served to an authorized client: its blobs start.
  void prefetch_blobs_of(const std::string& host, const repository_name& name,
                         std::string_view body, std::string_view content_type);
  // nullopt: the cached copy turned out unusable (modified, missing); treat as a miss.
  awaitable<std::optional<http::response>> serve_cached(http::request& req, const cached_blob& b);
  awaitable<std::optional<http::response>> authorize_blob(http::request& req,
                                                          const registry_path& route);
  // The download of `ref`, started if needed. `for_a_range`: a Range
  // request asks (with range_downloads 'ranges' a new download fetches only
  // what readers ask for); any other request makes it fetch everything.
  std::shared_ptr<blob_download> download_for(const blob_ref& ref, bool for_a_range = false);
  awaitable<http::response> serve_range(http::request& req, const blob_ref& ref);
  // A small read whose pieces are not here yet, from the seeder
  // (mirror/range_relay.hpp); nullopt: serve it from the pieces.
  awaitable<std::optional<http::response>> relay_range(const blob_ref& ref,
                                                       std::shared_ptr<blob_download> dl,
                                                       http::byte_range want, std::uint64_t size);
  awaitable<void> watch(std::shared_ptr<blob_download> d);
  void remember_lie(const digest& id);
  void on_seeding(const digest& d, const lt::torrent_handle& h);
  awaitable<void> stop_seeding_later(digest d, lt::torrent_handle h);
  http::response stats_json() const;
  void reseed();

  asio::io_context& io_;
  settings settings_;
  std::shared_ptr<spdlog::logger> log_;
  std::string passkey_;
  std::unique_ptr<blocking_pool> pool_;
  std::unique_ptr<upstreams> upstreams_;
  std::unique_ptr<cache> cache_;
  std::unique_ptr<swarm> swarm_;
  std::unique_ptr<http_sources> sources_;
  std::unique_ptr<authorizer> authorizer_;
  std::unique_ptr<manifest_proxy> manifests_;
  std::unique_ptr<download_context> download_ctx_;
  std::unique_ptr<prefetcher> prefetch_;
  std::unique_ptr<http::server> server_;
  std::shared_ptr<metrics::registry> metrics_;
  std::unique_ptr<counters> counters_;
  std::map<std::string, std::shared_ptr<blob_download>, std::less<>> downloads_;
  std::map<std::string, lt::torrent_handle, std::less<>> seeding_;
  // Digests whose torrent delivered other content, and when: fetched over
  // HTTP only for a while (bounded; see remember_lie).
  std::map<std::string, std::chrono::steady_clock::time_point, std::less<>> lying_torrents_;
  std::deque<recent_blob> recent_;
  // /files (file_api.hpp); last, so they go before what they use.
  std::unique_ptr<file_sources> file_sources_;
  std::unique_ptr<file_downloads> file_downloads_;
  std::unique_ptr<file_api> files_;
};

}  // namespace blobswarm::mirror
