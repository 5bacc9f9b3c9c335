// service: blobswarm-tracker wired together. It owns the in-memory indexes,
// the database thread, the announce path, the REST API and one HTTP server
// per io_context (all on one port via SO_REUSEPORT, so each thread accepts
// and serves its own connections), plus the periodic counter flush and
// peer expiry. main() only loads settings and runs the contexts.
#pragma once

#include <spdlog/logger.h>

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "common/error.hpp"
#include "common/http/asio.hpp"
#include "common/metrics.hpp"
#include "common/net.hpp"
#include "tracker/settings.hpp"

namespace boost::asio {
class io_context;
}

namespace blobswarm::tracker {

class service {
 public:
  // `now` returns unix seconds; tests may pass their own clock.
  static result<std::unique_ptr<service>> create(const settings& s,
                                                 std::function<std::uint32_t()> now = {});
  ~service();
  service(const service&) = delete;
  service& operator=(const service&) = delete;

  // Starts one server per context (the contexts' threads are the caller's)
  // and the periodic tasks on the first context. Returns the bound address.
  result<ip_endpoint> start(std::span<asio::io_context* const> contexts);
  // Stops accepting, lets requests finish (shutdown_grace), writes pending
  // counters and the peer snapshot.
  awaitable<void> stop();

  const std::string& public_url() const noexcept;
  metrics::registry& metrics() noexcept;

 private:
  struct impl;
  explicit service(std::unique_ptr<impl> i);
  std::unique_ptr<impl> impl_;
};

}  // namespace blobswarm::tracker
