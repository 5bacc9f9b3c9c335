// exclude_filter: the --exclude globs. A glob without '/' (a trailing '/'
// does not count) matches a file or directory name at any depth ("*.tmp",
// ".git", "logs/"); a glob with '/' inside or in front matches the whole
// path relative to the torrent's root ("build/*.o", "/dist", where '*' does
// not cross '/'). An excluded directory is not descended into.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "common/error.hpp"

namespace blobswarm::torrentgen {

class exclude_filter {
 public:
  exclude_filter() = default;
  // Rejects empty globs.
  static result<exclude_filter> make(std::vector<std::string> globs);

  // `relative_path`: '/'-separated path below the root, e.g. "dir/a.txt".
  bool excluded(std::string_view relative_path) const;
  bool empty() const noexcept { return globs_.empty(); }

 private:
  struct glob {
    std::string pattern;
    bool whole_path;
  };
  std::vector<glob> globs_;
};

}  // namespace blobswarm::torrentgen
