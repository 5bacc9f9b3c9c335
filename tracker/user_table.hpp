// user_table: who a passkey belongs to, in memory for the announce path
// (the database is the record; this is its index), and the per-user
// transfer totals not yet written to the database. Sharded by passkey
// hash, each shard with its own lock.
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "tracker/passkey.hpp"

namespace blobswarm::tracker {

struct user_pending {
  std::uint64_t uploaded = 0;
  std::uint64_t downloaded = 0;
  std::uint64_t completed = 0;
  std::uint64_t announces = 0;
  std::uint32_t last_announce = 0;  // unix seconds; 0: none since the last flush

  bool empty() const noexcept { return announces == 0 && uploaded == 0 && downloaded == 0; }
  void add(const user_pending& o) noexcept {
    uploaded += o.uploaded;
    downloaded += o.downloaded;
    completed += o.completed;
    announces += o.announces;
    if (o.last_announce > last_announce) last_announce = o.last_announce;
  }
};

struct user_ref {
  std::uint32_t id = 0;
  std::string name;
};

class user_table {
 public:
  explicit user_table(std::size_t shards = 64);

  // Files (or refiles) a user under a passkey hash.
  void add(const passkey_hash& key, std::uint32_t id, std::string name);
  // The user id for a passkey hash, without allocating.
  std::optional<std::uint32_t> find_id(const passkey_hash& key) const;
  std::optional<user_ref> find(const passkey_hash& key) const;
  // Forgets a user (deleted); returns false when unknown.
  bool remove(std::uint32_t id);
  // Moves a user to a new passkey hash (rotation); the old one stops working.
  bool rekey(std::uint32_t id, const passkey_hash& key);

  // Adds an announce's totals to the user's pending counters.
  void record(const passkey_hash& key, const user_pending& delta);
  // Pending counters of one user (for live figures in the API).
  user_pending pending(std::uint32_t id) const;
  // Takes every user's pending counters (for a database flush).
  std::vector<std::pair<std::uint32_t, user_pending>> take_pending();
  // Returns counters whose flush failed.
  void give_back(const std::vector<std::pair<std::uint32_t, user_pending>>& p);

  std::size_t size() const;
  // Every user id (for filtering a peer snapshot).
  std::vector<std::uint32_t> ids() const;

 private:
  struct entry {
    std::uint32_t id;
    std::string name;
    user_pending pending;
  };
  struct alignas(64) shard {
    mutable std::mutex mutex;
    std::unordered_map<passkey_hash, entry, passkey_hash_hasher> map;
  };
  shard& shard_for(const passkey_hash& k) const noexcept {
    return *shards_[k.bytes[31] % shards_.size()];
  }
  std::vector<std::unique_ptr<shard>> shards_;
};

}  // namespace blobswarm::tracker
