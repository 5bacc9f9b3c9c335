#include "db/redis_pool.hpp"

namespace blobswarm::db {

redis_pool::redis_pool(redis_url url, redis_pool_options options,
                       std::shared_ptr<spdlog::logger> log)
    : url_(std::move(url)), options_(std::move(options)), log_(std::move(log)) {}

redis_pool::~redis_pool() = default;

result<std::unique_ptr<redis_connection>> redis_pool::acquire() {
  auto now = std::chrono::steady_clock::now();
  {
    std::lock_guard lock(mutex_);
    if (!idle_.empty()) {
      auto c = std::move(idle_.back());
      idle_.pop_back();
      return c;
    }
    if (now < down_until_) {
      return fail(errc::unavailable, "Redis at {} is unreachable", url_.describe());
    }
  }
  auto c = redis_connection::open(url_, options_.timeout);
  std::lock_guard lock(mutex_);
  if (!c) {
    down_until_ = std::chrono::steady_clock::now() + options_.retry_after;
    if (!down_) {
      down_ = true;
      log_->error(
          "{}: {}{}", options_.name, c.error().message,
          options_.when_down.empty() ? "" : "; " + options_.when_down + " until Redis is back");
    }
    return fail(c.error());
  }
  if (down_) {
    down_ = false;
    log_->info("{}: Redis at {} is reachable again", options_.name, url_.describe());
  }
  return std::make_unique<redis_connection>(std::move(*c));
}

void redis_pool::release(std::unique_ptr<redis_connection> c) {
  if (!c) return;
  if (auto refused = c->take_deferred_errors(); refused > 0) {
    log_->warn("{}: Redis refused {} write(s): {}", options_.name, refused,
               c->last_deferred_error());
  }
  std::lock_guard lock(mutex_);
  if (!c->healthy()) {
    // Redis went away (or restarted): the next call connects again.
    if (!down_) {
      down_ = true;
      log_->warn("{}: lost the connection to Redis at {}; reconnecting", options_.name,
                 url_.describe());
    }
    idle_.clear();  // connections opened before are as dead
    return;
  }
  if (idle_.size() < options_.max_idle) idle_.push_back(std::move(c));
}

}  // namespace blobswarm::db
