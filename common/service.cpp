#include "common/service.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <csignal>
#include <thread>
#include <vector>

namespace blobswarm {

int run_until_signal(std::span<asio::io_context* const> contexts,
                     std::function<awaitable<void>()> shutdown, spdlog::logger& log) {
  auto& main = *contexts.front();
  asio::signal_set signals(main, SIGINT, SIGTERM);
  std::signal(SIGPIPE, SIG_IGN);
  auto stop_all = [contexts] {
    for (auto* c : contexts) c->stop();
  };
  signals.async_wait([&](const boost::system::error_code& ec, int signal) {
    if (ec) return;
    log.info("received {}, shutting down", signal == SIGINT ? "SIGINT" : "SIGTERM");
    signals.async_wait([&](const boost::system::error_code& e, int) {
      if (e) return;
      log.warn("second signal: stopping now");
      stop_all();
    });
    asio::co_spawn(main, shutdown(), [&, stop_all](std::exception_ptr ep) {
      if (ep) {
        try {
          std::rethrow_exception(ep);
        } catch (const std::exception& ex) {
          log.error("shutdown failed: {}", ex.what());
        }
      }
      stop_all();
    });
  });
  std::vector<std::thread> threads;
  for (auto* c : contexts.subspan(1)) threads.emplace_back([c] { c->run(); });
  main.run();
  for (auto* c : contexts) c->stop();
  for (auto& t : threads) t.join();
  log.info("stopped");
  return 0;
}

}  // namespace blobswarm
