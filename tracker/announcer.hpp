// announcer: the BitTorrent side of the tracker as a pure function of a
// request: passkey + query string + the caller's address + the time in,
// bencoded reply out (announce, BEP 3/7/23/24; scrape, BEP 48). It never
// touches the database: users come from the in-memory user_table, peers
// from a peer_store. With the in-memory peer store it takes only shard
// locks and, with warm scratch buffers, does not allocate; with Redis it
// makes one pipelined exchange per announce on the thread's connection.
// The HTTP layer around it is thin.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/net.hpp"
#include "tracker/fast_rng.hpp"
#include "tracker/passkey.hpp"
#include "tracker/peer_store.hpp"
#include "tracker/swarm.hpp"
#include "tracker/swarm_table.hpp"
#include "tracker/user_table.hpp"
#include "tracker/zone_directory.hpp"
#include "tracker/zone_map.hpp"

namespace blobswarm::tracker {

struct announce_policy {
  std::uint32_t interval = 120;     // seconds
  std::uint32_t min_interval = 30;  // seconds
  std::uint32_t peer_ttl = 600;     // seconds
  std::uint32_t default_numwant = 50;
  std::uint32_t max_numwant = 200;
  std::uint32_t origin_standby = 1;  // see selection_request::origin_standby
  std::uint32_t origin_fanout = 2;   // see selection_request::origin_fanout
  std::vector<cidr> trusted;         // callers whose ip=, ipv4=, ipv6= are believed
};

// unavailable: the peer store cannot be reached (Redis down); the client
// gets a failure reason and tries again later.
enum class announce_result { ok, bad_request, unknown_passkey, unregistered, unavailable };
std::string_view to_string(announce_result r) noexcept;

struct announce_outcome {
  announce_result result = announce_result::ok;
  std::uint64_t uploaded = 0;    // newly reported bytes
  std::uint64_t downloaded = 0;  // newly reported bytes
  bool completed = false;
};

// What one thread reuses from request to request.
struct announce_scratch {
  explicit announce_scratch(std::uint64_t seed) : peers(seed) {}
  passkey_hasher hasher;
  peer_scratch peers;
  std::string reply;  // the bencoded reply of the last request
};

class announcer {
 public:
  // `zone_names`, when given, learns the names clients send with zone=.
  announcer(announce_policy policy, user_table& users, peer_store& peers, const zone_map& zones,
            zone_directory* zone_names = nullptr)
      : policy_(std::move(policy)),
        users_(users),
        peers_(peers),
        zones_(zones),
        zone_names_(zone_names) {}
  // With the peers in memory, in `swarms`.
  announcer(announce_policy policy, user_table& users, swarm_table& swarms, const zone_map& zones,
            zone_directory* zone_names = nullptr);

  // Writes the reply to scratch.reply: a peer list, or a `failure reason`.
  announce_outcome announce(std::string_view passkey, std::string_view query,
                            const ip_address& remote, std::uint32_t now,
                            announce_scratch& scratch) const;
  announce_result scrape(std::string_view passkey, std::string_view query,
                         announce_scratch& scratch) const;

  // The failure reason for announces while the peer store is down.
  static std::string unavailable_reason(const error& e);

  const announce_policy& policy() const noexcept { return policy_; }

 private:
  bool trusted(const ip_address& a) const noexcept;

  announce_policy policy_;
  std::unique_ptr<peer_store> owned_;  // the memory store of the second constructor
  user_table& users_;
  peer_store& peers_;
  const zone_map& zones_;
  zone_directory* zone_names_;
};

}  // namespace blobswarm::tracker
