// Test helper: real .torrent files for a file on disk, made with
// libtorrent's create_torrent (v1-only or hybrid v1+v2), the way the
// seeder and torrentgen make them.
#pragma once

#include <filesystem>
#include <string>

namespace blobswarm::tracker::test_support {

enum class torrent_kind { v1, hybrid, v2 };

struct made_torrent {
  std::string bytes;   // the bencoded .torrent
  std::string v1_hex;  // empty for v2-only
  std::string v2_hex;  // empty for v1-only
  std::string v2_trunc_hex;
};

// A torrent for `file` (which must exist), private, no trackers inside.
made_torrent make_torrent(const std::filesystem::path& file, torrent_kind kind,
                          int piece_size = 16 * 1024, const std::string& announce = "");

// The same without private=1 in its info dictionary: what a public tracker's
// client would register.
made_torrent make_public_torrent(const std::filesystem::path& file, torrent_kind kind);

// The same, made by the project's `torrentgen create` binary.
made_torrent make_torrent_with_torrentgen(const std::filesystem::path& file, torrent_kind kind,
                                          int piece_size = 64 * 1024);

}  // namespace blobswarm::tracker::test_support
