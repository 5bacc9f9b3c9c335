// passwords: web UI sign-in passwords, stored as PBKDF2-HMAC-SHA256 (OpenSSL)
// with a random 128-bit salt and a high iteration count, in one string:
//   pbkdf2-sha256$<iterations>$<salt hex>$<key hex>
// Verification recomputes the key with the stored parameters and compares
// in constant time. Hashing is deliberately slow (~0.3 s): callers run it
// off the server threads.
#pragma once

#include <string>
#include <string_view>

#include "common/error.hpp"

namespace blobswarm::tracker {

class passwords {
 public:
  // OWASP's 2023 figure for PBKDF2-HMAC-SHA256.
  static constexpr unsigned default_iterations = 600000;
  static constexpr std::size_t min_length = 8;
  static constexpr std::size_t max_length = 1024;

  // errc::invalid_argument when the password is too short, too long or has
  // control characters.
  static result<void> check_rules(std::string_view password);
  static std::string hash(std::string_view password, unsigned iterations = default_iterations);
  // False for a wrong password or a stored string that is not ours.
  static bool verify(std::string_view password, std::string_view stored);
  // A well-formed hash no password matches in practice: verified against
  // for unknown user names, so they take as long as known ones.
  static const std::string& decoy();
};

}  // namespace blobswarm::tracker
