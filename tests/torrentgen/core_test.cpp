// The pure parts of torrentgen: piece sizes, path order, UTF-8 checks,
// excludes, option parsers, the progress line and v2 merkle helpers.
#include <gtest/gtest.h>

#include <algorithm>

#include "common/hasher.hpp"
#include "torrentgen/exclude_filter.hpp"
#include "torrentgen/merkle.hpp"
#include "torrentgen/option_parsers.hpp"
#include "torrentgen/piece_size.hpp"
#include "torrentgen/progress_bar.hpp"
#include "torrentgen/torrent_format.hpp"
#include "torrentgen/torrent_layout.hpp"
#include "torrentgen/torrent_path.hpp"

namespace blobswarm::torrentgen {
namespace {

constexpr std::uint64_t KiB = 1024, MiB = KiB * KiB, GiB = MiB * KiB;

TEST(piece_size, auto_aims_at_1000_to_2000_pieces_within_16k_to_16m) {
  struct row {
    std::uint64_t total;
    std::uint32_t want;
  } rows[] = {
      {1, 16 * KiB},
      {16 * KiB, 16 * KiB},
      {2000 * 16 * KiB, 16 * KiB},
      {2000 * 16 * KiB + 1, 32 * KiB},
      {GiB, MiB},  // 1024 pieces
      {10 * GiB, 8 * MiB},
      {4 * GiB, 4 * MiB},
      {1000 * GiB, 16 * MiB},  // capped: 64000 pieces
  };
  for (const auto& r : rows) {
    EXPECT_EQ(auto_piece_size(r.total), r.want) << r.total;
  }
  for (std::uint64_t total = 40 * MiB; total < 30 * GiB; total = total * 3 / 2 + 12345) {
    auto p = auto_piece_size(total);
    auto pieces = (total + p - 1) / p;
    EXPECT_LE(pieces, 2000u) << total;
    EXPECT_GT(pieces, 1000u) << total;
    EXPECT_TRUE(is_valid_piece_size(p));
  }
}

TEST(piece_size, parses_units_and_rejects_bad_sizes) {
  EXPECT_EQ(*parse_piece_size("auto", false), 0u);
  EXPECT_EQ(*parse_piece_size("4MiB", false), 4 * MiB);
  EXPECT_EQ(*parse_piece_size("16KiB", false), 16 * KiB);
  EXPECT_EQ(*parse_piece_size("1M", false), MiB);
  EXPECT_EQ(*parse_piece_size("262144", false), 256 * KiB);
  EXPECT_FALSE(parse_piece_size("8KiB", false));  // below 16 KiB
  EXPECT_FALSE(parse_piece_size("3MiB", false));  // not a power of two
  EXPECT_FALSE(parse_piece_size("1MB", false));   // 10^6 is not a power of two
  EXPECT_FALSE(parse_piece_size("banana", false));
  EXPECT_FALSE(parse_piece_size("", false));
  EXPECT_FALSE(parse_piece_size("32MiB", false));  // > 16 MiB needs --force
  EXPECT_EQ(*parse_piece_size("32MiB", true), 32 * MiB);
  EXPECT_FALSE(parse_piece_size("512MiB", true));  // over the hard limit
  auto e = parse_piece_size("32MiB", false);
  EXPECT_NE(e.error().message.find("--force"), std::string::npos);
}

TEST(torrent_format, parses_names) {
  EXPECT_EQ(*parse_torrent_format("v1"), torrent_format::v1);
  EXPECT_EQ(*parse_torrent_format("v2"), torrent_format::v2);
  EXPECT_EQ(*parse_torrent_format("hybrid"), torrent_format::hybrid);
  EXPECT_FALSE(parse_torrent_format("v3"));
  EXPECT_TRUE(has_v1(torrent_format::hybrid) && has_v2(torrent_format::hybrid));
  EXPECT_FALSE(has_v2(torrent_format::v1));
  EXPECT_FALSE(has_v1(torrent_format::v2));
}

torrent_path p(std::initializer_list<std::string> c) {
  return torrent_path{std::vector<std::string>(c)};
}

TEST(torrent_path, orders_component_by_component_like_the_v2_file_tree) {
  // A plain string sort puts "a.txt" before "a/b" ('.' < '/'); the v2 file
  // tree compares the directory "a" with "a.txt" and puts "a/b" first.
  EXPECT_LT(p({"a", "b"}), p({"a.txt"}));
  EXPECT_LT(std::string("a.txt"), std::string("a/b"));
  EXPECT_LT(p({"a"}), p({"a", "b"}));
  EXPECT_LT(p({"A"}), p({"a"}));
  // Bytes compare unsigned: UTF-8 multibyte names sort after ASCII.
  EXPECT_LT(p({"z"}), p({"\xc3\xa9"}));
  std::vector<torrent_path> v{p({"a.txt"}), p({"b"}), p({"a", "c"}), p({"a", "b", "x"})};
  std::sort(v.begin(), v.end());
  EXPECT_EQ(v[0].str(), "a/b/x");
  EXPECT_EQ(v[1].str(), "a/c");
  EXPECT_EQ(v[2].str(), "a.txt");
  EXPECT_EQ(v[3].str(), "b");
}

TEST(torrent_path, validates_utf8_strictly) {
  EXPECT_TRUE(is_valid_utf8("plain.txt"));
  EXPECT_TRUE(is_valid_utf8("\xc3\xa9t\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80"));
  EXPECT_FALSE(is_valid_utf8("bad\xff"));
  EXPECT_FALSE(is_valid_utf8("\xc0\xaf"));          // overlong '/'
  EXPECT_FALSE(is_valid_utf8("\xed\xa0\x80"));      // surrogate
  EXPECT_FALSE(is_valid_utf8("\xf4\x90\x80\x80"));  // above U+10FFFF
  EXPECT_FALSE(is_valid_utf8("\xe2\x82"));          // truncated
  EXPECT_EQ(printable("a\xff"
                      "b\nc\xc3\xa9"),
            "a\\xffb\\x0ac\xc3\xa9");
}

TEST(exclude_filter, matches_names_anywhere_and_paths_from_the_root) {
  auto f = exclude_filter::make({"*.tmp", ".git", "build/*.o", "logs/", "/top"});
  ASSERT_TRUE(f);
  EXPECT_TRUE(f->excluded("x.tmp"));
  EXPECT_TRUE(f->excluded("deep/er/x.tmp"));
  EXPECT_TRUE(f->excluded(".git"));
  EXPECT_TRUE(f->excluded("sub/.git"));
  EXPECT_TRUE(f->excluded("build/a.o"));
  EXPECT_FALSE(f->excluded("build/sub/a.o"));  // '*' does not cross '/'
  EXPECT_FALSE(f->excluded("src/build/a.o"));  // a path glob is anchored
  EXPECT_TRUE(f->excluded("logs"));
  EXPECT_TRUE(f->excluded("a/logs"));
  EXPECT_TRUE(f->excluded("top"));
  EXPECT_FALSE(f->excluded("a/top"));
  EXPECT_FALSE(f->excluded("keep.txt"));
  EXPECT_FALSE(exclude_filter::make({"/"}));
  EXPECT_FALSE(exclude_filter::make({""}));
}

TEST(option_parsers, tracker_tiers_split_on_commas) {
  auto t = parse_tracker_tier("http://a/announce, udp://b:80");
  ASSERT_TRUE(t) << t.error().message;
  EXPECT_EQ(*t, (std::vector<std::string>{"http://a/announce", "udp://b:80"}));
  EXPECT_EQ(parse_tracker_tier("HTTPS://x/announce")->size(), 1u);
  EXPECT_FALSE(parse_tracker_tier(""));
  EXPECT_FALSE(parse_tracker_tier("http://a,"));
  EXPECT_FALSE(parse_tracker_tier("ftp://a"));
  EXPECT_FALSE(parse_tracker_tier("tracker.example"));
  EXPECT_FALSE(parse_tracker_tier("http://a b"));
  EXPECT_TRUE(parse_web_seed("https://mirror/x"));
  EXPECT_FALSE(parse_web_seed("mirror/x"));
}

TEST(option_parsers, dates) {
  EXPECT_FALSE(parse_creation_date("none", 5)->has_value());
  EXPECT_EQ(**parse_creation_date("now", 5), 5);
  EXPECT_EQ(**parse_creation_date("1700000000", 5), 1700000000);
  EXPECT_FALSE(parse_creation_date("-1", 5));
  EXPECT_FALSE(parse_creation_date("0", 5));
  EXPECT_FALSE(parse_creation_date("yesterday", 5));
  EXPECT_FALSE(parse_creation_date("", 5));
  EXPECT_FALSE(parse_creation_date("99999999999999", 5));
}

TEST(progress_bar, shows_percent_rate_and_eta) {
  auto line = progress_bar::render("hashing", 50'000'000, 200'000'000, 0.5, 10);
  EXPECT_NE(line.find(" 25.0%"), std::string::npos) << line;
  EXPECT_NE(line.find("[##        ]"), std::string::npos) << line;
  EXPECT_NE(line.find("100.0 MB/s"), std::string::npos) << line;
  EXPECT_NE(line.find("ETA 0:02"), std::string::npos) << line;  // 150 MB at 100 MB/s
  auto done = progress_bar::render("hashing", 7, 7, 1.0, 10);
  EXPECT_NE(done.find("100.0%"), std::string::npos) << done;
  EXPECT_NE(done.find("ETA 0:00"), std::string::npos) << done;
  EXPECT_NE(progress_bar::render("x", 0, 10, 0, 10).find("ETA --:--"), std::string::npos);
  EXPECT_NE(progress_bar::render("x", 1, 100000, 1, 10).find("ETA 27:46:39"), std::string::npos);
}

// Reference merkle root straight from BEP 52's definition, for comparison.
std::string ref_root(std::vector<std::string> level, std::size_t width) {
  std::string pad(32, '\0');
  while (level.size() < width) level.push_back(pad);
  while (level.size() > 1) {
    std::vector<std::string> up;
    for (std::size_t i = 0; i < level.size(); i += 2) up.push_back(sha256(level[i] + level[i + 1]));
    level = up;
  }
  return level[0];
}

TEST(merkle, root_matches_the_definition) {
  digest_engine e(hash_algorithm::sha256);
  for (std::size_t n : {1u, 2u, 3u, 5u, 8u, 13u}) {
    for (std::size_t width : {merkle_width(n), merkle_width(n) * 4}) {
      std::vector<std::string> leaves;
      std::vector<lt::sha256_hash> ours;
      for (std::size_t i = 0; i < n; ++i) {
        leaves.push_back(sha256(std::string(i + 1, 'x')));
        ours.emplace_back(leaves.back().data());
      }
      auto root = merkle_root_in_place(ours, width, e);
      EXPECT_EQ(root.to_string(), ref_root(leaves, width)) << n << " " << width;
    }
  }
  EXPECT_EQ(merkle_pad(4, e).to_string(), ref_root({}, 4));
  EXPECT_EQ(merkle_width(0), 1u);
  EXPECT_EQ(merkle_width(5), 8u);
  // Files below one piece pad to their own power of two, others to a piece.
  EXPECT_EQ(piece_leaf_width(3 * 16384 + 1, 1 << 20), 4u);
  EXPECT_EQ(piece_leaf_width(1 << 20, 1 << 20), 64u);
  EXPECT_EQ(piece_leaf_width(5 << 20, 1 << 20), 64u);
}

TEST(torrent_layout, rejects_what_hashing_cannot_handle) {
  std::vector<layout_file> ok{
      {"t/a", 0, 100, false}, {"t/.pad/x", 100, 16284, true}, {"t/b", 16384, 5, false}};
  auto l = torrent_layout::make(16384, ok, true, true);
  ASSERT_TRUE(l) << l.error().message;
  EXPECT_EQ(l->num_pieces, 2u);
  EXPECT_EQ(l->piece_size(1), 5u);
  EXPECT_EQ(l->file_at(0), 0u);
  EXPECT_EQ(l->file_at(100), 1u);
  EXPECT_EQ(l->file_at(16384), 2u);
  auto gap = ok;
  gap[2].offset = 20000;
  EXPECT_FALSE(torrent_layout::make(16384, gap, true, false));
  std::vector<layout_file> unaligned{{"t/a", 0, 100, false}, {"t/b", 100, 5, false}};
  EXPECT_TRUE(torrent_layout::make(16384, unaligned, true, false));                // fine for v1
  EXPECT_FALSE(torrent_layout::make(16384, unaligned, true, true));                // not for v2
  EXPECT_FALSE(torrent_layout::make(16384, {{"t/a", 0, 0, false}}, true, false));  // 0 bytes
  EXPECT_FALSE(torrent_layout::make(10000, ok, true, false));
}

}  // namespace
}  // namespace blobswarm::torrentgen
