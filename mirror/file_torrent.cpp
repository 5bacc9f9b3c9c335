#include "mirror/file_torrent.hpp"

#include <algorithm>
#include <libtorrent/file_storage.hpp>
#include <libtorrent/torrent_info.hpp>

namespace blobswarm::mirror {

result<file_torrent> file_torrent::parse(std::string_view bytes, const info_hash& expected) {
  lt::error_code ec;
  auto ti = std::make_shared<lt::torrent_info>(bytes.data(), static_cast<int>(bytes.size()), ec);
  if (ec) return fail(errc::invalid_argument, "not a valid .torrent: {}", ec.message());
  const auto& hashes = ti->info_hashes();
  // The hash the caller named must be the one the info dictionary has.
  std::optional<info_hash> named;
  if (expected.is_v1() && hashes.has_v1()) {
    named = info_hash::from_raw(std::string_view(hashes.v1.data(), hashes.v1.size())).value();
  } else if (expected.is_v2() && hashes.has_v2()) {
    named = info_hash::from_raw(std::string_view(hashes.v2.data(), hashes.v2.size())).value();
  }
  if (!named || *named != expected) {
    return fail(errc::digest_mismatch, "the .torrent fetched for {} has another info-hash",
                expected.hex());
  }
  if (!hashes.has_v1()) {
    return fail(
        errc::unsupported,
        "torrent {} is BitTorrent v2 only: this node verifies the pieces it serves by their "
        "v1 SHA-1 hashes, which a v2-only torrent lacks; make it v1 or hybrid (torrentgen "
        "create --format hybrid)",
        expected.hex());
  }
  auto v1 = info_hash::from_raw(std::string_view(hashes.v1.data(), hashes.v1.size()));
  if (ti->total_size() <= 0) return fail(errc::invalid_argument, "torrent {} is empty", v1->hex());

  file_torrent t;
  t.id_ = *v1;
  t.name_ = ti->name();
  t.hybrid_ = hashes.has_v2();
  const auto& fs = ti->files();
  std::string root = t.name_ + "/";
  for (auto f : fs.file_range()) {
    if (fs.pad_file_at(f)) continue;
    auto path = fs.file_path(f);
    if (path.starts_with(root)) path.erase(0, root.size());
    t.files_.push_back(
        torrent_file_entry{std::move(path), static_cast<std::uint64_t>(fs.file_offset(f)),
                           static_cast<std::uint64_t>(fs.file_size(f)), static_cast<int>(f)});
    t.size_ += static_cast<std::uint64_t>(fs.file_size(f));
  }
  t.directory_ =
      t.files_.size() != 1 || fs.file_path(lt::file_index_t(t.files_[0].index)) != t.name_;
  t.total_ = static_cast<std::uint64_t>(fs.total_size());
  t.piece_length_ = static_cast<std::uint32_t>(ti->piece_length());
  t.piece_count_ = ti->num_pieces();
  t.info_ = std::move(ti);
  t.bytes_ = std::string(bytes);
  return t;
}

std::uint32_t file_torrent::piece_size(int p) const noexcept {
  auto start = piece_offset(p);
  if (start >= total_) return 0;
  return static_cast<std::uint32_t>(std::min<std::uint64_t>(piece_length_, total_ - start));
}

const torrent_file_entry* file_torrent::find(std::string_view path) const noexcept {
  if (!directory_ && path == name_) return &files_.front();
  for (const auto& f : files_) {
    if (f.path == path) return &f;
  }
  return nullptr;
}

std::vector<const torrent_file_entry*> file_torrent::under(std::string_view prefix) const {
  std::vector<const torrent_file_entry*> out;
  for (const auto& f : files_) {
    if (std::string_view(f.path).starts_with(prefix)) out.push_back(&f);
  }
  return out;
}

}  // namespace blobswarm::mirror
