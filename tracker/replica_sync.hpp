// replica_sync: keeps this tracker's in-memory indexes (users by passkey
// hash, registered swarms) equal to a shared store that other tracker
// replicas write too. It listens to the store's change feed (PostgreSQL
// LISTEN/NOTIFY: a user created or a torrent registered through replica A
// is announced to on replica C within milliseconds), applies each change
// on a database thread, and resyncs everything when the feed connection
// is (re)made and every `resync_every` (which also refreshes completion
// counts other replicas flushed). A lost feed is retried every second
// with one log line, not one per attempt.
#pragma once

#include <spdlog/logger.h>

#include <atomic>
#include <memory>

#include "common/blocking_pool.hpp"
#include "common/http/asio.hpp"
#include "common/units.hpp"
#include "tracker/catalog.hpp"

namespace boost::asio {
class io_context;
}

namespace blobswarm::tracker {

class replica_sync {
 public:
  replica_sync(asio::io_context& io, catalog& cat, blocking_pool& db, duration resync_every,
               std::shared_ptr<spdlog::logger> log);
  ~replica_sync();

  // Starts following the feed (a coroutine on `io`).
  void start();
  // Stops (from any thread); the coroutine ends shortly after.
  void stop();

 private:
  struct state;
  awaitable<void> run(std::shared_ptr<state> st);

  asio::io_context& io_;
  catalog& catalog_;
  blocking_pool& db_;
  duration resync_every_;
  std::shared_ptr<spdlog::logger> log_;
  std::shared_ptr<state> state_;
};

}  // namespace blobswarm::tracker
