#include "tracker/swarm_table.hpp"

#include "common/hex.hpp"

namespace blobswarm::tracker {

swarm_table::swarm_table(std::size_t shards) {
  if (shards == 0) shards = 1;
  shards_.reserve(shards);
  for (std::size_t i = 0; i < shards; ++i) shards_.push_back(std::make_unique<shard>());
}

result<void> swarm_table::add(const swarm_registration& r) {
  // Check both keys before filing anything, so a conflict changes nothing.
  {
    auto& sh = shard_for(r.primary);
    std::lock_guard lock(sh.mutex);
    auto it = sh.map.find(r.primary);
    if (it != sh.map.end() && (it->second.alias_of || it->second.s.torrent_id() != r.torrent_id)) {
      return fail(errc::conflict, "info-hash {} is already filed under another torrent",
                  to_hex(r.primary.view()));
    }
  }
  if (r.alias) {
    auto& sh = shard_for(*r.alias);
    std::lock_guard lock(sh.mutex);
    auto it = sh.map.find(*r.alias);
    if (it != sh.map.end() && it->second.alias_of != r.primary) {
      return fail(errc::conflict, "info-hash {} is already filed under another torrent",
                  to_hex(r.alias->view()));
    }
  }
  {
    auto& sh = shard_for(r.primary);
    std::lock_guard lock(sh.mutex);
    auto [it, inserted] =
        sh.map.try_emplace(r.primary, slot{std::nullopt, swarm(r.torrent_id, r.completed)});
    if (inserted) ++sh.totals.swarms;
  }
  if (r.alias) {
    auto& sh = shard_for(*r.alias);
    std::lock_guard lock(sh.mutex);
    sh.map.try_emplace(*r.alias, slot{r.primary, swarm()});
  }
  return {};
}

bool swarm_table::remove(const swarm_key& primary, const std::optional<swarm_key>& alias) {
  if (!alias) {
    // The alias is not known (a swarm found gone in a resync): look for it.
    for (auto& sh : shards_) {
      std::lock_guard lock(sh->mutex);
      std::erase_if(sh->map, [&](const auto& kv) { return kv.second.alias_of == primary; });
    }
  }
  if (alias) {
    auto& sh = shard_for(*alias);
    std::lock_guard lock(sh.mutex);
    auto it = sh.map.find(*alias);
    if (it != sh.map.end() && it->second.alias_of == primary) sh.map.erase(it);
  }
  auto& sh = shard_for(primary);
  std::lock_guard lock(sh.mutex);
  auto it = sh.map.find(primary);
  if (it == sh.map.end() || it->second.alias_of) return false;
  sh.totals.peers -= it->second.s.peers().size();
  sh.totals.seeders -= it->second.s.seeders();
  --sh.totals.swarms;
  sh.map.erase(it);
  return true;
}

bool swarm_table::contains(const swarm_key& key) const {
  auto& sh = shard_for(key);
  std::lock_guard lock(sh.mutex);
  return sh.map.contains(key);
}

swarm_totals swarm_table::totals() const {
  swarm_totals t;
  for (const auto& sh : shards_) {
    std::lock_guard lock(sh->mutex);
    t.swarms += sh->totals.swarms;
    t.peers += sh->totals.peers;
    t.seeders += sh->totals.seeders;
  }
  return t;
}

}  // namespace blobswarm::tracker
