// passkey_vault: keeps users' passkeys recoverable, so the web UI can hand a
// signed-in user a .torrent carrying their passkey and show an admin a
// user's passkey. The database holds each passkey sealed with AES-256-GCM
// under a key kept in a separate file (passkey_key_file, mode 0600): a copy
// of the database alone gives no passkey away. Announces still find users
// by the passkey's SHA-256 only.
#pragma once

#include <array>
#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>

#include "common/error.hpp"

namespace blobswarm::tracker {

class passkey_vault {
 public:
  // Reads the key file (64 hex characters), creating it with a new random
  // key when it does not exist.
  static result<passkey_vault> open_or_create(const std::filesystem::path& path);
  // A vault with a given key (tests).
  static passkey_vault with_key(const std::array<unsigned char, 32>& key) {
    return passkey_vault(key);
  }

  // The sealed form: version byte, 12-byte nonce, ciphertext, 16-byte tag.
  // Bound to `user_id`: a sealed passkey moved to another user does not open.
  std::string seal(std::string_view passkey, std::int64_t user_id) const;
  // errc::corrupt when it does not open (another key, tampered, other user).
  result<std::string> open(std::string_view sealed, std::int64_t user_id) const;

 private:
  explicit passkey_vault(const std::array<unsigned char, 32>& key) : key_(key) {}
  std::array<unsigned char, 32> key_;
};

}  // namespace blobswarm::tracker
