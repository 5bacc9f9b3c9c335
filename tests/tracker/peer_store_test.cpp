// The peer stores: one suite run on the in-memory store and on Redis (a
// real redis-server on loopback), so the handout (zones, origins on
// standby), counts, completions, expiry, users and unregistered swarms
// behave the same wherever the peers live; then what only Redis does:
// replicas sharing peers, failing fast while Redis is down and recovering
// after, and the pure encoding and plan of redis_swarm.
#include <gtest/gtest.h>

#include <set>

#include "common/logging.hpp"
#include "tests/support/engines.hpp"
#include "tracker/memory_peer_store.hpp"
#include "tracker/redis_peer_store.hpp"
#include "tracker/redis_swarm.hpp"

namespace blobswarm::tracker {
namespace {

constexpr std::uint32_t ttl = 600;

swarm_key key(char c) {
  return swarm_key::from(std::string(20, c));
}

// Peer n: "-TT0001-<n>", or "-BW0100-<n>" (an origin) when origin.
peer_identity who(int n, std::uint32_t user = 1, bool origin = false) {
  return {peer_id::from(fmt::format("{}{:012d}", origin ? "-BW0100-" : "-TT0001-", n)), user, 7};
}

int number_of(const peer& p) {
  return std::stoi(std::string(p.id.view().substr(8)));
}

enum class kind { memory, redis };

class peer_store_suite : public ::testing::TestWithParam<kind> {
 protected:
  void SetUp() override {
    ASSERT_TRUE(swarms.add({1, key('a'), key('A'), 0}));  // a hybrid: 'A' is its alias
    ASSERT_TRUE(swarms.add({2, key('b'), std::nullopt, 5}));
    peers = make(swarms);
  }

  std::unique_ptr<peer_store> make(swarm_table& table) {
    if (GetParam() == kind::memory) return std::make_unique<memory_peer_store>(table);
    if (!redis) redis = std::make_unique<test::redis_server>();
    redis_peer_options o;
    o.peer_ttl = ttl;
    return std::make_unique<redis_peer_store>(*db::redis_url::parse(redis->url()), table, o,
                                              logging::get("test"));
  }

  struct sent {
    std::optional<swarm_answer> answer;
    std::vector<int> handed;  // peer numbers handed out
  };
  // Peer n announces to swarm `k`: seeder or leecher, in a zone.
  sent announce(peer_store& store, const swarm_key& k, int n, bool seeder, zone_id zone = 0,
                announce_event event = announce_event::none, std::uint32_t want = 50,
                bool origin = false, std::uint64_t uploaded = 0, std::uint32_t user = 1,
                int host = 0) {
    // `host`: announce from peer `host`'s address and port (0: n's own).
    int at = host ? host : n;
    announce_request r;
    r.info_hash = k;
    r.peer = who(n, user, origin).id;
    r.key = 7;
    r.port = static_cast<std::uint16_t>(6000 + at);
    r.left = seeder ? 0 : 100;
    r.event = event;
    r.uploaded = uploaded;
    announce_input in;
    in.who = who(n, user, origin);
    in.req = &r;
    in.address = *ip_address::parse(fmt::format("10.0.0.{}", at));
    in.zone = zone;
    in.now = now;
    auto& sel = in.selection;
    sel.address = in.address;
    sel.port = r.port;
    sel.seeder = seeder;
    sel.origin = origin;
    sel.zone = zone;
    sel.want = event == announce_event::stopped ? 0 : want;
    sel.now = now;
    sel.ttl = ttl;
    sel.origin_standby = 1;
    sel.fresh = 180;
    auto a = store.announce(in, scratch);
    EXPECT_TRUE(a) << a.error().message;
    sent out;
    if (a) out.answer = *a;
    for (const auto& p : scratch.chosen) out.handed.push_back(number_of(p));
    return out;
  }
  sent announce(int n, bool seeder, zone_id zone = 0) {
    return announce(*peers, key('a'), n, seeder, zone);
  }

