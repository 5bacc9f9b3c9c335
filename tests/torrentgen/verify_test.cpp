// verify_torrent: finds flipped bytes, truncated, missing, oversized and
// unreadable files for v1, v2 and hybrid torrents, and names the pieces
// and files involved.
#include <gtest/gtest.h>
#include <unistd.h>

#include <fstream>

#include "tests/torrentgen/tg_support.hpp"
#include "torrentgen/source_tree.hpp"
#include "torrentgen/torrent_builder.hpp"
#include "torrentgen/torrent_summary.hpp"
#include "torrentgen/verifier.hpp"

namespace blobswarm::torrentgen {
namespace {

namespace fs = std::filesystem;
using testing::make_files;

struct fixture {
  test::temp_dir dir;
  std::shared_ptr<const lt::torrent_info> ti;

  explicit fixture(torrent_format format) {
    make_files(dir / "data", {{"a.txt", 100000}, {"a/b", 50000}, {"z", 70000}, {"e", 0}});
    auto tree = source_tree::scan(dir / "data", {});
    EXPECT_TRUE(tree);
    auto t = make_torrent(*tree, {.format = format, .piece_size = 16384});
    EXPECT_TRUE(t) << t.error().message;
    auto loaded = load_torrent_info(t->data);
    EXPECT_TRUE(loaded) << loaded.error().message;
    ti = *loaded;
  }
  verify_report check() {
    auto r = verify_torrent(*ti, dir / "data", {});
    EXPECT_TRUE(r) << r.error().message;
    return r ? *r : verify_report{};
  }
  const verify_report::file_result& file(const verify_report& r, const std::string& name) {
    for (const auto& f : r.files) {
      if (f.path == "data/" + name) return f;
    }
    throw std::runtime_error("no file " + name);
  }
};

void flip_byte(const fs::path& p, std::uint64_t offset) {
  std::fstream f(p, std::ios::in | std::ios::out | std::ios::binary);
  f.seekg(static_cast<std::streamoff>(offset));
  char c = 0;
  f.read(&c, 1);
  c = static_cast<char>(c ^ 0x01);
  f.seekp(static_cast<std::streamoff>(offset));
  f.write(&c, 1);
}

class verify : public ::testing::TestWithParam<torrent_format> {};

TEST_P(verify, passes_intact_data) {
  fixture fx(GetParam());
  auto r = fx.check();
  EXPECT_TRUE(r.ok());
  EXPECT_TRUE(r.bad_pieces.empty());
  EXPECT_EQ(r.files.size(), 4u);
}

TEST_P(verify, detects_a_flipped_byte_in_its_piece_only) {
  fixture fx(GetParam());
  flip_byte(fx.dir / "data" / "a.txt", 40000);  // the 3rd block of a.txt
  auto r = fx.check();
  EXPECT_FALSE(r.ok());
  ASSERT_EQ(r.bad_pieces.size(), 1u);
  EXPECT_EQ(fx.file(r, "a.txt").bad_pieces, 1u);
  EXPECT_EQ(fx.file(r, "a.txt").issue, file_issue::none);
  EXPECT_EQ(fx.file(r, "z").bad_pieces, 0u);
  EXPECT_EQ(fx.file(r, "a/b").bad_pieces, 0u);
}

TEST_P(verify, detects_a_truncated_file) {
  fixture fx(GetParam());
  ASSERT_EQ(::truncate((fx.dir / "data" / "z").c_str(), 30000), 0);
  auto r = fx.check();
  EXPECT_FALSE(r.ok());
  const auto& z = fx.file(r, "z");
  EXPECT_EQ(z.issue, file_issue::wrong_size);
  EXPECT_EQ(z.size_on_disk, 30000u);
  EXPECT_GE(z.bad_pieces, 2u);  // bytes 30000..70000 span at least 2 pieces
  EXPECT_EQ(fx.file(r, "a.txt").bad_pieces, 0u);
}

TEST_P(verify, detects_missing_files_including_empty_ones) {
  fixture fx(GetParam());
  fs::remove(fx.dir / "data" / "a" / "b");
  fs::remove(fx.dir / "data" / "e");
  auto r = fx.check();
  EXPECT_FALSE(r.ok());
  EXPECT_EQ(fx.file(r, "a/b").issue, file_issue::missing);
  EXPECT_GE(fx.file(r, "a/b").bad_pieces, 4u);
  EXPECT_EQ(fx.file(r, "e").issue, file_issue::missing);
  EXPECT_EQ(fx.file(r, "z").issue, file_issue::none);
}

TEST_P(verify, detects_extra_bytes_at_the_end) {
  fixture fx(GetParam());
  std::ofstream(fx.dir / "data" / "z", std::ios::app) << "trailing";
  auto r = fx.check();
  EXPECT_FALSE(r.ok());
  EXPECT_EQ(fx.file(r, "z").issue, file_issue::wrong_size);
  EXPECT_EQ(fx.file(r, "z").size_on_disk, 70008u);
}

INSTANTIATE_TEST_SUITE_P(formats, verify,
                         ::testing::Values(torrent_format::v1, torrent_format::v2,
                                           torrent_format::hybrid),
                         [](const auto& info) { return std::string(to_string(info.param)); });

TEST(verify_v2, checks_piece_layers_not_just_v1_hashes) {
  // A v2-only torrent has no SHA-1s: a flipped byte must be found through
  // the piece layer of a multi-piece file.
  fixture fx(torrent_format::v2);
  flip_byte(fx.dir / "data" / "a.txt", 99999);  // last piece of a 7-piece file
  auto r = fx.check();
  ASSERT_EQ(r.bad_pieces.size(), 1u);
  EXPECT_EQ(fx.file(r, "a.txt").bad_pieces, 1u);
}

TEST(verify_paths, finds_the_data_from_the_parent_directory_too) {
  fixture fx(torrent_format::hybrid);
  auto r = verify_torrent(*fx.ti, fx.dir.path(), {});
  ASSERT_TRUE(r);
  EXPECT_TRUE(r->ok());
  auto missing = verify_torrent(*fx.ti, fx.dir / "nothing-here", {});
  ASSERT_FALSE(missing);
  EXPECT_NE(missing.error().message.find("nothing-here"), std::string::npos);
}

}  // namespace
}  // namespace blobswarm::torrentgen
