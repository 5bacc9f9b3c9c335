#include "tracker/passwords.hpp"

#include <openssl/evp.h>
#include <openssl/rand.h>

#include <charconv>
#include <stdexcept>

#include "common/hasher.hpp"
#include "common/hex.hpp"

namespace blobswarm::tracker {
namespace {

constexpr std::string_view scheme = "pbkdf2-sha256";
constexpr std::size_t salt_size = 16;
constexpr std::size_t key_size = 32;
// A stored count above this is not ours (and would stall the KDF thread).
constexpr unsigned max_iterations = 10'000'000;

std::string derive(std::string_view password, std::string_view salt, unsigned iterations) {
  std::string key(key_size, '\0');
  if (PKCS5_PBKDF2_HMAC(password.data(), static_cast<int>(password.size()),
                        reinterpret_cast<const unsigned char*>(salt.data()),
                        static_cast<int>(salt.size()), static_cast<int>(iterations), EVP_sha256(),
                        static_cast<int>(key.size()),
                        reinterpret_cast<unsigned char*>(key.data())) != 1) {
    throw std::runtime_error("OpenSSL PBKDF2 failed");
  }
  return key;
}

}  // namespace

result<void> passwords::check_rules(std::string_view password) {
  if (password.size() < min_length) {
    return fail(errc::invalid_argument, "the password must have at least {} characters",
                min_length);
  }
  if (password.size() > max_length) {
    return fail(errc::invalid_argument, "the password must have at most {} characters", max_length);
  }
  for (unsigned char c : password) {
    if (c < 0x20 || c == 0x7f) {
      return fail(errc::invalid_argument, "the password must not contain control characters");
    }
  }
  return {};
}

std::string passwords::hash(std::string_view password, unsigned iterations) {
  std::string salt(salt_size, '\0');
  if (RAND_bytes(reinterpret_cast<unsigned char*>(salt.data()), static_cast<int>(salt.size())) !=
      1) {
    throw std::runtime_error("RAND_bytes failed");
  }
  return fmt::format("{}${}${}${}", scheme, iterations, to_hex(salt),
                     to_hex(derive(password, salt, iterations)));
}

bool passwords::verify(std::string_view password, std::string_view stored) {
  // scheme$iterations$salt$key
  std::string_view parts[4];
  std::string_view rest = stored;
  for (int i = 0; i < 4; ++i) {
    auto dollar = rest.find('$');
    if ((dollar == std::string_view::npos) != (i == 3)) return false;
    parts[i] = rest.substr(0, dollar);
    rest = dollar == std::string_view::npos ? std::string_view{} : rest.substr(dollar + 1);
  }
  if (parts[0] != scheme) return false;
  unsigned iterations = 0;
  auto [p, ec] = std::from_chars(parts[1].data(), parts[1].data() + parts[1].size(), iterations);
  if (ec != std::errc() || p != parts[1].data() + parts[1].size() || iterations == 0 ||
      iterations > max_iterations) {
    return false;
  }
  auto salt = from_hex(parts[2]);
  auto expected = from_hex(parts[3]);
  if (!salt || !expected || expected->size() != key_size) return false;
  auto got = derive(password, *salt, iterations);
  return secrets_equal(got, *expected);
}

const std::string& passwords::decoy() {
  // Salt and key of zeros: as slow as a real hash; a password matching it
  // would be a PBKDF2 preimage.
  static const std::string h =
      fmt::format("{}${}${}${}", scheme, default_iterations, std::string(2 * salt_size, '0'),
                  std::string(2 * key_size, '0'));
  return h;
}

}  // namespace blobswarm::tracker
