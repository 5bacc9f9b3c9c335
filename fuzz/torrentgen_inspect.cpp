// Fuzzes what torrentgen does with a .torrent someone hands it (info,
// magnet, verify's layout): loading through libtorrent's bdecode and
// torrent_info, the summary with its JSON and text forms, the magnet link,
// and the hashing layout built from the file list. Beyond "no crash": a
// loaded torrent's summary is self-consistent and its layout covers every
// piece exactly.
#include <cstdint>
#include <cstdlib>
#include <span>

#include "torrentgen/torrent_layout.hpp"
#include "torrentgen/torrent_summary.hpp"

using namespace blobswarm;
using namespace blobswarm::torrentgen;

#define CHECK(cond)                                                                  \
  do {                                                                               \
    if (!(cond)) {                                                                   \
      __builtin_printf("invariant failed: %s (%s:%d)\n", #cond, __FILE__, __LINE__); \
      std::abort();                                                                  \
    }                                                                                \
  } while (0)

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::span<const char> bytes(reinterpret_cast<const char*>(data), size);
  auto ti = load_torrent_info(bytes);
  if (!ti) {
    CHECK(!ti.error().message.empty());
    return 0;
  }
  auto s = torrent_summary::of(**ti, bytes);
  CHECK(s.info_hash_v1 || s.info_hash_v2);
  if (s.info_hash_v1) CHECK(s.info_hash_v1->size() == 40);
  if (s.info_hash_v2) CHECK(s.info_hash_v2->size() == 64);
  CHECK((s.format == torrent_format::hybrid) == (s.info_hash_v1 && s.info_hash_v2));
  CHECK(s.magnet.rfind("magnet:?", 0) == 0);
  auto j = s.to_json();
  (void)j.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
  (void)s.to_text();

  const auto& fs = (*ti)->files();
  auto layout = torrent_layout::from(fs, s.info_hash_v1.has_value(), s.info_hash_v2.has_value());
  if (layout) {
    CHECK(layout->num_pieces == static_cast<std::uint32_t>((*ti)->num_pieces()));
    std::uint64_t covered = 0;
    for (std::uint32_t p = 0; p < layout->num_pieces; ++p) covered += layout->piece_size(p);
    CHECK(covered == layout->total_size);
    for (std::size_t i = 0; i < layout->files.size(); ++i) {
      if (layout->files[i].size == 0) continue;
      CHECK(layout->file_at(layout->files[i].offset) == i);
    }
  }
  return 0;
}
