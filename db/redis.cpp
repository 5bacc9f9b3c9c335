#include "db/redis.hpp"

#include <hiredis/hiredis.h>
#include <sys/time.h>

namespace blobswarm::db {

// --- redis_reply -------------------------------------------------------------

void redis_reply::deleter::operator()(redisReply* r) const noexcept {
  freeReplyObject(r);
}

bool redis_reply::is_error() const {
  return r_ && r_->type == REDIS_REPLY_ERROR;
}
bool redis_reply::is_nil() const {
  return !r_ || r_->type == REDIS_REPLY_NIL;
}
std::int64_t redis_reply::integer() const {
  return r_ && r_->type == REDIS_REPLY_INTEGER ? r_->integer : 0;
}
std::string_view redis_reply::str() const {
  if (!r_ || r_->str == nullptr) return {};
  return {r_->str, r_->len};
}
std::size_t redis_reply::size() const {
  return r_ && r_->type == REDIS_REPLY_ARRAY ? r_->elements : 0;
}
std::string_view redis_reply::element(std::size_t i) const {
  const redisReply* e = r_->element[i];
  if (e->str == nullptr) return {};
  return {e->str, e->len};
}
std::int64_t redis_reply::element_integer(std::size_t i) const {
  const redisReply* e = r_->element[i];
  return e->type == REDIS_REPLY_INTEGER ? e->integer : 0;
}

std::vector<std::string_view> redis_reply::strings_at(std::size_t i) const {
  std::vector<std::string_view> out;
  const redisReply* e = r_->element[i];
  if (e->type != REDIS_REPLY_ARRAY) return out;
  for (std::size_t j = 0; j < e->elements; ++j) {
    const redisReply* s = e->element[j];
    if (s->str != nullptr) out.emplace_back(s->str, s->len);
  }
  return out;
}

// --- redis_connection ----------------------------------------------------------

result<redis_connection> redis_connection::open(const redis_url& url, duration timeout) {
  auto us = std::chrono::duration_cast<std::chrono::microseconds>(timeout).count();
  timeval tv{static_cast<time_t>(us / 1000000), static_cast<suseconds_t>(us % 1000000)};
  redisContext* raw = redisConnectWithTimeout(url.host.c_str(), url.port, tv);
  if (raw == nullptr) return fail(errc::internal, "hiredis could not allocate a connection");
  redis_connection c(raw);
  if (raw->err) {
    return fail(errc::unavailable, "cannot connect to Redis at {}: {}", url.describe(),
                raw->errstr);
  }
  redisSetTimeout(raw, tv);
  redisEnableKeepAlive(raw);
  if (!url.password.empty()) {
    auto r = c.command({"AUTH", url.password});
    if (!r) return fail(r.error());
    if (r->is_error()) return fail(errc::unauthorized, "Redis at {}: {}", url.describe(), r->str());
  }
  if (url.database != 0) {
    auto db = std::to_string(url.database);
    auto r = c.command({"SELECT", db});
    if (!r) return fail(r.error());
    if (r->is_error()) {
      return fail(errc::invalid_argument, "Redis at {}: {}", url.describe(), r->str());
    }
  }
  return c;
}

redis_connection::redis_connection(redis_connection&& o) noexcept
    : c_(std::exchange(o.c_, nullptr)),
      queued_(std::exchange(o.queued_, 0)),
      deferred_(std::exchange(o.deferred_, 0)),
      deferred_errors_(o.deferred_errors_),
      last_deferred_error_(std::move(o.last_deferred_error_)) {}

redis_connection& redis_connection::operator=(redis_connection&& o) noexcept {
  if (this != &o) {
    if (c_) redisFree(c_);
    c_ = std::exchange(o.c_, nullptr);
    queued_ = std::exchange(o.queued_, 0);
    deferred_ = std::exchange(o.deferred_, 0);
    deferred_errors_ = o.deferred_errors_;
    last_deferred_error_ = std::move(o.last_deferred_error_);
  }
  return *this;
}

redis_connection::~redis_connection() {
  if (c_) redisFree(c_);
}

bool redis_connection::healthy() const noexcept {
  return c_ != nullptr && c_->err == 0;
}

void redis_connection::append(std::span<const std::string_view> args) {
  constexpr std::size_t inline_args = 16;
  const char* argv_small[inline_args];
  std::size_t len_small[inline_args];
  std::vector<const char*> argv_big;
  std::vector<std::size_t> len_big;
  const char** argv = argv_small;
  std::size_t* lens = len_small;
  if (args.size() > inline_args) {
    argv_big.resize(args.size());
    len_big.resize(args.size());
    argv = argv_big.data();
    lens = len_big.data();
  }
  for (std::size_t i = 0; i < args.size(); ++i) {
    argv[i] = args[i].data();
    lens[i] = args[i].size();
  }
  redisAppendCommandArgv(c_, static_cast<int>(args.size()), argv, lens);
  ++queued_;
}

result<void> redis_connection::send_deferred() {
  int done = 0;
  while (!done) {
    if (redisBufferWrite(c_, &done) != REDIS_OK) {
      queued_ = 0;
      deferred_ = 0;
      return fail(errc::unavailable, "Redis connection failed: {}", c_->errstr);
    }
  }
  deferred_ += queued_;
  queued_ = 0;
  return {};
}

result<std::vector<redis_reply>> redis_connection::replies() {
  while (deferred_ > 0) {
    void* raw = nullptr;
    if (c_->err || redisGetReply(c_, &raw) != REDIS_OK || raw == nullptr) {
      queued_ = 0;
      deferred_ = 0;
      return fail(errc::unavailable, "Redis connection failed: {}",
                  c_->err ? c_->errstr : "no reply");
    }
    --deferred_;
    redis_reply r(static_cast<redisReply*>(raw));
    if (r.is_error()) {
      ++deferred_errors_;
      last_deferred_error_ = std::string(r.str().substr(0, 200));
    }
  }
  std::vector<redis_reply> out;
  out.reserve(queued_);
  while (queued_ > 0) {
    void* raw = nullptr;
    if (c_->err || redisGetReply(c_, &raw) != REDIS_OK || raw == nullptr) {
      queued_ = 0;
      return fail(errc::unavailable, "Redis connection failed: {}",
                  c_->err ? c_->errstr : "no reply");
    }
    --queued_;
    out.emplace_back(static_cast<redisReply*>(raw));
  }
  return out;
}

result<redis_reply> redis_connection::command(std::initializer_list<std::string_view> args) {
  append(args);
  auto r = replies();
  if (!r) return fail(r.error());
  return std::move(r->front());
}

}  // namespace blobswarm::db
