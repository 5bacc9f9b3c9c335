#include "torrentgen/verifier.hpp"

#include <sys/stat.h>

#include <algorithm>
#include <cstring>

#include "torrentgen/digest_engine.hpp"
#include "torrentgen/merkle.hpp"
#include "torrentgen/torrent_layout.hpp"

namespace blobswarm::torrentgen {
namespace {

bool single_file(const lt::torrent_info& ti) {
  const auto& fs = ti.files();
  return fs.num_files() == 1 && fs.file_path(lt::file_index_t(0)) == ti.name();
}

bool is_dir(const std::filesystem::path& p) {
  std::error_code ec;
  return std::filesystem::is_directory(p, ec);
}

}  // namespace

bool verify_report::ok() const noexcept {
  return bad_pieces.empty() && std::all_of(files.begin(), files.end(), [](const file_result& f) {
           return f.issue == file_issue::none;
         });
}

std::filesystem::path resolve_data_root(const lt::torrent_info& ti,
                                        const std::filesystem::path& data) {
  auto inside = data / ti.name();
  if (single_file(ti)) return is_dir(data) ? inside : data;
  auto own = std::filesystem::absolute(data).lexically_normal();
  if (!own.has_filename()) own = own.parent_path();
  if (own.filename() != ti.name() && is_dir(inside)) return inside;
  return data;
}

result<verify_report> verify_torrent(const lt::torrent_info& ti, const std::filesystem::path& data,
                                     const verify_options& options) {
  auto hashes_present = ti.info_hashes();
  bool v1 = hashes_present.has_v1();
  bool v2 = hashes_present.has_v2();
  const auto& fs = ti.files();
  auto layout = torrent_layout::from(fs, v1, v2);
  if (!layout) return fail(layout.error());
  auto root = resolve_data_root(ti, data);
  if (!std::filesystem::exists(root)) {
    return fail(errc::not_found, "{}: no such file or directory", root.string());
  }

  std::vector<hash_source> sources(layout->files.size());
  verify_report report;
  report.num_pieces = layout->num_pieces;
  std::vector<std::size_t> result_of(layout->files.size(), static_cast<std::size_t>(-1));
  for (std::size_t i = 0; i < layout->files.size(); ++i) {
    const auto& f = layout->files[i];
    if (f.pad) continue;
    if (single_file(ti)) {
      sources[i].disk_path = root;
    } else {
      // file_path is "<name>/<rest>"; the data root stands for "<name>".
      auto rest = std::string_view(f.path).substr(std::min(f.path.size(), ti.name().size() + 1));
      sources[i].disk_path = root / std::string(rest);
    }
    result_of[i] = report.files.size();
    report.files.push_back({.path = f.path, .disk_path = sources[i].disk_path, .size = f.size});
  }

  hash_pipeline::options hopts{
      .threads = options.threads, .strict = false, .progress = options.progress};
  auto hashes = hash_pipeline::run(*layout, sources, hopts);
  if (!hashes) return fail(hashes.error());

  std::vector<std::uint8_t> bad(layout->num_pieces, 0);
  for (std::uint32_t p = 0; p < layout->num_pieces; ++p) {
    if (hashes->unreadable[p]) bad[p] = 1;
    if (v1 && hashes->v1[p] != ti.hash_for_piece(lt::piece_index_t(static_cast<int>(p)))) {
      bad[p] = 1;
    }
  }
  if (v2) {
    digest_engine sha256(hash_algorithm::sha256);
    for (std::size_t i = 0; i < layout->files.size(); ++i) {
      const auto& f = layout->files[i];
      if (f.pad || f.size == 0) continue;
      lt::file_index_t fi(static_cast<int>(i));
      const auto& ours = hashes->v2[i];
      auto first = layout->first_piece(i);
      auto layer = ti.piece_layer(fi);
      if (ours.size() > 1 && layer.size() == static_cast<std::ptrdiff_t>(ours.size() * 32)) {
        for (std::size_t k = 0; k < ours.size(); ++k) {
          if (std::memcmp(ours[k].data(), layer.data() + k * 32, 32) != 0) bad[first + k] = 1;
        }
      } else {
        // One piece (its hash is the root), or no piece layer to compare
        // with: all pieces of the file stand or fall with the root.
        std::vector<lt::sha256_hash> scratch(ours.begin(), ours.end());
        auto pad = merkle_pad(layout->piece_length / v2_block_size, sha256);
        lt::sha256_hash root_hash;
        if (scratch.size() == 1) {
          root_hash = scratch[0];
        } else {
          // Pad the piece layer with the hash of an all-zero piece.
          auto width = merkle_width(scratch.size());
          scratch.resize(width, pad);
          root_hash = merkle_root_in_place(scratch, width, sha256);
        }
        if (root_hash != fs.root(fi)) {
          for (std::size_t k = 0; k < ours.size(); ++k) bad[first + k] = 1;
        }
      }
    }
  }

  for (std::size_t i = 0; i < layout->files.size(); ++i) {
    if (result_of[i] == static_cast<std::size_t>(-1)) continue;
    auto& r = report.files[result_of[i]];
    r.issue = hashes->issues[i];
    r.size_on_disk = hashes->sizes_on_disk[i];
    if (layout->files[i].size == 0) {
      // Never opened by the hasher: it has no bytes. Check it exists.
      struct stat st {};
      if (::stat(sources[i].disk_path.c_str(), &st) != 0) {
        r.issue = file_issue::missing;
      } else if (st.st_size != 0) {
        r.issue = file_issue::wrong_size;
        r.size_on_disk = static_cast<std::uint64_t>(st.st_size);
      }
    }
  }
  for (std::uint32_t p = 0; p < layout->num_pieces; ++p) {
    if (!bad[p]) continue;
    report.bad_pieces.push_back(p);
    auto start = layout->piece_offset(p);
    auto end = start + layout->piece_size(p);
    for (auto fi = layout->file_at(start);
         fi < layout->files.size() && layout->files[fi].offset < end; ++fi) {
      if (result_of[fi] != static_cast<std::size_t>(-1) && layout->files[fi].size > 0) {
        ++report.files[result_of[fi]].bad_pieces;
      }
    }
  }
  return report;
}

}  // namespace blobswarm::torrentgen
