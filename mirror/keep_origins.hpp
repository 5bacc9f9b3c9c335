// keep_origins: a libtorrent plugin that keeps a node's connections to the
// seeder open while the node has nothing to ask it for.
//
// The seeder sends each piece out once (seeder/piece_gate): it tells a node
// that asks for a piece another node is being sent that it does not have
// the piece (lt_donthave), and announces it again later if the node still
// lacks it. A node that is then interested in nothing the seeder has would,
// by libtorrent's rule for upload-only peers, close the connection, and
// miss every piece the seeder gets or announces afterwards until it
// reconnected.
#pragma once

#include <memory>

namespace libtorrent {
struct plugin;
}
namespace lt = libtorrent;

namespace blobswarm::mirror {

std::shared_ptr<lt::plugin> make_keep_origins();

}  // namespace blobswarm::mirror
