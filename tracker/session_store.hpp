// session_store: the web UI's sign-in sessions, in memory. A session id is
// 256 random bits (RAND_bytes), handed to the browser in an HttpOnly,
// SameSite=Strict cookie; the store keeps only its SHA-256, so a lookup's
// timing says nothing about the ids it holds. Each session has its own
// CSRF token. Sessions end after `idle` without use, `ttl` after sign-in,
// at sign-out, or when their user is revoked or gets a new password.
// Thread-safe; time comes in as an argument; bounded in memory.
#pragma once

#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

#include "tracker/passkey.hpp"

namespace blobswarm::tracker {

struct session {
  std::uint32_t user_id = 0;  // 0 for the admin (signed in with the admin token)
  std::string name;           // the user's name; "admin" for the admin token
  bool admin = false;
  std::string csrf;  // 64 hex characters; every state-changing request carries it
  std::uint32_t created = 0;
  std::uint32_t last_used = 0;
};

struct session_policy {
  std::uint32_t ttl = 12 * 3600;  // seconds from sign-in
  std::uint32_t idle = 3600;      // seconds without a request
  std::size_t max_sessions = 10000;
};

class session_store {
 public:
  explicit session_store(session_policy policy = {}) : policy_(policy) {}

  struct created_session {
    std::string id;  // for the cookie; not kept
    session s;
  };
  created_session create(std::uint32_t user_id, std::string name, bool admin, std::uint32_t now);
  // The session for a cookie value (and marks it used), or nullopt when
  // unknown or expired.
  std::optional<session> find(std::string_view id, std::uint32_t now);
  void remove(std::string_view id);
  // Ends every session of a user; returns how many.
  std::size_t remove_user(std::uint32_t user_id);
  // Drops expired sessions.
  void purge(std::uint32_t now);
  std::size_t size() const;

  // 64 lowercase hex characters from 32 bytes of RAND_bytes.
  static std::string random_token();

 private:
  bool expired(const session& s, std::uint32_t now) const noexcept;

  session_policy policy_;
  mutable std::mutex mutex_;
  passkey_hasher hasher_;  // guarded by mutex_
  std::unordered_map<passkey_hash, session, passkey_hash_hasher> sessions_;
};

}  // namespace blobswarm::tracker
