// Swarm bookkeeping and the peer handout: who is handed to whom, in which
// order, identity across address families, and the transfer deltas.
#include "tracker/swarm.hpp"

#include <gtest/gtest.h>

#include <map>
#include <set>

#include "tracker/swarm_table.hpp"

namespace blobswarm::tracker {
namespace {

// Peers numbered from 50000 are origins (blobswarm seeders, by peer_id).
constexpr int first_origin = 50000;

peer_identity id(int n, std::uint32_t user = 1, std::uint64_t key = 7) {
  peer_identity i;
  auto text = fmt::format("{}{:012d}", n >= first_origin ? "-BW0100-" : "-TT0001-", n);
  i.id = peer_id::from(text);
  i.user = user;
  i.key = key;
  return i;
}

ip_address v4(int n) {
  return *ip_address::parse(fmt::format("10.0.{}.{}", n / 250, n % 250 + 1));
}

announce_request req(std::uint64_t left, announce_event e = announce_event::none,
                     std::uint64_t up = 0, std::uint64_t down = 0, std::uint16_t port = 6881) {
  announce_request r;
  r.left = left;
  r.event = e;
  r.uploaded = up;
  r.downloaded = down;
  r.port = port;
  return r;
}

struct swarm_fixture {
  swarm s{1};
  fast_rng rng{42};
  selection_scratch scratch;
  std::uint32_t now = 1000;
  std::uint32_t origin_standby = 1;
  bool want_origins = false;
  std::uint32_t origin_fanout = 0;
  std::uint64_t origin_salt = 0;

