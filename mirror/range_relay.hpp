// range_relay: a Range read whose pieces are not on this node yet, answered
// straight from the seeder over HTTP as its bytes arrive, while the same
// pieces come through the swarm for the reads after it.
//
// A piece can be served only once all of it arrived and its SHA-1 matched,
// so a read's first byte waits for at least one whole piece from the swarm
// (1 MiB for a 1 GiB layer: 84 ms at 100 Mbit/s, where the registry sends
// its first byte in 5 ms; bench/ranges). The seeder holds the blob itself,
// checked against its digest when it was ingested, and answers byte ranges
// of it (GET /api/v1/blobs/...; mirror/http_sources): the same bytes, from
// the service this node trusts for the blob's torrent in the first place,
// with the registry's latency. Only small reads are relayed (the mirror's
// range_from_seeder, default 4 MiB), so N nodes starting lazily cost the
// seeder N times what their first reads touch, not N layers.
//
// The seeder's bytes arrive on a pool thread (blob_sources::fetch_range);
// they are handed to the response's producer on the io executor through a
// buffer bounded by the read's length.
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "common/async_event.hpp"
#include "common/error.hpp"
#include "common/http/response.hpp"
#include "mirror/blob_sources.hpp"

namespace blobswarm::mirror {

class range_relay : public std::enable_shared_from_this<range_relay> {
 public:
  range_relay(asio::any_io_executor ex, blob_sources& sources, blob_ref blob, std::uint64_t offset,
              std::uint64_t length);

  // Starts the seeder's read.
  void start();
  // Waits until the first bytes arrived (success), the read failed before
  // any (its error: the caller serves the read another way), or `limit`
  // passed (errc::timeout).
  awaitable<result<void>> wait_first_bytes(duration limit);
  // Writes the read to `w` as it arrives; `sent` counts the bytes.
  awaitable<result<void>> pump(http::body_writer& w, std::uint64_t& sent);

 private:
  awaitable<void> run();
  // Called on a pool thread with each run of the seeder's bytes.
  result<void> receive(std::span<const std::byte> data);

  asio::any_io_executor ex_;
  blob_sources& sources_;
  blob_ref blob_;
  std::uint64_t offset_;
  std::uint64_t length_;
  async_event changed_;  // io executor only

  std::mutex mutex_;  // guards the fields below
  std::string pending_;
  std::uint64_t received_ = 0;
  bool done_ = false;
  std::optional<error> failure_;
};

}  // namespace blobswarm::mirror