  std::unique_ptr<test::redis_server> redis;
  swarm_table swarms{16};
  std::unique_ptr<peer_store> peers;
  peer_scratch scratch{42};
  std::uint32_t now = 1000;
};

INSTANTIATE_TEST_SUITE_P(stores, peer_store_suite, ::testing::Values(kind::memory, kind::redis),
                         [](const auto& i) {
                           return i.param == kind::memory ? "memory" : "redis";
                         });

TEST_P(peer_store_suite, hands_seeders_to_leechers_and_leechers_to_seeders) {
  announce(1, true);
  announce(2, true);
  announce(3, false);
  auto leecher = announce(4, false);
  ASSERT_TRUE(leecher.answer);
  EXPECT_EQ(leecher.answer->seeders, 2u);
  EXPECT_EQ(leecher.answer->leechers, 2u);
  ASSERT_EQ(leecher.handed.size(), 3u);
  // Seeders first, never itself.
  EXPECT_EQ(std::set<int>(leecher.handed.begin(), leecher.handed.begin() + 2),
            (std::set<int>{1, 2}));
  EXPECT_EQ(leecher.handed[2], 3);
  auto seeder = announce(1, true);
  EXPECT_EQ(std::set<int>(seeder.handed.begin(), seeder.handed.end()), (std::set<int>{3, 4}));
  // An unregistered swarm is no swarm.
  announce_request r;
  r.info_hash = key('z');
  announce_input in;
  in.req = &r;
  auto unknown = peers->announce(in, scratch);
  ASSERT_TRUE(unknown);
  EXPECT_FALSE(*unknown);
}

TEST_P(peer_store_suite, hands_out_same_zone_peers_first) {
  announce(1, true, 11);
  announce(2, true, 22);
  announce(3, false, 22);
  auto near = announce(*peers, key('a'), 4, false, 22, announce_event::none, 1);
  EXPECT_EQ(near.handed, std::vector<int>{2});
  auto far = announce(*peers, key('a'), 5, false, 11, announce_event::none, 1);
  EXPECT_EQ(far.handed, std::vector<int>{1});
}

TEST_P(peer_store_suite, keeps_origins_on_standby_once_a_node_seeds) {
  announce(*peers, key('a'), 50, true, 0, announce_event::none, 50, true);  // the origin
  auto first = announce(2, false);
  EXPECT_EQ(first.handed, std::vector<int>{50});
  announce(3, true);  // a node finished
  auto later = announce(4, false);
  EXPECT_EQ(later.handed, (std::vector<int>{3, 2}));
  auto origin = announce(*peers, key('a'), 50, true, 0, announce_event::none, 50, true);
  EXPECT_TRUE(origin.handed.empty()) << "an origin on standby connects to no one";
}

// A node's client restarted (new peer_id, same address and port): its old
// record, a seeder that never said stopped, is gone from the swarm — and,
// with Redis, from the hash, for every replica.
TEST_P(peer_store_suite, a_new_identity_at_a_known_endpoint_replaces_the_old_record) {
  announce(*peers, key('a'), 50, true, 0, announce_event::none, 50, true);  // the origin
  announce(3, true);  // the first wave's node seeds
  EXPECT_EQ(announce(4, false).handed, (std::vector<int>{3}));  // origin on standby
  // Node 3 comes back as peer 13, on an empty cache.
  auto back = announce(*peers, key('a'), 13, false, 0, announce_event::started, 50, false, 0, 1,
                       3);
  ASSERT_TRUE(back.answer);
  EXPECT_EQ(back.answer->seeders, 1u);  // the origin only
  auto later = announce(4, false);
  ASSERT_FALSE(later.handed.empty());
  EXPECT_EQ(later.handed[0], 50) << "no other seeder: the origin is handed out first";
  EXPECT_EQ(std::set<int>(later.handed.begin(), later.handed.end()), (std::set<int>{50, 13}));
  // A fresh store on the same Redis (another replica) sees the same.
  if (GetParam() == kind::redis) {
    swarm_table other{16};
    ASSERT_TRUE(other.add({1, key('a'), key('A'), 0}));
    auto replica = make(other);
    auto seen = announce(*replica, key('a'), 5, false);
    EXPECT_EQ(std::set<int>(seen.handed.begin(), seen.handed.end()), (std::set<int>{50, 13, 4}));
  }
}

TEST_P(peer_store_suite, counts_transfer_and_completion_once_for_the_database) {
  announce(*peers, key('b'), 1, false, 0, announce_event::started, 50, false, 100);
  auto a = announce(*peers, key('b'), 1, false, 0, announce_event::none, 50, false, 150);
  ASSERT_TRUE(a.answer);
  EXPECT_EQ(a.answer->effect.uploaded, 50u);
  auto done = announce(*peers, key('b'), 1, true, 0, announce_event::completed, 50, false, 150);
  EXPECT_TRUE(done.answer->effect.completed);
  auto again = announce(*peers, key('b'), 1, true, 0, announce_event::completed, 50, false, 150);
  EXPECT_FALSE(again.answer->effect.completed);
  auto c = peers->counts(key('b'));
  ASSERT_TRUE(c && *c);
  EXPECT_EQ((*c)->seeders, 1u);
  EXPECT_EQ((*c)->leechers, 0u);
  EXPECT_EQ((*c)->completed, 6u);  // 5 recorded before + 1
  EXPECT_EQ((*c)->pending.uploaded, 150u);
  EXPECT_EQ((*c)->pending.completed, 1u);
}

TEST_P(peer_store_suite, drops_stopped_and_stale_peers) {
  announce(1, true);
  announce(2, false);
  announce(*peers, key('a'), 2, false, 0, announce_event::stopped);
  auto c = peers->counts(key('a'));
  EXPECT_EQ((*c)->leechers, 0u);
  now += ttl + 1;  // peer 1 is stale now
  auto late = announce(3, false);
  EXPECT_TRUE(late.handed.empty());
  ASSERT_TRUE(peers->sweep(now, ttl));
  c = peers->counts(key('a'));
  EXPECT_EQ((*c)->seeders, 0u);
  EXPECT_EQ((*c)->leechers, 1u);
  auto listed = peers->peers(key('a'));
  ASSERT_TRUE(listed);
  ASSERT_EQ(listed->size(), 1u);
  EXPECT_EQ(number_of(listed->front()), 3);
}

TEST_P(peer_store_suite, meets_peers_announcing_either_hash_of_a_hybrid) {
  announce(*peers, key('a'), 1, true);
  auto via_alias = announce(*peers, key('A'), 2, false);
  EXPECT_EQ(via_alias.handed, std::vector<int>{1});
  auto counts = peers->counts(std::vector<swarm_key>{key('A'), key('z'), key('b')});
  ASSERT_TRUE(counts);
  ASSERT_EQ(counts->size(), 3u);
  EXPECT_EQ((*counts)[0]->seeders, 1u);
  EXPECT_FALSE((*counts)[1]) << "unregistered: left out";
  EXPECT_EQ((*counts)[2]->seeders, 0u);
}

TEST_P(peer_store_suite, forgets_a_deleted_users_peers_and_an_unregistered_swarms) {
  announce(*peers, key('a'), 1, true, 0, announce_event::none, 50, false, 0, 9);
  announce(*peers, key('b'), 2, true, 0, announce_event::none, 50, false, 0, 9);
  announce(*peers, key('b'), 3, true, 0, announce_event::none, 50, false, 0, 1);
  auto removed = peers->remove_user(9);
  ASSERT_TRUE(removed);
  EXPECT_EQ(*removed, 2u);
  EXPECT_EQ((*peers->counts(key('b')))->seeders, 1u);
  std::size_t visited = 0;
  ASSERT_TRUE(peers->visit([&](const peer& p) {
    EXPECT_EQ(p.user, 1u);
    ++visited;
  }));
  EXPECT_EQ(visited, 1u);
  swarms.remove(key('b'), std::nullopt);
  ASSERT_TRUE(peers->forget(key('b')));
  ASSERT_TRUE(swarms.add({3, key('b'), std::nullopt, 0}));
  EXPECT_EQ((*peers->counts(key('b')))->seeders, 0u) << "a new registration starts empty";
}

// --- Redis only ----------------------------------------------------------------

class redis_peers : public ::testing::Test {
 protected:
  std::unique_ptr<redis_peer_store> make(swarm_table& table) {
    redis_peer_options o;
    o.peer_ttl = ttl;
    o.timeout = std::chrono::milliseconds(200);
    return std::make_unique<redis_peer_store>(*db::redis_url::parse(redis.url()), table, o,
                                              logging::get("test"));
  }
  result<std::optional<swarm_answer>> announce(peer_store& store, int n, bool seeder) {
    announce_request r;
    r.info_hash = key('a');
    r.peer = who(n).id;
    r.key = 7;
    r.port = 6000;
    r.left = seeder ? 0 : 1;
    announce_input in;
    in.who = who(n);
    in.req = &r;
    in.address = *ip_address::parse(fmt::format("10.0.0.{}", n));
    in.now = 1000;
    in.selection.address = in.address;
    in.selection.port = 6000;
    in.selection.seeder = seeder;
    in.selection.want = 50;
    in.selection.now = 1000;
    in.selection.ttl = ttl;
    return store.announce(in, scratch);
  }
  test::redis_server redis;
  peer_scratch scratch{1};
};

TEST_F(redis_peers, replicas_hand_out_each_others_peers) {
  swarm_table a_swarms(4), b_swarms(4);
  ASSERT_TRUE(a_swarms.add({1, key('a'), std::nullopt, 0}));
  ASSERT_TRUE(b_swarms.add({1, key('a'), std::nullopt, 0}));
  auto a = make(a_swarms);
  auto b = make(b_swarms);
  ASSERT_TRUE(announce(*a, 1, true));
  auto on_b = announce(*b, 2, false);
  ASSERT_TRUE(on_b && *on_b);
  EXPECT_EQ((*on_b)->seeders, 1u);
  ASSERT_EQ(scratch.chosen.size(), 1u);
  EXPECT_EQ(number_of(scratch.chosen[0]), 1);
  a.reset();  // replica A is gone: its peer is not
  auto again = announce(*b, 2, false);
  ASSERT_TRUE(again && *again);
  EXPECT_EQ((*again)->seeders, 1u);
}

TEST_F(redis_peers, fails_fast_while_redis_is_down_and_recovers) {
  swarm_table swarms(4);
  ASSERT_TRUE(swarms.add({1, key('a'), std::nullopt, 0}));
  auto store = make(swarms);
  ASSERT_TRUE(announce(*store, 1, true));
  redis.stop();
  auto started = std::chrono::steady_clock::now();
  for (int i = 0; i < 20; ++i) {
    auto down = announce(*store, 2, false);
    ASSERT_FALSE(down);
    EXPECT_EQ(down.error().code, errc::unavailable);
  }
  EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(3))
      << "20 announces while Redis is down must not each wait for a timeout";
  redis.start();  // empty: nothing was persisted
  EXPECT_TRUE(test::wait_for([&] { return announce(*store, 1, true).has_value(); }));
  auto back = announce(*store, 2, false);
  ASSERT_TRUE(back && *back);
  EXPECT_EQ((*back)->seeders, 1u) << "the peer came back with its next announce";
}

TEST(redis_swarm, hands_out_exactly_what_the_memory_store_hands_out) {
  // The same announces, the same random seed: the same handout, because
  // both run swarm::select on the same records.
  test::redis_server redis;
  swarm_table mem_swarms(4), redis_swarms(4);
  ASSERT_TRUE(mem_swarms.add({1, key('a'), std::nullopt, 0}));
  ASSERT_TRUE(redis_swarms.add({1, key('a'), std::nullopt, 0}));
  memory_peer_store mem(mem_swarms);
  redis_peer_store rds(*db::redis_url::parse(redis.url()), redis_swarms, {}, logging::get("test"));
  peer_scratch ms(5), rs(5);
  for (int n = 1; n <= 40; ++n) {
    announce_request r;
    r.info_hash = key('a');
    r.peer = who(n).id;
    r.key = 7;
    r.port = static_cast<std::uint16_t>(6000 + n);
    r.left = n % 3 == 0 ? 0 : 10;
    announce_input in;
    in.who = who(n);
    in.req = &r;
    in.address = *ip_address::parse(fmt::format("10.0.{}.1", n));
    in.zone = static_cast<zone_id>(n % 4);
    in.now = 1000;
    in.selection.address = in.address;
    in.selection.port = r.port;
    in.selection.seeder = r.left == 0;
    in.selection.zone = in.zone;
    in.selection.want = 8;
    in.selection.now = 1000;
    in.selection.ttl = ttl;
    auto a = mem.announce(in, ms);
    auto b = rds.announce(in, rs);
    ASSERT_TRUE(a && b);
    EXPECT_EQ((*a)->seeders, (*b)->seeders);
    EXPECT_EQ((*a)->leechers, (*b)->leechers);
    std::vector<int> x, y;
    for (const auto& p : ms.chosen) x.push_back(number_of(p));
    for (const auto& p : rs.chosen) y.push_back(number_of(p));
    EXPECT_EQ(x, y) << "announce " << n;
  }
}

TEST(redis_swarm, encodes_records_compactly_and_exactly) {
  peer p;
  p.id = who(3).id;
  p.user = 0x01020304;
  p.key = 0x1122334455667788ULL;
  p.last_seen = 123456;
  p.left_kib = 77;
  p.zone = 0xdeadbeef;
  p.uploaded = 1ULL << 40;
  p.downloaded = 12345;
  p.ip4 = {10, 1, 2, 3};
  p.port4 = 6881;
  p.seeder = true;
  p.completed = true;
  std::string field, value;
  EXPECT_EQ(redis_swarm::encode_identity(p.identity(), field).size(), 32u);
  EXPECT_EQ(redis_swarm::encode_record(p, value).size(), 36u) << "an IPv4 peer";
  auto back = redis_swarm::decode(field, value);
  ASSERT_TRUE(back);
  EXPECT_EQ(back->identity(), p.identity());
  EXPECT_EQ(back->uploaded, p.uploaded);
  EXPECT_EQ(back->zone, p.zone);
  EXPECT_EQ(back->ip4, p.ip4);
  EXPECT_TRUE(back->seeder && back->completed && !back->fed && !back->has_v6());
  EXPECT_EQ(redis_swarm::user_of_field(field), 0x01020304u);
  p.ip6[15] = 1;
  p.port6 = 7000;
  p.fed = true;
  EXPECT_EQ(redis_swarm::encode_record(p, value).size(), 54u) << "with IPv6 too";
  back = redis_swarm::decode(field, value);
  ASSERT_TRUE(back);
  EXPECT_TRUE(back->has_v6() && back->fed);
  EXPECT_EQ(back->ip6, p.ip6);
  // Anything else is not a record.
  EXPECT_FALSE(redis_swarm::decode(field, value.substr(1)));
  EXPECT_FALSE(redis_swarm::decode(field.substr(1), value));
  EXPECT_FALSE(redis_swarm::decode(field, "\x02" + value.substr(1)));
  auto keys = redis_swarm::keys_for("p:", key('a'));
  std::string hex;
  for (int i = 0; i < 20; ++i) hex += "61";
  EXPECT_EQ(keys.seeders, "p:{" + hex + "}:s");
  EXPECT_EQ(keys.leechers, "p:{" + hex + "}:l");
}

TEST(redis_swarm, plans_moves_between_hashes_and_deletes_stale_records) {
  peer_scratch scratch(1);
  std::vector<peer> records;
  auto make = [](int n, bool seeder, std::uint32_t seen) {
    peer p;
    auto w = who(n);
    p.id = w.id;
    p.user = w.user;
    p.key = w.key;
    p.seeder = seeder;
    p.last_seen = seen;
    p.port4 = 1;
    p.ip4 = {10, 0, 0, static_cast<std::uint8_t>(n)};
    return p;
  };
  records.push_back(make(1, false, 1000));  // the announcing peer, a leecher so far
  records.push_back(make(2, true, 100));    // stale
  records.push_back(make(3, true, 990));
  scratch.work.load(records);
  announce_request r;
  r.peer = who(1).id;
  r.key = 7;
  r.port = 1;
  r.left = 0;
  r.event = announce_event::completed;
  announce_input in;
  in.who = who(1);
  in.req = &r;
  in.address = *ip_address::parse("10.0.0.1");
  in.now = 1000;
  in.selection.address = in.address;
  in.selection.port = 1;
  in.selection.seeder = true;
  in.selection.want = 50;
  in.selection.now = 1000;
  in.selection.ttl = 600;
  auto plan = redis_swarm::plan_announce(in, scratch);
  ASSERT_TRUE(plan.write);
  EXPECT_TRUE(plan.write->seeder);
  ASSERT_TRUE(plan.remove_from);
  EXPECT_FALSE(*plan.remove_from) << "it leaves the leechers' hash";
  ASSERT_EQ(plan.stale.size(), 1u);
  EXPECT_EQ(number_of(plan.stale[0]), 2);
  EXPECT_EQ(plan.answer.seeders, 2u) << "itself and peer 3; the stale one is not counted";
  EXPECT_TRUE(plan.answer.effect.completed);
  r.event = announce_event::stopped;
  scratch.work.load(records);
  plan = redis_swarm::plan_announce(in, scratch);
  EXPECT_FALSE(plan.write);
  ASSERT_TRUE(plan.remove_from);
  EXPECT_FALSE(*plan.remove_from);
}

}  // namespace
}  // namespace blobswarm::tracker
