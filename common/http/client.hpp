// http::client: blocking HTTP client on libcurl. Connections, DNS answers
// and TLS sessions are shared between calls (and threads) through a curl
// share handle, so repeated requests to one registry reuse connections.
// TLS verification is on unless a request or the options say insecure.
// Callers on an io_context run it through blocking_pool.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/error.hpp"
#include "common/units.hpp"

namespace blobswarm::http {

struct client_options {
  duration connect_timeout = std::chrono::seconds(10);
  duration timeout{0};                                // whole request; 0 means none
  duration stall_timeout = std::chrono::seconds(30);  // abort below 1 byte/s for this long
  bool insecure = false;                              // skip TLS certificate verification
  std::string ca_file;                                // extra CA bundle; empty: system store
  std::string user_agent = "blobswarm/" BLOBSWARM_VERSION;
  long max_redirects = 8;
  std::uint64_t max_body = 64ULL << 20;  // for buffered responses
};

using header_list = std::vector<std::pair<std::string, std::string>>;

struct client_request {
  std::string method = "GET";
  std::string url;
  header_list headers;
  std::string body;
  bool follow_redirects = true;
  std::optional<duration> timeout;
  std::optional<bool> insecure;
  // When set and true, the transfer stops with errc::unavailable.
  const std::atomic<bool>* cancel = nullptr;
  // Receive at most this many bytes per second (0: unlimited); benchmarks
  // use it to emulate a slow upstream.
  std::uint64_t max_recv_speed = 0;
};

struct client_response {
  int status = 0;
  header_list headers;  // of the final response; names in lowercase
  std::string body;     // empty for streamed requests
  std::string effective_url;

  std::optional<std::string_view> header(std::string_view name) const noexcept;
  std::vector<std::string_view> header_values(std::string_view name) const;
};

class client {
 public:
  explicit client(client_options options = {});
  ~client();
  client(const client&) = delete;
  client& operator=(const client&) = delete;

  // The whole body in memory, up to options.max_body.
  result<client_response> send(const client_request& request) const;

  using header_callback = std::function<result<void>(const client_response&)>;
  using data_callback = std::function<result<void>(std::span<const std::byte>)>;
  // Streams the body: `on_headers` sees the final response (after
  // redirects) before any body byte, `on_data` each piece of the body. An
  // error from either aborts the transfer and is returned.
  result<client_response> stream(const client_request& request, const header_callback& on_headers,
                                 const data_callback& on_data) const;

  const client_options& options() const noexcept { return options_; }

 private:
  struct shared;
  client_options options_;
  std::unique_ptr<shared> shared_;
};

}  // namespace blobswarm::http
