// What /files knows about a torrent: its files relative to its directory,
// padding never among them, the info-hash it must have, v2-only refused.
#include "mirror/file_torrent.hpp"

#include <gtest/gtest.h>

#include <libtorrent/bencode.hpp>
#include <libtorrent/create_torrent.hpp>
#include <libtorrent/torrent_info.hpp>

#include "tests/support/support.hpp"

namespace blobswarm::mirror {
namespace {

namespace fs = std::filesystem;

// A private .torrent of `root` made by libtorrent (v1, hybrid or v2).
std::string make_torrent(const fs::path& root, lt::create_flags_t flags) {
  lt::file_storage files;
  lt::add_files(files, root.string());
  lt::create_torrent ct(files, 64 * 1024, flags);
  ct.set_priv(true);
  lt::set_piece_hashes(ct, root.parent_path().string());
  std::string out;
  lt::bencode(std::back_inserter(out), ct.generate());
  return out;
}

info_hash v1_of(const std::string& torrent) {
  lt::torrent_info ti(torrent.data(), static_cast<int>(torrent.size()));
  auto v1 = ti.info_hashes().v1;
  return *info_hash::from_raw(std::string_view(v1.data(), v1.size()));
}

info_hash v2_of(const std::string& torrent) {
  lt::torrent_info ti(torrent.data(), static_cast<int>(torrent.size()));
  auto v2 = ti.info_hashes().v2;
  return *info_hash::from_raw(std::string_view(v2.data(), v2.size()));
}

struct tree {
  test::temp_dir dir;
  fs::path root = dir / "dataset";
  tree() {
    fs::create_directories(root / "sub");
    test::write_text(root / "a.bin", test::random_bytes(100000, 1));
    test::write_text(root / "sub" / "b c.bin", test::random_bytes(70000, 2));
  }
};

TEST(file_torrent, lists_a_directory_torrents_files_relative_to_its_directory) {
  tree t;
  auto bytes = make_torrent(t.root, lt::create_torrent::v1_only);
  auto ft = file_torrent::parse(bytes, v1_of(bytes));
  ASSERT_TRUE(ft) << ft.error().message;
  EXPECT_TRUE(ft->is_directory());
  EXPECT_FALSE(ft->hybrid());
  EXPECT_EQ(ft->name(), "dataset");
  ASSERT_EQ(ft->files().size(), 2u);
  EXPECT_EQ(ft->files()[0].path, "a.bin");
  EXPECT_EQ(ft->files()[1].path, "sub/b c.bin");
  EXPECT_EQ(ft->files()[1].offset, 100000u);
  EXPECT_EQ(ft->size(), 170000u);
  ASSERT_NE(ft->find("sub/b c.bin"), nullptr);
  EXPECT_EQ(ft->find("sub/b c.bin")->size, 70000u);
  EXPECT_EQ(ft->find("dataset/a.bin"), nullptr);
  EXPECT_EQ(ft->find("sub"), nullptr);
  EXPECT_EQ(ft->under("sub/").size(), 1u);
  EXPECT_EQ(ft->under("").size(), 2u);
  EXPECT_EQ(ft->piece_count(), 3);
  EXPECT_EQ(ft->piece_size(2), 170000u - 2 * 65536u);
  EXPECT_EQ(ft->piece_at(131072), 2);
}

TEST(file_torrent, finds_a_single_files_torrent_by_its_name) {
  tree t;
  auto bytes = make_torrent(t.root / "a.bin", lt::create_torrent::v1_only);
  auto ft = file_torrent::parse(bytes, v1_of(bytes));
  ASSERT_TRUE(ft);
  EXPECT_FALSE(ft->is_directory());
  ASSERT_NE(ft->find("a.bin"), nullptr);
  EXPECT_EQ(ft->find("a.bin"), &ft->files().front());
}

TEST(file_torrent, hides_the_padding_of_a_hybrid_torrent_and_takes_either_hash) {
  tree t;
  auto bytes = make_torrent(t.root, {});
  lt::torrent_info ti(bytes.data(), static_cast<int>(bytes.size()));
  ASSERT_GT(ti.num_files(), 2) << "expected padding files in a hybrid torrent";
  for (const auto& ih : {v1_of(bytes), v2_of(bytes)}) {
    auto ft = file_torrent::parse(bytes, ih);
    ASSERT_TRUE(ft) << ft.error().message;
    EXPECT_TRUE(ft->hybrid());
    EXPECT_EQ(ft->id(), v1_of(bytes));
    ASSERT_EQ(ft->files().size(), 2u);
    for (const auto& f : ft->files()) EXPECT_EQ(f.path.find(".pad"), std::string::npos) << f.path;
    EXPECT_EQ(ft->size(), 170000u);
    EXPECT_EQ(ft->files()[1].offset, 131072u);  // after the padding
  }
}

TEST(file_torrent, refuses_v2_only_torrents_saying_why) {
  tree t;
  auto bytes = make_torrent(t.root, lt::create_torrent::v2_only);
  auto ft = file_torrent::parse(bytes, v2_of(bytes));
  ASSERT_FALSE(ft);
  EXPECT_EQ(ft.error().code, errc::unsupported);
  EXPECT_NE(ft.error().message.find("v2 only"), std::string::npos) << ft.error().message;
}

TEST(file_torrent, refuses_a_torrent_with_another_info_hash_or_none) {
  tree t;
  auto bytes = make_torrent(t.root, lt::create_torrent::v1_only);
  auto other = *info_hash::from_hex("0123456789abcdef0123456789abcdef01234567");
  auto ft = file_torrent::parse(bytes, other);
  ASSERT_FALSE(ft);
  EXPECT_EQ(ft.error().code, errc::digest_mismatch);
  auto junk = file_torrent::parse("not bencode", other);
  ASSERT_FALSE(junk);
  EXPECT_EQ(junk.error().code, errc::invalid_argument);
}

}  // namespace
}  // namespace blobswarm::mirror
