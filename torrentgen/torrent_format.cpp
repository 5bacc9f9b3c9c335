#include "torrentgen/torrent_format.hpp"

namespace blobswarm::torrentgen {

std::string_view to_string(torrent_format f) noexcept {
  switch (f) {
    case torrent_format::v1:
      return "v1";
    case torrent_format::v2:
      return "v2";
    case torrent_format::hybrid:
      return "hybrid";
  }
  return "hybrid";
}

result<torrent_format> parse_torrent_format(std::string_view text) {
  if (text == "v1") return torrent_format::v1;
  if (text == "v2") return torrent_format::v2;
  if (text == "hybrid") return torrent_format::hybrid;
  return fail(errc::invalid_argument, "format '{}' is not one of v1, v2, hybrid", text);
}

}  // namespace blobswarm::torrentgen
