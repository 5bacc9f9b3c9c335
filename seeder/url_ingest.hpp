// url_ingest: files the seeder pulls from allowed URLs for the mirrors'
// /files?url= (docs/seeder.md, "Files from URLs"). One fetch per URL however
// many nodes ask; the bytes stream to disk (never held in memory) while
// their SHA-256 and piece hashes are computed in the same pass; the file
// becomes a blob of that digest in the blob store, with the deterministic
// torrent a blob of that digest has (seeder/blob_torrents.hpp), registered
// with the tracker under the digest and the URL, and seeded.
//
// The URL's record (seeder/url_index.hpp) answers later requests without
// contacting the origin for `ttl`; after that the origin is asked again
// with If-None-Match / If-Modified-Since (its ETag / Last-Modified): 304
// keeps the bytes, 200 brings new ones (a new digest, a new torrent).
//
// With an expected digest the bytes must hash to it, or nothing is stored,
// registered or served. Without one, the SHA-256 the seeder computes is the
// file's identity. Origins are admitted by the allow-list, which also says
// which credentials each gets (seeder/origin_allowlist.hpp); redirects are
// followed one hop at a time so that each hop gets its own origin's
// credentials only.
#pragma once

#include <spdlog/logger.h>

#include <atomic>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/async_event.hpp"
#include "common/blocking_pool.hpp"
#include "common/digest.hpp"
#include "common/error.hpp"
#include "common/http/client.hpp"
#include "common/info_hash.hpp"
#include "common/metrics.hpp"
#include "seeder/blob_store.hpp"
#include "seeder/blob_torrents.hpp"
#include "seeder/origin_allowlist.hpp"
#include "seeder/torrent_session.hpp"
#include "seeder/tracker_link.hpp"
#include "seeder/url_index.hpp"

namespace boost::asio {
class io_context;
}

namespace blobswarm::seeder {

struct url_ingest_options {
  // How long a URL's record answers without asking the origin again.
  duration ttl = std::chrono::minutes(10);
  // Files larger than this are refused (0: only the store's quota limits them).
  std::uint64_t max_size = 0;
  // A transfer that delivers nothing for this long fails.
  duration stall_timeout = std::chrono::seconds(60);
  // Redirects followed per fetch.
  int max_redirects = 10;
  // URL fetches at once; more wait their turn.
  int max_fetches = 2;
  // Longest an answer waits for the tracker to have the file's torrent.
  duration registration_wait = std::chrono::seconds(10);
};

// What the seeder knows about a URL's file.
struct url_answer {
  url_record record;
  std::optional<info_hash> torrent;  // none for an empty file
  std::string name;                  // the URL's last path segment
};

class url_ingest {
 public:
  url_ingest(asio::io_context& io, blocking_pool& pool, blob_store& store, torrent_session& session,
             tracker_link& tracker, origin_allowlist allow, std::unique_ptr<url_index> index,
             url_ingest_options options, metrics::registry& metrics,
             std::shared_ptr<spdlog::logger> log);
  ~url_ingest();

  // The file at `url`: refused (errc::forbidden) unless its origin is
  // allowed; from the record while fresh, else fetched or revalidated
  // (waiting up to `wait` for that). errc::digest_mismatch when `expected`
  // is given and the bytes differ.
  awaitable<result<url_answer>> get(std::string url, std::optional<digest> expected, duration wait);

  // Cancels running fetches.
  void shutdown();
  std::size_t running() const noexcept { return running_; }
  std::size_t records() const { return index_->count(); }

 private:
  struct job;
  struct fetched;
  class transfer;

  awaitable<void> run(std::shared_ptr<job> j);
  result<fetched> fetch(job& j);  // blocking, on the pool
  // Registers the torrent with the tracker (under the digest and the URL),
  // then seeds it; true once the tracker has it.
  awaitable<bool> publish(const blobswarm::digest& d, const blob_torrent& t,
                          const file_url& source);
  result<url_answer> answer(const url_record& r, const file_url& u) const;
  const http::client& client_for(const file_url& u) const;

  asio::io_context& io_;
  blocking_pool& pool_;
  blob_store& store_;
  torrent_session& session_;
  tracker_link& tracker_;
  origin_allowlist allow_;
  std::unique_ptr<url_index> index_;
  url_ingest_options options_;
  std::shared_ptr<spdlog::logger> log_;
  http::client default_client_;
  // Origins with a CA bundle of their own get a client of their own.
  std::map<std::string, std::unique_ptr<http::client>> origin_clients_;
  std::map<std::string, std::shared_ptr<job>> jobs_;  // by normalized URL
  std::size_t running_ = 0;
  async_event slot_freed_;
  std::atomic<std::uint64_t> placeholders_{0};
  bool stopping_ = false;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);

  metrics::counter& fetched_;
  metrics::counter& not_modified_;
  metrics::counter& failed_;
  metrics::counter& bytes_;
};

}  // namespace blobswarm::seeder
