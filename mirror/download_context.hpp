// download_context: what every blob download on a node shares (its cache,
// libtorrent session, byte sources, pool, settings), and what a finished
// download reports (download_stats).
#pragma once

#include <spdlog/logger.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <libtorrent/torrent_handle.hpp>
#include <memory>
#include <string>
#include <vector>

#include "common/blocking_pool.hpp"
#include "common/units.hpp"
#include "mirror/blob_sources.hpp"
#include "mirror/cache.hpp"
#include "mirror/swarm.hpp"

namespace boost::asio {
class io_context;
}

namespace blobswarm::mirror {

struct download_settings {
  // The longest the swarm may deliver nothing before the missing pieces
  // come over HTTP; shorter waits follow the rate the swarm has shown
  // (mirror/stall_watch.hpp).
  duration stall_timeout = std::chrono::seconds(5);
  // Bytes past the contiguous prefix whose pieces libtorrent fetches first
  // (top piece priority, rarest-first among them); the rest get the lowest
  // priority that is still downloaded. 0: plain rarest-first over the blob.
  std::uint64_t stream_window = 16ULL << 20;
  std::uint64_t fallback_chunk = 8ULL << 20;  // bytes per HTTP fallback request
  std::uint64_t holdback = 64 * 1024;         // withheld until the digest checks out
  duration segment_linger = std::chrono::minutes(5);
  // Blobs this small come straight over HTTP from the seeder: setting up a
  // swarm costs more than the bytes (image configs are a few KiB).
  std::uint64_t swarm_min_size = 256 * 1024;
};

struct download_context {
  asio::io_context& io;
  cache& store;
  swarm& peers;
  blob_sources& sources;
  blocking_pool& pool;
  std::vector<std::string> announce_urls;  // <tracker>/announce/<passkey>
  std::filesystem::path segments_dir;
  download_settings settings;
  std::shared_ptr<spdlog::logger> log;
  // Told whenever a completed blob starts seeding (its whole-blob torrent).
  std::function<void(const digest&, const lt::torrent_handle&)> on_seeding;
};

struct download_stats {
  std::uint64_t size = 0;
  std::uint64_t from_peers = 0;     // BitTorrent, other nodes
  std::uint64_t from_seeder = 0;    // BitTorrent and HTTP from the seeder
  std::uint64_t from_upstream = 0;  // HTTP from the upstream registry
  std::string mode;                 // "swarm", "segments", "direct"
  std::chrono::milliseconds elapsed{0};
};

}  // namespace blobswarm::mirror
