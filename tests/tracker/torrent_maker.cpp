#include "tests/tracker/torrent_maker.hpp"

#include <libtorrent/bencode.hpp>
#include <libtorrent/create_torrent.hpp>
#include <libtorrent/file_storage.hpp>
#include <libtorrent/torrent_info.hpp>
#include <stdexcept>

namespace blobswarm::tracker::test_support {

made_torrent make_torrent(const std::filesystem::path& file, torrent_kind kind, int piece_size,
                          const std::string& announce) {
  lt::file_storage fs;
  lt::add_files(fs, file.string());
  lt::create_flags_t flags = {};
  if (kind == torrent_kind::v1) flags = lt::create_torrent::v1_only;
  if (kind == torrent_kind::v2) flags = lt::create_torrent::v2_only;
  lt::create_torrent ct(fs, piece_size, flags);
  ct.set_priv(true);
  ct.set_creator("");
  if (!announce.empty()) ct.add_tracker(announce);
  lt::set_piece_hashes(ct, file.parent_path().string());
  made_torrent out;
  lt::bencode(std::back_inserter(out.bytes), ct.generate());
  lt::error_code ec;
  lt::torrent_info ti(out.bytes.data(), static_cast<int>(out.bytes.size()), ec);
  if (ec) throw std::runtime_error("made an invalid torrent: " + ec.message());
  auto hex = [](auto const& h) {
    static const char* digits = "0123456789abcdef";
    std::string s;
    for (auto c : h) {
      s += digits[static_cast<unsigned char>(c) >> 4];
      s += digits[static_cast<unsigned char>(c) & 15];
    }
    return s;
  };
  if (ti.info_hashes().has_v1()) out.v1_hex = hex(ti.info_hashes().v1);
  if (ti.info_hashes().has_v2()) {
    out.v2_hex = hex(ti.info_hashes().v2);
    out.v2_trunc_hex = out.v2_hex.substr(0, 40);
  }
  return out;
}

}  // namespace blobswarm::tracker::test_support
