#include "tracker/replica_sync.hpp"

#include <unistd.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace blobswarm::tracker {

using error_code = boost::system::error_code;

struct replica_sync::state {
  explicit state(asio::io_context& io) : timer(io), wakeup(io) {}
  std::atomic<bool> stopping{false};
  asio::steady_timer timer;   // waits between attempts, and until the next resync
  asio::steady_timer wakeup;  // cancels the wait on the feed's socket
  std::unique_ptr<asio::posix::stream_descriptor> feed;
};

replica_sync::replica_sync(asio::io_context& io, catalog& cat, blocking_pool& db,
                           duration resync_every, std::shared_ptr<spdlog::logger> log)
    : io_(io), catalog_(cat), db_(db), resync_every_(resync_every), log_(std::move(log)) {}

replica_sync::~replica_sync() {
  stop();
}

void replica_sync::start() {
  state_ = std::make_shared<state>(io_);
  auto log = log_;
  asio::co_spawn(io_, run(state_), [log](std::exception_ptr e) {
    if (!e) return;
    try {
      std::rethrow_exception(e);
    } catch (const std::exception& ex) {
      log->error("following other replicas ended by exception: {}", ex.what());
    }
  });
}

void replica_sync::stop() {
  if (!state_ || state_->stopping.exchange(true)) return;
  auto st = state_;
  asio::post(io_, [st] {
    st->timer.cancel();
    st->wakeup.cancel();
    if (st->feed) st->feed->cancel();
  });
}

awaitable<void> replica_sync::run(std::shared_ptr<state> st) {
  bool lost_logged = false;
  while (!st->stopping) {
    auto listen_job = [this] {
      return catalog_.records().listen();
    };
    auto listener = co_await db_.run(std::move(listen_job));
    if (!listener) {
      if (!lost_logged) {
        log_->error("cannot follow other replicas' changes: {}; retrying every second",
                    listener.error().message);
        lost_logged = true;
      }
      st->timer.expires_after(std::chrono::seconds(1));
      error_code ec;
      co_await st->timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
      continue;
    }
    std::shared_ptr<store_listener> feed(std::move(*listener));
    // Whatever changed while no feed was open.
    auto resync_job = [this] {
      return catalog_.resync();
    };
    auto synced = co_await db_.run(std::move(resync_job));
    if (!synced) {
      log_->error("resync with the shared store failed: {}", synced.error().message);
    } else {
      if (synced->users_changed + synced->swarms_changed > 0) {
        log_->info("resynced with the shared store: {} users and {} swarms changed",
                   synced->users_changed, synced->swarms_changed);
      }
      if (lost_logged) log_->info("following other replicas' changes again");
      lost_logged = false;
    }
    // libpq keeps its descriptor: wait on a duplicate.
    st->feed = std::make_unique<asio::posix::stream_descriptor>(io_, ::dup(feed->socket()));
    auto next_resync = std::chrono::steady_clock::now() + resync_every_;
    while (!st->stopping) {
      st->wakeup.expires_at(next_resync);
      // Through the state, not a pointer to this feed: a handler already
      // queued when the feed is replaced must not touch the old one (at
      // worst it wakes the new wait once, which finds nothing to do).
      st->wakeup.async_wait([st](error_code ec) {
        if (!ec && st->feed) st->feed->cancel();
      });
      error_code ec;
      co_await st->feed->async_wait(asio::posix::stream_descriptor::wait_read,
                                    asio::redirect_error(asio::use_awaitable, ec));
      st->wakeup.cancel();
      if (st->stopping) break;
      if (std::chrono::steady_clock::now() >= next_resync) {
        auto again = [this] {
          return catalog_.resync();
        };
        auto r = co_await db_.run(std::move(again));
        if (!r) log_->warn("periodic resync with the shared store failed: {}", r.error().message);
        next_resync = std::chrono::steady_clock::now() + resync_every_;
        continue;
      }
      if (ec && ec != asio::error::operation_aborted) break;
      auto changes = feed->take();
      if (!changes) {
        log_->warn("lost the change feed of the shared store: {}; reconnecting",
                   changes.error().message);
        lost_logged = true;
        break;
      }
      if (changes->empty()) continue;
      auto apply_job = [this, c = std::move(*changes)]() -> result<void> {
        for (const auto& change : c) {
          if (auto a = catalog_.apply(change); !a) return a;
        }
        return {};
      };
      auto applied = co_await db_.run(std::move(apply_job));
      if (!applied) {
        log_->warn("applying a change from another replica failed ({}): resyncing",
                   applied.error().message);
        next_resync = std::chrono::steady_clock::now();
      }
    }
    st->feed.reset();
    if (!st->stopping) {
      st->timer.expires_after(std::chrono::seconds(1));
      error_code ec;
      co_await st->timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    }
  }
}

}  // namespace blobswarm::tracker
