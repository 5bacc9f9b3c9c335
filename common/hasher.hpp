// hasher: incremental SHA-1 / SHA-256 / SHA-512 over OpenSSL's EVP interface
// (which picks the SHA-NI code paths on CPUs that have them).
#pragma once

#include <openssl/evp.h>

#include <array>
#include <cstddef>
#include <memory>
#include <span>
#include <string>
#include <string_view>

namespace blobswarm {

enum class hash_algorithm { sha1, sha256, sha512 };

std::size_t digest_size(hash_algorithm a) noexcept;

class hasher {
 public:
  explicit hasher(hash_algorithm a);
  hasher(const hasher& other);
  hasher& operator=(const hasher& other);
  hasher(hasher&&) noexcept = default;
  hasher& operator=(hasher&&) noexcept = default;

  hasher& update(std::span<const std::byte> data);
  hasher& update(std::string_view data);
  // Raw digest bytes; the hasher is reset afterwards and can be reused.
  std::string finish();
  void reset();
  hash_algorithm algorithm() const noexcept { return algorithm_; }

 private:
  struct ctx_deleter {
    void operator()(EVP_MD_CTX* c) const noexcept { EVP_MD_CTX_free(c); }
  };
  hash_algorithm algorithm_;
  std::unique_ptr<EVP_MD_CTX, ctx_deleter> ctx_;
};

// One-shot helpers returning raw digest bytes.
std::string sha1(std::string_view data);
std::string sha256(std::string_view data);

// Compares a presented secret (token, passkey, CSRF token, password hash)
// with the expected one in time that depends on neither's content nor
// length: both are hashed with SHA-256, and the hashes are compared with
// CRYPTO_memcmp. The project's only constant-time comparison: use it for
// every secret.
bool secrets_equal(std::string_view presented, std::string_view expected);

}  // namespace blobswarm
