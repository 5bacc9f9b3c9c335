#include "common/hasher.hpp"

#include <openssl/crypto.h>

#include <stdexcept>

namespace blobswarm {
namespace {
const EVP_MD* md(hash_algorithm a) {
  switch (a) {
    case hash_algorithm::sha1:
      return EVP_sha1();
    case hash_algorithm::sha256:
      return EVP_sha256();
    case hash_algorithm::sha512:
      return EVP_sha512();
  }
  return EVP_sha256();
}
}  // namespace

std::size_t digest_size(hash_algorithm a) noexcept {
  switch (a) {
    case hash_algorithm::sha1:
      return 20;
    case hash_algorithm::sha256:
      return 32;
    case hash_algorithm::sha512:
      return 64;
  }
  return 0;
}

hasher::hasher(hash_algorithm a) : algorithm_(a), ctx_(EVP_MD_CTX_new()) {
  // Allocation failure inside OpenSSL is not recoverable here.
  if (!ctx_) throw std::bad_alloc();
  reset();
}

hasher::hasher(const hasher& other) : algorithm_(other.algorithm_), ctx_(EVP_MD_CTX_new()) {
  if (!ctx_ || EVP_MD_CTX_copy_ex(ctx_.get(), other.ctx_.get()) != 1) throw std::bad_alloc();
}

hasher& hasher::operator=(const hasher& other) {
  if (this != &other) *this = hasher(other);
  return *this;
}

void hasher::reset() {
  EVP_DigestInit_ex(ctx_.get(), md(algorithm_), nullptr);
}

hasher& hasher::update(std::span<const std::byte> data) {
  EVP_DigestUpdate(ctx_.get(), data.data(), data.size());
  return *this;
}

hasher& hasher::update(std::string_view data) {
  EVP_DigestUpdate(ctx_.get(), data.data(), data.size());
  return *this;
}

std::string hasher::finish() {
  std::string out(digest_size(algorithm_), '\0');
  unsigned int len = 0;
  EVP_DigestFinal_ex(ctx_.get(), reinterpret_cast<unsigned char*>(out.data()), &len);
  out.resize(len);
  reset();
  return out;
}

std::string sha1(std::string_view data) {
  return hasher(hash_algorithm::sha1).update(data).finish();
}
std::string sha256(std::string_view data) {
  return hasher(hash_algorithm::sha256).update(data).finish();
}

bool secrets_equal(std::string_view presented, std::string_view expected) {
  auto a = sha256(presented);
  auto b = sha256(expected);
  return CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

}  // namespace blobswarm
