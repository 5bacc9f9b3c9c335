// .torrent inspection and announce-URL substitution, peer snapshots and the
// access log's redaction; no sockets. The index of record itself (users,
// registrations, counters, on sqlite and PostgreSQL) is store_test.cpp.
#include <gtest/gtest.h>

#include <fstream>
#include <libtorrent/bdecode.hpp>
#include <libtorrent/torrent_info.hpp>

#include "common/hasher.hpp"
#include "common/hex.hpp"
#include "common/http/url.hpp"
#include "db/database.hpp"
#include "tests/support/support.hpp"
#include "tests/tracker/torrent_maker.hpp"
#include "tracker/announcer.hpp"
#include "tracker/catalog.hpp"
#include "tracker/log_target.hpp"
#include "tracker/peer_snapshot.hpp"
#include "tracker/torrent_file.hpp"

namespace blobswarm::tracker {
namespace {

using test_support::make_torrent;
using test_support::torrent_kind;

std::filesystem::path write_blob(const test::temp_dir& dir, const std::string& name,
                                 std::size_t size, std::uint64_t seed) {
  auto path = dir / name;
  test::write_text(path, test::random_bytes(size, seed));
  return path;
}

TEST(torrent_file, inspects_v1_and_hybrid_torrents) {
  test::temp_dir dir;
  auto v1 = make_torrent(write_blob(dir, "a.bin", 100000, 1), torrent_kind::v1);
  auto m = inspect_torrent(v1.bytes);
  ASSERT_TRUE(m) << m.error().message;
  EXPECT_EQ(m->v1->hex(), v1.v1_hex);
  EXPECT_FALSE(m->v2);
  EXPECT_EQ(m->name, "a.bin");
  EXPECT_EQ(m->size, 100000u);
  EXPECT_EQ(m->piece_length, 16384u);
  EXPECT_TRUE(m->is_private);
  auto hy = make_torrent(write_blob(dir, "b.bin", 50000, 2), torrent_kind::hybrid);
  auto h = inspect_torrent(hy.bytes);
  ASSERT_TRUE(h);
  EXPECT_EQ(h->v1->hex(), hy.v1_hex);
  EXPECT_EQ(h->v2->hex(), hy.v2_hex);
}

TEST(torrent_file, rejects_what_is_not_a_torrent) {
  for (std::string bad : {std::string(), std::string("hello"), std::string("d4:infoi1ee"),
                          std::string("d8:announce3:abce"), std::string(1000, 'x')}) {
    auto m = inspect_torrent(bad);
    ASSERT_FALSE(m) << bad;
    EXPECT_EQ(m.error().code, errc::invalid_argument);
  }
}

// Found by fuzz/tracker_torrent: with two "info" keys, libtorrent (and so
// the registration) used the first and the handed-out copy kept the last,
// so callers were sent to a swarm nobody had registered.
TEST(torrent_file, refuses_a_key_twice_so_the_copy_handed_out_is_the_registered_torrent) {
  test::temp_dir dir;
  auto a = make_torrent(write_blob(dir, "a.bin", 40000, 1), torrent_kind::v1);
  auto b = make_torrent(write_blob(dir, "b.bin", 40000, 2), torrent_kind::v1);
  auto info_of = [](const std::string& t) {
    lt::error_code ec;
    auto n = lt::bdecode(lt::span<const char>(t.data(), static_cast<std::ptrdiff_t>(t.size())), ec);
    auto s = n.dict_find_dict("info").data_section();
    return std::string(s.data(), static_cast<std::size_t>(s.size()));
  };
  auto twice = "d4:info" + info_of(a.bytes) + "4:info" + info_of(b.bytes) + "e";
  auto m = inspect_torrent(twice);
  ASSERT_FALSE(m);
  EXPECT_EQ(m.error().code, errc::invalid_argument);
  EXPECT_NE(m.error().message.find("'info' appears twice"), std::string::npos) << m.error().message;
  // Stored torrents from before the check: the copy keeps the first, which
  // is the one libtorrent hashes.
  auto out = with_announce(twice, "http://127.0.0.1:1/announce/pk");
  ASSERT_TRUE(out) << out.error().message;
  auto again = inspect_torrent(*out);
  ASSERT_TRUE(again) << again.error().message;
  EXPECT_EQ(again->v1->hex(), a.v1_hex);
  // Each alone is fine.
  EXPECT_TRUE(inspect_torrent("d4:info" + info_of(a.bytes) + "e"));
}

TEST(torrent_file, substitutes_the_announce_url_without_touching_the_info_dict) {
  test::temp_dir dir;
  for (auto kind : {torrent_kind::v1, torrent_kind::hybrid, torrent_kind::v2}) {
    auto t = make_torrent(write_blob(dir, "c.bin", 70000, 3), kind, 16384,
                          "http://old.example/announce");
    auto out = with_announce(t.bytes, "http://127.0.0.1:1/announce/pk");
    ASSERT_TRUE(out) << out.error().message;
    lt::error_code ec;
    lt::torrent_info ti(out->data(), static_cast<int>(out->size()), ec);
    ASSERT_FALSE(ec) << ec.message();
    ASSERT_EQ(ti.trackers().size(), 1u);
    EXPECT_EQ(ti.trackers()[0].url, "http://127.0.0.1:1/announce/pk");
    auto m = inspect_torrent(*out);
    EXPECT_EQ(m->v1 ? m->v1->hex() : "", t.v1_hex);
    EXPECT_EQ(m->v2 ? m->v2->hex() : "", t.v2_hex);
    auto none = with_announce(t.bytes, std::nullopt);
    ASSERT_TRUE(none);
    lt::torrent_info bare(none->data(), static_cast<int>(none->size()), ec);
    EXPECT_TRUE(bare.trackers().empty());
  }
}

TEST(peer_snapshot, restores_fresh_peers_of_known_users_and_swarms) {
  test::temp_dir dir;
  swarm_table swarms(8);
  user_table users;
  users.add(passkey_hasher()("a"), 1, "a");
  users.add(passkey_hasher()("b"), 2, "b");
  auto k1 = swarm_key::from(std::string(20, '1')), k2 = swarm_key::from(std::string(20, '2'));
  ASSERT_TRUE(swarms.add({1, k1, std::nullopt, 0}));
  ASSERT_TRUE(swarms.add({2, k2, std::nullopt, 0}));
  auto join = [&](const swarm_key& k, int n, std::uint32_t user, std::uint32_t when, const char* ip,
                  std::uint64_t left) {
    announce_request r;
    r.port = static_cast<std::uint16_t>(6000 + n);
    r.left = left;
    r.uploaded = 1000u * n;
    swarms.with(k, [&](swarm& s) {
      s.announce({peer_id::from(fmt::format("-TT0001-{:012d}", n)), user, 9}, r,
                 *ip_address::parse(ip), zone_of_name("z"), when);
    });
  };
  join(k1, 1, 1, 1000, "10.0.0.1", 0);
  join(k1, 1, 1, 1000, "fd00::1", 0);  // the same peer, IPv6 too
  join(k1, 2, 2, 1000, "10.0.0.2", 5);
  join(k2, 3, 2, 100, "10.0.0.3", 5);   // old by the time it is read
  join(k2, 4, 3, 1000, "10.0.0.4", 5);  // user 3 is unknown
  auto saved = save_peer_snapshot(swarms, dir / "peers");
  ASSERT_TRUE(saved) << saved.error().message;
  EXPECT_EQ(saved->peers, 4u);

  swarm_table fresh(8);
  ASSERT_TRUE(fresh.add({1, k1, std::nullopt, 0}));
  ASSERT_TRUE(fresh.add({2, k2, std::nullopt, 0}));
  auto loaded = load_peer_snapshot(fresh, users, dir / "peers", 1100, 600);
  ASSERT_TRUE(loaded) << loaded.error().message;
  EXPECT_EQ(loaded->peers, 2u);
  EXPECT_EQ(loaded->dropped, 2u);
  EXPECT_FALSE(std::filesystem::exists(dir / "peers"));  // never restored twice
  fresh.with(k1, [&](swarm& s) {
    ASSERT_EQ(s.peers().size(), 2u);
    EXPECT_EQ(s.seeders(), 1u);
    const peer& p = s.peers()[0];
    EXPECT_TRUE(p.has_v4());
    EXPECT_TRUE(p.has_v6());
    EXPECT_EQ(p.uploaded, 1000u);
    EXPECT_EQ(p.zone, zone_of_name("z"));
    EXPECT_EQ(p.key, 9u);
  });
  // No file: nothing restored. A damaged file: an error, nothing restored.
  EXPECT_EQ(load_peer_snapshot(fresh, users, dir / "peers", 1100, 600)->peers, 0u);
  test::write_text(dir / "bad", "BSWPEER1 but then garbage");
  EXPECT_EQ(load_peer_snapshot(fresh, users, dir / "bad", 1100, 600).error().code, errc::corrupt);
}

TEST(loggable_target, redacts_passkeys_and_keys) {
  EXPECT_EQ(loggable_target("/announce/0123456789abcdef0123456789abcdef?info_hash=%AB&key=DEADBEEF"
                            "&port=1"),
            "/announce/0123…?info_hash=%AB&key=DEAD…&port=1");
  EXPECT_EQ(loggable_target("/scrape/0123456789abcdef?info_hash=x"), "/scrape/0123…?info_hash=x");
  EXPECT_EQ(loggable_target("/api/v1/users"), "/api/v1/users");
  auto long_target = loggable_target("/api/v1/torrents?" + std::string(1000, 'a'));
  EXPECT_LE(long_target.size(), 310u);
}

}  // namespace
}  // namespace blobswarm::tracker
