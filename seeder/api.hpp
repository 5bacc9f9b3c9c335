// api: the seeder's HTTP API (see docs/seeder.md):
//   GET      /api/v1/blobs/<name>/<digest>/torrent[?ns=]          whole .torrent (ingests first)
//   GET      /api/v1/blobs/<name>/<digest>/descriptor[?ns=]       ingest state, right away
//   GET      /api/v1/blobs/<name>/<digest>/segments/<n>/torrent   segment n's .torrent
//   GET|HEAD /api/v1/blobs/<name>/<digest>[?ns=]                  the bytes, with Range, also
//                                                                 while ingesting (BEP 19 web seed)
//   POST     /api/v1/blobs/<name>/<digest>/replicate[?ns=]        hold a copy (replicated
//                                                                 seeders: from the swarm)
//   POST     /api/v1/preheat                                      ingest an image's blobs
//   POST     /api/v1/notifications                                registry push notifications
// With an api token, /api/v1/blobs and /api/v1/preheat need
// "Authorization: Bearer <token>" (401 otherwise); notifications need the
// notification token.
//   GET      /metrics, /healthz
// Errors are registry-style JSON ({"errors":[{"code","message","detail"}]})
// with the HTTP status that fits.
#pragma once

#include <spdlog/logger.h>

#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>

#include "common/http/router.hpp"
#include "common/metrics.hpp"
#include "common/units.hpp"
#include "seeder/blob_store.hpp"
#include "seeder/ingestor.hpp"
#include "seeder/preheater.hpp"
#include "seeder/torrent_session.hpp"
#include "seeder/tracker_link.hpp"

namespace blobswarm::seeder {

struct api_options {
  std::string public_url;  // for web seeds
  bool web_seed = false;
  duration wait_timeout = std::chrono::minutes(10);
  std::string api_token;           // empty: blobs and preheat need no token
  std::string notification_token;  // empty: notifications need no token
};

class api {
 public:
  api(ingestor& ingest, blob_store& store, preheater& preheat, torrent_session& session,
      tracker_link& tracker, blocking_pool& pool, metrics::registry& metrics, api_options options,
      std::shared_ptr<spdlog::logger> log);

  http::router routes();

 private:
  awaitable<http::response> blob(http::request& req);
  awaitable<http::response> torrent(std::string ns, repository_name name, blobswarm::digest d);
  http::response descriptor(std::string_view ns, const repository_name& name,
                            const blobswarm::digest& d);
  http::response replicate(std::string_view ns, const repository_name& name,
                           const blobswarm::digest& d);
  nlohmann::json descriptor_of(const ingestor::view& v, const blobswarm::digest& d) const;
  awaitable<http::response> segment(std::string ns, repository_name name, blobswarm::digest d,
                                    std::uint32_t n);
  awaitable<http::response> bytes(http::request& req, std::string ns, repository_name name,
                                  blobswarm::digest d);
  http::response stored_bytes(http::request& req, const stored_blob& b);
  awaitable<http::response> preheat(http::request& req);
  http::response notifications(http::request& req);
  http::response health();
  // A 401 unless `token` is empty or the request carries it as
  // "Authorization: Bearer <token>" (compared in constant time).
  std::optional<http::response> refuse(const http::request& req, const std::string& token,
                                       std::string_view what);
  std::string web_seed_url(const repository_name& name, const blobswarm::digest& d,
                           std::string_view ns) const;
  http::response torrent_response(std::string bytes, const repository_name& name,
                                  const blobswarm::digest& d, std::string_view ns) const;

  ingestor& ingest_;
  blob_store& store_;
  preheater& preheater_;
  torrent_session& session_;
  tracker_link& tracker_;
  blocking_pool& pool_;
  metrics::registry& metrics_;
  api_options options_;
  std::shared_ptr<spdlog::logger> log_;
  metrics::counter& http_bytes_;
  metrics::counter& unauthorized_;
};

}  // namespace blobswarm::seeder
