// passkey: a user's secret, as it appears in announce URLs
// (/announce/<passkey>) and as a Bearer token. The tracker never stores a
// passkey, only its SHA-256, and finds users by that hash, so neither the
// database nor a timing difference in a lookup gives a passkey away.
#pragma once

#include <openssl/evp.h>

#include <array>
#include <cstddef>
#include <cstring>
#include <memory>
#include <string>
#include <string_view>

namespace blobswarm::tracker {

struct passkey_hash {
  std::array<unsigned char, 32> bytes{};

  std::string_view view() const noexcept {
    return {reinterpret_cast<const char*>(bytes.data()), bytes.size()};
  }
  static passkey_hash from(std::string_view raw32) noexcept {
    passkey_hash h;
    std::memcpy(h.bytes.data(), raw32.data(), raw32.size() < 32 ? raw32.size() : 32);
    return h;
  }
  friend bool operator==(const passkey_hash&, const passkey_hash&) = default;
};

struct passkey_hash_hasher {
  std::size_t operator()(const passkey_hash& h) const noexcept {
    std::size_t v;
    std::memcpy(&v, h.bytes.data(), sizeof v);
    return v;
  }
};

// SHA-256 with a reused OpenSSL context: no allocation per call, for the
// announce path. One per thread.
class passkey_hasher {
 public:
  passkey_hasher();
  passkey_hash operator()(std::string_view passkey) noexcept;

 private:
  struct ctx_deleter {
    void operator()(EVP_MD_CTX* c) const noexcept { EVP_MD_CTX_free(c); }
  };
  struct md_deleter {
    void operator()(EVP_MD* m) const noexcept { EVP_MD_free(m); }
  };
  // Fetched once: EVP_DigestInit_ex with EVP_sha256() looks the algorithm
  // up again on every call, which costs more than hashing 32 bytes.
  std::unique_ptr<EVP_MD, md_deleter> md_;
  std::unique_ptr<EVP_MD_CTX, ctx_deleter> ctx_;
};

// A new passkey: 32 lowercase hex characters from 16 random bytes (RAND_bytes).
std::string generate_passkey();

}  // namespace blobswarm::tracker
