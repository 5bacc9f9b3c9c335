#include "torrentgen/torrent_builder.hpp"

#include <libtorrent/bencode.hpp>
#include <libtorrent/create_torrent.hpp>
#include <libtorrent/file_storage.hpp>
#include <unordered_map>

#include "common/units.hpp"
#include "torrentgen/hash_pipeline.hpp"
#include "torrentgen/piece_size.hpp"
#include "torrentgen/torrent_layout.hpp"

namespace blobswarm::torrentgen {

result<created_torrent> make_torrent(const source_tree& tree, const create_options& options) {
  auto piece_size =
      options.piece_size == 0 ? auto_piece_size(tree.total_size()) : options.piece_size;
  if (!is_valid_piece_size(piece_size)) {
    return fail(errc::invalid_argument,
                "piece size {} is not a power of two from 16 KiB to 256 MiB", piece_size);
  }
  bool v1 = has_v1(options.format);
  bool v2 = has_v2(options.format);
  // Refuse before hashing what no client (nor we) would load afterwards:
  // 20 bytes per piece for v1, 32 for v2's piece layers.
  auto pieces = (tree.total_size() + piece_size - 1) / piece_size;
  auto hash_bytes = pieces * ((v1 ? 20 : 0) + (v2 ? 32 : 0));
  if (hash_bytes > static_cast<std::uint64_t>(max_torrent_file_size) - (1 << 20)) {
    return fail(errc::invalid_argument,
                "{}: {} pieces of {} would make a .torrent over {} MiB; use a larger --piece-size",
                tree.root().string(), pieces, human_bytes(piece_size), max_torrent_file_size >> 20);
  }
  try {
    // Paths as libtorrent spells them: the name alone for a single file,
    // "<name>/<path>" otherwise. Sizes only: no attributes, no mtimes.
    lt::file_storage fs;
    std::unordered_map<std::string, std::size_t> by_path;
    for (std::size_t i = 0; i < tree.files().size(); ++i) {
      const auto& f = tree.files()[i];
      auto path = tree.single_file() ? tree.name() : tree.name() + "/" + f.path.str();
      fs.add_file(path, static_cast<std::int64_t>(f.snapshot.size));
      by_path.emplace(std::move(path), i);
    }
    lt::create_flags_t flags{};
    if (!v2) flags |= lt::create_torrent::v1_only;
    if (!v1) flags |= lt::create_torrent::v2_only;
    // For v2 and hybrid this sorts the files and inserts pad files; for v1
    // the order stays ours, which is the same canonical order.
    lt::create_torrent ct(fs, static_cast<int>(piece_size), flags);

    auto layout = torrent_layout::from(ct.files(), v1, v2);
    if (!layout) return fail(layout.error());
    std::vector<hash_source> sources(layout->files.size());
    for (std::size_t i = 0; i < layout->files.size(); ++i) {
      if (layout->files[i].pad) continue;
      auto it = by_path.find(layout->files[i].path);
      if (it == by_path.end()) {
        return fail(errc::internal, "libtorrent laid out a file we did not give it: {}",
                    layout->files[i].path);
      }
      const auto& f = tree.files()[it->second];
      sources[i] = {.disk_path = f.disk_path, .expected = f.snapshot};
    }

    hash_pipeline::options hopts{.threads = options.threads,
                                 .strict = true,
                                 .progress = options.progress,
                                 .after_run = options.after_run};
    auto hashes = hash_pipeline::run(*layout, sources, hopts);
    if (!hashes) return fail(hashes.error());

    if (v1) {
      for (std::uint32_t p = 0; p < layout->num_pieces; ++p) {
        ct.set_hash(lt::piece_index_t(static_cast<int>(p)), hashes->v1[p]);
      }
    }
    if (v2) {
      for (std::size_t i = 0; i < layout->files.size(); ++i) {
        const auto& pieces = hashes->v2[i];
        for (std::size_t k = 0; k < pieces.size(); ++k) {
          ct.set_hash2(lt::file_index_t(static_cast<int>(i)),
                       lt::piece_index_t::diff_type(static_cast<int>(k)), pieces[k]);
        }
      }
    }
    ct.set_priv(options.is_private);
    ct.set_creation_date(options.creation_date.value_or(0));
    if (!options.comment.empty()) ct.set_comment(options.comment.c_str());
    if (!options.created_by.empty()) ct.set_creator(options.created_by.c_str());
    for (std::size_t tier = 0; tier < options.trackers.size(); ++tier) {
      for (const auto& url : options.trackers[tier]) ct.add_tracker(url, static_cast<int>(tier));
    }
    for (const auto& url : options.web_seeds) ct.add_url_seed(url);

    lt::entry e = ct.generate();
    // libtorrent has no setter for "source" (BEP 27 private trackers use it
    // to tell otherwise identical torrents apart); add it to the info
    // dictionary before encoding.
    if (!options.source.empty()) e["info"]["source"] = options.source;
    created_torrent out;
    lt::bencode(std::back_inserter(out.data), e);
    auto summary = torrent_summary::parse(out.data);
    if (!summary) {
      return fail(errc::internal, "libtorrent cannot read the torrent it made: {}",
                  summary.error().message);
    }
    out.summary = std::move(*summary);
    return out;
  } catch (const std::exception& e) {
    return fail(errc::invalid_argument, "cannot make the torrent: {}", e.what());
  }
}

}  // namespace blobswarm::torrentgen
