// peer_client: the BitTorrent client a peer_id names ("-LT2080-..." is
// libtorrent 2.0.8), for the web UI's peer and node lists. Pure.
#pragma once

#include <string>

#include "tracker/swarm_key.hpp"

namespace blobswarm::tracker {

// "libtorrent 2.0.8", "qBittorrent 4.5.2", "aria2 1.36.0", ...; for an
// unknown style, the peer_id's printable prefix (non-printable bytes as
// '?'), or "unknown". The result is plain text (the UI escapes it).
std::string client_name(const peer_id& id);

}  // namespace blobswarm::tracker
