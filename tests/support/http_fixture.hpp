// An in-process http::server on a loopback port 0, running on its own
// thread, plus raw-socket helpers for tests that need byte-level control.
#pragma once

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>
#include <memory>
#include <string>
#include <thread>

#include "common/http/server.hpp"
#include "common/logging.hpp"

namespace blobswarm::test {

class http_fixture {
 public:
  explicit http_fixture(http::router routes, http::server_options options = {},
                        std::shared_ptr<spdlog::logger> log = logging::get("test-http"));
  ~http_fixture();

  std::uint16_t port() const noexcept { return endpoint_.port; }
  std::string url(std::string_view path = "") const;
  boost::asio::io_context& io() noexcept { return io_; }
  http::server& server() noexcept { return *server_; }
  // Graceful stop; blocks until the server's stop() completes.
  void stop(duration grace);

 private:
  boost::asio::io_context io_;
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> work_;
  std::unique_ptr<http::server> server_;
  ip_endpoint endpoint_;
  std::thread thread_;
  bool stopped_ = false;
};

// Connects to 127.0.0.1:port; returns the fd or -1.
int connect_loopback(std::uint16_t port);
// Sends `data`, then reads until the peer closes, `until` appears in what
// was read, or `timeout` passes.
std::string exchange(int fd, std::string_view data, std::chrono::milliseconds timeout,
                     std::string_view until = {});
// One-shot: connect, exchange, close.
std::string raw_request(std::uint16_t port, std::string_view data,
                        std::chrono::milliseconds timeout = std::chrono::seconds(5),
                        std::string_view until = {});

}  // namespace blobswarm::test
