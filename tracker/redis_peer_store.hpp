// redis_peer_store: the peers of every swarm in Redis (peer_store = a
// redis:// URL), so any tracker replica answers any announce with the
// whole swarm and a replica's loss loses no peer. What is read and written
// is redis_swarm's (pure); this class holds the connections.
//
// Connections: a small pool, one per thread using it at a time (the server
// threads, the database threads), kept open; nothing connects per request.
// An announce is one round trip on one connection: read the swarm's two
// hashes (pipelined), then send the announcing peer's record (and the
// deletion of stale ones) without waiting: those replies are read and
// checked at the connection's next use. When Redis cannot be reached, calls fail at once with
// errc::unavailable for `retry_after` before the next connection attempt,
// so announces get a clear failure reason quickly, never a hang; the pool
// reconnects on its own when Redis is back, and the peers return with
// their next announces.
#pragma once

#include <spdlog/logger.h>

#include <atomic>
#include <memory>
#include <mutex>
#include <vector>

#include "db/redis.hpp"
#include "db/redis_pool.hpp"
#include "tracker/peer_store.hpp"

namespace blobswarm::tracker {

struct redis_peer_options {
  std::string prefix = "blobswarm:peers:";  // key prefix (several clusters on one Redis)
  std::uint32_t peer_ttl = 600;             // seconds: records older than this are deleted
  duration timeout = std::chrono::milliseconds(500);      // connect and per-command wait
  duration retry_after = std::chrono::milliseconds(500);  // after a failed connection attempt
  std::size_t max_idle = 16;                              // connections kept open when idle
};

class redis_peer_store final : public peer_store {
 public:
  redis_peer_store(db::redis_url url, swarm_table& swarms, redis_peer_options options,
                   std::shared_ptr<spdlog::logger> log);
  ~redis_peer_store() override;

  std::string describe() const override { return url_.describe(); }
  bool shared() const noexcept override { return true; }
  result<std::optional<swarm_answer>> announce(const announce_input& in,
                                               peer_scratch& scratch) override;
  result<std::vector<std::optional<swarm_counts>>> counts(std::span<const swarm_key> keys) override;
  using peer_store::counts;
  result<std::vector<peer>> peers(const swarm_key& key) override;
  result<void> visit(const std::function<void(const peer&)>& f) override;
  result<std::size_t> remove_user(std::uint32_t user) override;
  result<void> forget(const swarm_key& primary) override;
  result<std::size_t> sweep(std::uint32_t now, std::uint32_t ttl) override;
  swarm_totals totals() const override;

  // Checks that Redis answers (at start-up).
  result<void> ping();

 private:
  // Runs f(connection) on a pooled connection (db::redis_pool::run).
  template <class F>
  auto run(F&& f) -> std::invoke_result_t<F&, db::redis_connection&>;
  // Reads the records of both hashes of each swarm into `out` (one round trip).
  result<void> read_swarms(db::redis_connection& c, std::span<const swarm_key> primaries,
                           std::vector<std::vector<peer>>& out);

  db::redis_url url_;
  swarm_table& swarms_;
  redis_peer_options options_;
  std::shared_ptr<spdlog::logger> log_;

  db::redis_pool pool_;

  std::atomic<std::size_t> peers_total_{0};
  std::atomic<std::size_t> seeders_total_{0};
};

}  // namespace blobswarm::tracker
