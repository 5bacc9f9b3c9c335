// tracker_link: the seeder's side of the tracker's REST API (admin token):
//  - its own passkey: POST /api/v1/users {"name"} (201), or on 409 rotate
//    with POST /api/v1/users/<name>/passkey; kept in the data directory so a
//    restart does not rotate it again;
//  - POST /api/v1/torrents?digest=..[&segment=n][&url=..] registers a torrent
//    (url: the address a file pulled from a URL came from);
//  - DELETE /api/v1/torrents/<infohash> retires one;
//  - GET /api/v1/blobs/<digest>[/torrent|/segments/<n>/torrent] tells what
//    the tracker has for a blob (replicated seeders: seeder/cluster_ingest).
// Registrations and retirements go through one ordered queue worked by a
// coroutine: while the tracker is unreachable they wait and are retried
// with backoff, so a tracker outage never fails an ingest.
#pragma once

#include <spdlog/logger.h>

#include <deque>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/blocking_pool.hpp"
#include "common/digest.hpp"
#include "common/error.hpp"
#include "common/http/client.hpp"
#include "common/info_hash.hpp"
#include "seeder/async_event.hpp"

namespace boost::asio {
class io_context;
}

namespace blobswarm::seeder {

// The torrents the tracker has for a blob: the whole torrent once some
// seeder finished it, and the segment torrents registered by the seeder
// that ingests (or ingested) it, by index.
struct tracker_blob {
  bool whole = false;
  std::vector<std::uint32_t> segments;  // ascending
};

struct tracker_options {
  std::string url;  // base URL; empty: no tracker
  std::string token;
  std::string user;
  std::filesystem::path passkey_file;
  duration max_backoff = std::chrono::seconds(30);
};

class tracker_link {
 public:
  tracker_link(asio::io_context& io, blocking_pool& pool, tracker_options options,
               std::shared_ptr<spdlog::logger> log);
  ~tracker_link();

  bool enabled() const noexcept { return !options_.url.empty(); }
  // Gets the passkey (in the background, retrying) and then calls
  // on_announce_url("<tracker>/announce/<passkey>") on the io executor.
  void start(std::function<void(std::string)> on_announce_url);

  // `done(true)` runs (on the io executor) once the tracker has the
  // torrent; a refusal is logged and reported as done(false). `repository`
  // ("<registry host>/<name>", may be empty) is shown in the tracker's web UI,
  // and so is `source_url` (a file pulled from that URL; may be empty).
  void register_torrent(const blobswarm::digest& d, std::optional<std::uint32_t> segment,
                        std::string torrent, std::function<void(bool)> done = {},
                        std::string repository = {}, std::string source_url = {});
  void retire(const info_hash& ih);

  // Blocking (run on the pool). What the tracker has for `d` (none:
  // errc::not_found), and one of its torrents, without any announce URL.
  result<tracker_blob> blob(const blobswarm::digest& d) const;
  result<std::string> torrent(const blobswarm::digest& d,
                              std::optional<std::uint32_t> segment) const;

  std::size_t pending() const noexcept { return queue_.size(); }
  bool reachable() const noexcept { return reachable_; }
  const std::optional<std::string>& announce_url() const noexcept { return announce_url_; }
  // Stops the worker (pending work is dropped; the index remembers which
  // blobs still need registering).
  void stop();

 private:
  struct task {
    enum class kind { passkey, add, retire } what;
    std::optional<blobswarm::digest> digest;
    std::optional<std::uint32_t> segment;
    std::string torrent;
    std::string repository;
    std::string source_url;
    std::optional<info_hash> hash;
    std::function<void(bool)> done;
  };
  enum class outcome { done, rejected, retry };

  awaitable<void> work();
  outcome run(const task& t);  // blocking, on the pool
  outcome obtain_passkey();
  void enqueue(task t);

  asio::io_context& io_;
  blocking_pool& pool_;
  tracker_options options_;
  std::shared_ptr<spdlog::logger> log_;
  http::client http_;
  std::deque<task> queue_;
  async_event wake_;
  bool running_ = false;
  bool stopping_ = false;
  bool reachable_ = false;
  std::string passkey_;  // written on the pool thread, read after it returns
  std::optional<std::string> announce_url_;
  std::function<void(std::string)> on_announce_url_;
  std::shared_ptr<bool> alive_;
};

}  // namespace blobswarm::seeder
