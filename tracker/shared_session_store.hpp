// shared_session_store: web UI sessions kept in the index of record (the
// store's sessions table), so every tracker replica on one PostgreSQL
// knows every session: sign in on one, keep working on any other. Used
// when the store is shared. Only the SHA-256 of a session id is stored;
// last_used is written at most every `touch_every` seconds per session,
// not on every request.
#pragma once

#include <mutex>

#include "tracker/passkey.hpp"
#include "tracker/session_store.hpp"
#include "tracker/store.hpp"

namespace blobswarm::tracker {

class shared_session_store final : public session_store {
 public:
  static constexpr std::uint32_t touch_every = 5;  // seconds

  shared_session_store(store& db, session_policy policy) : db_(db), policy_(policy) {}

  result<created_session> create(std::uint32_t user_id, std::string name, bool admin,
                                 std::uint32_t now) override;
  result<std::optional<session>> find(std::string_view id, std::uint32_t now) override;
  result<void> remove(std::string_view id) override;
  result<std::size_t> remove_user(std::uint32_t user_id) override;
  result<void> purge(std::uint32_t now) override;
  result<std::size_t> size() override;

 private:
  passkey_hash hash(std::string_view id);

  store& db_;
  session_policy policy_;
  std::mutex mutex_;
  passkey_hasher hasher_;  // guarded by mutex_
};

}  // namespace blobswarm::tracker
