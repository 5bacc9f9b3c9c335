// Fuzzes the small parsers of caller input around the registry client:
// image references (preheat), platforms, docker config.json credentials and
// upstream hosts. The first byte picks the parser.
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "common/registry/credentials.hpp"
#include "common/registry/image_reference.hpp"
#include "common/registry/manifest.hpp"
#include "common/registry/upstream_table.hpp"

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
  switch (data[0] % 5) {
    case 0:
      if (auto r = image_reference::parse(in)) {
        auto again = image_reference::parse(r->str());
        CHECK(again && again->str() == r->str() && again->reference() == r->reference());
      }
      break;
    case 1:
      if (auto p = platform::parse(in)) {
        CHECK(p->str() == in);
      }
      break;
    case 2:
      (void)credentials_from_docker_config(in, "docker.io");
      (void)credentials_from_docker_config(in, "127.0.0.1:5000");
      break;
    case 3:
      if (auto d = base64_decode(in)) CHECK(base64_decode(base64_encode(*d)).value() == *d);
      break;
    case 4:
      if (auto h = host_of_url(in)) {
        auto t = upstream_table::make(in, {});
        CHECK(t && t->resolve("").has_value());
      }
      break;
  }
  return 0;
}
