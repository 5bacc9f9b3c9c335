#include "common/digest.hpp"

#include "common/hex.hpp"

namespace blobswarm {

result<digest> digest::parse(std::string_view text) {
  auto colon = text.find(':');
  if (colon == std::string_view::npos) {
    return fail(errc::invalid_argument, "digest '{}' has no algorithm prefix", text.substr(0, 80));
  }
  auto algo = text.substr(0, colon);
  auto hex = text.substr(colon + 1);
  hash_algorithm a;
  if (algo == "sha256") {
    a = hash_algorithm::sha256;
  } else if (algo == "sha512") {
    a = hash_algorithm::sha512;
  } else {
    return fail(errc::invalid_argument, "digest algorithm '{}' is not supported",
                algo.substr(0, 32));
  }
  if (hex.size() != 2 * digest_size(a)) {
    return fail(errc::invalid_argument, "{} digest needs {} hex characters, got {}", algo,
                2 * digest_size(a), hex.size());
  }
  if (!is_lower_hex(hex)) {
    return fail(errc::invalid_argument, "digest '{}' is not lowercase hex", text.substr(0, 140));
  }
  return digest(a, std::string(text));
}

result<digest> digest::from_raw(hash_algorithm algorithm, std::string_view raw) {
  if (algorithm == hash_algorithm::sha1) {
    return fail(errc::invalid_argument, "sha1 is not a content digest algorithm");
  }
  if (raw.size() != digest_size(algorithm)) {
    return fail(errc::invalid_argument, "raw digest has {} bytes, expected {}", raw.size(),
                digest_size(algorithm));
  }
  std::string name = algorithm == hash_algorithm::sha256 ? "sha256:" : "sha512:";
  return digest(algorithm, name + to_hex(raw));
}

std::string_view digest::algorithm_name() const noexcept {
  return std::string_view(text_).substr(0, text_.find(':'));
}

std::string_view digest::hex() const noexcept {
  return std::string_view(text_).substr(text_.find(':') + 1);
}

}  // namespace blobswarm
