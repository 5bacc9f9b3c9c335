// http_fetch: a blob's bytes over HTTP, in order, into its cache file — from
// the seeder (one upstream fetch for every node), else from upstream. The
// route for blobs too small to be worth a swarm, and the last resort when
// no torrent can be had or the swarm failed. Once the blob is committed it
// looks for the blob's torrent (the seeder registers it when its own ingest
// ends) and seeds it.
#pragma once

#include <memory>

#include "mirror/blob_download.hpp"

namespace blobswarm::mirror {

class http_fetch final : public fetch_strategy, public std::enable_shared_from_this<http_fetch> {
 public:
  explicit http_fetch(blob_download& d) : d_(d) {}

  std::string_view mode() const noexcept override { return "direct"; }
  awaitable<result<void>> run() override;
  void abandon() override {}

 private:
  // After the commit: find the blob's torrent at the tracker and seed it.
  awaitable<void> adopt_torrent();

  blob_download& d_;
};

}  // namespace blobswarm::mirror
