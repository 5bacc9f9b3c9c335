// file_api: the seeder's endpoint for files pulled from URLs, which the
// mirrors' /files?url= calls (docs/seeder.md, "Files from URLs"):
//   GET /api/v1/files?url=<URL>[&digest=sha256:<hex>]
// answers, once the file is stored and its torrent registered (waiting up
// to wait_timeout for a fetch), {"url", "digest", "size", "name",
// "info_hash_v1", "etag", "last_modified", "fetched_at", "checked_at"}.
// Errors are {"error": {"code", "message"}}: 403 for an origin that is not
// allowed, 502 (code digest_mismatch) when the bytes do not match digest=.
// With an API token, requests need it as a bearer token, like /api/v1/blobs.
#pragma once

#include <spdlog/logger.h>

#include <memory>
#include <string>

#include "common/http/router.hpp"
#include "seeder/url_ingest.hpp"

namespace blobswarm::seeder {

class file_api {
 public:
  file_api(url_ingest& urls, std::string api_token, duration wait_timeout,
           std::shared_ptr<spdlog::logger> log);
  void add_routes(http::router& r);

 private:
  awaitable<http::response> get(http::request& req);

  url_ingest& urls_;
  std::string api_token_;
  duration wait_timeout_;
  std::shared_ptr<spdlog::logger> log_;
};

}  // namespace blobswarm::seeder
