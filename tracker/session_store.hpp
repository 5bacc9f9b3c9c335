// session_store: the web UI's sign-in sessions, behind one interface with
// two implementations: memory_session_store (in this process; the default,
// sqlite) and shared_session_store (in the index of record, so a session
// made on one tracker replica works on every other).
//
// A session id is 256 random bits (RAND_bytes), handed to the browser in an
// HttpOnly, SameSite=Strict cookie; a store keeps only its SHA-256, so
// neither a lookup's timing nor the database gives an id away. Each
// session has its own CSRF token. Sessions end after `idle` without use,
// `ttl` after sign-in, at sign-out, or when their user is revoked. Time
// comes in as an argument. Calls may block on the database: the web UI
// makes them on its database threads.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "common/error.hpp"

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

  bool expired(const session& s, std::uint32_t now) const noexcept {
    return now >= s.created + ttl || now >= s.last_used + idle;
  }
};

class session_store {
 public:
  virtual ~session_store() = default;

  struct created_session {
    std::string id;  // for the cookie; not kept
    session s;
  };
  // A new session; when max_sessions are live, expired ones go first, then
  // the least recently used.
  virtual result<created_session> create(std::uint32_t user_id, std::string name, bool admin,
                                         std::uint32_t now) = 0;
  // The session for a cookie value (and marks it used), or nullopt when
  // unknown or expired.
  virtual result<std::optional<session>> find(std::string_view id, std::uint32_t now) = 0;
  virtual result<void> remove(std::string_view id) = 0;
  // Ends every session of a user; returns how many.
  virtual result<std::size_t> remove_user(std::uint32_t user_id) = 0;
  // Drops expired sessions.
  virtual result<void> purge(std::uint32_t now) = 0;
  virtual result<std::size_t> size() = 0;

  // 64 lowercase hex characters from 32 bytes of RAND_bytes.
  static std::string random_token();

 protected:
  // A new session's id and record (random id and CSRF token).
  static created_session make(std::uint32_t user_id, std::string name, bool admin,
                              std::uint32_t now);
};

}  // namespace blobswarm::tracker
