// redis: a small synchronous Redis client over hiredis, for state that
// several replicas share (the tracker's peers). One redis_connection is one
// TCP connection used by one thread at a time, with connect and command
// timeouts, so a Redis that is down costs a bounded wait and an error
// value, never a hang. Commands are pipelined: append() queues, replies()
// sends everything in one write and reads the replies in order;
// send_deferred() sends writes whose replies are checked later.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/error.hpp"
#include "common/units.hpp"
#include "db/urls.hpp"

struct redisContext;
struct redisReply;

namespace blobswarm::db {

// A reply; owns the hiredis object.
class redis_reply {
 public:
  redis_reply() = default;
  explicit redis_reply(redisReply* r) : r_(r) {}

  bool is_error() const;
  bool is_nil() const;
  std::int64_t integer() const;  // 0 unless an integer reply
  std::string_view str() const;  // strings, status and error replies
  std::size_t size() const;      // elements of an array reply
  // Element i of an array reply (a view, valid while this reply lives).
  std::string_view element(std::size_t i) const;
  std::int64_t element_integer(std::size_t i) const;
  // The strings of element i when it is itself an array (SCAN's keys).
  std::vector<std::string_view> strings_at(std::size_t i) const;

 private:
  struct deleter {
    void operator()(redisReply* r) const noexcept;
  };
  std::unique_ptr<redisReply, deleter> r_;
};

class redis_connection {
 public:
  // Connects (AUTH and SELECT as the URL says) within `timeout`; each
  // command then waits at most `timeout` for its reply.
  static result<redis_connection> open(const redis_url& url, duration timeout);

  redis_connection(redis_connection&&) noexcept;
  redis_connection& operator=(redis_connection&&) noexcept;
  ~redis_connection();

  // Queues one command (binary-safe arguments).
  void append(std::span<const std::string_view> args);
  void append(std::initializer_list<std::string_view> args) {
    append(std::span<const std::string_view>(args.begin(), args.size()));
  }
  // Sends what was appended and reads one reply per command, in order.
  // errc::unavailable when the connection fails (it is then unusable);
  // Redis error replies come back as replies (is_error()).
  result<std::vector<redis_reply>> replies();
  // One command, one reply.
  result<redis_reply> command(std::initializer_list<std::string_view> args);
  // Sends what was appended without waiting for the replies: they are read
  // (and checked) before the next replies(), when they have long arrived.
  // For writes whose outcome the caller does not need to answer its own
  // client: it saves a round trip.
  result<void> send_deferred();
  // Error replies to deferred commands seen since the last call (for the
  // caller's log), and the last one's text.
  std::size_t take_deferred_errors() noexcept { return std::exchange(deferred_errors_, 0); }
  std::string_view last_deferred_error() const noexcept { return last_deferred_error_; }

  bool healthy() const noexcept;

 private:
  explicit redis_connection(redisContext* c) : c_(c) {}
  redisContext* c_ = nullptr;
  std::size_t queued_ = 0;    // appended, not yet sent or not yet read
  std::size_t deferred_ = 0;  // sent, replies still to read (before the queued ones)
  std::size_t deferred_errors_ = 0;
  std::string last_deferred_error_;
};

}  // namespace blobswarm::db
