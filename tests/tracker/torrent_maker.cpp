#include "tests/tracker/torrent_maker.hpp"

#include <libtorrent/bencode.hpp>
#include <libtorrent/create_torrent.hpp>
#include <libtorrent/file_storage.hpp>
#include <libtorrent/torrent_info.hpp>
#include <stdexcept>

#include "common/hex.hpp"
#include "tests/support/support.hpp"

namespace blobswarm::tracker::test_support {

namespace {
made_torrent describe(std::string bytes) {
  made_torrent out;
  out.bytes = std::move(bytes);
  lt::error_code ec;
  lt::torrent_info ti(out.bytes.data(), static_cast<int>(out.bytes.size()), ec);
  if (ec) throw std::runtime_error("not a valid torrent: " + ec.message());
  if (ti.info_hashes().has_v1())
    out.v1_hex = to_hex(std::string_view(ti.info_hashes().v1.data(), ti.info_hashes().v1.size()));
  if (ti.info_hashes().has_v2()) {
    out.v2_hex = to_hex(std::string_view(ti.info_hashes().v2.data(), ti.info_hashes().v2.size()));
    out.v2_trunc_hex = out.v2_hex.substr(0, 40);
  }
  return out;
}
}  // namespace

made_torrent make_torrent_with_torrentgen(const std::filesystem::path& file, torrent_kind kind,
                                          int piece_size) {
  auto out = file.string() + ".torrent";
  std::string format = kind == torrent_kind::v1 ? "v1" : kind == torrent_kind::v2 ? "v2" : "hybrid";
  auto r =
      test::run_command({test::binary("torrentgen").string(), "create", "--private", "--format",
                         format, "--piece-size", std::to_string(piece_size / 1024) + "KiB",
                         "--quiet", "-o", out, file.string()});
  if (r.status != 0) throw std::runtime_error("torrentgen create failed: " + r.output);
  return describe(test::read_text(out));
}

namespace {
made_torrent build(const std::filesystem::path& file, torrent_kind kind, int piece_size,
                   const std::string& announce, bool is_private) {
  lt::file_storage fs;
  lt::add_files(fs, file.string());
  lt::create_flags_t flags = {};
  if (kind == torrent_kind::v1) flags = lt::create_torrent::v1_only;
  if (kind == torrent_kind::v2) flags = lt::create_torrent::v2_only;
  lt::create_torrent ct(fs, piece_size, flags);
  ct.set_priv(is_private);
  ct.set_creator("");
  if (!announce.empty()) ct.add_tracker(announce);
  lt::set_piece_hashes(ct, file.parent_path().string());
  std::string bytes;
  lt::bencode(std::back_inserter(bytes), ct.generate());
  return describe(std::move(bytes));
}
}  // namespace

made_torrent make_torrent(const std::filesystem::path& file, torrent_kind kind, int piece_size,
                          const std::string& announce) {
  return build(file, kind, piece_size, announce, true);
}

made_torrent make_public_torrent(const std::filesystem::path& file, torrent_kind kind) {
  return build(file, kind, 16 * 1024, "", false);
}

}  // namespace blobswarm::tracker::test_support
