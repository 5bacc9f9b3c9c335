// peer_snapshot: the in-memory peers written to a file on a clean shutdown
// and read back on start, so restarting the tracker does not empty every
// swarm (clients would otherwise find no peers until they all re-announce).
// Records whose swarm or user is gone, or that are older than the peer TTL
// by the time they are read, are dropped.
#pragma once

#include <cstdint>
#include <filesystem>

#include "common/error.hpp"
#include "tracker/swarm_table.hpp"
#include "tracker/user_table.hpp"

namespace blobswarm::tracker {

struct snapshot_report {
  std::size_t peers = 0;    // written, or restored
  std::size_t dropped = 0;  // read but not restored (expired, unknown swarm or user)
};

// Writes every peer atomically (temporary file + rename).
result<snapshot_report> save_peer_snapshot(swarm_table& swarms, const std::filesystem::path& path);

// Restores peers; a missing file restores nothing. The file is removed
// after reading, so an older snapshot is never restored twice. Peers of
// users no longer in `users` are dropped.
result<snapshot_report> load_peer_snapshot(swarm_table& swarms, const user_table& users,
                                           const std::filesystem::path& path, std::uint32_t now,
                                           std::uint32_t ttl);

}  // namespace blobswarm::tracker
