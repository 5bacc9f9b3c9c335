// cluster_ingest: what an ingest does first when the seeder is one of
// several (settings `seeders`), so that a blob comes from upstream once
// cluster-wide and a seeder that dies mid-ingest costs neither the pull nor
// a second copy from the registry:
//
//  1. The tracker has the blob's whole torrent: another seeder has the
//     blob. Get it from the swarm (swarm_fetch); nothing from upstream.
//  2. Otherwise claim the blob's ingest lease (ingest_lease). When another
//     live seeder holds it, follow: learn the blob's size (a HEAD), hand out
//     the segment torrents that seeder registers (from the tracker; they
//     are the ones this seeder would make), and look again every
//     `follow_interval`, until that seeder finishes (then 1.) or its lease
//     expires because it died (then 3.). Nothing from upstream meanwhile.
//  3. With the lease (or with the lease store unreachable: availability
//     first), the segments a previous holder registered are on the
//     mirrors: get those from the swarm, and the caller (ingestor) fetches
//     only the rest from upstream with a Range request. The lease is
//     renewed every ttl/3 while the job runs.
//
// When the job ends its lease is released (after the whole torrent was
// registered, so that followers find it at the tracker), and a blob that
// came at least partly from upstream is handed to its other replicas
// (replicator). Lives on the service's executor; blocking calls go to the
// pool.
#pragma once

#include <spdlog/logger.h>

#include <filesystem>
#include <functional>
#include <memory>
#include <optional>

#include "common/blocking_pool.hpp"
#include "common/metrics.hpp"
#include "common/registry/client.hpp"
#include "seeder/blob_job.hpp"
#include "seeder/ingest_lease.hpp"
#include "seeder/replicator.hpp"
#include "seeder/swarm_fetch.hpp"
#include "seeder/tracker_link.hpp"

namespace boost::asio {
class io_context;
}

namespace blobswarm::seeder {

struct cluster_options {
  std::uint64_t segment_size = 8ULL << 20;  // the seeders' segment_size (must be equal)
  // Longest a job follows another seeder's ingest before it fails.
  duration wait_timeout = std::chrono::minutes(10);
  // How often a follower looks at the lease and the tracker again.
  duration follow_interval = std::chrono::milliseconds(500);
};

// The ingest file, made by the ingestor (room reserved in the store).
struct ingest_file {
  std::shared_ptr<unique_fd> fd;  // open for reading and writing
  std::filesystem::path path;
};

class cluster_ingest {
 public:
  // Blocking (runs on the pool): reserves `size` bytes and creates the
  // ingest file.
  using open_file_fn = std::function<result<ingest_file>(std::uint64_t size)>;

  // What the job has before anything comes from upstream: bytes [0, prefix)
  // are in the ingest file (`size` known when it was learnt).
  struct head_start {
    std::uint64_t prefix = 0;
    std::optional<std::uint64_t> size;
  };

  cluster_ingest(asio::io_context& io, blocking_pool& pool, tracker_link& tracker,
                 ingest_lease& lease, swarm_fetch& swarm, replicator& replicas,
                 cluster_options options, metrics::registry& metrics,
                 std::shared_ptr<spdlog::logger> log);
  ~cluster_ingest();

  awaitable<result<head_start>> prepare(std::shared_ptr<blob_job> job,
                                        std::shared_ptr<registry::client> client,
                                        open_file_fn open_file);
  // The job ended (complete or failed): releases its lease; a blob that
  // came (partly) from upstream goes to its other replicas.
  void ended(const std::shared_ptr<blob_job>& job);

  const replicator& replicas() const noexcept { return replicas_; }
  const ingest_lease& lease() const noexcept { return lease_; }

 private:
  // Gets `parts` from the swarm into the job's ingest file (made first if
  // need be); returns the prefix now there.
  awaitable<std::uint64_t> from_swarm(const std::shared_ptr<blob_job>& job,
                                      std::vector<swarm_part> parts, std::uint64_t size,
                                      const open_file_fn& open_file);
  // The whole torrent from the tracker, checked; none if it has none.
  awaitable<std::optional<blob_torrent>> whole_torrent(const blob_job& job);
  // The segment torrents [from, ...) the tracker has, contiguous, checked.
  awaitable<std::vector<blob_torrent>> segment_torrents(const blob_job& job,
                                                        const tracker_blob& info,
                                                        const piece_layout& layout,
                                                        std::uint32_t from);
  awaitable<std::optional<std::uint64_t>> upstream_size(const blob_job& job,
                                                        const registry::client& client);
  void keep_lease(const std::shared_ptr<blob_job>& job);
  awaitable<void> renew(std::shared_ptr<blob_job> job);
  awaitable<void> pause(duration d);

  asio::io_context& io_;
  blocking_pool& pool_;
  tracker_link& tracker_;
  ingest_lease& lease_;
  swarm_fetch& swarm_;
  replicator& replicas_;
  cluster_options options_;
  std::shared_ptr<spdlog::logger> log_;
  std::shared_ptr<bool> alive_;
  bool lease_store_down_ = false;  // logged once per outage
  metrics::counter& swarm_bytes_;
  metrics::counter& followed_;
};

}  // namespace blobswarm::seeder
