#include "tracker/memory_peer_store.hpp"

namespace blobswarm::tracker {

result<std::optional<swarm_answer>> memory_peer_store::announce(const announce_input& in,
                                                                peer_scratch& scratch) {
  swarm_answer answer;
  scratch.chosen.clear();
  bool found = swarms_.with(in.req->info_hash, [&](swarm& s) {
    answer.effect =
        s.announce(in.who, *in.req, in.address, in.zone, in.now, in.other ? &*in.other : nullptr);
    if (!answer.effect.removed) {
      selection_request sel = in.selection;
      sel.self = answer.effect.index;
      s.select(sel, scratch.rng, scratch.selection);
      auto peers = s.peers();
      for (auto i : scratch.selection.chosen) scratch.chosen.push_back(peers[i]);
    }
    answer.seeders = s.seeders();
    answer.leechers = s.leechers();
  });
  if (!found) return std::optional<swarm_answer>{};
  return std::optional<swarm_answer>(answer);
}

result<std::vector<std::optional<swarm_counts>>> memory_peer_store::counts(
    std::span<const swarm_key> keys) {
  std::vector<std::optional<swarm_counts>> out(keys.size());
  for (std::size_t i = 0; i < keys.size(); ++i) {
    swarms_.with(keys[i], [&](swarm& s) {
      out[i] = swarm_counts{s.seeders(), s.leechers(), s.completed(), s.pending()};
    });
  }
  return out;
}

result<std::vector<peer>> memory_peer_store::peers(const swarm_key& key) {
  std::vector<peer> out;
  swarms_.with(key, [&](swarm& s) { out.assign(s.peers().begin(), s.peers().end()); });
  return out;
}

result<void> memory_peer_store::visit(const std::function<void(const peer&)>& f) {
  swarms_.for_each([&](const swarm_key&, swarm& s) {
    for (const auto& p : s.peers()) f(p);
  });
  return {};
}

result<std::size_t> memory_peer_store::remove_user(std::uint32_t user) {
  std::size_t n = 0;
  swarms_.for_each([&](const swarm_key&, swarm& s) { n += s.remove_user(user); });
  return n;
}

result<std::size_t> memory_peer_store::sweep(std::uint32_t now, std::uint32_t ttl) {
  std::size_t n = 0;
  swarms_.for_each([&](const swarm_key&, swarm& s) { n += s.expire(now, ttl); });
  return n;
}

}  // namespace blobswarm::tracker
