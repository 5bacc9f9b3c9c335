// redis_pool: a few kept-open connections to one Redis, shared by the
// threads that use it (one connection per thread at a time), for the state
// replicas share: the tracker's peers, the seeders' ingest leases. Nothing
// connects per request. When Redis cannot be reached, calls fail at once
// with errc::unavailable for `retry_after` before the next connection
// attempt (a clear error quickly, never a hang); the pool reconnects on its
// own when Redis is back. One log line when Redis goes, one when it is back.
#pragma once

#include <spdlog/logger.h>

#include <chrono>
#include <memory>
#include <mutex>
#include <string>
#include <type_traits>
#include <vector>

#include "db/redis.hpp"

namespace blobswarm::db {

struct redis_pool_options {
  duration timeout = std::chrono::milliseconds(500);      // connect and per-command wait
  duration retry_after = std::chrono::milliseconds(500);  // after a failed connection attempt
  std::size_t max_idle = 16;                              // connections kept open when idle
  std::string name = "redis";                             // who uses it, in log lines
  std::string when_down;  // what fails meanwhile, in the log line ("announces fail")
};

class redis_pool {
 public:
  redis_pool(redis_url url, redis_pool_options options, std::shared_ptr<spdlog::logger> log);
  ~redis_pool();

  // Runs f(connection) on a pooled connection, once more on a new one if
  // the pooled one turns out dead (so `f` must be idempotent: reads, writes
  // of the same values). Returns what f returns (a result<...>), or the
  // connection failure.
  template <class F>
  auto run(F&& f) -> std::invoke_result_t<F&, redis_connection&> {
    for (int attempt = 0;; ++attempt) {
      auto c = acquire();
      if (!c) return fail(c.error());
      held conn(*this, std::move(*c));
      auto r = f(*conn.c);
      if (r || conn.c->healthy() || attempt > 0) return r;
    }
  }

  const redis_url& url() const noexcept { return url_; }
  std::string describe() const { return url_.describe(); }

 private:
  struct held {
    held(redis_pool& p, std::unique_ptr<redis_connection> conn) : pool(p), c(std::move(conn)) {}
    ~held() { pool.release(std::move(c)); }
    held(const held&) = delete;
    held& operator=(const held&) = delete;
    redis_pool& pool;
    std::unique_ptr<redis_connection> c;
  };
  result<std::unique_ptr<redis_connection>> acquire();
  void release(std::unique_ptr<redis_connection> c);

  redis_url url_;
  redis_pool_options options_;
  std::shared_ptr<spdlog::logger> log_;
  std::mutex mutex_;
  std::vector<std::unique_ptr<redis_connection>> idle_;
  std::chrono::steady_clock::time_point down_until_{};  // no connection attempts before
  bool down_ = false;                                   // logged as down
};

}  // namespace blobswarm::db
