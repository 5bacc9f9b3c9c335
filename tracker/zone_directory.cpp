#include "tracker/zone_directory.hpp"

#include <fmt/format.h>

namespace blobswarm::tracker {

bool zone_directory::known(zone_id id) const noexcept {
  for (std::size_t i = 0; i < slots; ++i) {
    auto v = ids_[(id + i) % slots].load(std::memory_order_acquire);
    if (v == id) return true;
    if (v == 0) return false;
  }
  return false;
}

void zone_directory::note(zone_id id, std::string_view name) {
  if (id == 0 || known(id)) return;
  std::lock_guard lock(mutex_);
  if (known(id) || names_.size() >= capacity) return;
  names_.emplace(id, std::string(name));
  for (std::size_t i = 0; i < slots; ++i) {
    auto& slot = ids_[(id + i) % slots];
    if (slot.load(std::memory_order_relaxed) == 0) {
      // Published after the name is in the map (readers of names take the lock).
      slot.store(id, std::memory_order_release);
      return;
    }
  }
}

std::optional<std::string> zone_directory::name(zone_id id) const {
  std::lock_guard lock(mutex_);
  auto it = names_.find(id);
  if (it == names_.end()) return std::nullopt;
  return it->second;
}

std::string zone_directory::describe(zone_id id) const {
  if (id == 0) return {};
  if (auto n = name(id)) return *n;
  return fmt::format("zone {:08x}", id);
}

}  // namespace blobswarm::tracker
