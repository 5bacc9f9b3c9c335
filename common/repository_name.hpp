// repository_name: an image repository name as the distribution spec
// defines it: lowercase path components separated by '/', each
// [a-z0-9]+ joined by '.', '_', '__' or runs of '-', at most 255 characters.
// A name never contains "..", empty components or uppercase letters, which
// also makes it safe to use as a relative path.
#pragma once

#include <compare>
#include <string>
#include <string_view>

#include "common/error.hpp"

namespace blobswarm {

class repository_name {
 public:
  static constexpr std::size_t max_length = 255;

  static result<repository_name> parse(std::string_view text);

  const std::string& str() const noexcept { return text_; }

  friend bool operator==(const repository_name&, const repository_name&) = default;
  friend auto operator<=>(const repository_name&, const repository_name&) = default;

 private:
  explicit repository_name(std::string text) : text_(std::move(text)) {}
  std::string text_;
};

// A tag: [A-Za-z0-9_][A-Za-z0-9._-]{0,127}.
bool is_valid_tag(std::string_view tag) noexcept;

}  // namespace blobswarm

template <>
struct fmt::formatter<blobswarm::repository_name> : fmt::formatter<std::string_view> {
  auto format(const blobswarm::repository_name& n, fmt::format_context& ctx) const {
    return fmt::formatter<std::string_view>::format(n.str(), ctx);
  }
};
