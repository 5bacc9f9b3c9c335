#include "tracker/memory_session_store.hpp"

#include <openssl/rand.h>

#include <algorithm>
#include <stdexcept>

#include "common/hex.hpp"

namespace blobswarm::tracker {

std::string session_store::random_token() {
  unsigned char raw[32];
  if (RAND_bytes(raw, sizeof raw) != 1) throw std::runtime_error("RAND_bytes failed");
  return to_hex(std::string_view(reinterpret_cast<const char*>(raw), sizeof raw));
}

session_store::created_session session_store::make(std::uint32_t user_id, std::string name,
                                                   bool admin, std::uint32_t now) {
  created_session out;
  out.id = random_token();
  out.s = session{user_id, std::move(name), admin, random_token(), now, now};
  return out;
}

result<session_store::created_session> memory_session_store::create(std::uint32_t user_id,
                                                                    std::string name, bool admin,
                                                                    std::uint32_t now) {
  auto out = make(user_id, std::move(name), admin, now);
  std::lock_guard lock(mutex_);
  if (sessions_.size() >= policy_.max_sessions) {
    std::erase_if(sessions_, [&](const auto& kv) { return policy_.expired(kv.second, now); });
    if (sessions_.size() >= policy_.max_sessions) {
      // Still full: the least recently used session goes.
      auto oldest = std::min_element(sessions_.begin(), sessions_.end(), [](auto& a, auto& b) {
        return a.second.last_used < b.second.last_used;
      });
      sessions_.erase(oldest);
    }
  }
  sessions_.emplace(hasher_(out.id), out.s);
  return out;
}

result<std::optional<session>> memory_session_store::find(std::string_view id, std::uint32_t now) {
  if (id.size() != 64) return std::optional<session>{};
  std::lock_guard lock(mutex_);
  auto it = sessions_.find(hasher_(id));
  if (it == sessions_.end()) return std::optional<session>{};
  if (policy_.expired(it->second, now)) {
    sessions_.erase(it);
    return std::optional<session>{};
  }
  it->second.last_used = std::max(it->second.last_used, now);
  return std::optional<session>(it->second);
}

result<void> memory_session_store::remove(std::string_view id) {
  std::lock_guard lock(mutex_);
  sessions_.erase(hasher_(id));
  return {};
}

result<std::size_t> memory_session_store::remove_user(std::uint32_t user_id) {
  std::lock_guard lock(mutex_);
  return std::erase_if(
      sessions_, [&](const auto& kv) { return !kv.second.admin && kv.second.user_id == user_id; });
}

result<void> memory_session_store::purge(std::uint32_t now) {
  std::lock_guard lock(mutex_);
  std::erase_if(sessions_, [&](const auto& kv) { return policy_.expired(kv.second, now); });
  return {};
}

result<std::size_t> memory_session_store::size() {
  std::lock_guard lock(mutex_);
  return sessions_.size();
}

}  // namespace blobswarm::tracker
