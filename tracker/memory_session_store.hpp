// memory_session_store: web UI sessions in this process (the default, with
// the sqlite store): thread-safe, bounded in memory, lost on restart.
#pragma once

#include <mutex>
#include <unordered_map>

#include "tracker/passkey.hpp"
#include "tracker/session_store.hpp"

namespace blobswarm::tracker {

class memory_session_store final : public session_store {
 public:
  explicit memory_session_store(session_policy policy = {}) : policy_(policy) {}

  result<created_session> create(std::uint32_t user_id, std::string name, bool admin,
                                 std::uint32_t now) override;
  result<std::optional<session>> find(std::string_view id, std::uint32_t now) override;
  result<void> remove(std::string_view id) override;
  result<std::size_t> remove_user(std::uint32_t user_id) override;
  result<void> purge(std::uint32_t now) override;
  result<std::size_t> size() override;

 private:
  session_policy policy_;
  std::mutex mutex_;
  passkey_hasher hasher_;  // guarded by mutex_
  std::unordered_map<passkey_hash, session, passkey_hash_hasher> sessions_;
};

}  // namespace blobswarm::tracker
