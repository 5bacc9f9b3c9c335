// replicator: keeps each blob on more than one seeder. After this seeder
// brought a blob in from upstream, it asks the other seeders that should
// hold it — the first `replicas` of the blob's rendezvous order over the
// seeder set (common/rendezvous) — to fetch it:
//   POST <seeder>/api/v1/blobs/<name>/<digest>/replicate?ns=<registry host>
// with the API token. The seeder asked gets the whole torrent from the
// tracker and downloads it as a peer of the same swarm (cluster_ingest,
// swarm_fetch), never from upstream while a peer has it; so losing one
// seeder loses no blob, and mirrors that fail over to the next seeder in
// the same order find the blob there.
//
// A seeder that cannot be reached (or answers 5xx) is asked again with
// backoff, 1 s doubling to 30 s, for up to `give_up_after`; a refusal
// (4xx) is logged and not retried. What a seeder misses that way it fetches
// from the swarm when a mirror asks it for the blob.
#pragma once

#include <spdlog/logger.h>

#include <memory>
#include <string>
#include <vector>

#include "common/blocking_pool.hpp"
#include "common/digest.hpp"
#include "common/http/client.hpp"
#include "common/metrics.hpp"
#include "common/repository_name.hpp"

namespace boost::asio {
class io_context;
}

namespace blobswarm::seeder {

struct replicator_options {
  std::string self;                  // this seeder's URL, as listed in `seeders`
  std::vector<std::string> seeders;  // every seeder's URL
  std::size_t replicas = 2;          // seeders that hold each blob
  std::string api_token;             // the seeders' API token (empty: none)
  duration give_up_after = std::chrono::minutes(10);
  duration first_retry = std::chrono::seconds(1);
  duration max_retry = std::chrono::seconds(30);
};

class replicator {
 public:
  replicator(asio::io_context& io, blocking_pool& pool, replicator_options options,
             metrics::registry& metrics, std::shared_ptr<spdlog::logger> log);
  ~replicator();

  // The seeders that should hold `d`: the first `replicas` of its
  // rendezvous order (this one included, if it is among them).
  std::vector<std::string> holders(const blobswarm::digest& d) const;
  // Asks holders(d) other than this seeder to fetch the blob (in the
  // background). `host` is the registry host key the blob came from.
  void replicate(const blobswarm::digest& d, const repository_name& name, const std::string& host);
  void stop();

  const replicator_options& options() const noexcept { return options_; }

 private:
  awaitable<void> push(std::string seeder, blobswarm::digest d, repository_name name,
                       std::string host);

  asio::io_context& io_;
  blocking_pool& pool_;
  replicator_options options_;
  std::shared_ptr<spdlog::logger> log_;
  http::client http_;
  bool stopping_ = false;
  std::shared_ptr<bool> alive_;
  metrics::counter& asked_;
  metrics::counter& failed_;
};

}  // namespace blobswarm::seeder
