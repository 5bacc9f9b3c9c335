// Fuzzes the parsers of upstream answers that are not manifests: registry
// error bodies and token server answers. Beyond "no crash": parsed errors
// survive a write/parse round trip, and a parsed token has no characters
// that could split a header line.
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "common/registry/registry_error.hpp"
#include "common/registry/token_cache.hpp"

using namespace blobswarm;
using namespace blobswarm::registry;

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
  if (data[0] % 2 == 0) {
    if (auto e = parse_errors(in)) {
      auto again = parse_errors(format_errors(*e));
      CHECK(again && again->size() == e->size());
    }
    auto f = upstream_failure(400 + data[0] % 200, in, "GET x");
    CHECK(!f.message.empty());
  } else {
    if (auto t = parse_token_response(in)) {
      CHECK(!t->value.empty());
      for (char c : t->value) CHECK(static_cast<unsigned char>(c) > 0x20 && c != 0x7f);
      CHECK(t->expires_in.count() >= 1);
    }
  }
  return 0;
}