  // Peer n joins as a seeder or leecher in a zone; returns its index.
  std::size_t join(int n, bool seeder, zone_id zone = 0, std::uint32_t user = 1) {
    return s.announce(id(n, user), req(seeder ? 0 : 100, announce_event::started), v4(n), zone, now)
        .index;
  }
  // Peer n asks for `want` peers; returns the peer numbers handed out, in order.
  std::vector<int> handout(int n, bool seeder, std::uint32_t want, zone_id zone = 0,
                           std::uint32_t user = 1) {
    auto e = s.announce(id(n, user), req(seeder ? 0 : 100), v4(n), zone, now);
    selection_request sel;
    sel.self = e.index;
    sel.address = v4(n);
    sel.port = 6881;
    sel.seeder = seeder;
    sel.zone = zone;
    sel.want = want;
    sel.now = now;
    sel.ttl = 600;
    sel.origin = n >= first_origin;
    sel.origin_standby = origin_standby;
    sel.fresh = 180;
    sel.want_origins = want_origins;
    sel.origin_fanout = origin_fanout;
    sel.origin_salt = origin_salt;
    s.select(sel, rng, scratch);
    std::vector<int> out;
    for (auto i : scratch.chosen) {
      auto text = std::string(s.peers()[i].id.view().substr(8));
      out.push_back(std::stoi(text));
    }
    return out;
  }
};

TEST(swarm_handout, gives_a_leecher_seeders_first_then_leechers) {
  swarm_fixture f;
  for (int n = 0; n < 10; ++n) f.join(n, true);
  for (int n = 10; n < 20; ++n) f.join(n, false);
  auto got = f.handout(99, false, 12);
  ASSERT_EQ(got.size(), 12u);
  std::set<int> first(got.begin(), got.begin() + 10);
  for (int n = 0; n < 10; ++n) EXPECT_TRUE(first.contains(n)) << n;
  EXPECT_GE(got[10], 10);
  EXPECT_GE(got[11], 10);
}

TEST(swarm_handout, gives_a_seeder_only_leechers) {
  swarm_fixture f;
  for (int n = 0; n < 5; ++n) f.join(n, true);
  for (int n = 10; n < 13; ++n) f.join(n, false);
  auto got = f.handout(99, true, 50);
  EXPECT_EQ(std::set<int>(got.begin(), got.end()), (std::set<int>{10, 11, 12}));
}

TEST(swarm_handout, prefers_the_same_zone_and_fills_from_others) {
  swarm_fixture f;
  zone_id a = zone_of_name("a"), b = zone_of_name("b");
  for (int n = 0; n < 3; ++n) f.join(n, true, a);
  for (int n = 10; n < 15; ++n) f.join(n, true, b);
  for (int n = 20; n < 24; ++n) f.join(n, false, a);
  for (int n = 30; n < 34; ++n) f.join(n, false, b);
  auto got = f.handout(99, false, 10, a);
  ASSERT_EQ(got.size(), 10u);
  std::set<int> a_seeders(got.begin(), got.begin() + 3),
      a_leechers(got.begin() + 3, got.begin() + 7);
  EXPECT_EQ(a_seeders, (std::set<int>{0, 1, 2}));
  EXPECT_EQ(a_leechers, (std::set<int>{20, 21, 22, 23}));
  for (std::size_t i = 7; i < 10; ++i) EXPECT_TRUE(got[i] >= 10 && got[i] < 15) << got[i];
}

TEST(swarm_handout, sends_a_zone_without_seeders_to_other_zones_seeders_first) {
  swarm_fixture f;
  zone_id b = zone_of_name("b"), c = zone_of_name("c");
  for (int n = 0; n < 2; ++n) f.join(n, true, b);
  for (int n = 10; n < 60; ++n) f.join(n, false, c);
  auto got = f.handout(99, false, 5, c);
  ASSERT_EQ(got.size(), 5u);
  EXPECT_EQ(std::set<int>(got.begin(), got.begin() + 2), (std::set<int>{0, 1}));
}

TEST(swarm_handout, never_returns_the_requester) {
  swarm_fixture f;
  f.join(1, false);
  EXPECT_TRUE(f.handout(1, false, 50).empty());
  f.join(2, true);
  EXPECT_EQ(f.handout(1, false, 50), std::vector<int>{2});
  // The same endpoint under another peer_id (a restarted client) is the
  // requester too.
  f.s.announce(id(3), req(0), v4(1), 0, f.now);
  EXPECT_EQ(f.handout(1, false, 50), std::vector<int>{2});
}

TEST(swarm_handout, hands_out_origins_first_while_no_other_node_seeds) {
  swarm_fixture f;
  f.join(first_origin, true);
  for (int n = 10; n < 13; ++n) f.join(n, false);
  auto got = f.handout(99, false, 50);
  ASSERT_EQ(got.size(), 4u);
  EXPECT_EQ(got[0], first_origin);
  // The origin itself gets the leechers to serve.
  auto origin_gets = f.handout(first_origin, true, 50);
  EXPECT_EQ(std::set<int>(origin_gets.begin(), origin_gets.end()), (std::set<int>{10, 11, 12, 99}));
}

TEST(swarm_handout, origins_stand_by_while_other_nodes_seed) {
  swarm_fixture f;
  f.join(first_origin, true);
  f.join(first_origin + 1, true);
  f.join(1, true);  // a node that finished
  for (int n = 10; n < 13; ++n) f.join(n, false);
  auto got = f.handout(99, false, 50);
  EXPECT_EQ(std::set<int>(got.begin(), got.end()), (std::set<int>{1, 10, 11, 12}));
  EXPECT_EQ(got[0], 1);
  // Nor does an origin on standby connect out to the leechers.
  EXPECT_TRUE(f.handout(first_origin, true, 50).empty());
  // A leecher that asks for origins (origins=1: its download stalled) gets them first.
  f.want_origins = true;
  got = f.handout(99, false, 50);
  ASSERT_EQ(got.size(), 6u);
  EXPECT_EQ(std::set<int>(got.begin(), got.begin() + 2),
            (std::set<int>{first_origin, first_origin + 1}));
  f.want_origins = false;
  // A leecher's announce does not count as a seeder, an origin's neither.
  swarm_fixture g;
  g.join(first_origin, true);
  g.join(first_origin + 1, true);
  g.join(10, false);
  EXPECT_EQ(g.handout(99, false, 50).size(), 3u);
  // With origin_standby 2 one seeding node is not enough; with 0 origins
  // are always handed out.
  f.origin_standby = 2;
  EXPECT_EQ(f.handout(99, false, 50).size(), 6u);
  f.origin_standby = 0;
  EXPECT_EQ(f.handout(99, false, 50).size(), 6u);
  EXPECT_EQ(f.handout(first_origin, true, 50).size(), 4u);
}

TEST(swarm_handout, of_several_origins_every_leecher_of_a_swarm_gets_the_same_one) {
  std::map<int, int> chosen;  // origin -> swarms it was chosen for
  for (std::uint64_t salt = 1; salt < 200; salt += 2) {
    swarm_fixture f;
    f.origin_salt = salt * 0x9e3779b97f4a7c15ULL;
    f.join(first_origin, true, 0, 5);  // replicated seeders: their own tracker users
    f.join(first_origin + 1, true, 0, 6);
    for (int n = 10; n < 13; ++n) f.join(n, false);
    std::set<int> origins_handed;
    for (int n = 10; n < 13; ++n) {
      auto got = f.handout(n, false, 50);
      ASSERT_EQ(got.size(), 3u) << "one origin and the two other leechers";
      EXPECT_GE(got[0], first_origin);
      origins_handed.insert(got[0]);
    }
    ASSERT_EQ(origins_handed.size(), 1u) << "the same origin for the whole swarm";
    ++chosen[*origins_handed.begin()];
    // A stalled leecher (origins=1) gets both.
    f.want_origins = true;
    EXPECT_EQ(f.handout(99, false, 50).size(), 5u);
  }
  // Different swarms, different origins: replicated seeders share the load.
  ASSERT_EQ(chosen.size(), 2u);
  EXPECT_GT(chosen[first_origin], 25);
  EXPECT_GT(chosen[first_origin + 1], 25);
  // Without a salt every origin is handed out, as before.
  swarm_fixture f;
  f.join(first_origin, true, 0, 5);
  f.join(first_origin + 1, true, 0, 6);
  EXPECT_EQ(f.handout(10, false, 50).size(), 2u);
}

// The origins themselves: only the swarm's chosen one is handed its
// leechers; the other would connect to them and send each piece again.
TEST(swarm_handout, of_several_origins_only_the_chosen_one_is_handed_the_leechers) {
  for (std::uint64_t salt = 1; salt < 60; salt += 2) {
    swarm_fixture f;
    f.origin_salt = salt * 0x9e3779b97f4a7c15ULL;
    f.join(first_origin, true, 0, 5);
    f.join(first_origin + 1, true, 0, 6);
    for (int n = 10; n < 13; ++n) f.join(n, false);
    auto chosen = f.handout(10, false, 50)[0];
    int other = chosen == first_origin ? first_origin + 1 : first_origin;
    auto user_of = [](int origin) {
      return origin == first_origin ? 5u : 6u;
    };
    EXPECT_EQ(f.handout(chosen, true, 50, 0, user_of(chosen)).size(), 3u) << "salt " << salt;
    EXPECT_TRUE(f.handout(other, true, 50, 0, user_of(other)).empty()) << "salt " << salt;
  }
}

TEST(swarm_handout, an_origin_not_heard_from_lately_gives_way_to_one_that_is) {
  for (std::uint64_t salt = 1; salt < 40; ++salt) {
    swarm_fixture f;
    f.origin_salt = salt * 0x9e3779b97f4a7c15ULL;
    f.join(first_origin, true, 0, 5);
    f.join(first_origin + 1, true, 0, 6);
    auto first = f.handout(10, false, 50);
    ASSERT_EQ(first.size(), 1u);
    // The chosen one dies (no more announces); the other keeps announcing.
    int other = first[0] == first_origin ? first_origin + 1 : first_origin;
    f.now += 200;  // past `fresh` (180 s), within the ttl
    f.join(other, true, 0, other == first_origin ? 5 : 6);
    auto later = f.handout(10, false, 50);
    ASSERT_EQ(later.size(), 1u);
    EXPECT_EQ(later[0], other) << "salt " << salt;
  }
}

TEST(swarm_handout, hands_the_origins_to_origin_fanout_leechers_at_a_time) {
  swarm_fixture f;
  f.origin_fanout = 2;
  f.join(first_origin, true);
  // The first two leechers to announce get the origin; later ones only peers.
  EXPECT_EQ(f.handout(10, false, 50).front(), first_origin);
  EXPECT_EQ(f.handout(11, false, 50).front(), first_origin);
  for (int n = 12; n < 16; ++n) {
    auto got = f.handout(n, false, 50);
    EXPECT_FALSE(std::set<int>(got.begin(), got.end()).contains(first_origin)) << n;
    EXPECT_EQ(got.size(), static_cast<std::size_t>(n - 10)) << "every other leecher";
  }
  // A fed leecher keeps its place on later announces.
  EXPECT_EQ(f.handout(10, false, 50).front(), first_origin);
  // The origin is handed only the leechers it feeds.
  auto origin_gets = f.handout(first_origin, true, 50);
  EXPECT_EQ(std::set<int>(origin_gets.begin(), origin_gets.end()), (std::set<int>{10, 11}));
  // A leecher whose download stalled (origins=1) gets the origin anyway, and
  // the origin serves it from then on.
  f.want_origins = true;
  EXPECT_EQ(f.handout(14, false, 50).front(), first_origin);
  f.want_origins = false;
  EXPECT_EQ(f.handout(14, false, 50).front(), first_origin);
  origin_gets = f.handout(first_origin, true, 50);
  EXPECT_EQ(std::set<int>(origin_gets.begin(), origin_gets.end()), (std::set<int>{10, 11, 14}));
}

TEST(swarm_handout, a_fed_leecher_that_seeds_or_goes_quiet_frees_its_place) {
  swarm_fixture f;
  f.origin_fanout = 1;
  f.origin_standby = 0;  // keep the origin in play after a node seeds
  f.join(first_origin, true);
  EXPECT_EQ(f.handout(10, false, 50).front(), first_origin);
  auto got = f.handout(11, false, 50);
  EXPECT_FALSE(std::set<int>(got.begin(), got.end()).contains(first_origin));
  // Leecher 10 completes: its place goes to the next leecher that announces.
  f.handout(10, true, 50);
  EXPECT_EQ(f.handout(11, false, 50).front(), first_origin);
  // Leecher 11 goes quiet (past `fresh`, still within peer_ttl): 12 takes over.
  f.now += 200;
  f.join(first_origin, true);
  EXPECT_EQ(f.handout(12, false, 50).front(), first_origin);
  // With fan-out 0 every leecher gets the origin.
  f.origin_fanout = 0;
  EXPECT_EQ(f.handout(13, false, 50).front(), first_origin);
}

TEST(swarm_handout, a_seeder_not_heard_from_lately_does_not_put_origins_on_standby) {
  // A node that died without saying so stays in the swarm until peer_ttl
  // but stops counting after `fresh`: the origin is handed out again.
  swarm_fixture f;
  f.join(first_origin, true);
  f.join(1, true);
  f.now += 200;  // past fresh (180), within peer_ttl (600)
  f.join(first_origin, true);
  auto got = f.handout(99, false, 50);
  EXPECT_EQ(std::set<int>(got.begin(), got.end()), (std::set<int>{first_origin, 1}));
  EXPECT_EQ(got[0], first_origin);
}

TEST(swarm_handout, spreads_load_randomly) {
  swarm_fixture f;
  for (int n = 0; n < 100; ++n) f.join(n, true);
  std::map<int, int> times;
  for (int round = 0; round < 200; ++round) {
    for (int n : f.handout(1000 + round, false, 10)) ++times[n];
  }
  EXPECT_EQ(times.size(), 100u);                    // every seeder was handed out
  for (auto [n, k] : times) EXPECT_LT(k, 60) << n;  // about 20 each
}

TEST(swarm_handout, skips_stale_peers_and_respects_want) {
  swarm_fixture f;
  f.join(1, true);
  f.now += 601;
  f.join(2, true);
  EXPECT_EQ(f.handout(3, false, 50), std::vector<int>{2});
  EXPECT_TRUE(f.handout(3, false, 0).empty());
}

TEST(swarm, one_client_over_ipv4_and_ipv6_is_one_peer_counted_once) {
  swarm s(1);
  auto a6 = *ip_address::parse("fd00::5");
  auto e1 = s.announce(id(1), req(100, announce_event::started, 500, 700), v4(1), 0, 1);
  auto e2 = s.announce(id(1), req(100, announce_event::started, 500, 700), a6, 0, 1);
  EXPECT_EQ(s.peers().size(), 1u);
  EXPECT_EQ(e1.uploaded, 500u);
  EXPECT_EQ(e1.downloaded, 700u);
  EXPECT_EQ(e2.uploaded, 0u);
  EXPECT_EQ(e2.downloaded, 0u);
  EXPECT_TRUE(s.peers()[0].has_v4());
  EXPECT_TRUE(s.peers()[0].has_v6());
  EXPECT_EQ(s.pending().uploaded, 500u);
  EXPECT_EQ(s.leechers(), 1u);
}

TEST(swarm, identity_is_user_peer_id_and_key) {
  swarm s(1);
  s.announce(id(1, 1, 7), req(100), v4(1), 0, 1);
  s.announce(id(1, 2, 7), req(100), v4(2), 0, 1);  // another user, same peer_id
  s.announce(id(1, 1, 8), req(100), v4(3), 0, 1);  // another key
  s.announce(id(1, 1, 7), req(100), v4(4), 0, 1);  // the first again, moved
  EXPECT_EQ(s.peers().size(), 3u);
}

// A node rebooted, or its mirror restarted on an empty cache: a new peer_id
// at the endpoint of a seeder that never said it stopped. The old record
// goes, so the origins are handed out again instead of waiting on it.
TEST(swarm, a_new_identity_at_a_known_endpoint_replaces_the_old_record) {
  swarm_fixture f;
  f.join(first_origin, true);
  for (int n = 1; n <= 3; ++n) f.join(n, true);  // the first wave seeds
  EXPECT_EQ(f.s.seeders(), 4u);
  EXPECT_EQ(f.handout(99, false, 50).size(), 3u);  // the origin stands by
  // The second wave: the same hosts and ports, new peer ids, empty caches.
  for (int n = 1; n <= 3; ++n) {
    f.s.announce(id(100 + n), req(100, announce_event::started), v4(n), 0, f.now);
  }
  EXPECT_EQ(f.s.peers().size(), 4u + 1u);  // the origin, three new leechers, peer 99
  EXPECT_EQ(f.s.seeders(), 1u);
  auto got = f.handout(99, false, 50);
  ASSERT_FALSE(got.empty());
  EXPECT_EQ(got[0], first_origin);  // no other seeder: the origin is handed out first
  EXPECT_EQ(std::set<int>(got.begin(), got.end()), (std::set<int>{first_origin, 101, 102, 103}));
  // Another port on the same host is another peer.
  f.s.announce(id(200), req(100, announce_event::started, 0, 0, 6999), v4(1), 0, f.now);
  EXPECT_EQ(f.s.peers().size(), 6u);
}

TEST(swarm, counts_seeders_completions_and_stops) {
  swarm s(1, 5);
  s.announce(id(1), req(100, announce_event::started), v4(1), 0, 1);
  EXPECT_EQ(s.seeders(), 0u);
  EXPECT_EQ(s.leechers(), 1u);
  auto c = s.announce(id(1), req(0, announce_event::completed, 0, 100), v4(1), 0, 2);
  EXPECT_TRUE(c.completed);
  EXPECT_EQ(s.seeders(), 1u);
  EXPECT_EQ(s.leechers(), 0u);
  EXPECT_EQ(s.completed(), 6u);
  // A repeated completed event is not another completion.
  EXPECT_FALSE(s.announce(id(1), req(0, announce_event::completed, 0, 100), v4(1), 0, 3).completed);
  EXPECT_EQ(s.pending().completed, 1u);
  auto stop = s.announce(id(1), req(0, announce_event::stopped, 50, 100), v4(1), 0, 4);
  EXPECT_TRUE(stop.removed);
  EXPECT_EQ(stop.uploaded, 50u);  // the final totals still count
  EXPECT_TRUE(s.peers().empty());
  EXPECT_EQ(s.seeders(), 0u);
  // Stopping an unknown peer changes nothing.
  EXPECT_TRUE(s.announce(id(9), req(0, announce_event::stopped), v4(9), 0, 5).removed);
}

TEST(swarm, reported_totals_become_deltas) {
  swarm s(1);
  // First seen without event=started: a baseline, not counted.
  EXPECT_EQ(s.announce(id(1), req(100, announce_event::none, 1000, 2000), v4(1), 0, 1).uploaded,
            0u);
  auto e = s.announce(id(1), req(100, announce_event::none, 1500, 2600), v4(1), 0, 2);
  EXPECT_EQ(e.uploaded, 500u);
  EXPECT_EQ(e.downloaded, 600u);
  // Totals that went down (a client restarted its counters) count as new.
  e = s.announce(id(1), req(100, announce_event::none, 30, 40), v4(1), 0, 3);
  EXPECT_EQ(e.uploaded, 30u);
  EXPECT_EQ(e.downloaded, 40u);
  auto p = s.take_pending();
  EXPECT_EQ(p.uploaded, 530u);
  EXPECT_TRUE(s.pending().empty());
  s.give_back(p);
  EXPECT_EQ(s.pending().uploaded, 530u);
}

TEST(swarm, expires_and_removes_users) {
  swarm s(1);
  s.announce(id(1, 1), req(0), v4(1), 0, 100);
  s.announce(id(2, 2), req(0), v4(2), 0, 500);
  s.announce(id(3, 2), req(10), v4(3), 0, 500);
  EXPECT_EQ(s.expire(700, 300), 1u);
  EXPECT_EQ(s.peers().size(), 2u);
  EXPECT_EQ(s.seeders(), 1u);
  EXPECT_EQ(s.remove_user(2), 2u);
  EXPECT_TRUE(s.peers().empty());
  EXPECT_EQ(s.seeders(), 0u);
}

TEST(swarm_table, files_a_hybrid_torrent_under_both_keys) {
  swarm_table t(8);
  auto v1 = swarm_key::from(std::string(20, '1'));
  auto v2 = swarm_key::from(std::string(20, '2'));
  ASSERT_TRUE(t.add({5, v1, v2, 3}));
  ASSERT_TRUE(t.add({5, v1, v2, 3}));  // again: a no-op
  EXPECT_EQ(t.totals().swarms, 1u);
  t.with(v1, [](swarm& s) { s.announce(id(1), req(0), v4(1), 0, 1); });
  t.with(v2, [](swarm& s) { s.announce(id(1), req(0), v4(1), 0, 1); });
  std::size_t peers = 0;
  EXPECT_TRUE(t.with(v2, [&](swarm& s) { peers = s.peers().size(); }));
  EXPECT_EQ(peers, 1u);
  EXPECT_EQ(t.totals().peers, 1u);
  EXPECT_EQ(t.totals().seeders, 1u);
  // Another torrent cannot take either key.
  EXPECT_EQ(t.add({6, v2, std::nullopt, 0}).error().code, errc::conflict);
  EXPECT_EQ(t.add({6, swarm_key::from(std::string(20, '3')), v1, 0}).error().code, errc::conflict);
  EXPECT_TRUE(t.remove(v1, v2));
  EXPECT_FALSE(t.with(v1, [](swarm&) {}));
  EXPECT_FALSE(t.with(v2, [](swarm&) {}));
  EXPECT_EQ(t.totals().swarms, 0u);
  EXPECT_EQ(t.totals().peers, 0u);
}

}  // namespace
}  // namespace blobswarm::tracker
