// keep_origins: a libtorrent plugin that keeps a node's connections to the
// seeder open while the node has nothing to ask it for, and for a while
// after the node has the whole blob.
//
// The seeder sends each piece out once (seeder/piece_gate): it tells a node
// that asks for a piece another node is being sent that it does not have
// the piece (lt_donthave), and announces it again later if the node still
// lacks it. A node that is then interested in nothing the seeder has would,
// by libtorrent's rule for upload-only peers, close the connection, and
// miss every piece the seeder gets or announces afterwards until it
// reconnected.
//
// After the node completes the blob, both ends are seeds and libtorrent
// closes the connection as redundant. But the seeder's gate counts a node
// as the owner of the pieces it was sent only while it is connected: a
// closed connection may be a node that finished and still seeds, or one
// that is gone (rebooted, cache evicted), and nothing else tells them
// apart. So the node stays connected for `linger` after completing, which
// keeps the pieces it was sent pointed at it for nodes that arrive a little
// later (bench/swarm, staggered starts: without it the seeder sent each
// piece again to every latecomer, 2.1 copies of the image), and then
// leaves, which frees them for any wave of nodes that comes after it.
//
// A node that downloads only some pieces of a blob (Range reads: lazy
// pulling, or the pieces a reader wants first) is "finished" in
// libtorrent's sense whenever it has every piece it wants, and libtorrent
// then closes its connections as redundant; the next Range read waited
// 1-2 s for a reconnect. Such a torrent is partial, not complete, so its
// connections to peers that are not seeds stay open as well.
#pragma once

#include <chrono>
#include <memory>

namespace libtorrent {
struct plugin;
}
namespace lt = libtorrent;

namespace blobswarm::mirror {

std::shared_ptr<lt::plugin> make_keep_origins(
    std::chrono::seconds linger = std::chrono::seconds(30));

}  // namespace blobswarm::mirror
