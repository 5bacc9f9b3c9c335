#include "seeder/blob_torrents.hpp"

#include <libtorrent/bdecode.hpp>
#include <libtorrent/bencode.hpp>
#include <libtorrent/entry.hpp>
#include <libtorrent/hasher.hpp>
#include <libtorrent/torrent_info.hpp>

#include "torrentgen/single_file_torrent.hpp"

namespace blobswarm::seeder {

result<info_hash> torrent_info_hash(std::string_view torrent) {
  lt::error_code ec;
  auto root = lt::bdecode(
      lt::span<const char>(torrent.data(), static_cast<std::ptrdiff_t>(torrent.size())), ec);
  if (ec || root.type() != lt::bdecode_node::dict_t) {
    return fail(errc::invalid_argument, "not a bencoded torrent: {}", ec.message());
  }
  auto info = root.dict_find_dict("info");
  if (!info) return fail(errc::invalid_argument, "torrent has no info dictionary");
  auto section = info.data_section();
  auto hash = lt::hasher(section).final();
  return info_hash::from_raw(std::string_view(hash.data(), hash.size()));
}

namespace {

result<blob_torrent> make(std::string name, std::uint64_t size, std::uint32_t piece_length,
                          std::span<const std::string> hashes) {
  torrentgen::single_file_torrent spec{.name = std::move(name),
                                       .size = size,
                                       .piece_size = piece_length,
                                       .piece_hashes = hashes,
                                       .is_private = true};
  auto bytes = torrentgen::make_single_file_torrent(spec);
  if (!bytes) return fail(bytes.error());
  auto ih = torrent_info_hash(*bytes);
  if (!ih) return fail(ih.error());
  return blob_torrent{std::move(*bytes), *ih};
}

}  // namespace

result<blob_torrent> make_whole_torrent(const digest& d, const piece_layout& layout,
                                        std::span<const std::string> hashes) {
  if (hashes.size() < layout.piece_count) {
    return fail(errc::internal, "{}: {} piece hashes for {} pieces", d, hashes.size(),
                layout.piece_count);
  }
  return make(std::string(d.hex()), layout.size, layout.piece_length,
              hashes.first(layout.piece_count));
}

result<blob_torrent> make_segment_torrent(const digest& d, const piece_layout& layout,
                                          std::uint32_t n, std::span<const std::string> hashes) {
  if (n >= layout.segment_count) {
    return fail(errc::not_found, "{} has no segment {}", d, n);
  }
  auto first = layout.first_piece(n);
  auto count = layout.segment_pieces(n);
  if (hashes.size() < first + count) {
    return fail(errc::internal, "{}: segment {} needs {} piece hashes, have {}", d, n,
                first + count, hashes.size());
  }
  return make(segment_file_name(d, n), layout.segment_bytes(n), layout.piece_length,
              hashes.subspan(first, count));
}

std::string segment_file_name(const digest& d, std::uint32_t n) {
  return fmt::format("{}.{}", d.hex(), n);
}

result<std::uint64_t> torrent_size(std::string_view torrent) {
  lt::error_code ec;
  lt::torrent_info ti(
      lt::span<const char>(torrent.data(), static_cast<std::ptrdiff_t>(torrent.size())), ec,
      lt::from_span);
  if (ec) return fail(errc::corrupt, "torrent does not load: {}", ec.message());
  return static_cast<std::uint64_t>(ti.total_size());
}

result<blob_torrent> adopt_blob_torrent(std::string_view torrent, const digest& d,
                                        const piece_layout& layout,
                                        std::optional<std::uint32_t> segment) {
  lt::error_code ec;
  auto root = lt::bdecode(
      lt::span<const char>(torrent.data(), static_cast<std::ptrdiff_t>(torrent.size())), ec);
  if (ec || root.type() != lt::bdecode_node::dict_t || !root.dict_find_dict("info")) {
    return fail(errc::corrupt, "the torrent of {} does not parse", d);
  }
  lt::torrent_info ti(root, ec);
  if (ec) return fail(errc::corrupt, "the torrent of {} does not load: {}", d, ec.message());
  auto name = segment ? segment_file_name(d, *segment) : std::string(d.hex());
  auto size = segment ? layout.segment_bytes(*segment) : layout.size;
  if (segment && *segment >= layout.segment_count) {
    return fail(errc::corrupt, "{} has {} segments, not {}", d, layout.segment_count, *segment + 1);
  }
  if (ti.num_files() != 1 || ti.name() != name || ti.info_hashes().has_v2() ||
      static_cast<std::uint64_t>(ti.total_size()) != size ||
      static_cast<std::uint32_t>(ti.piece_length()) != layout.piece_length) {
    return fail(errc::corrupt,
                "torrent '{}' ({} bytes, {}-byte pieces) is not {} ({} bytes, {}-byte pieces): "
                "do all seeders have the same segment_size?",
                ti.name(), ti.total_size(), ti.piece_length(), name, size, layout.piece_length);
  }
  lt::entry e(lt::entry::dictionary_t);
  e["info"] = lt::entry(root.dict_find_dict("info"));
  std::string out;
  lt::bencode(std::back_inserter(out), e);
  auto ih = torrent_info_hash(out);
  if (!ih) return fail(ih.error());
  return blob_torrent{std::move(out), *ih};
}

result<std::string> with_web_seed(std::string_view torrent, const std::string& url) {
  lt::error_code ec;
  auto root = lt::bdecode(
      lt::span<const char>(torrent.data(), static_cast<std::ptrdiff_t>(torrent.size())), ec);
  if (ec || root.type() != lt::bdecode_node::dict_t) {
    return fail(errc::invalid_argument, "not a bencoded torrent");
  }
  lt::entry e(root);
  e["url-list"] = lt::entry::list_type{lt::entry(url)};
  std::string out;
  lt::bencode(std::back_inserter(out), e);
  return out;
}

}  // namespace blobswarm::seeder
