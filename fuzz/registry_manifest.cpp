// Fuzzes manifest parsing (upstream manifests and indexes). The first byte
// picks the Content-Type the body arrives with. Beyond "no crash": every
// descriptor has a valid digest, blobs() has no duplicates, and select()
// with no filter returns every index entry.
#include <cstdint>
#include <cstdlib>
#include <set>
#include <string_view>

#include "common/registry/manifest.hpp"
#include "common/registry/media_types.hpp"

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
  static constexpr std::string_view types[] = {
      "",
      media_type::oci_index,
      media_type::oci_manifest,
      media_type::docker_manifest_list,
      media_type::docker_manifest_v2,
      media_type::docker_manifest_v1_signed,
      "application/json; charset=utf-8",
  };
  auto type = types[data[0] % std::size(types)];
  std::string_view body(reinterpret_cast<const char*>(data) + 1, size - 1);
  auto m = parse_manifest(body, type);
  if (!m) return 0;
  CHECK(media_type::is_manifest(m->media_type));
  if (m->is_index()) {
    CHECK(m->select({}).size() == m->manifests.size());
    for (const auto& d : m->manifests) CHECK(digest::parse(d.digest.str()).has_value());
  } else {
    std::set<std::string> seen;
    for (const auto& d : m->blobs()) {
      CHECK(d.is_distributable());
      CHECK(seen.insert(d.digest.str()).second);
    }
  }
  return 0;
}
