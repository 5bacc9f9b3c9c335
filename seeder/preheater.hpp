// preheater: ingests every blob of an image before anyone pulls it —
// config and layers, of all platforms of an index or of the requested
// ones. Used by POST /api/v1/preheat and by registry push notifications
// (POST /api/v1/notifications), which preheat what was pushed.
#pragma once

#include <spdlog/logger.h>

#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "common/blocking_pool.hpp"
#include "common/error.hpp"
#include "common/registry/client.hpp"
#include "common/registry/manifest.hpp"
#include "seeder/ingestor.hpp"
#include "seeder/preheat_request.hpp"
#include "seeder/push_events.hpp"

namespace boost::asio {
class io_context;
}

namespace blobswarm::seeder {

class preheater {
 public:
  preheater(asio::io_context& io, blocking_pool& pool, ingestor& ingest,
            registry::client_pool& clients, duration wait_timeout,
            std::shared_ptr<spdlog::logger> log);
  ~preheater();

  struct blob_result {
    registry::descriptor descriptor;
    std::string platform;  // "linux/amd64", empty for single-platform images
    std::optional<stored_blob> stored;
    std::shared_ptr<blob_job> job;
    std::optional<error> failure;  // could not even start
  };
  struct outcome {
    std::string upstream;  // host
    blobswarm::digest manifest;
    std::string media_type;
    std::vector<blob_result> blobs;
  };

  // Resolves the image, starts every blob's ingest and, if the request
  // says wait, waits for all of them (bounded by the wait timeout).
  awaitable<result<outcome>> preheat(const preheat_request& request);

  // Preheats what a push notification reports, in the background; repeated
  // events for one manifest while it is preheating are coalesced.
  void on_push(const push_event& e);
  std::size_t in_flight() const noexcept { return in_flight_.size(); }

 private:
  awaitable<void> background(preheat_request request, std::string key);

  asio::io_context& io_;
  blocking_pool& pool_;
  ingestor& ingest_;
  registry::client_pool& clients_;
  duration wait_timeout_;
  std::shared_ptr<spdlog::logger> log_;
  std::set<std::string> in_flight_;
  std::shared_ptr<bool> alive_;
};

}  // namespace blobswarm::seeder
