// http_sources: blob_sources over HTTP — the tracker's blob index (with this
// node's passkey), the seeder's ingest API (with the seeder's API token, if
// set), and the upstream registries.
//
// Seeder replicas: with several seeder URLs, a blob's requests go to the
// seeders in the blob's rendezvous order (common/rendezvous), the order the
// seeders themselves use: its owner first, and when that one cannot be
// reached, answers 5xx or 507, or times out, the next one — before anything
// falls back to the registry. A seeder found unreachable is tried last for
// `down_for` (10 s), so the blobs after it do not each wait for its
// timeouts. A byte range moves to the next seeder only if no byte of it
// arrived yet (the caller resumes a partial range). With one URL this is
// exactly the single-seeder behaviour.
#pragma once

#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "common/blocking_pool.hpp"
#include "common/http/client.hpp"
#include "mirror/blob_sources.hpp"
#include "mirror/upstreams.hpp"

namespace blobswarm::mirror {

class http_sources final : public blob_sources {
 public:
  http_sources(blocking_pool& pool, upstreams& registries, std::string tracker_url,
               std::string passkey, std::vector<std::string> seeder_urls,
               std::string seeder_token = {});

  // The seeders to ask for `b`, in order (rendezvous order, the ones
  // recently found down last).
  std::vector<std::string> seeders_for(const blob_ref& b) const;

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
  static constexpr auto down_for = std::chrono::seconds(10);

  std::string seeder_url(const std::string& seeder, const blob_ref& b,
                         std::string_view suffix) const;
  // `authorization`: the Authorization header to send, if not empty.
  awaitable<result<std::string>> get_torrent(std::string url, std::string authorization,
                                             duration wait);
  // The seeder's torrent at `suffix`, from the first seeder that answers.
  awaitable<result<std::string>> seeder_get_torrent(const blob_ref& b, std::string suffix);
  awaitable<result<seeder_descriptor>> descriptor_from(const std::string& seeder,
                                                       const blob_ref& b);
  // An answer that sends the request to the next seeder.
  static bool try_next(const error& e) noexcept;
  void mark_down(const std::string& seeder);
  // "Bearer <seeder token>", or "" without one.
  std::string seeder_authorization() const;

  blocking_pool& pool_;
  upstreams& registries_;
  std::string tracker_;
  std::string passkey_;
  std::vector<std::string> seeders_;  // normalized (rendezvous_member)
  std::string seeder_token_;
  http::client http_;
  mutable std::mutex mutex_;  // guards down_until_
  std::map<std::string, std::chrono::steady_clock::time_point> down_until_;
};

}  // namespace blobswarm::mirror
