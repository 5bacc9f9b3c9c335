// zone_directory: the names behind zone ids, so the web UI can say "dc1"
// where the announce path only keeps a hash (zone_of_name). Names come
// from the configured zone rules and from clients' zone= parameters.
//
// note() is on the announce path: once a zone is known it only reads a few
// atomics (no lock, no allocation, no shared write); a new zone takes a
// lock once. At most `capacity` zones are remembered; the UI shows others
// by their id.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

#include "tracker/zone_map.hpp"

namespace blobswarm::tracker {

class zone_directory {
 public:
  static constexpr std::size_t capacity = 255;

  // Remembers that `id` is `name` (id must be zone_of_name(name)).
  void note(zone_id id, std::string_view name);
  std::optional<std::string> name(zone_id id) const;
  // The name, or "zone 1a2b3c4d" for an id never noted, or "" for zone 0.
  std::string describe(zone_id id) const;

 private:
  static constexpr std::size_t slots = 512;  // open addressing, at most half full
  bool known(zone_id id) const noexcept;

  std::array<std::atomic<zone_id>, slots> ids_{};  // 0: empty
  mutable std::mutex mutex_;
  std::unordered_map<zone_id, std::string> names_;
};

}  // namespace blobswarm::tracker
