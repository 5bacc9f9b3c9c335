// fetch_strategy: one way a blob_download gets its bytes onto disk. The
// download runs one at a time, in order of preference (mirror/blob_download.cpp,
// fetch): the blob's torrents (torrent_fetch: the whole-blob torrent, or the
// seeder's segment torrents while it ingests), else HTTP (http_fetch). A
// strategy reports every stored piece or byte to the download, which
// verifies them and hands them to readers; the bytes are the same whichever
// route delivers them, so a strategy that fails can be followed by the next
// without readers noticing.
#pragma once

#include <string_view>

#include "common/error.hpp"
#include "common/http/asio.hpp"

namespace blobswarm::mirror {

class fetch_strategy {
 public:
  virtual ~fetch_strategy() = default;
  // "swarm", "segments", "direct": how the blob came (stats, log lines).
  virtual std::string_view mode() const noexcept = 0;
  // Stores every byte of the blob, then (once the download has verified
  // them) commits it to the cache and starts seeding it when it can.
  virtual awaitable<result<void>> run() = 0;
  // Gives up: stops its transfers and removes the torrents and files it made.
  virtual void abandon() = 0;

  // Ranges (lazy pulling). Whether every piece it stores is checked against
  // hashes that the seeder made from the verified blob (the whole-blob
  // torrent); only such pieces may be served before the whole blob's digest
  // is known (docs/SECURITY.md).
  virtual bool verifies_pieces() const noexcept { return false; }
  // Makes pieces [first, last] the most urgent.
  virtual void prioritize(std::uint64_t /*first*/, std::uint64_t /*last*/) {}
  // Whether a piece prioritize() asked for is still missing.
  virtual bool ranges_pending() const noexcept { return false; }
  // Downloads the rest of the blob too (after a range-only start).
  virtual void fetch_everything() {}
};

}  // namespace blobswarm::mirror
