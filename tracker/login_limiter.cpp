#include "tracker/login_limiter.hpp"

#include <algorithm>
#include <cmath>
#include <vector>

namespace blobswarm::tracker {

double login_limiter::tokens_at(const entry& e, std::uint32_t now) const noexcept {
  double elapsed = now > e.updated ? static_cast<double>(now - e.updated) : 0.0;
  return std::min<double>(policy_.burst, e.tokens + elapsed / std::max(1u, policy_.refill));
}

std::uint32_t login_limiter::retry_after(std::string_view key, std::uint32_t now) const {
  std::lock_guard lock(mutex_);
  auto it = buckets_.find(std::string(key));
  if (it == buckets_.end()) return 0;
  double t = tokens_at(it->second, now);
  if (t >= 1.0) return 0;
  return std::max(1u, static_cast<std::uint32_t>(std::ceil((1.0 - t) * policy_.refill)));
}

void login_limiter::failed(std::string_view key, std::uint32_t now) {
  std::lock_guard lock(mutex_);
  auto it = buckets_.find(std::string(key));
  if (it == buckets_.end()) {
    if (buckets_.size() >= max_keys_) make_room(now);
    it = buckets_.emplace(std::string(key), entry{static_cast<double>(policy_.burst), now}).first;
  }
  it->second.tokens = std::max(0.0, tokens_at(it->second, now) - 1.0);
  it->second.updated = now;
}

void login_limiter::succeeded(std::string_view key) {
  std::lock_guard lock(mutex_);
  buckets_.erase(std::string(key));
}

std::size_t login_limiter::keys() const {
  std::lock_guard lock(mutex_);
  return buckets_.size();
}

void login_limiter::make_room(std::uint32_t now) {
  // Full buckets carry no information; drop them first.
  std::erase_if(buckets_,
                [&](const auto& kv) { return tokens_at(kv.second, now) >= policy_.burst; });
  if (buckets_.size() < max_keys_) return;
  // Still full (an attack from many keys): drop the oldest half.
  std::vector<std::uint32_t> times;
  times.reserve(buckets_.size());
  for (const auto& kv : buckets_) times.push_back(kv.second.updated);
  auto mid = times.begin() + static_cast<std::ptrdiff_t>(times.size() / 2);
  std::nth_element(times.begin(), mid, times.end());
  auto cutoff = *mid;
  std::erase_if(buckets_, [&](const auto& kv) { return kv.second.updated <= cutoff; });
}

}  // namespace blobswarm::tracker
