// login_limiter: slows down password guessing at the web UI's sign-in.
// Each key (a user name, a client address) has a bucket of attempts that
// refills over time; a failed sign-in takes one, and an empty bucket
// refuses further attempts (HTTP 429 with Retry-After) before any password
// is checked, so a correct guess is not recognisable either. Pure (time
// comes in as an argument); thread-safe; bounded in memory.
#pragma once

#include <cstdint>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

namespace blobswarm::tracker {

struct bucket_policy {
  std::uint32_t burst = 5;    // failures allowed at once
  std::uint32_t refill = 60;  // seconds per attempt regained
};

class login_limiter {
 public:
  explicit login_limiter(bucket_policy policy, std::size_t max_keys = 10000)
      : policy_(policy), max_keys_(max_keys) {}

  // 0 when `key` may try now, else the seconds until it may.
  std::uint32_t retry_after(std::string_view key, std::uint32_t now) const;
  // Records a failed attempt.
  void failed(std::string_view key, std::uint32_t now);
  // Forgets a key's failures (after a successful sign-in).
  void succeeded(std::string_view key);
  // Keys with a bucket now; never more than max_keys.
  std::size_t keys() const;

 private:
  struct entry {
    double tokens = 0;
    std::uint32_t updated = 0;
  };
  double tokens_at(const entry& e, std::uint32_t now) const noexcept;
  void make_room(std::uint32_t now);

  bucket_policy policy_;
  std::size_t max_keys_;
  mutable std::mutex mutex_;
  std::unordered_map<std::string, entry> buckets_;
};

}  // namespace blobswarm::tracker
