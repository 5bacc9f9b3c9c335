// blocking_pool: runs blocking work (libcurl transfers, hashing, sqlite
// writes) on a thread pool and resumes the calling coroutine on its own
// executor with the result.
#pragma once

#include <boost/asio/async_result.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <type_traits>

#include "common/http/asio.hpp"

namespace blobswarm {

class blocking_pool {
 public:
  explicit blocking_pool(std::size_t threads) : pool_(threads) {}
  ~blocking_pool() { pool_.join(); }

  // co_await pool.run([&] { return client.send(req); });
  template <class F>
  auto run(F f) -> awaitable<std::invoke_result_t<F>> {
    using R = std::invoke_result_t<F>;
    static_assert(!std::is_void_v<R>, "return a value (e.g. result<void>)");
    auto ex = co_await asio::this_coro::executor;
    co_return co_await asio::async_initiate<decltype(asio::use_awaitable), void(R)>(
        [this, ex, f = std::move(f)](auto handler) mutable {
          asio::post(pool_, [ex, f = std::move(f), handler = std::move(handler)]() mutable {
            R r = f();
            asio::post(ex, [r = std::move(r), handler = std::move(handler)]() mutable {
              std::move(handler)(std::move(r));
            });
          });
        },
        asio::use_awaitable);
  }

  asio::thread_pool& pool() noexcept { return pool_; }
  void stop() { pool_.stop(); }

 private:
  asio::thread_pool pool_;
};

}  // namespace blobswarm
