// http::server: HTTP/1.1 on Boost.Beast, one C++20 coroutine per
// connection. Keep-alive and pipelining, header and body limits, idle,
// read and write timeouts, streamed and sendfile bodies, 100-continue,
// an access log line per request, a graceful stop that lets requests
// in flight finish within a grace period, and optional TLS (HTTPS).
//
// Several servers may share one router and one port (reuse_port), one per
// io_context and thread, so a hot service scales without shared queues.
#pragma once

#include <spdlog/logger.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "common/error.hpp"
#include "common/http/asio.hpp"
#include "common/http/router.hpp"
#include "common/net.hpp"
#include "common/units.hpp"

namespace boost::asio {
class io_context;
}

namespace blobswarm::http {

struct server_options {
  std::size_t header_limit = 16 * 1024;
  std::size_t body_limit = 1 << 20;
  duration idle_timeout = std::chrono::seconds(60);   // waiting for the next request
  duration read_timeout = std::chrono::seconds(30);   // reading one request
  duration write_timeout = std::chrono::seconds(60);  // no write progress for this long
  bool access_log = true;
  bool reuse_port = false;
  // The io_context is run by exactly one thread (one server per context and
  // thread, as with reuse_port): connections then use the context's executor
  // directly instead of a strand each, which saves a lock and an allocation
  // per connection. Leave false when several threads run the context.
  bool single_threaded = false;
  // Rewrites a request target for the access log (to hide secrets).
  std::function<std::string(std::string_view)> log_target;
  // HTTPS: PEM files of the certificate (chain) and its private key. Both
  // empty: plain HTTP. listen() fails when they cannot be loaded.
  std::string tls_cert_file;
  std::string tls_key_file;
  // A smaller body limit for some requests, decided from the request line
  // and headers (no body or route parameters yet) before the body is read:
  // e.g. large uploads only for authenticated callers (which may need the
  // database: a coroutine). Larger answers than body_limit are capped at it.
  std::function<awaitable<std::uint64_t>(const request&)> body_limit_for;
};

class server {
 public:
  server(asio::io_context& io, std::shared_ptr<const router> routes, server_options options,
         std::shared_ptr<spdlog::logger> log);
  ~server();
  server(const server&) = delete;
  server& operator=(const server&) = delete;

  // Binds and starts accepting. Port 0 picks a free port; the result says which.
  result<ip_endpoint> listen(const host_port& where);

  // Stops accepting, closes idle connections, lets requests in flight
  // finish, and after `grace` closes whatever is left. Completes when every
  // connection is gone (or shortly after the grace period).
  awaitable<void> stop(duration grace);

  std::size_t connections() const;

 private:
  struct impl;
  std::shared_ptr<impl> impl_;
};

}  // namespace blobswarm::http
