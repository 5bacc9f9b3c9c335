#include "tracker/torrent_file.hpp"

#include <libtorrent/bdecode.hpp>
#include <libtorrent/bencode.hpp>
#include <libtorrent/entry.hpp>
#include <libtorrent/error_code.hpp>
#include <libtorrent/magnet_uri.hpp>
#include <libtorrent/torrent_info.hpp>
#include <set>

namespace blobswarm::tracker {

result<torrent_meta> inspect_torrent(std::string_view bytes) {
  if (bytes.empty())
    return fail(errc::invalid_argument, "the request body is empty, not a .torrent");
  lt::error_code ec;
  // A key twice at the top level (two "info" dictionaries, say) is invalid
  // bencode that libtorrent reads as its first occurrence and other readers
  // as the last: the torrent handed out could then name another swarm than
  // the one registered. Found by fuzz/tracker_torrent.
  auto root = lt::bdecode(
      lt::span<const char>(bytes.data(), static_cast<std::ptrdiff_t>(bytes.size())), ec);
  if (!ec && root.type() == lt::bdecode_node::dict_t) {
    std::set<std::string> seen;
    for (int i = 0; i < root.dict_size(); ++i) {
      std::string key(root.dict_at_node(i).first.string_value());
      if (!seen.insert(key).second) {
        return fail(errc::invalid_argument, "not a valid .torrent: the key '{}' appears twice",
                    key.substr(0, 64));
      }
    }
  }
  ec.clear();
  lt::torrent_info ti(lt::span<const char>(bytes.data(), static_cast<std::ptrdiff_t>(bytes.size())),
                      ec, lt::from_span);
  if (ec) return fail(errc::invalid_argument, "not a valid .torrent: {}", ec.message());
  torrent_meta m;
  const auto& ih = ti.info_hashes();
  if (ih.has_v1()) {
    auto h = info_hash::from_raw(std::string_view(ih.v1.data(), ih.v1.size()));
    if (h) m.v1 = *h;
  }
  if (ih.has_v2()) {
    auto h = info_hash::from_raw(std::string_view(ih.v2.data(), ih.v2.size()));
    if (h) m.v2 = *h;
  }
  if (!m.v1 && !m.v2) return fail(errc::invalid_argument, "not a valid .torrent: no info-hash");
  m.name = ti.name();
  m.size = static_cast<std::uint64_t>(ti.total_size());
  m.piece_length = static_cast<std::uint64_t>(ti.piece_length());
  m.is_private = ti.priv();
  m.files = static_cast<std::size_t>(ti.num_files());
  return m;
}

result<std::string> with_announce(std::string_view bytes,
                                  const std::optional<std::string>& announce_url) {
  lt::error_code ec;
  auto root = lt::bdecode(
      lt::span<const char>(bytes.data(), static_cast<std::ptrdiff_t>(bytes.size())), ec);
  if (ec || root.type() != lt::bdecode_node::dict_t) {
    return fail(errc::corrupt, "stored .torrent does not decode: {}", ec.message());
  }
  lt::entry out(lt::entry::dictionary_t);
  auto& dict = out.dict();
  for (int i = 0; i < root.dict_size(); ++i) {
    auto [key, value] = root.dict_at_node(i);
    auto k = key.string_value();
    if (k == "announce" || k == "announce-list") continue;
    if (dict.contains(std::string(k))) continue;  // the first one counts, as for libtorrent
    // Copy every value as its original bytes: nothing is re-encoded, so
    // the info dictionary (and its hashes) cannot change.
    auto section = value.data_section();
    dict[std::string(k)] = lt::entry(lt::entry::preformatted_type(section.begin(), section.end()));
  }
  if (announce_url) dict["announce"] = *announce_url;
  std::string encoded;
  lt::bencode(std::back_inserter(encoded), out);
  return encoded;
}

result<torrent_contents> describe_torrent(std::string_view bytes, std::size_t max_files) {
  lt::error_code ec;
  lt::torrent_info ti(lt::span<const char>(bytes.data(), static_cast<std::ptrdiff_t>(bytes.size())),
                      ec, lt::from_span);
  if (ec) return fail(errc::corrupt, "stored .torrent does not load: {}", ec.message());
  torrent_contents c;
  const auto& fs = ti.files();
  for (auto i : fs.file_range()) {
    if (fs.pad_file_at(i)) continue;
    ++c.total_files;
    if (c.files.size() < max_files) {
      c.files.push_back({fs.file_path(i), static_cast<std::uint64_t>(fs.file_size(i))});
    }
  }
  c.comment = ti.comment();
  c.created_by = ti.creator();
  c.creation_date = static_cast<std::int64_t>(ti.creation_date());
  return c;
}

result<std::string> make_private(std::string_view bytes) {
  auto meta = inspect_torrent(bytes);
  if (!meta) return fail(meta.error());
  if (meta->is_private) return std::string(bytes);
  lt::error_code ec;
  auto root = lt::bdecode(
      lt::span<const char>(bytes.data(), static_cast<std::ptrdiff_t>(bytes.size())), ec);
  if (ec || root.type() != lt::bdecode_node::dict_t) {
    return fail(errc::invalid_argument, "not a valid .torrent: {}", ec.message());
  }
  lt::entry out(lt::entry::dictionary_t);
  for (int i = 0; i < root.dict_size(); ++i) {
    auto [key, value] = root.dict_at_node(i);
    auto section = value.data_section();
    if (key.string_value() != "info") {
      out[std::string(key.string_value())] =
          lt::entry(lt::entry::preformatted_type(section.begin(), section.end()));
      continue;
    }
    // Every value of the info dictionary stays as it was; only the flag is
    // added (keys are written sorted, as BEP 3 requires).
    lt::entry info(lt::entry::dictionary_t);
    for (int j = 0; j < value.dict_size(); ++j) {
      auto [k, v] = value.dict_at_node(j);
      auto vs = v.data_section();
      info[std::string(k.string_value())] =
          lt::entry(lt::entry::preformatted_type(vs.begin(), vs.end()));
    }
    info["private"] = 1;
    out["info"] = std::move(info);
  }
  std::string encoded;
  lt::bencode(std::back_inserter(encoded), out);
  return encoded;
}

result<std::string> magnet_link(std::string_view bytes,
                                const std::optional<std::string>& announce_url) {
  auto with = with_announce(bytes, announce_url);
  if (!with) return fail(with.error());
  lt::error_code ec;
  lt::torrent_info ti(lt::span<const char>(with->data(), static_cast<std::ptrdiff_t>(with->size())),
                      ec, lt::from_span);
  if (ec) return fail(errc::corrupt, "stored .torrent does not load: {}", ec.message());
  return lt::make_magnet_uri(ti);
}

}  // namespace blobswarm::tracker
