// blob_part: one file holding bytes of a blob being downloaded — the whole
// blob, or one segment of it (a segment torrent's file) — with the torrent
// that fills it, if any. Readers and verification find bytes through the
// parts; a fetch strategy creates them.
#pragma once

#include <cstdint>
#include <filesystem>
#include <libtorrent/fwd.hpp>
#include <libtorrent/torrent_handle.hpp>
#include <memory>

#include "common/file.hpp"
#include "mirror/swarm.hpp"

namespace blobswarm::mirror {

struct blob_part {
  std::filesystem::path path;
  std::uint64_t offset = 0;  // where the part starts in the blob
  std::uint64_t length = 0;
  std::uint64_t first_piece = 0;               // its first piece's index in the blob
  std::shared_ptr<const lt::torrent_info> ti;  // null: filled over HTTP
  lt::torrent_handle handle;                   // set once its torrent is in the session
  std::shared_ptr<swarm_listener> listener;
  unique_fd fd;  // opened for reading on first use
};

}  // namespace blobswarm::mirror
