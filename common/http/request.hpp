// http::request: what a handler sees of an HTTP request. The server fills
// it with views into its own buffers, valid until the response is written;
// tests build one with request::make().
#pragma once

#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/net.hpp"

namespace blobswarm::http {

enum class verb { get, head, post, put, patch, delete_, options, other };

std::string_view to_string(verb v) noexcept;
verb verb_from_string(std::string_view s) noexcept;
bool iequals(std::string_view a, std::string_view b) noexcept;

using header_view = std::pair<std::string_view, std::string_view>;

class request {
 public:
  request() = default;
  request(const request&) = delete;
  request& operator=(const request&) = delete;
  request(request&&) = default;
  request& operator=(request&&) = default;

  // A self-contained request, for tests and for in-process calls.
  static request make(verb method, std::string target,
                      std::vector<std::pair<std::string, std::string>> headers = {},
                      std::string body = {});

  verb method() const noexcept { return method_; }
  std::string_view method_string() const noexcept { return method_string_; }
  // "/v2/x/blobs/sha256:..?ns=docker.io" exactly as received.
  std::string_view target() const noexcept { return target_; }
  // The target before '?', still percent-encoded.
  std::string_view path() const noexcept;
  // The target after '?', or empty.
  std::string_view query() const noexcept;
  // First header with this name (case-insensitive).
  std::optional<std::string_view> header(std::string_view name) const noexcept;
  // Every header with this name, in order (e.g. several Accept lines).
  std::vector<std::string_view> header_values(std::string_view name) const;
  std::span<const header_view> headers() const noexcept { return headers_; }
  std::string_view body() const noexcept { return body_; }
  const ip_endpoint& remote() const noexcept { return remote_; }
  bool keep_alive() const noexcept { return keep_alive_; }

  // A path parameter captured by the router ("{name}" in the pattern).
  std::string_view param(std::string_view name) const noexcept;

  // Filled by the server and the router.
  void reset(verb method, std::string_view method_string, std::string_view target,
             std::string_view body, ip_endpoint remote, bool keep_alive);
  void add_header(std::string_view name, std::string_view value) {
    headers_.emplace_back(name, value);
  }
  void set_params(std::span<const header_view> params) {
    params_.assign(params.begin(), params.end());
  }

 private:
  struct owned {
    std::string method, target, body;
    std::vector<std::pair<std::string, std::string>> headers;
  };

  verb method_ = verb::get;
  std::string_view method_string_;
  std::string_view target_;
  std::string_view body_;
  ip_endpoint remote_;
  bool keep_alive_ = true;
  std::vector<header_view> headers_;
  std::vector<header_view> params_;
  std::unique_ptr<owned> owned_;
};

}  // namespace blobswarm::http
