// peer_store: where the peers of every registered swarm live, behind the
// one interface the announce path, the scrape, the REST API and the web UI
// use. Two implementations:
//  - memory_peer_store (the default): the swarms of swarm_table, in this
//    process, restored from a snapshot across clean restarts;
//  - redis_peer_store: the peers in Redis, so every tracker replica hands
//    out the whole swarm and a replica's loss loses no peer.
// Either way the swarm_table is the whitelist of registered swarms (filled
// from the index of record) and keeps each swarm's counters not yet
// written to the database; peer handout is the same code (swarm::select).
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "common/error.hpp"
#include "common/net.hpp"
#include "tracker/announce_request.hpp"
#include "tracker/fast_rng.hpp"
#include "tracker/swarm.hpp"
#include "tracker/swarm_table.hpp"

namespace blobswarm::tracker {

// One announce, parsed and placed (announcer decides the address and zone).
struct announce_input {
  peer_identity who;
  const announce_request* req = nullptr;  // req->info_hash names the swarm
  ip_address address;                     // the peer's address in this request's family
  std::optional<ip_address> other;        // an address of the other family (trusted callers)
  zone_id zone = 0;
  std::uint32_t now = 0;
  // Handout parameters; self is filled in by the store.
  selection_request selection;
};

// What an announce did and the swarm's counts after it; the peers handed
// out are in peer_scratch::chosen.
struct swarm_answer {
  announce_effect effect;
  std::uint32_t seeders = 0;
  std::uint32_t leechers = 0;
};

// Live figures of a swarm, for scrapes, the REST API and the web UI.
struct swarm_counts {
  std::uint32_t seeders = 0;
  std::uint32_t leechers = 0;
  std::uint64_t completed = 0;  // recorded completions, flushed or not
  pending_stats pending;        // transfer not yet written to the database (this tracker)
};

// What one server thread reuses from request to request, so a warm
// announce does not allocate.
struct peer_scratch {
  explicit peer_scratch(std::uint64_t seed) : rng(seed) {}
  fast_rng rng;
  selection_scratch selection;
  std::vector<peer> chosen;   // the peers handed out, copied out of the swarm
  swarm work;                 // a swarm rebuilt from a shared store's records
  std::vector<peer> records;  // records read from a shared store
  std::string field;          // encoding space
  std::string value;
};

class peer_store {
 public:
  virtual ~peer_store() = default;

  // "memory", or the Redis address (without credentials), for messages.
  virtual std::string describe() const = 0;
  // True when several trackers share the peers (they then need no snapshot).
  virtual bool shared() const noexcept = 0;

  // Applies an announce to the swarm filed under in.req->info_hash and
  // chooses the peers to hand out into scratch.chosen. nullopt: no such
  // swarm is registered; errc::unavailable: the store cannot be reached.
  virtual result<std::optional<swarm_answer>> announce(const announce_input& in,
                                                       peer_scratch& scratch) = 0;
  // Figures of each swarm (nullopt for keys not registered), in order.
  virtual result<std::vector<std::optional<swarm_counts>>> counts(
      std::span<const swarm_key> keys) = 0;
  // Every record of a swarm (the web UI's peer list); empty when unknown.
  virtual result<std::vector<peer>> peers(const swarm_key& key) = 0;
  // Calls f(peer) for every record of every swarm (the web UI's list of
  // nodes): off the announce path; a shared store walks in batches.
  virtual result<void> visit(const std::function<void(const peer&)>& f) = 0;
  // Drops every peer of a user (deleted or revoked); returns how many.
  virtual result<std::size_t> remove_user(std::uint32_t user) = 0;
  // Drops the peers of a swarm that was unregistered (after swarm_table.remove).
  virtual result<void> forget(const swarm_key& primary) = 0;
  // Periodic upkeep: drops peers not heard from for `ttl` seconds (returns
  // how many) and refreshes totals().
  virtual result<std::size_t> sweep(std::uint32_t now, std::uint32_t ttl) = 0;
  // Swarms, peers and seeders (as of the last sweep for a shared store).
  virtual swarm_totals totals() const = 0;

  // One swarm's figures.
  result<std::optional<swarm_counts>> counts(const swarm_key& key) {
    auto c = counts(std::span<const swarm_key>(&key, 1));
    if (!c) return fail(c.error());
    return std::move(c->front());
  }
};

}  // namespace blobswarm::tracker
