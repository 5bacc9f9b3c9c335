// digest_engine: SHA-1 or SHA-256 through OpenSSL's EVP interface (SHA-NI
// where the CPU has it) with the algorithm fetched once. OpenSSL 3 looks an
// algorithm up again on every init when given EVP_sha256(); for the many
// tiny 64-byte merkle node hashes of BitTorrent v2 that lookup costs more
// than the hashing, so the hot loops use this instead of common/hasher.
// Not thread-safe: one engine per thread.
#pragma once

#include <openssl/evp.h>

#include <cstddef>
#include <memory>

#include "common/hasher.hpp"

namespace blobswarm::torrentgen {

class digest_engine {
 public:
  // sha1 or sha256.
  explicit digest_engine(hash_algorithm algorithm);

  std::size_t size() const noexcept { return size_; }
  void init();
  void update(const void* data, std::size_t size);
  // Writes size() bytes to `out`; call init() before the next update().
  void final(void* out);
  // init + update + final.
  void digest(const void* data, std::size_t size, void* out);

 private:
  struct md_deleter {
    void operator()(EVP_MD* m) const noexcept { EVP_MD_free(m); }
  };
  struct ctx_deleter {
    void operator()(EVP_MD_CTX* c) const noexcept { EVP_MD_CTX_free(c); }
  };
  std::unique_ptr<EVP_MD, md_deleter> md_;
  std::unique_ptr<EVP_MD_CTX, ctx_deleter> ctx_;
  std::size_t size_ = 0;
};

}  // namespace blobswarm::torrentgen
