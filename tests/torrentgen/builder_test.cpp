// make_torrent against libtorrent itself: for v1, v2 and hybrid, over files
// sized around block and piece boundaries, our parallel hashing must give
// byte-for-byte the .torrent that libtorrent's own set_piece_hashes() makes
// from the same file list. Also: determinism, threads and read sizes do not
// change results, and files changing during hashing are caught.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#include <fstream>
#include <libtorrent/bencode.hpp>
#include <libtorrent/create_torrent.hpp>
#include <libtorrent/torrent_info.hpp>

#include "tests/torrentgen/tg_support.hpp"
#include "torrentgen/hash_pipeline.hpp"
#include "torrentgen/source_tree.hpp"
#include "torrentgen/torrent_builder.hpp"
#include "torrentgen/torrent_layout.hpp"

namespace blobswarm::torrentgen {
namespace {

namespace fs = std::filesystem;
using testing::file_spec;
using testing::make_files;
using testing::tricky_tree;

// What libtorrent makes from the same files, in the same (canonical) order.
std::string libtorrent_reference(const source_tree& tree, torrent_format format, int piece) {
  lt::file_storage fs;
  for (const auto& f : tree.files()) {
    fs.add_file(tree.single_file() ? tree.name() : tree.name() + "/" + f.path.str(),
                static_cast<std::int64_t>(f.snapshot.size));
  }
  lt::create_flags_t flags{};
  if (format == torrent_format::v1) flags |= lt::create_torrent::v1_only;
  if (format == torrent_format::v2) flags |= lt::create_torrent::v2_only;
  lt::create_torrent ct(fs, piece, flags);
  lt::error_code ec;
  lt::set_piece_hashes(ct, tree.root().parent_path().string(), ec);
  EXPECT_FALSE(ec) << ec.message();
  ct.set_creation_date(0);
  std::string out;
  lt::bencode(std::back_inserter(out), ct.generate());
  return out;
}

class matches_libtorrent : public ::testing::TestWithParam<std::tuple<torrent_format, int>> {};

TEST_P(matches_libtorrent, byte_for_byte_for_a_directory) {
  auto [format, piece] = GetParam();
  test::temp_dir dir;
  make_files(dir / "data", tricky_tree(static_cast<std::size_t>(piece)));
  auto tree = source_tree::scan(dir / "data", {});
  ASSERT_TRUE(tree) << tree.error().message;
  auto ours =
      make_torrent(*tree, {.format = format, .piece_size = static_cast<std::uint32_t>(piece)});
  ASSERT_TRUE(ours) << ours.error().message;
  auto ref = libtorrent_reference(*tree, format, piece);
  EXPECT_EQ(ours->data, ref);
  EXPECT_EQ(ours->summary.files.size(), tree->files().size());
}

TEST_P(matches_libtorrent, byte_for_byte_for_single_files) {
  auto [format, piece] = GetParam();
  for (std::size_t size : {std::size_t(1), std::size_t(16384), std::size_t(piece - 1),
                           std::size_t(piece), std::size_t(piece) * 3 + 16385}) {
    test::temp_dir dir;
    make_files(dir.path(), {{"blob.bin", size}});
    auto tree = source_tree::scan(dir / "blob.bin", {});
    ASSERT_TRUE(tree) << tree.error().message;
    EXPECT_TRUE(tree->single_file());
    auto ours =
        make_torrent(*tree, {.format = format, .piece_size = static_cast<std::uint32_t>(piece)});
    ASSERT_TRUE(ours) << ours.error().message;
    EXPECT_EQ(ours->data, libtorrent_reference(*tree, format, piece)) << "size " << size;
  }
}

INSTANTIATE_TEST_SUITE_P(formats_and_pieces, matches_libtorrent,
                         ::testing::Combine(::testing::Values(torrent_format::v1,
                                                              torrent_format::v2,
                                                              torrent_format::hybrid),
                                            ::testing::Values(16384, 65536)),
                         [](const auto& info) {
                           return std::string(to_string(std::get<0>(info.param))) + "_" +
                                  std::to_string(std::get<1>(info.param) / 1024) + "k";
                         });

TEST(make_torrent, threads_and_read_sizes_do_not_change_hashes) {
  test::temp_dir dir;
  make_files(dir / "data", tricky_tree(32768));
  auto tree = source_tree::scan(dir / "data", {});
  ASSERT_TRUE(tree);
  std::vector<lt::sha1_hash> v1;
  std::vector<std::vector<lt::sha256_hash>> v2;
  lt::file_storage fs;
  for (const auto& f : tree->files()) {
    fs.add_file("data/" + f.path.str(), static_cast<std::int64_t>(f.snapshot.size));
  }
  lt::create_torrent ct(fs, 32768);  // hybrid layout, with pad files
  auto layout = torrent_layout::from(ct.files(), true, true);
  ASSERT_TRUE(layout) << layout.error().message;
  std::vector<hash_source> sources(layout->files.size());
  for (std::size_t i = 0; i < layout->files.size(); ++i) {
    if (!layout->files[i].pad) sources[i].disk_path = dir / layout->files[i].path;
  }
  bool first = true;
  for (unsigned threads : {1u, 2u, 7u}) {
    for (std::size_t chunk : {std::size_t(16384), std::size_t(32768), std::size_t(1) << 20}) {
      auto h = hash_pipeline::run(*layout, sources, {.threads = threads, .chunk_size = chunk});
      ASSERT_TRUE(h) << h.error().message;
      if (first) {
        v1 = h->v1;
        v2 = h->v2;
        first = false;
      } else {
        EXPECT_EQ(h->v1, v1) << threads << " threads, chunk " << chunk;
        EXPECT_EQ(h->v2, v2) << threads << " threads, chunk " << chunk;
      }
    }
  }
}

TEST(make_torrent, is_deterministic_and_ignores_mtimes_and_modes) {
  test::temp_dir a, b;
  make_files(a / "data", tricky_tree(16384), 7);
  make_files(b / "data", tricky_tree(16384), 7);
  // Different times and permissions on the second copy.
  for (const auto& e : fs::recursive_directory_iterator(b / "data")) {
    struct timeval tv[2] = {{1000000, 0}, {1000000, 0}};
    ::utimes(e.path().c_str(), tv);
    if (e.is_regular_file()) ::chmod(e.path().c_str(), 0755);
  }
  create_options o{.is_private = true, .trackers = {{"http://127.0.0.1:1/announce"}}};
  auto ta = source_tree::scan(a / "data", {});
  auto tb = source_tree::scan(b / "data", {});
  auto x = make_torrent(*ta, o);
  auto y = make_torrent(*tb, o);
  auto z = make_torrent(*ta, o);
  ASSERT_TRUE(x && y && z);
  EXPECT_EQ(x->data, y->data);
  EXPECT_EQ(x->data, z->data);
  EXPECT_EQ(x->data.find("creation date"), std::string::npos);
  EXPECT_EQ(x->data.find("mtime"), std::string::npos);
  EXPECT_EQ(x->data.find("4:attrx"), std::string::npos);  // no executable attribute
  EXPECT_FALSE(x->summary.creation_date.has_value());

  o.creation_date = 1700000000;
  auto dated = make_torrent(*ta, o);
  ASSERT_TRUE(dated);
  EXPECT_EQ(dated->summary.creation_date, 1700000000);
  EXPECT_EQ(dated->summary.info_hash_v1, x->summary.info_hash_v1);  // outside the info dict
}

TEST(make_torrent, source_and_private_change_the_info_hash_trackers_do_not) {
  test::temp_dir dir;
  make_files(dir.path(), {{"f", 40000}});
  auto tree = source_tree::scan(dir / "f", {});
  ASSERT_TRUE(tree);
  auto base = make_torrent(*tree, {});
  auto tracked = make_torrent(
      *tree, {.trackers = {{"http://t1/announce", "http://t2/announce"}, {"udp://t3:80"}},
              .web_seeds = {"http://mirror/f"},
              .comment = "hello",
              .created_by = "me"});
  auto sourced = make_torrent(*tree, {.source = "SRC"});
  auto priv = make_torrent(*tree, {.is_private = true});
  ASSERT_TRUE(base && tracked && sourced && priv);
  EXPECT_EQ(tracked->summary.info_hash_v1, base->summary.info_hash_v1);
  EXPECT_EQ(tracked->summary.info_hash_v2, base->summary.info_hash_v2);
  EXPECT_NE(sourced->summary.info_hash_v1, base->summary.info_hash_v1);
  EXPECT_NE(sourced->summary.info_hash_v2, base->summary.info_hash_v2);
  EXPECT_NE(priv->summary.info_hash_v1, base->summary.info_hash_v1);
  EXPECT_EQ(sourced->summary.source, "SRC");
  EXPECT_TRUE(priv->summary.is_private);
  const auto& s = tracked->summary;
  ASSERT_EQ(s.trackers.size(), 2u);
  EXPECT_EQ(s.trackers[0], (std::vector<std::string>{"http://t1/announce", "http://t2/announce"}));
  EXPECT_EQ(s.trackers[1], (std::vector<std::string>{"udp://t3:80"}));
  EXPECT_EQ(s.web_seeds, (std::vector<std::string>{"http://mirror/f"}));
  EXPECT_EQ(s.comment, "hello");
  EXPECT_EQ(s.created_by, "me");
}

TEST(make_torrent, fails_when_a_file_shrinks_while_hashing) {
  test::temp_dir dir;
  make_files(dir / "data", {{"a", 4 << 20}, {"b", 4 << 20}});
  auto tree = source_tree::scan(dir / "data", {});
  ASSERT_TRUE(tree);
  bool truncated = false;
  auto r = make_torrent(*tree, {.format = torrent_format::v1,
                                .piece_size = 1 << 20,
                                .threads = 1,
                                .after_run = [&](std::uint32_t) {
                                  if (!truncated) {
                                    truncated = true;
                                    ::truncate((dir / "data" / "b").c_str(), 1000);
                                  }
                                }});
  ASSERT_TRUE(truncated);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("data/b"), std::string::npos) << r.error().message;
  EXPECT_NE(r.error().message.find("changed while hashing"), std::string::npos)
      << r.error().message;
}

TEST(make_torrent, fails_when_a_file_grows_after_it_was_read) {
  test::temp_dir dir;
  make_files(dir / "data", {{"a", 2 << 20}, {"b", 4 << 20}});
  auto tree = source_tree::scan(dir / "data", {});
  ASSERT_TRUE(tree);
  int runs = 0;
  auto r = make_torrent(*tree, {.format = torrent_format::hybrid,
                                .piece_size = 1 << 20,
                                .threads = 1,
                                .after_run = [&](std::uint32_t) {
                                  // After "a" has been read entirely.
                                  if (++runs == 3) {
                                    std::ofstream(dir / "data" / "a", std::ios::app) << "more";
                                  }
                                }});
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("data/a: changed while hashing"), std::string::npos)
      << r.error().message;
}

