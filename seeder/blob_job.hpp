// blob_job: the shared state of one blob's ingest, which every request for
// that blob waits on (one upstream fetch however many callers ask). The
// fetch thread writes the ingest file and publishes `received`; everything
// else is touched only on the service's executor, where the fetch thread
// posts its progress.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/digest.hpp"
#include "common/error.hpp"
#include "common/file.hpp"
#include "common/repository_name.hpp"
#include "seeder/async_event.hpp"
#include "seeder/blob_store.hpp"
#include "seeder/blob_torrents.hpp"
#include "seeder/piece_layout.hpp"

namespace blobswarm::seeder {

struct blob_job {
  enum class state { ingesting, complete, failed };

  blob_job(blobswarm::digest d, repository_name n, std::string h)
      : digest(std::move(d)), name(std::move(n)), host(std::move(h)) {}

  const blobswarm::digest digest;
  const repository_name name;  // the repository it is fetched from
  const std::string host;      // the upstream registry host

  state st = state::ingesting;
  std::optional<error> failure;
  std::optional<piece_layout> layout;      // once upstream told the size
  std::shared_ptr<unique_fd> read_fd;      // the ingest file, for readers and segment seeds
  std::atomic<std::uint64_t> received{0};  // bytes written so far (fetch thread)
  // Segment torrents seeded so far, and whether each may be handed out: a
  // torrent is handed out once the tracker has it (or after a short wait
  // when the tracker is slow), because a client that announces an unknown
  // torrent is refused and backs off for many seconds.
  std::vector<blob_torrent> seeded;
  std::vector<bool> releasable;
  std::vector<blob_torrent> segments;  // handed out (the API's view), in order
  bool segments_retired = false;
  std::optional<stored_blob> stored;  // once complete
  std::optional<blob_torrent> whole;  // once complete (none for 0 bytes)
  std::atomic<bool> cancel{false};
  // Replicated seeders (seeder/cluster_ingest):
  std::optional<blob_torrent> known_whole;  // from the tracker, before this seeder has the bytes
  std::string following;       // the seeder whose ingest this one waits for, while it does
  bool leased = false;         // this seeder holds the blob's ingest lease
  bool file_ready = false;     // the ingest file exists with room reserved (the swarm wrote to it)
  std::filesystem::path file;  // the ingest file, once file_ready
  std::uint64_t from_swarm = 0;  // bytes got from other peers instead of upstream
  bool from_upstream = false;    // upstream sent (some of) the bytes
  async_event changed;
  std::chrono::steady_clock::time_point started = std::chrono::steady_clock::now();
  std::chrono::steady_clock::time_point finished;

  bool done() const noexcept { return st != state::ingesting; }
};

std::string_view to_string(blob_job::state s) noexcept;

}  // namespace blobswarm::seeder
