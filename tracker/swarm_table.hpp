// swarm_table: every registered swarm, by the keys clients announce with,
// split into shards that each have their own lock, so announces for
// different torrents on different threads do not wait for each other and
// no lock is global.
//
// A hybrid torrent is one swarm filed under its v1 info-hash (the primary
// key) and reachable through its truncated v2 info-hash (an alias), so
// clients announcing either hash meet.
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <unordered_map>
#include <vector>

#include "common/error.hpp"
#include "tracker/swarm.hpp"

namespace blobswarm::tracker {

struct swarm_registration {
  std::int64_t torrent_id = 0;
  swarm_key primary;               // v1 info-hash, or the truncated v2 hash of a v2-only torrent
  std::optional<swarm_key> alias;  // truncated v2 hash of a hybrid torrent
  std::uint64_t completed = 0;     // completions recorded so far
};

struct swarm_totals {
  std::size_t swarms = 0;
  std::size_t peers = 0;
  std::size_t seeders = 0;
};

class swarm_table {
 public:
  explicit swarm_table(std::size_t shards = 256);

  // Files a swarm. Registering the same torrent again is a no-op; a key
  // already filed under another torrent is errc::conflict. add() and
  // remove() are meant to be called by one thread at a time (the index
  // owner); announces may run concurrently with them.
  result<void> add(const swarm_registration& r);
  // Forgets a swarm and its peers (both keys; without `alias`, whatever
  // alias points at `primary`). False when unknown.
  bool remove(const swarm_key& primary, const std::optional<swarm_key>& alias);
  bool contains(const swarm_key& key) const;

  // Calls f(swarm&) with the swarm's shard locked and returns true, or
  // returns false when nothing is filed under `key` (either key works).
  template <class F>
  bool with(const swarm_key& key, F&& f) {
    return with_primary(key, [&](const swarm_key&, swarm& s) { f(s); });
  }

  // Like with(), also telling f the swarm's primary key: f(primary, swarm&).
  template <class F>
  bool with_primary(const swarm_key& key, F&& f) {
    auto* sh = &shard_for(key);
    std::unique_lock lock(sh->mutex);
    auto it = sh->map.find(key);
    if (it == sh->map.end()) return false;
    swarm_key primary = key;
    if (it->second.alias_of) {
      primary = *it->second.alias_of;
      auto* other = &shard_for(primary);
      if (other != sh) {
        lock.unlock();
        sh = other;
        lock = std::unique_lock(sh->mutex);
      }
      it = sh->map.find(primary);
      if (it == sh->map.end() || it->second.alias_of) return false;
    }
    apply(*sh, it->second.s, [&](swarm& s) { f(primary, s); });
    return true;
  }

  // Calls f(primary_key, swarm&) for every swarm, one shard locked at a time.
  template <class F>
  void for_each(F&& f) {
    for (auto& sh : shards_) {
      std::lock_guard lock(sh->mutex);
      for (auto& entry : sh->map) {
        if (entry.second.alias_of) continue;
        const swarm_key& key =
            entry.first;  // not a structured binding: clang 14 cannot capture one
        apply(*sh, entry.second.s, [&](swarm& s) { f(key, s); });
      }
    }
  }

  swarm_totals totals() const;

 private:
  struct slot {
    std::optional<swarm_key> alias_of;  // set: this key forwards to another
    swarm s;
  };
  struct alignas(64) shard {
    mutable std::mutex mutex;
    std::unordered_map<swarm_key, slot, swarm_key_hash> map;
    swarm_totals totals;
  };

  shard& shard_for(const swarm_key& key) noexcept {
    // Not the bytes std::unordered_map's bucket index depends on most.
    auto n = (static_cast<unsigned char>(key.bytes[19]) << 8) |
             static_cast<unsigned char>(key.bytes[18]);
    return *shards_[n % shards_.size()];
  }
  const shard& shard_for(const swarm_key& key) const noexcept {
    return const_cast<swarm_table*>(this)->shard_for(key);
  }

  // Runs f on a swarm and keeps the shard's peer counts current.
  template <class F>
  static void apply(shard& sh, swarm& s, F&& f) {
    auto peers = s.peers().size();
    auto seeders = s.seeders();
    f(s);
    sh.totals.peers += s.peers().size();
    sh.totals.peers -= peers;
    sh.totals.seeders += s.seeders();
    sh.totals.seeders -= seeders;
  }

  std::vector<std::unique_ptr<shard>> shards_;
};

}  // namespace blobswarm::tracker
