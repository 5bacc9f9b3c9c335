// token_cache: Bearer tokens of the registry token protocol (Docker Hub's
// auth.docker.io and Distribution's `auth: token`), kept per scope until
// shortly before they expire. Pure: the caller passes the time, so tests
// never sleep. Thread-safe.
#pragma once

#include <chrono>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/error.hpp"
#include "common/registry/www_authenticate.hpp"

namespace blobswarm::registry {

struct bearer_token {
  std::string value;
  std::chrono::seconds expires_in{60};
};

// The token server's JSON answer: "token" or "access_token", and
// "expires_in" (60 s when absent, as the spec says; a shorter lifetime is
// honoured, since using an expired token costs a round trip).
result<bearer_token> parse_token_response(std::string_view body);

// GET URL for a token: realm?service=..&scope=..[&scope=..][&account=..].
// Fails when the challenge has no realm or the realm is not http(s).
result<std::string> token_request_url(const challenge& bearer,
                                      const std::vector<std::string>& scopes,
                                      std::string_view account = {});

// "repository:library/alpine:pull"
std::string repository_scope(std::string_view repository, std::string_view actions = "pull");

class token_cache {
 public:
  using clock = std::chrono::steady_clock;

  // Key: which token server, for which scope, with whose credentials.
  static std::string key(std::string_view realm, std::string_view service, std::string_view scope,
                         std::string_view identity);

  std::optional<std::string> get(const std::string& key, clock::time_point now) const;
  // Keeps the token until 90% of its lifetime (at most 30 s early): a token
  // must not expire between our check and the registry's.
  void put(const std::string& key, const bearer_token& token, clock::time_point now);
  void erase(const std::string& key);
  std::size_t size() const;

 private:
  struct entry {
    std::string token;
    clock::time_point valid_until;
  };
  mutable std::mutex mutex_;
  std::map<std::string, entry, std::less<>> entries_;
};

}  // namespace blobswarm::registry
