#include "tracker/passkey.hpp"

#include <openssl/rand.h>

#include <stdexcept>

#include "common/hex.hpp"

namespace blobswarm::tracker {

passkey_hasher::passkey_hasher()
    : md_(EVP_MD_fetch(nullptr, "SHA2-256", nullptr)), ctx_(EVP_MD_CTX_new()) {
  if (!md_ || !ctx_) throw std::runtime_error("OpenSSL: cannot set up SHA-256");
}

passkey_hash passkey_hasher::operator()(std::string_view passkey) noexcept {
  passkey_hash h;
  unsigned int n = 0;
  if (EVP_DigestInit_ex2(ctx_.get(), md_.get(), nullptr) != 1 ||
      EVP_DigestUpdate(ctx_.get(), passkey.data(), passkey.size()) != 1 ||
      EVP_DigestFinal_ex(ctx_.get(), h.bytes.data(), &n) != 1) {
    // Cannot happen with a built-in digest; an all-zero hash matches no user.
    h = {};
  }
  return h;
}

std::string generate_passkey() {
  unsigned char raw[16];
  if (RAND_bytes(raw, sizeof raw) != 1) throw std::runtime_error("RAND_bytes failed");
  return to_hex(std::string_view(reinterpret_cast<const char*>(raw), sizeof raw));
}

}  // namespace blobswarm::tracker
