// blocking_pool: runs blocking work (libcurl transfers, hashing, sqlite
// writes) on a thread pool and resumes the calling coroutine on its own
// executor with the result.
//
// GCC 12 destroys capturing lambdas twice when they are temporaries inside
// a co_await expression (equeim/tremotesf2#551). run() is therefore a plain
// function, not a coroutine, and callers must build the job as a named
// local first:
//     auto job = [c, req] { return c->send(req); };
//     auto r = co_await pool.run(std::move(job));
// tests/lint/coroutine_lambdas.py enforces this.
#pragma once

#include <boost/asio/associated_executor.hpp>
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

  template <class F>
  auto run(F f) -> awaitable<std::invoke_result_t<F>> {
    using R = std::invoke_result_t<F>;
    static_assert(!std::is_void_v<R>, "return a value (e.g. result<void>)");
    return asio::async_initiate<const asio::use_awaitable_t<>&, void(R)>(
        initiation<F>{&pool_, std::move(f)}, asio::use_awaitable);
  }

  asio::thread_pool& pool() noexcept { return pool_; }
  void stop() { pool_.stop(); }

 private:
  template <class F>
  struct initiation {
    asio::thread_pool* pool;
    F f;
    template <class Handler>
    void operator()(Handler handler) {
      using R = std::invoke_result_t<F>;
      auto ex = asio::get_associated_executor(handler);
      asio::post(*pool, [f = std::move(f), handler = std::move(handler), ex]() mutable {
        R r = f();
        asio::post(ex, [r = std::move(r), handler = std::move(handler)]() mutable {
          std::move(handler)(std::move(r));
        });
      });
    }
  };

  asio::thread_pool pool_;
};

}  // namespace blobswarm
