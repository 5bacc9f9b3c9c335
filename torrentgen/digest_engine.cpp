#include "torrentgen/digest_engine.hpp"

#include <new>
#include <stdexcept>

namespace blobswarm::torrentgen {

digest_engine::digest_engine(hash_algorithm algorithm)
    : md_(EVP_MD_fetch(nullptr, algorithm == hash_algorithm::sha1 ? "SHA1" : "SHA256", nullptr)),
      ctx_(EVP_MD_CTX_new()),
      size_(algorithm == hash_algorithm::sha1 ? 20 : 32) {
  if (algorithm != hash_algorithm::sha1 && algorithm != hash_algorithm::sha256) {
    throw std::invalid_argument("digest_engine supports SHA-1 and SHA-256 only");
  }
  // Both fail only when OpenSSL cannot allocate or its default provider is
  // missing: nothing to recover from.
  if (!md_ || !ctx_) throw std::bad_alloc();
  init();
}

void digest_engine::init() {
  EVP_DigestInit_ex2(ctx_.get(), md_.get(), nullptr);
}

void digest_engine::update(const void* data, std::size_t size) {
  EVP_DigestUpdate(ctx_.get(), data, size);
}

void digest_engine::final(void* out) {
  unsigned int len = 0;
  EVP_DigestFinal_ex(ctx_.get(), static_cast<unsigned char*>(out), &len);
}

void digest_engine::digest(const void* data, std::size_t size, void* out) {
  init();
  update(data, size);
  final(out);
}

}  // namespace blobswarm::torrentgen
