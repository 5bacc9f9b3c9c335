// async_event: lets coroutines on one executor wait for "something
// changed" with a deadline, without polling: the seeder's ingest of a blob
// notifies its waiters (torrent requests, streaming readers, descriptors)
// whenever bytes, segments or its state change; a mirror's file download
// notifies its readers whenever a piece arrives. Not thread-safe: use it from the
// executor it was made for (callers in other threads post there first).
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <memory>
#include <set>

#include "common/http/asio.hpp"
#include "common/units.hpp"

namespace blobswarm {

class async_event {
 public:
  // Waits until notify_all() (true) or until `timeout` passes (false).
  // Callers re-check their condition afterwards, in a bounded loop.
  awaitable<bool> wait(duration timeout) {
    asio::steady_timer timer(co_await asio::this_coro::executor, timeout);
    // Unregisters the timer however the coroutine ends (a frame destroyed
    // at shutdown must not leave a dangling pointer behind).
    struct registration {
      std::shared_ptr<std::set<asio::steady_timer*>> set;
      asio::steady_timer* timer;
      bool notified() const { return set->find(timer) == set->end(); }
      ~registration() { set->erase(timer); }
    } reg{waiters_, &timer};
    waiters_->insert(&timer);
    boost::system::error_code ec;
    co_await timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    co_return reg.notified();
  }

  void notify_all() {
    auto waiting = std::move(*waiters_);
    waiters_->clear();
    for (auto* t : waiting) t->cancel();
  }

  std::size_t waiting() const noexcept { return waiters_->size(); }

 private:
  // Shared with the waiters, so that a waiting coroutine destroyed after
  // the event (at shutdown) can still unregister itself safely.
  std::shared_ptr<std::set<asio::steady_timer*>> waiters_ =
      std::make_shared<std::set<asio::steady_timer*>>();
};

}  // namespace blobswarm
