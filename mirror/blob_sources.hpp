// blob_sources: where a blob download gets torrents and, as a fallback,
// bytes. The production implementation talks HTTP to the tracker, the
// seeder and the upstream registry; tests can substitute their own.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>

#include "common/digest.hpp"
#include "common/error.hpp"
#include "common/http/asio.hpp"
#include "common/repository_name.hpp"

namespace blobswarm::mirror {

// Which blob, and where it lives upstream.
struct blob_ref {
  std::string host;  // registry host key ("docker.io", "127.0.0.1:5000"); empty: default upstream
  repository_name name;
  digest id;
};

// The seeder's view of a blob it is ingesting or has ingested.
struct seeder_descriptor {
  std::uint64_t size = 0;
  std::uint32_t piece_length = 0;
  std::uint64_t segment_length = 0;
  std::uint32_t segment_count = 0;
  std::uint32_t segments_ready = 0;
  enum class state { ingesting, complete, failed } what = state::ingesting;
  std::string error;
};

enum class byte_source { seeder, upstream };

class blob_sources {
 public:
  virtual ~blob_sources() = default;
  // The blob's whole torrent from the tracker; errc::not_found when unknown.
  virtual awaitable<result<std::string>> tracker_torrent(const blob_ref& b) = 0;
  // Starts the seeder's ingest if needed and reports where it stands.
  virtual awaitable<result<seeder_descriptor>> seeder_descriptor_of(const blob_ref& b) = 0;
  // The whole torrent from the seeder, waiting for its ingest.
  virtual awaitable<result<std::string>> seeder_torrent(const blob_ref& b) = 0;
  // Segment n's torrent from the seeder, waiting until it is ready.
  virtual awaitable<result<std::string>> seeder_segment_torrent(const blob_ref& b,
                                                                std::uint32_t n) = 0;
  // Bytes [offset, offset + length) over HTTP, delivered in order to `sink`
  // (which may abort by returning an error).
  virtual awaitable<result<void>> fetch_range(
      byte_source from, const blob_ref& b, std::uint64_t offset, std::uint64_t length,
      std::function<result<void>(std::span<const std::byte>)> sink) = 0;
  // The blob's size according to upstream (HEAD); for HEAD requests on a miss.
  virtual awaitable<result<std::uint64_t>> upstream_size(const blob_ref& b) = 0;
};

}  // namespace blobswarm::mirror
