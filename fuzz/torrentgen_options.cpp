// Fuzzes torrentgen's option parsers (piece sizes, formats, tracker tiers,
// web seeds, dates, --exclude globs) and the UTF-8 checks that guard file
// names. The first byte picks the parser; the rest is the input. Beyond
// "no crash", each checks the property its callers rely on.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "torrentgen/exclude_filter.hpp"
#include "torrentgen/option_parsers.hpp"
#include "torrentgen/piece_size.hpp"
#include "torrentgen/torrent_format.hpp"
#include "torrentgen/torrent_path.hpp"

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
  if (size == 0) return 0;
  std::string_view in(reinterpret_cast<const char*>(data) + 1, size - 1);
  switch (data[0] % 7) {
    case 0:
      for (bool force : {false, true}) {
        if (auto p = parse_piece_size(in, force)) {
          CHECK(*p == 0 || is_valid_piece_size(*p));
          CHECK(force || *p <= max_default_piece_size);
        }
      }
      break;
    case 1:
      if (auto f = parse_torrent_format(in)) CHECK(to_string(*f) == in);
      break;
    case 2:
      if (auto t = parse_tracker_tier(in)) {
        CHECK(!t->empty());
        for (const auto& url : *t) {
          CHECK(url.find("://") != std::string::npos);
          CHECK(url.find(',') == std::string::npos);
        }
      }
      break;
    case 3:
      if (auto w = parse_web_seed(in)) CHECK(w->find("://") != std::string::npos);
      break;
    case 4:
      if (auto d = parse_creation_date(in, 1)) CHECK(!d->has_value() || **d > 0);
      break;
    case 5: {
      auto slash = in.find('\n');
      auto glob = in.substr(0, slash);
      auto path = slash == std::string_view::npos ? std::string_view() : in.substr(slash + 1);
      if (auto f = exclude_filter::make({std::string(glob)})) (void)f->excluded(path);
      break;
    }
    case 6: {
      auto p = printable(in);
      CHECK(is_valid_utf8(p));
      CHECK(p.find('\n') == std::string::npos);
      if (is_valid_utf8(in) && in.find_first_of("\\\n\r\t") == std::string_view::npos) {
        bool control = false;
        for (unsigned char c : in) control = control || c < 0x20 || c == 0x7F;
        if (!control) CHECK(p == in);
      }
      break;
    }
  }
  (void)auto_piece_size(size * 7919);
  return 0;
}
