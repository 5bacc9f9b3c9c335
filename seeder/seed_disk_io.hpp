// seed_disk_io: libtorrent's disk subsystem for a pure seeder. Each torrent
// reads its bytes from a range of one file the store already holds:
//  - a whole-blob torrent from the stored blob (offset 0);
//  - segment n of a blob still being ingested from the ingest file at
//    n * segment_length, through a descriptor opened before the file is
//    renamed into the store.
// So segment torrents cost no extra disk space or writes. The one case a
// seeder downloads — a blob (or the start of one) it gets from the swarm
// instead of upstream (seeder/swarm_fetch) — binds a writable descriptor of
// its ingest file: blocks are written there with pwrite, on libtorrent's
// network thread (the buffer is only valid during the call), and hashed
// back like any piece. Every other torrent refuses writes.
//
// Reads and piece hashing (seed mode verifies a piece the first time a peer
// asks for it) run on a small thread pool; completions are posted back to
// libtorrent's network thread.
#pragma once

#include <cstdint>
#include <filesystem>
#include <libtorrent/disk_interface.hpp>
#include <libtorrent/session_params.hpp>
#include <libtorrent/sha1_hash.hpp>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "common/file.hpp"

namespace blobswarm::seeder {

// Where a torrent's bytes are: an open descriptor, or a path opened on
// first read. Shared between the session owner (which binds sources before
// adding torrents) and the disk subsystem (which looks them up).
class seed_sources {
 public:
  struct source {
    std::shared_ptr<unique_fd> fd;  // used when set
    std::filesystem::path path;     // otherwise opened on first read
    std::uint64_t offset = 0;
    bool writable = false;  // `fd` is open for writing: the torrent downloads into it
  };

  void bind(const lt::sha1_hash& info_hash, source s);
  void unbind(const lt::sha1_hash& info_hash);
  std::optional<source> find(const lt::sha1_hash& info_hash) const;

 private:
  mutable std::mutex mutex_;
  std::map<lt::sha1_hash, source> sources_;
};

// The constructor to put in lt::session_params::disk_io_constructor.
lt::disk_io_constructor_type seed_disk_io_constructor(std::shared_ptr<seed_sources> sources,
                                                      int threads);

}  // namespace blobswarm::seeder
