// swarm_fetch: a seeder gets a blob, or the first segments of one, from the
// swarm instead of upstream — a replica of a blob another seeder ingested,
// or the start of an ingest whose holder died (the segments it published
// are on the mirrors). Torrents are deterministic, so what another seeder
// registered is exactly what this one would make: it joins the same
// info-hashes as a BitTorrent peer (torrent_session::add_download) and the
// pieces land in its own ingest file, verified by their piece hashes.
//
// It ends when every part is complete, or when the swarm has delivered
// nothing for `stall` (twice that before the first byte: announcing and
// connecting take a moment), which means nobody has the rest; the caller
// then fetches what is missing from upstream. Parts that did not complete
// are removed from the session (the caller writes those bytes itself);
// complete ones go on seeding.
#pragma once

#include <spdlog/logger.h>

#include <atomic>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "common/file.hpp"
#include "common/http/asio.hpp"
#include "common/units.hpp"
#include "seeder/blob_torrents.hpp"
#include "seeder/torrent_session.hpp"

namespace boost::asio {
class io_context;
}

namespace blobswarm::seeder {

struct swarm_part {
  blob_torrent torrent;
  std::uint64_t offset = 0;  // where its bytes start in the blob
  std::uint64_t length = 0;
  std::uint32_t piece_length = 0;
};

class swarm_fetch {
 public:
  swarm_fetch(asio::io_context& io, torrent_session& session, duration stall,
              std::shared_ptr<spdlog::logger> log);

  // Downloads `parts` (contiguous from the blob's start, in order) into
  // `fd`, the writable ingest file at `path`. Returns the length of the
  // blob's prefix that is here; `progress(prefix)` runs (on the executor)
  // whenever it grows. Stops early when `cancel` turns true.
  awaitable<std::uint64_t> run(std::vector<swarm_part> parts, std::filesystem::path path,
                               std::shared_ptr<unique_fd> fd, const std::atomic<bool>& cancel,
                               std::function<void(std::uint64_t)> progress);

  // The prefix [0, n) that `parts` hold, given each part's pieces (pure).
  static std::uint64_t prefix_of(const std::vector<swarm_part>& parts,
                                 const std::vector<std::vector<bool>>& pieces);

 private:
  asio::io_context& io_;
  torrent_session& session_;
  duration stall_;
  std::shared_ptr<spdlog::logger> log_;
};

}  // namespace blobswarm::seeder
