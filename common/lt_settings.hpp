// lt_settings: the libtorrent settings every blobswarm session shares, and
// the entries named in a service's config file ("libtorrent":
// {"request_queue_time": 1}), applied after blobswarm's own, so a
// deployment (or bench/swarm) can tune libtorrent without a rebuild.
//
// private_swarm_baseline() is the one place the private-swarm rules are
// written (the mirror and the seeder both start from it, then add their
// own entries). Names in overrides are libtorrent's (settings_pack
// documentation); values must have the entry's type. The entries that keep
// a node private and identifiable (DHT, LSD, UPnP, NAT-PMP, listen
// interfaces, peer id prefix, alert categories the service depends on)
// cannot be overridden.
#pragma once

#include <libtorrent/fwd.hpp>
#include <map>
#include <nlohmann/json.hpp>
#include <string>

#include "common/error.hpp"
namespace lt = libtorrent;

namespace blobswarm::lt_settings {

// Who a session is to its peers and trackers.
struct session_identity {
  std::string listen;            // listen_interfaces, e.g. "0.0.0.0:6882"
  std::string peer_fingerprint;  // peer id prefix (common/peer_fingerprint.hpp)
  std::string user_agent;        // "blobswarm-<service>/<version>"
};

// Sets, on top of what `pack` holds (the seeder starts from
// high_performance_seed()), what every blobswarm session has: no DHT, LSD,
// UPnP or NAT-PMP (peers come only from the tracker), TCP only (no uTP),
// several sessions per address, no queuing limits for the unmanaged
// torrents, libtorrent's tick at 100 ms, and `who`.
void private_swarm_baseline(lt::settings_pack& pack, const session_identity& who);

// Puts every IPv4 and IPv6 address into libtorrent's global peer class, so
// rate limits hold for local peers too (loopback and private ranges are
// exempt otherwise).
void rate_limit_every_address(lt::session& session);

using overrides = std::map<std::string, nlohmann::json>;

// Every name known to libtorrent, every value of its type, none reserved.
result<void> validate(const overrides& entries);
// validate(), then sets every entry in `pack`.
result<void> apply(const overrides& entries, lt::settings_pack& pack);

}  // namespace blobswarm::lt_settings
