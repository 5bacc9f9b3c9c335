#include "torrentgen/piece_size.hpp"

#include <bit>

#include "common/units.hpp"

namespace blobswarm::torrentgen {

bool is_valid_piece_size(std::uint64_t size) noexcept {
  return size >= min_piece_size && size <= max_piece_size && std::has_single_bit(size);
}

std::uint32_t auto_piece_size(std::uint64_t total_size) noexcept {
  constexpr std::uint64_t max_pieces = 2000;
  std::uint64_t size = min_piece_size;
  while (size < max_default_piece_size && (total_size + size - 1) / size > max_pieces) size *= 2;
  return static_cast<std::uint32_t>(size);
}

result<std::uint32_t> parse_piece_size(std::string_view text, bool force) {
  if (text == "auto") return 0u;
  auto size = byte_size::parse(text);
  if (!size) return fail(errc::invalid_argument, "piece size: {}", size.error().message);
  auto bytes = size->bytes;
  if (bytes < min_piece_size || !std::has_single_bit(bytes)) {
    return fail(errc::invalid_argument,
                "piece size '{}' ({} bytes) is not a power of two of at least 16 KiB", text, bytes);
  }
  if (bytes > max_piece_size) {
    return fail(errc::invalid_argument, "piece size '{}' is larger than the 256 MiB maximum", text);
  }
  if (bytes > max_default_piece_size && !force) {
    return fail(errc::invalid_argument,
                "piece size '{}' is larger than 16 MiB; pass --force if you really want it", text);
  }
  return static_cast<std::uint32_t>(bytes);
}

}  // namespace blobswarm::torrentgen
