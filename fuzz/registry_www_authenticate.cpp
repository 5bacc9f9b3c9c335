// Fuzzes the WWW-Authenticate parser (upstream registries' challenges).
// Beyond "no crash": whatever parses formats back into a header that
// parses to the same challenges.
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "common/registry/token_cache.hpp"
#include "common/registry/www_authenticate.hpp"

using namespace blobswarm::registry;

#define CHECK(cond)                                                                  \
  do {                                                                               \
    if (!(cond)) {                                                                   \
      __builtin_printf("invariant failed: %s (%s:%d)\n", #cond, __FILE__, __LINE__); \
      std::abort();                                                                  \
    }                                                                                \
  } while (0)

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  auto parsed = parse_www_authenticate(in);
  if (!parsed) return 0;
  CHECK(!parsed->empty());
  for (const auto& c : *parsed) {
    CHECK(!c.scheme.empty());
    auto again = parse_www_authenticate(format_challenge(c));
    CHECK(again && again->size() >= 1);
    CHECK((*again)[0].scheme == c.scheme);
    if (c.is_bearer()) {
      if (auto url = token_request_url(c, {repository_scope("a/b")}, "u")) {
        CHECK(url->starts_with("http://") || url->starts_with("https://"));
      }
    }
  }
  return 0;
}
