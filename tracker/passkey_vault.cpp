#include "tracker/passkey_vault.hpp"

#include <openssl/evp.h>
#include <openssl/rand.h>

#include <memory>
#include <stdexcept>

#include "common/file.hpp"
#include "common/hex.hpp"

namespace blobswarm::tracker {
namespace {

constexpr char version = 1;
constexpr std::size_t nonce_size = 12;
constexpr std::size_t tag_size = 16;

struct ctx_deleter {
  void operator()(EVP_CIPHER_CTX* c) const noexcept { EVP_CIPHER_CTX_free(c); }
};
using cipher_ctx = std::unique_ptr<EVP_CIPHER_CTX, ctx_deleter>;

std::string associated_data(std::int64_t user_id) {
  return fmt::format("blobswarm passkey v1 user {}", user_id);
}

const unsigned char* bytes(std::string_view s) {
  return reinterpret_cast<const unsigned char*>(s.data());
}

}  // namespace

result<passkey_vault> passkey_vault::open_or_create(const std::filesystem::path& path) {
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) {
    std::array<unsigned char, 32> key{};
    if (RAND_bytes(key.data(), static_cast<int>(key.size())) != 1) {
      return fail(errc::internal, "RAND_bytes failed");
    }
    auto hex = to_hex(std::string_view(reinterpret_cast<const char*>(key.data()), key.size()));
    if (auto w = write_file_atomic(path, hex + "\n", 0600); !w) {
      return fail(w.error().with_context("passkey_key_file"));
    }
    return passkey_vault(key);
  }
  auto data = read_file(path, 4096);
  if (!data) return fail(data.error().with_context("passkey_key_file"));
  std::string_view t = *data;
  while (!t.empty() && (t.back() == '\n' || t.back() == '\r' || t.back() == ' ')) {
    t.remove_suffix(1);
  }
  auto raw = from_hex(t);
  if (!raw || raw->size() != 32) {
    return fail(errc::invalid_argument,
                "passkey_key_file {}: must hold 64 hex characters (a 256-bit key)", path.string());
  }
  std::array<unsigned char, 32> key{};
  std::memcpy(key.data(), raw->data(), key.size());
  return passkey_vault(key);
}

std::string passkey_vault::seal(std::string_view passkey, std::int64_t user_id) const {
  std::string out(1 + nonce_size + passkey.size() + tag_size, '\0');
  out[0] = version;
  auto* nonce = reinterpret_cast<unsigned char*>(out.data() + 1);
  auto* text = nonce + nonce_size;
  auto* tag = text + passkey.size();
  if (RAND_bytes(nonce, nonce_size) != 1) throw std::runtime_error("RAND_bytes failed");
  cipher_ctx ctx(EVP_CIPHER_CTX_new());
  auto aad = associated_data(user_id);
  int n = 0;
  if (!ctx || EVP_EncryptInit_ex(ctx.get(), EVP_aes_256_gcm(), nullptr, key_.data(), nonce) != 1 ||
      EVP_EncryptUpdate(ctx.get(), nullptr, &n, bytes(aad), static_cast<int>(aad.size())) != 1 ||
      EVP_EncryptUpdate(ctx.get(), text, &n, bytes(passkey), static_cast<int>(passkey.size())) !=
          1 ||
      EVP_EncryptFinal_ex(ctx.get(), text + n, &n) != 1 ||
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_GET_TAG, tag_size, tag) != 1) {
    throw std::runtime_error("OpenSSL AES-256-GCM failed");
  }
  return out;
}

result<std::string> passkey_vault::open(std::string_view sealed, std::int64_t user_id) const {
  if (sealed.size() < 1 + nonce_size + tag_size || sealed[0] != version) {
    return fail(errc::corrupt, "the stored passkey is not in a known format");
  }
  auto nonce = bytes(sealed.substr(1, nonce_size));
  auto text = sealed.substr(1 + nonce_size, sealed.size() - 1 - nonce_size - tag_size);
  std::array<unsigned char, tag_size> tag{};
  std::memcpy(tag.data(), sealed.data() + sealed.size() - tag_size, tag_size);
  std::string out(text.size(), '\0');
  auto aad = associated_data(user_id);
  cipher_ctx ctx(EVP_CIPHER_CTX_new());
  int n = 0;
  auto* plain = reinterpret_cast<unsigned char*>(out.data());
  if (!ctx || EVP_DecryptInit_ex(ctx.get(), EVP_aes_256_gcm(), nullptr, key_.data(), nonce) != 1 ||
      EVP_DecryptUpdate(ctx.get(), nullptr, &n, bytes(aad), static_cast<int>(aad.size())) != 1 ||
      EVP_DecryptUpdate(ctx.get(), plain, &n, bytes(text), static_cast<int>(text.size())) != 1 ||
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_TAG, tag_size, tag.data()) != 1 ||
      EVP_DecryptFinal_ex(ctx.get(), plain + n, &n) != 1) {
    return fail(errc::corrupt,
                "the stored passkey does not open with passkey_key_file (another key, or "
                "tampered)");
  }
  return out;
}

}  // namespace blobswarm::tracker
