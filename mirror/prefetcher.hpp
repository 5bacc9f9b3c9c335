// prefetcher: when the mirror serves an image manifest to a client, the
// blobs it lists start downloading before the client asks for them.
//
// Clients that fetch layers one at a time (dockerd and containerd's CRI
// fetch at most three at once, skopeo's dir: one) asked for each layer only
// after the previous one had arrived, so a cold pull paid one seeder ingest
// and one swarm start per layer, in series: bench/swarm, 10 MiB in 4 layers,
// serial client, cold: 2.5 s where the bytes take 0.9 s. Prefetched, every
// layer is flowing when the client asks; its request joins the download.
//
// Only for a client the manifest was served to (it was authorized for that
// repository, and the manifest answers for its blobs: mirror/authorizer).
// Bounded: at most `concurrency` prefetched downloads at once (the rest wait
// in a queue of at most `max_queue`; a blob a client asks for leaves the
// queue and starts at once), and an image whose missing blobs exceed half
// the cache quota is not prefetched. What is prefetched and never asked for
// is an ordinary cached blob: least recently used, so evicted first.
#pragma once

#include <spdlog/logger.h>

#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <set>
#include <string>

#include "common/registry/manifest.hpp"
#include "mirror/blob_download.hpp"

namespace blobswarm::mirror {

class prefetcher {
 public:
  struct options {
    std::size_t concurrency = 4;  // 0: never prefetch
    std::size_t max_queue = 256;
  };
  // Starts (or joins) the download of a blob, as a client request would.
  using start_fn = std::function<std::shared_ptr<blob_download>(const blob_ref&)>;
  // Whether the blob is cached or already downloading.
  using have_fn = std::function<bool(const digest&)>;

  prefetcher(asio::io_context& io, cache& store, options o, start_fn start, have_fn have,
             std::shared_ptr<spdlog::logger> log);

  // The blobs of an image manifest just served from (host, name). Returns
  // how many were queued.
  std::size_t image(const std::string& host, const repository_name& name,
                    const registry::manifest& m);
  // A client asked for `id`: it no longer waits in the queue.
  void asked(const digest& id);

  std::uint64_t started() const noexcept { return started_; }
  std::uint64_t skipped() const noexcept { return skipped_; }
  std::size_t queued() const noexcept { return queue_.size(); }
  std::size_t running() const noexcept { return running_; }

 private:
  void pump();
  awaitable<void> watch(std::shared_ptr<blob_download> d);

  asio::io_context& io_;
  cache& store_;
  options options_;
  start_fn start_;
  have_fn have_;
  std::shared_ptr<spdlog::logger> log_;
  std::deque<blob_ref> queue_;
  std::set<std::string, std::less<>> queued_;  // digests in queue_
  std::size_t running_ = 0;
  std::uint64_t started_ = 0;
  std::uint64_t skipped_ = 0;  // blobs not prefetched: queue full or image too large
};

}  // namespace blobswarm::mirror
