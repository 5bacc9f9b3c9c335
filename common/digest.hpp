// digest: a content address as the OCI/distribution specs write it,
// "sha256:<64 lowercase hex>" (or "sha512:<128 lowercase hex>").
#pragma once

#include <compare>
#include <functional>
#include <string>
#include <string_view>

#include "common/error.hpp"
#include "common/hasher.hpp"

namespace blobswarm {

class digest {
 public:
  // Strict: only sha256/sha512 and lowercase hex of the exact length.
  static result<digest> parse(std::string_view text);
  // From raw hash bytes (the output of hasher::finish()).
  static result<digest> from_raw(hash_algorithm algorithm, std::string_view raw);

  hash_algorithm algorithm() const noexcept { return algorithm_; }
  std::string_view algorithm_name() const noexcept;
  // The hex part after "sha256:".
  std::string_view hex() const noexcept;
  // The canonical "sha256:<hex>" form.
  const std::string& str() const noexcept { return text_; }
  hasher make_hasher() const { return hasher(algorithm_); }

  friend bool operator==(const digest&, const digest&) = default;
  friend auto operator<=>(const digest& a, const digest& b) { return a.text_ <=> b.text_; }

 private:
  digest(hash_algorithm a, std::string text) : algorithm_(a), text_(std::move(text)) {}
  hash_algorithm algorithm_;
  std::string text_;
};

}  // namespace blobswarm

template <>
struct std::hash<blobswarm::digest> {
  std::size_t operator()(const blobswarm::digest& d) const noexcept {
    return std::hash<std::string>{}(d.str());
  }
};

template <>
struct fmt::formatter<blobswarm::digest> : fmt::formatter<std::string_view> {
  auto format(const blobswarm::digest& d, fmt::format_context& ctx) const {
    return fmt::formatter<std::string_view>::format(d.str(), ctx);
  }
};
