// Fuzzes what the tracker does with a .torrent posted to its registration
// API (POST /api/v1/torrents): inspect_torrent() through libtorrent, then
// with_announce(), which writes the copy handed to callers. Beyond "no
// crash": an accepted torrent has an info-hash, and the copy with a new
// announce URL still loads and keeps the registered info-hashes (the info
// dictionary travels byte for byte).
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "tracker/torrent_file.hpp"

using namespace blobswarm;
using namespace blobswarm::tracker;

#define CHECK(cond)                                                                  \
  do {                                                                               \
    if (!(cond)) {                                                                   \
      __builtin_printf("invariant failed: %s (%s:%d)\n", #cond, __FILE__, __LINE__); \
      std::abort();                                                                  \
    }                                                                                \
  } while (0)

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view bytes(reinterpret_cast<const char*>(data), size);
  auto meta = inspect_torrent(bytes);
  if (!meta) {
    CHECK(meta.error().code == errc::invalid_argument && !meta.error().message.empty());
    return 0;
  }
  CHECK(meta->v1 || meta->v2);
  for (const auto& url : {std::optional<std::string>("http://127.0.0.1:6969/announce/"
                                                     "0123456789abcdef0123456789abcdef"),
                          std::optional<std::string>()}) {
    auto copy = with_announce(bytes, url);
    CHECK(copy.has_value());
    auto again = inspect_torrent(*copy);
    CHECK(again.has_value());
    CHECK(again->v1 == meta->v1 && again->v2 == meta->v2);
    CHECK(again->size == meta->size && again->is_private == meta->is_private);
  }
  return 0;
}
