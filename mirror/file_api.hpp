// file_api: the mirror's /files endpoints, which make curl and wget on a
// node a BitTorrent client for any torrent the tracker knows (docs/mirror.md,
// "Files"):
//   GET|HEAD /files/<info-hash>              a single-file torrent's file, or
//                                            a directory torrent's listing (JSON)
//   GET|HEAD /files/<info-hash>/<path>       one file of the torrent (or the
//                                            listing of a directory in it)
//   GET|HEAD /files?url=<URL>[&digest=sha256:<hex>]
//                                            a file the seeder pulls from an
//                                            allowed origin, once for every node
//   GET      /api/v1/files                   downloads in flight, torrents seeded
// Files are streamed as their pieces arrive, with Range (206, 416 and
// Content-Range as for blobs; a Range read's pieces come first), and served
// from the cache once complete.
//
// Who may ask: whoever reaches the mirror's port, like the registry API
// (docs/SECURITY.md); with a token configured (files_token_file) only
// requests carrying it as a bearer token.
#pragma once

#include <spdlog/logger.h>

#include <memory>
#include <optional>
#include <string>

#include "common/http/router.hpp"
#include "mirror/file_downloads.hpp"
#include "mirror/file_sources.hpp"

namespace blobswarm::mirror {

class file_api {
 public:
  struct options {
    std::string token;  // empty: no token needed
    bool tls = false;   // the mirror serves HTTPS (for the URLs in listings)
    // How long a response waits for its first piece before committing to
    // 200 (after that a failure can only cut the body short).
    duration first_byte_wait = std::chrono::seconds(30);
  };

  file_api(file_downloads& downloads, file_sources& sources, options o,
           std::shared_ptr<spdlog::logger> log);

  void add_routes(http::router& r);

 private:
  // What a request resolved to: the torrent, one of its files, and for a
  // URL file the digest it must have and the name to save it as.
  struct target {
    std::shared_ptr<const file_torrent> torrent;
    const torrent_file_entry* file = nullptr;
    std::optional<digest> expected;
    std::string filename;
  };

  awaitable<http::response> by_hash(http::request& req);
  awaitable<http::response> by_url(http::request& req);
  http::response status();
  std::optional<http::response> refuse(const http::request& req) const;
  // The torrent named `ih`: from a download in flight, the cache, or the tracker.
  awaitable<result<std::shared_ptr<const file_torrent>>> torrent_for(const info_hash& ih);
  http::response listing(const http::request& req, const file_torrent& t,
                         std::string_view prefix) const;
  awaitable<http::response> serve(http::request& req, target t);
  // nullopt: not cached (or no longer usable): download it.
  std::optional<http::response> serve_cached(http::request& req, const target& t);
  // The same digest as an image blob in the blob cache, served from there.
  std::optional<http::response> serve_blob(http::request& req, const url_file& f);

  file_downloads& downloads_;
  file_sources& sources_;
  cache& store_;
  options options_;
  std::shared_ptr<spdlog::logger> log_;
};

}  // namespace blobswarm::mirror
