// Fuzzes the mirror's Registry v2 path router: whatever a client sends, a
// route it accepts carries a valid repository name and, where it has one,
// a valid digest — the invariants the mirror relies on to build cache
// paths and upstream URLs from them.
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "mirror/registry_path.hpp"

using namespace blobswarm;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view path(reinterpret_cast<const char*>(data), size);
  auto r = mirror::parse_registry_path(path, [](std::string_view h) { return h == "ghcr.io"; });
  if (!r) return 0;
  if (r->name) {
    const auto& n = r->name->str();
    if (n.empty() || n.find("..") != std::string::npos || n.find("//") != std::string::npos ||
        n.front() == '/' || n.back() == '/') {
      std::abort();
    }
    if (!repository_name::parse(n)) std::abort();
  }
  if (r->content_digest && !digest::parse(r->content_digest->str())) std::abort();
  if (r->what == mirror::registry_path::kind::manifest && r->reference.empty()) std::abort();
  return 0;
}
