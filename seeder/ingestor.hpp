// ingestor: brings blobs from upstream registries into the store and the
// swarm. One job per digest however many callers ask; each job streams the
// blob to disk once, computing its digest and the piece hashes in the same
// pass; publishes segment torrents as their bytes arrive (for cold pulls);
// verifies the digest (a mismatch deletes everything and fails the job);
// moves the blob into the store, seeds its whole torrent and registers it
// with the tracker; and retires the segment torrents after a linger time.
//
// With replicated seeders (cluster_ingest, optional) a job first gets what
// the tracker, the ingest lease and the swarm offer, and fetches from
// upstream only what nobody in the cluster has.
//
// Lives on the service's executor; fetches run on the blocking pool.
#pragma once

#include <spdlog/logger.h>

#include <map>
#include <memory>
#include <optional>
#include <string>

#include "common/blocking_pool.hpp"
#include "common/digest.hpp"
#include "common/error.hpp"
#include "common/metrics.hpp"
#include "common/registry/client.hpp"
#include "common/repository_name.hpp"
#include "seeder/async_event.hpp"
#include "seeder/blob_job.hpp"
#include "seeder/blob_store.hpp"
#include "seeder/cluster_ingest.hpp"
#include "seeder/torrent_session.hpp"
#include "seeder/tracker_link.hpp"

namespace boost::asio {
class io_context;
}

namespace blobswarm::seeder {

struct ingest_options {
  std::uint64_t segment_size = 8ULL << 20;  // 0: no segment torrents
  duration segment_linger = std::chrono::minutes(10);
  int max_ingests = 2;
  // A failed ingest is reported as failed for this long before the next
  // request tries again (a 404 is not re-fetched per request).
  duration failure_ttl = std::chrono::seconds(5);
  // Longest a new torrent is withheld waiting for the tracker to have it.
  duration registration_wait = std::chrono::seconds(5);
};

class ingestor {
 public:
  // Blobs up to this size are not held back by max_ingests.
  static constexpr std::uint64_t small_ingest = 4ULL << 20;

  ingestor(asio::io_context& io, blocking_pool& pool, blob_store& store, torrent_session& session,
           tracker_link& tracker, registry::client_pool& clients, ingest_options options,
           metrics::registry& metrics, std::shared_ptr<spdlog::logger> log,
           cluster_ingest* cluster = nullptr);
  ~ingestor();

  // What the seeder knows about a blob: stored, or being ingested (or
  // recently failed). With `start`, an ingest begins if it is neither.
  struct view {
    std::optional<stored_blob> stored;
    std::shared_ptr<blob_job> job;
  };
  result<view> get(std::string_view ns, const repository_name& name, const blobswarm::digest& d,
                   bool start = true);

  // Waits until the job is done, or `timeout`.
  static awaitable<void> wait_done(std::shared_ptr<blob_job> job, duration timeout);

  // At start-up: seeds every stored blob again (no re-hashing: the index
  // is trusted, and seed mode checks each piece the first time a peer asks)
  // and registers the ones the tracker does not have yet.
  void resume_stored();
  // Cancels running fetches (their jobs fail with "shutting down").
  void shutdown();

  std::size_t running() const noexcept { return running_; }
  std::size_t jobs() const noexcept { return jobs_.size(); }
  const ingest_options& options() const noexcept { return options_; }

 private:
  struct fetched {
    stored_blob stored;
    std::optional<blob_torrent> whole;
    bool from_upstream = true;  // upstream sent (some of) the bytes
  };
  awaitable<void> run(std::shared_ptr<blob_job> job, std::shared_ptr<registry::client> client);
  // Blocking: fetches what is not in the ingest file yet (all of it, or
  // what follows head.prefix), verifies and stores the blob.
  result<fetched> fetch(const std::shared_ptr<blob_job>& job, const registry::client& client,
                        const cluster_ingest::head_start& head);
  // Blocking: reserves room for `size` bytes and creates the ingest file.
  result<ingest_file> open_ingest(const blobswarm::digest& d, std::uint64_t size);
  void publish_segment(const std::shared_ptr<blob_job>& job, std::uint32_t n, blob_torrent t);
  void release_segments(const std::shared_ptr<blob_job>& job);
  // Registers a torrent with the tracker, then seeds it (`seed`), so that
  // the seeder's first announce is accepted. `on_registered` runs when the
  // tracker has it; `release` runs once: when the tracker has answered the
  // seeder's announce (a client announcing from then on finds the seeder),
  // or after registration_wait, or at once without a tracker.
  // `job` names the repository for the tracker's index.
  void register_then_seed(const blob_job& job, std::optional<std::uint32_t> segment,
                          const blob_torrent& t, std::function<void()> seed,
                          std::function<void()> on_registered, std::function<void()> release);
  void finish(const std::shared_ptr<blob_job>& job);
  void complete(const std::shared_ptr<blob_job>& job, fetched f);
  void fail_job(const std::shared_ptr<blob_job>& job, error e);
  void retire_segments(const std::shared_ptr<blob_job>& job);
  void forget_later(const std::shared_ptr<blob_job>& job, duration after);
  void evicted(const std::vector<stored_blob>& blobs);

  asio::io_context& io_;
  blocking_pool& pool_;
  blob_store& store_;
  torrent_session& session_;
  tracker_link& tracker_;
  registry::client_pool& clients_;
  ingest_options options_;
  std::shared_ptr<spdlog::logger> log_;
  cluster_ingest* cluster_;  // replicated seeders only
  std::map<blobswarm::digest, std::shared_ptr<blob_job>> jobs_;
  std::size_t running_ = 0;
  async_event slot_freed_;
  bool stopping_ = false;
  std::shared_ptr<bool> alive_;

  metrics::counter& ingested_;
  metrics::counter& failed_;
  metrics::counter& upstream_bytes_;
  metrics::counter& segments_published_;
  metrics::histogram& ingest_seconds_;
};

}  // namespace blobswarm::seeder
