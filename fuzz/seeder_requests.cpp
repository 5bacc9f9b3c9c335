// Fuzzes the seeder's parsers of caller input: blob API paths, preheat
// request bodies and registry notification bodies. The first byte picks the
// parser. Beyond "no crash": what parses is well-formed (a segment number
// only on segment routes, a valid image reference, valid digests).
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "common/digest.hpp"
#include "seeder/blob_route.hpp"
#include "seeder/piece_layout.hpp"
#include "seeder/preheat_request.hpp"
#include "seeder/push_events.hpp"

using namespace blobswarm;
using namespace blobswarm::seeder;

#define CHECK(cond)                                                                  \
  do {                                                                               \
    if (!(cond)) {                                                                   \
      __builtin_printf("invariant failed: %s (%s:%d)\n", #cond, __FILE__, __LINE__); \
      std::abort();                                                                  \
    }                                                                                \
  } while (0)

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  std::string_view in(reinterpret_cast<const char*>(data) + 1, size - 1);
  switch (data[0] % 4) {
    case 0:
      if (auto r = blob_route::split(in)) {
        CHECK(r->what == blob_route::kind::segment_torrent || r->segment == 0);
        CHECK(!r->digest.empty() || r->what == blob_route::kind::bytes);
      }
      break;
    case 1:
      if (auto p = preheat_request::parse(in)) {
        CHECK(!p->image.name().str().empty());
        CHECK(!p->image.reference().empty());
      }
      break;
    case 2:
      if (auto e = push_events::parse(in)) {
        for (const auto& m : e->manifests) CHECK(digest::parse(m.digest.str()).has_value());
      }
      break;
    case 3: {
      // Any size gets a layout whose pieces and segments cover it exactly.
      std::uint64_t n = 0;
      for (char c : in.substr(0, 8)) n = (n << 8) | static_cast<unsigned char>(c);
      auto l = piece_layout::make(n % (1ULL << 36), (1ULL << 20) << (n % 6));
      CHECK(static_cast<std::uint64_t>(l.piece_count) * l.piece_length >= l.size);
      if (l.segmented()) {
        std::uint64_t covered = 0;
        for (std::uint32_t s = 0; s < l.segment_count; ++s) covered += l.segment_bytes(s);
        CHECK(covered == l.size);
      }
      break;
    }
  }
  return 0;
}