TEST(source_tree, walks_in_canonical_order_with_excludes_and_symlinks) {
  test::temp_dir dir;
  make_files(dir / "d", {{"a.txt", 1},
                         {"a/b", 1},
                         {"x.tmp", 1},
                         {"sub/.git/config", 1},
                         {"sub/keep", 1},
                         {"build/o.o", 1},
                         {"build/sub/o.o", 1}});
  fs::create_symlink("a.txt", dir / "d" / "link");
  std::vector<std::string> warnings;
  auto t = source_tree::scan(
      dir / "d", {.excludes = {"*.tmp", ".git", "build/*.o"}, .warn = [&](const std::string& w) {
                    warnings.push_back(w);
                  }});
  ASSERT_TRUE(t) << t.error().message;
  std::vector<std::string> got;
  for (const auto& f : t->files()) got.push_back(f.path.str());
  EXPECT_EQ(got, (std::vector<std::string>{"a/b", "a.txt", "build/sub/o.o", "sub/keep"}));
  ASSERT_EQ(warnings.size(), 1u);
  EXPECT_NE(warnings[0].find("symlink"), std::string::npos);
  EXPECT_EQ(t->name(), "d");

  auto followed = source_tree::scan(dir / "d", {.follow_symlinks = true});
  ASSERT_TRUE(followed);
  EXPECT_EQ(followed->files().size(), 8u);  // everything, and the link as a file

  fs::create_symlink("..", dir / "d" / "sub" / "loop");
  auto loop = source_tree::scan(dir / "d", {.follow_symlinks = true});
  ASSERT_FALSE(loop);
  EXPECT_NE(loop.error().message.find("symlink loop"), std::string::npos) << loop.error().message;
}

TEST(source_tree, rejects_bad_input_with_the_path_in_the_message) {
  test::temp_dir dir;
  auto missing = source_tree::scan(dir / "nope", {});
  ASSERT_FALSE(missing);
  EXPECT_NE(missing.error().message.find("nope"), std::string::npos);
  fs::create_directories(dir / "empty" / "sub");
  auto empty = source_tree::scan(dir / "empty", {});
  ASSERT_FALSE(empty);
  EXPECT_NE(empty.error().message.find("no files"), std::string::npos);
  make_files(dir / "zeros", {{"a", 0}, {"b/c", 0}});
  auto zeros = source_tree::scan(dir / "zeros", {});
  ASSERT_FALSE(zeros);
  EXPECT_NE(zeros.error().message.find("0 bytes"), std::string::npos);
  make_files(dir / "bad", {{"ok", 1},
                           {"n\xff"
                            "x",
                            1}});
  auto bad = source_tree::scan(dir / "bad", {});
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().message.find("UTF-8"), std::string::npos);
  EXPECT_NE(bad.error().message.find("n\\xffx"), std::string::npos) << bad.error().message;
}

}  // namespace
}  // namespace blobswarm::torrentgen
