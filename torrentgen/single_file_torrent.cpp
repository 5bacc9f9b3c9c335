#include "torrentgen/single_file_torrent.hpp"

#include <libtorrent/bencode.hpp>
#include <libtorrent/create_torrent.hpp>
#include <libtorrent/file_storage.hpp>

namespace blobswarm::torrentgen {

result<std::string> make_single_file_torrent(const single_file_torrent& spec) {
  if (spec.name.empty() || spec.name.find('/') != std::string::npos) {
    return fail(errc::invalid_argument, "torrent name '{}' must be a plain file name", spec.name);
  }
  if (spec.size == 0) return fail(errc::invalid_argument, "cannot make a torrent of 0 bytes");
  if (spec.piece_size < 16384 || (spec.piece_size & (spec.piece_size - 1)) != 0) {
    return fail(errc::invalid_argument, "piece size {} is not a power of two >= 16 KiB",
                spec.piece_size);
  }
  auto pieces = (spec.size + spec.piece_size - 1) / spec.piece_size;
  if (spec.piece_hashes.size() != pieces) {
    return fail(errc::invalid_argument, "{} bytes in {}-byte pieces need {} hashes, got {}",
                spec.size, spec.piece_size, pieces, spec.piece_hashes.size());
  }
  lt::file_storage fs;
  fs.add_file(spec.name, static_cast<std::int64_t>(spec.size));
  lt::create_torrent t(fs, static_cast<int>(spec.piece_size), lt::create_torrent::v1_only);
  for (std::size_t i = 0; i < pieces; ++i) {
    if (spec.piece_hashes[i].size() != 20) {
      return fail(errc::invalid_argument, "piece hash {} is not 20 bytes", i);
    }
    t.set_hash(lt::piece_index_t(static_cast<int>(i)), lt::sha1_hash(spec.piece_hashes[i].data()));
  }
  t.set_priv(spec.is_private);
  t.set_creation_date(0);
  for (std::size_t tier = 0; tier < spec.tracker_tiers.size(); ++tier) {
    for (const auto& url : spec.tracker_tiers[tier]) t.add_tracker(url, static_cast<int>(tier));
  }
  for (const auto& url : spec.web_seeds) t.add_url_seed(url);
  try {
    auto buf = t.generate_buf();
    return std::string(buf.begin(), buf.end());
  } catch (const std::exception& e) {
    return fail(errc::internal, "libtorrent could not generate the torrent: {}", e.what());
  }
}

}  // namespace blobswarm::torrentgen
