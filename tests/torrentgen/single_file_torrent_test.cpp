// The seeder-facing pieces: streaming piece hashes and deterministic torrents.
#include "torrentgen/single_file_torrent.hpp"

#include <gtest/gtest.h>

#include <libtorrent/torrent_info.hpp>

#include "common/hasher.hpp"
#include "tests/support/support.hpp"
#include "torrentgen/piece_hasher.hpp"

namespace blobswarm::torrentgen {
namespace {

std::span<const std::byte> bytes_of(std::string_view s) {
  return std::as_bytes(std::span(s.data(), s.size()));
}

TEST(piece_hasher, hashes_are_independent_of_chunking) {
  auto data = test::random_bytes(100000, 5);
  piece_hasher whole(16384), dribble(16384);
  whole.update(bytes_of(data));
  whole.finish();
  for (std::size_t i = 0; i < data.size(); i += 777) {
    dribble.update(bytes_of(std::string_view(data).substr(i, 777)));
  }
  dribble.finish();
  ASSERT_EQ(whole.hashes().size(), 7u);  // 6 full pieces and a short one
  EXPECT_EQ(whole.hashes(), dribble.hashes());
  EXPECT_EQ(whole.hashes()[0], sha1(std::string_view(data).substr(0, 16384)));
  EXPECT_EQ(whole.hashes()[6], sha1(std::string_view(data).substr(6 * 16384)));
  EXPECT_EQ(whole.bytes(), data.size());
}

TEST(single_file_torrent, is_deterministic_private_and_loads_in_libtorrent) {
  auto data = test::random_bytes(70000, 9);
  piece_hasher h(16384);
  h.update(bytes_of(data));
  h.finish();
  single_file_torrent spec{
      .name = "blob", .size = data.size(), .piece_size = 16384, .piece_hashes = h.hashes()};
  auto a = make_single_file_torrent(spec);
  ASSERT_TRUE(a) << a.error().message;
  auto b = make_single_file_torrent(spec);
  EXPECT_EQ(*a, *b);
  EXPECT_EQ(a->find("creation date"), std::string::npos);
  lt::error_code ec;
  lt::torrent_info ti(a->data(), static_cast<int>(a->size()), ec);
  ASSERT_FALSE(ec) << ec.message();
  EXPECT_TRUE(ti.priv());
  EXPECT_EQ(ti.num_pieces(), 5);
  EXPECT_EQ(ti.total_size(), 70000);
  EXPECT_EQ(ti.name(), "blob");

  // Trackers live outside the info dictionary: same info-hash.
  spec.tracker_tiers = {{"http://127.0.0.1:6969/announce/x"}};
  auto c = make_single_file_torrent(spec);
  lt::torrent_info tc(c->data(), static_cast<int>(c->size()), ec);
  EXPECT_EQ(tc.info_hashes().v1, ti.info_hashes().v1);
  EXPECT_NE(*c, *a);
}

TEST(single_file_torrent, rejects_inconsistent_specs) {
  std::vector<std::string> one{std::string(20, 'x')};
  EXPECT_FALSE(make_single_file_torrent(
      {.name = "a/b", .size = 1, .piece_size = 16384, .piece_hashes = one}));
  EXPECT_FALSE(
      make_single_file_torrent({.name = "a", .size = 0, .piece_size = 16384, .piece_hashes = one}));
  EXPECT_FALSE(
      make_single_file_torrent({.name = "a", .size = 1, .piece_size = 10000, .piece_hashes = one}));
  EXPECT_FALSE(make_single_file_torrent(
      {.name = "a", .size = 20000, .piece_size = 16384, .piece_hashes = one}));
  std::vector<std::string> bad{std::string(19, 'x')};
  EXPECT_FALSE(
      make_single_file_torrent({.name = "a", .size = 1, .piece_size = 16384, .piece_hashes = bad}));
}

}  // namespace
}  // namespace blobswarm::torrentgen
