// node_disk_io: the mirror's libtorrent disk subsystem, run inline on
// libtorrent's network thread.
//
// libtorrent's own back-end hands every 16 KiB block from the network thread
// to a disk thread and the completion back: two wake-ups and a context
// switch per block each way, plus page faults on its memory-mapped files. A
// node moves every blob byte in, most of them out again, and hashes each
// piece, so that hand-off dominated the mirror's CPU (bench/swarm: 8 nodes
// on 2 CPUs). Here each read, write and piece hash is a pread/pwrite on a
// descriptor kept open per file, done where libtorrent asks for it; the
// completion is posted to the same thread.
//
// The price: a disk that stalls stalls this node's peer connections for as
// long. Blob caches sit on local disks whose page cache absorbs a node's
// link rate; `disk_io: "threads"` selects libtorrent's threaded back-end for
// storage that cannot keep up (docs/mirror.md).
//
// Blob torrents are v1; torrents fetched through /files may be hybrid
// (v1 + v2), whose pieces libtorrent checks against both kinds of hash, so
// v2 block hashes (SHA-256 per 16 KiB) are made here too.
#pragma once

#include <libtorrent/disk_interface.hpp>
#include <libtorrent/io_context.hpp>
#include <libtorrent/session_params.hpp>
#include <memory>

namespace blobswarm::mirror {

namespace lt = libtorrent;

// For session_params::disk_io_constructor.
lt::disk_io_constructor_type node_disk_io_constructor();
// The back-end itself; completions are posted to ioc (tests call it directly).
std::unique_ptr<lt::disk_interface> make_node_disk_io(lt::io_context& ioc);

}  // namespace blobswarm::mirror
