#include "tracker/user_table.hpp"

namespace blobswarm::tracker {

user_table::user_table(std::size_t shards) {
  if (shards == 0) shards = 1;
  for (std::size_t i = 0; i < shards; ++i) shards_.push_back(std::make_unique<shard>());
}

void user_table::add(const passkey_hash& key, std::uint32_t id, std::string name) {
  auto& sh = shard_for(key);
  std::lock_guard lock(sh.mutex);
  sh.map.insert_or_assign(key, entry{id, std::move(name), {}});
}

std::optional<std::uint32_t> user_table::find_id(const passkey_hash& key) const {
  auto& sh = shard_for(key);
  std::lock_guard lock(sh.mutex);
  auto it = sh.map.find(key);
  if (it == sh.map.end()) return std::nullopt;
  return it->second.id;
}

std::optional<user_ref> user_table::find(const passkey_hash& key) const {
  auto& sh = shard_for(key);
  std::lock_guard lock(sh.mutex);
  auto it = sh.map.find(key);
  if (it == sh.map.end()) return std::nullopt;
  return user_ref{it->second.id, it->second.name};
}

bool user_table::remove(std::uint32_t id) {
  for (auto& sh : shards_) {
    std::lock_guard lock(sh->mutex);
    for (auto it = sh->map.begin(); it != sh->map.end(); ++it) {
      if (it->second.id == id) {
        sh->map.erase(it);
        return true;
      }
    }
  }
  return false;
}

bool user_table::rekey(std::uint32_t id, const passkey_hash& key) {
  std::optional<entry> moved;
  for (auto& sh : shards_) {
    std::lock_guard lock(sh->mutex);
    for (auto it = sh->map.begin(); it != sh->map.end(); ++it) {
      if (it->second.id == id) {
        moved = std::move(it->second);
        sh->map.erase(it);
        break;
      }
    }
    if (moved) break;
  }
  if (!moved) return false;
  auto& sh = shard_for(key);
  std::lock_guard lock(sh.mutex);
  sh.map.insert_or_assign(key, std::move(*moved));
  return true;
}

void user_table::record(const passkey_hash& key, const user_pending& delta) {
  auto& sh = shard_for(key);
  std::lock_guard lock(sh.mutex);
  auto it = sh.map.find(key);
  if (it != sh.map.end()) it->second.pending.add(delta);
}

user_pending user_table::pending(std::uint32_t id) const {
  for (const auto& sh : shards_) {
    std::lock_guard lock(sh->mutex);
    for (const auto& [k, e] : sh->map) {
      if (e.id == id) return e.pending;
    }
  }
  return {};
}

std::vector<std::pair<std::uint32_t, user_pending>> user_table::take_pending() {
  std::vector<std::pair<std::uint32_t, user_pending>> out;
  for (auto& sh : shards_) {
    std::lock_guard lock(sh->mutex);
    for (auto& [k, e] : sh->map) {
      if (e.pending.empty()) continue;
      out.emplace_back(e.id, e.pending);
      e.pending = {};
    }
  }
  return out;
}

void user_table::give_back(const std::vector<std::pair<std::uint32_t, user_pending>>& p) {
  if (p.empty()) return;
  std::unordered_map<std::uint32_t, user_pending> by_id(p.begin(), p.end());
  for (auto& sh : shards_) {
    std::lock_guard lock(sh->mutex);
    for (auto& [k, e] : sh->map) {
      if (auto it = by_id.find(e.id); it != by_id.end()) e.pending.add(it->second);
    }
  }
}

std::vector<std::uint32_t> user_table::ids() const {
  std::vector<std::uint32_t> out;
  for (const auto& sh : shards_) {
    std::lock_guard lock(sh->mutex);
    for (const auto& [k, e] : sh->map) out.push_back(e.id);
  }
  return out;
}

std::size_t user_table::size() const {
  std::size_t n = 0;
  for (const auto& sh : shards_) {
    std::lock_guard lock(sh->mutex);
    n += sh->map.size();
  }
  return n;
}

}  // namespace blobswarm::tracker
