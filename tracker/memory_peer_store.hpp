// memory_peer_store: the default peer store, the swarms of a swarm_table in
// this process. An announce runs under its swarm's shard lock only and,
// with warm scratch buffers, does not allocate. Not shared: every tracker
// has its own peers (the service snapshots them across clean restarts).
#pragma once

#include "tracker/peer_store.hpp"

namespace blobswarm::tracker {

class memory_peer_store final : public peer_store {
 public:
  explicit memory_peer_store(swarm_table& swarms) : swarms_(swarms) {}

  std::string describe() const override { return "memory"; }
  bool shared() const noexcept override { return false; }
  result<std::optional<swarm_answer>> announce(const announce_input& in,
                                               peer_scratch& scratch) override;
  result<std::vector<std::optional<swarm_counts>>> counts(std::span<const swarm_key> keys) override;
  using peer_store::counts;
  result<std::vector<peer>> peers(const swarm_key& key) override;
  result<void> visit(const std::function<void(const peer&)>& f) override;
  result<std::size_t> remove_user(std::uint32_t user) override;
  result<void> forget(const swarm_key&) override { return {}; }  // gone with the swarm
  result<std::size_t> sweep(std::uint32_t now, std::uint32_t ttl) override;
  swarm_totals totals() const override { return swarms_.totals(); }

 private:
  swarm_table& swarms_;
};

}  // namespace blobswarm::tracker
