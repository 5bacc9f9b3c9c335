#include "torrentgen/exclude_filter.hpp"

#include <fnmatch.h>

namespace blobswarm::torrentgen {

result<exclude_filter> exclude_filter::make(std::vector<std::string> globs) {
  exclude_filter f;
  for (auto& g : globs) {
    // "logs/" names a directory like "logs" does; "/build" anchors at the
    // root; any other '/' makes the glob match the whole relative path.
    while (!g.empty() && g.back() == '/') g.pop_back();
    bool whole = g.find('/') != std::string::npos;
    while (!g.empty() && g.front() == '/') g.erase(g.begin());
    if (g.empty()) return fail(errc::invalid_argument, "--exclude needs a non-empty glob");
    f.globs_.push_back({std::move(g), whole});
  }
  return f;
}

bool exclude_filter::excluded(std::string_view relative_path) const {
  std::string path(relative_path);
  auto slash = path.rfind('/');
  std::string name = slash == std::string::npos ? path : path.substr(slash + 1);
  for (const auto& g : globs_) {
    const std::string& subject = g.whole_path ? path : name;
    if (::fnmatch(g.pattern.c_str(), subject.c_str(), FNM_PATHNAME) == 0) return true;
  }
  return false;
}

}  // namespace blobswarm::torrentgen
