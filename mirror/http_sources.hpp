// http_sources: blob_sources over HTTP — the tracker's blob index (with this
// node's passkey), the seeder's ingest API (with the seeder's API token, if
// set), and the upstream registries.
#pragma once

#include <memory>
#include <string>

#include "common/blocking_pool.hpp"
#include "common/http/client.hpp"
#include "mirror/blob_sources.hpp"
#include "mirror/upstreams.hpp"

namespace blobswarm::mirror {

class http_sources final : public blob_sources {
 public:
  http_sources(blocking_pool& pool, upstreams& registries, std::string tracker_url,
               std::string passkey, std::string seeder_url, std::string seeder_token = {});

  awaitable<result<std::string>> tracker_torrent(const blob_ref& b) override;
  awaitable<result<seeder_descriptor>> seeder_descriptor_of(const blob_ref& b) override;
  awaitable<result<std::string>> seeder_torrent(const blob_ref& b) override;
  awaitable<result<std::string>> seeder_segment_torrent(const blob_ref& b,
                                                        std::uint32_t n) override;
  awaitable<result<void>> fetch_range(
      byte_source from, const blob_ref& b, std::uint64_t offset, std::uint64_t length,
      std::function<result<void>(std::span<const std::byte>)> sink) override;
  awaitable<result<std::uint64_t>> upstream_size(const blob_ref& b) override;

 private:
  std::string seeder_url(const blob_ref& b, std::string_view suffix) const;
  // `authorization`: the Authorization header to send, if not empty.
  awaitable<result<std::string>> get_torrent(std::string url, std::string authorization,
                                             duration wait);
  // "Bearer <seeder token>", or "" without one.
  std::string seeder_authorization() const;

  blocking_pool& pool_;
  upstreams& registries_;
  std::string tracker_;
  std::string passkey_;
  std::string seeder_;
  std::string seeder_token_;
  http::client http_;
};

}  // namespace blobswarm::mirror
