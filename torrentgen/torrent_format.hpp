// torrent_format: which BitTorrent metadata a torrent carries. v1 (BEP 3,
// SHA-1 pieces), v2 (BEP 52, per-file SHA-256 merkle trees) or hybrid (both
// in one info dictionary, files padded to piece boundaries so both views
// describe the same bytes).
#pragma once

#include <string_view>

#include "common/error.hpp"

namespace blobswarm::torrentgen {

enum class torrent_format { v1, v2, hybrid };

constexpr bool has_v1(torrent_format f) noexcept {
  return f != torrent_format::v2;
}
constexpr bool has_v2(torrent_format f) noexcept {
  return f != torrent_format::v1;
}

// "v1", "v2" or "hybrid".
std::string_view to_string(torrent_format f) noexcept;
result<torrent_format> parse_torrent_format(std::string_view text);

}  // namespace blobswarm::torrentgen
