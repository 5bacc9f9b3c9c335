// http::response: what a handler returns. The body is one of
//  - bytes in memory (std::string),
//  - a range of an open file, sent with sendfile(2),
//  - a stream: a coroutine that writes the body as it becomes available
//    (a blob still arriving from the swarm), with or without a known length.
// A stream that fails returns an error; the server then drops the
// connection, so the client sees a truncated body and can never take a
// partial or unverified blob for a whole one.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "common/error.hpp"
#include "common/file.hpp"
#include "common/http/asio.hpp"

namespace blobswarm::http {

class body_writer {
 public:
  virtual ~body_writer() = default;
  // False when the client went away or stopped reading: stop producing.
  virtual awaitable<bool> write(std::span<const std::byte> data) = 0;
  // Sends [offset, offset + length) of `fd` with sendfile(2).
  virtual awaitable<bool> write_file(int fd, std::uint64_t offset, std::uint64_t length) = 0;
};

using body_producer = std::function<awaitable<result<void>>(body_writer&)>;

struct file_body {
  unique_fd fd;
  std::uint64_t offset = 0;
  std::uint64_t length = 0;
};

struct stream_body {
  std::optional<std::uint64_t> length;  // nullopt: chunked transfer encoding
  body_producer produce;
};

class response {
 public:
  response() = default;
  explicit response(int status) : status_(status) {}

  static response text(int status, std::string body,
                       std::string_view content_type = "text/plain; charset=utf-8");
  static response bytes(int status, std::string body, std::string_view content_type);
  static response file(int status, unique_fd fd, std::uint64_t offset, std::uint64_t length,
                       std::string_view content_type);
  static response stream(int status, std::optional<std::uint64_t> length, body_producer produce,
                         std::string_view content_type);

  int status() const noexcept { return status_; }
  response& status(int s) noexcept {
    status_ = s;
    return *this;
  }
  // Replaces any header of that name.
  response& set(std::string_view name, std::string value);
  // Adds another header line, keeping existing ones.
  response& add(std::string_view name, std::string value);
  std::optional<std::string_view> header(std::string_view name) const noexcept;
  const std::vector<std::pair<std::string, std::string>>& headers() const noexcept {
    return headers_;
  }

  // Ask the server to close the connection after this response.
  response& close() noexcept {
    close_ = true;
    return *this;
  }
  bool wants_close() const noexcept { return close_; }

  // Something to keep alive until the body is fully sent (e.g. a lease that
  // stops the cache from evicting the file being served).
  response& hold(std::shared_ptr<void> h) {
    hold_ = std::move(h);
    return *this;
  }

  using body_type = std::variant<std::string, file_body, stream_body>;
  body_type& body() noexcept { return body_; }
  const body_type& body() const noexcept { return body_; }
  // The Content-Length this response will carry; nullopt for chunked.
  std::optional<std::uint64_t> content_length() const noexcept;
  // For HEAD answers to a streamed resource: the length without a producer.
  response& declare_length(std::uint64_t n);

 private:
  int status_ = 200;
  std::vector<std::pair<std::string, std::string>> headers_;
  body_type body_;
  bool close_ = false;
  std::shared_ptr<void> hold_;
  std::optional<std::uint64_t> declared_length_;
};

// Reason phrase for a status code ("Not Found").
std::string_view reason(int status) noexcept;

}  // namespace blobswarm::http
