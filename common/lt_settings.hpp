// lt_settings: libtorrent settings_pack entries named in a service's config
// file ("libtorrent": {"request_queue_time": 1}), applied after blobswarm's
// own, so a deployment (or bench/swarm) can tune libtorrent without a
// rebuild. Names are libtorrent's (settings_pack documentation); values
// must have the entry's type. The entries that keep a node private and
// identifiable (DHT, LSD, UPnP, NAT-PMP, listen interfaces, peer id prefix,
// alert categories the service depends on) cannot be overridden.
#pragma once

#include <map>
#include <nlohmann/json.hpp>
#include <string>

#include "common/error.hpp"

namespace libtorrent {
struct settings_pack;
}
namespace lt = libtorrent;

namespace blobswarm::lt_settings {

using overrides = std::map<std::string, nlohmann::json>;

// Every name known to libtorrent, every value of its type, none reserved.
result<void> validate(const overrides& entries);
// validate(), then sets every entry in `pack`.
result<void> apply(const overrides& entries, lt::settings_pack& pack);

}  // namespace blobswarm::lt_settings
