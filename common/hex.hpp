// Lowercase hex encoding and strict decoding of byte strings.
#pragma once

#include <cstddef>
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace blobswarm {

std::string to_hex(std::span<const std::byte> bytes);
std::string to_hex(std::string_view bytes);
// Accepts only [0-9a-fA-F] and even length; nullopt otherwise.
std::optional<std::string> from_hex(std::string_view hex);
bool is_lower_hex(std::string_view s) noexcept;

}  // namespace blobswarm
