// The announce path end to end without sockets: passkey, parsing, swarm
// update, handout and the bencoded reply, decoded with libtorrent.
#include "tracker/announcer.hpp"

#include <gtest/gtest.h>

#include <libtorrent/bdecode.hpp>
#include <string>

#include "common/http/url.hpp"

namespace blobswarm::tracker {
namespace {

const std::string hash_a(20, 'A');
const std::string hash_b(20, 'B');
const std::string hash_v2(20, 'V');  // truncated v2 of the hybrid "A" torrent

struct announcer_fixture {
  user_table users;
  swarm_table swarms{16};
  zone_map zones;
  std::unique_ptr<announcer> a;
  announce_scratch scratch{1};
  std::string passkey = "0123456789abcdef0123456789abcdef";
  std::uint32_t now = 5000;

  explicit announcer_fixture(announce_policy policy = {}, std::vector<zone_rule> rules = {}) {
    zones = *zone_map::build(rules);
    users.add(passkey_hasher()(passkey), 1, "alice");
    users.add(passkey_hasher()("bob-passkey"), 2, "bob");
    EXPECT_TRUE(swarms.add({10, swarm_key::from(hash_a), swarm_key::from(hash_v2), 0}));
    a = std::make_unique<announcer>(std::move(policy), users, swarms, zones);
  }

  std::string query(const std::string& hash, int peer, std::uint64_t left,
                    const std::string& extra = "") {
    return "info_hash=" + http::percent_encode(hash) +
           "&peer_id=" + http::percent_encode(fmt::format("-TT0001-{:012d}", peer)) +
           fmt::format("&port={}&uploaded=0&downloaded=0&left={}&key=K{}", 7000 + peer, left,
                       peer) +
           extra;
  }

  lt::bdecode_node announce(const std::string& q, const std::string& ip = "10.0.0.1",
                            announce_result expect = announce_result::ok,
                            const std::string& key = "") {
    auto o = a->announce(key.empty() ? passkey : key, q, *ip_address::parse(ip), now, scratch);
    EXPECT_EQ(o.result, expect) << scratch.reply;
    return decode();
  }

  lt::bdecode_node decode() {
    buffer = scratch.reply;
    lt::error_code ec;
    auto node = lt::bdecode(buffer, ec);
    EXPECT_FALSE(ec) << ec.message() << " in " << buffer;
    return node;
  }
  std::string buffer;
};

std::string sval(const lt::bdecode_node& n, std::string_view key) {
  auto v = n.dict_find_string_value(lt::string_view(key.data(), key.size()));
  return std::string(v.data(), v.size());
}

void expect_sorted_keys(const lt::bdecode_node& dict) {
  ASSERT_EQ(dict.type(), lt::bdecode_node::dict_t);
  for (int i = 1; i < dict.dict_size(); ++i) {
    EXPECT_LT(dict.dict_at(i - 1).first, dict.dict_at(i).first);
  }
}

TEST(announcer, answers_with_every_field_in_sorted_order) {
  announcer_fixture f;
  auto r = f.announce(f.query(hash_a, 1, 0));
  expect_sorted_keys(r);
  EXPECT_EQ(r.dict_find_int_value("complete", -1), 1);
  EXPECT_EQ(r.dict_find_int_value("incomplete", -1), 0);
  EXPECT_EQ(r.dict_find_int_value("interval", -1), 120);
  EXPECT_EQ(r.dict_find_int_value("min interval", -1), 30);
  EXPECT_EQ(sval(r, "external ip"), std::string("\x0a\x00\x00\x01", 4));
  auto peers = r.dict_find("peers");
  ASSERT_TRUE(peers);  // present even when empty
  EXPECT_EQ(peers.string_length(), 0);
  EXPECT_FALSE(r.dict_find("peers6"));
  EXPECT_FALSE(r.dict_find("failure reason"));
}

TEST(announcer, hands_out_compact_ipv4_and_ipv6_peers) {
  announcer_fixture f;
  f.announce(f.query(hash_a, 1, 0), "10.0.0.1");
  f.announce(f.query(hash_a, 2, 0), "fd00::2");
  auto r = f.announce(f.query(hash_a, 3, 100), "10.0.0.3");
  expect_sorted_keys(r);
  EXPECT_EQ(r.dict_find_int_value("complete"), 2);
  EXPECT_EQ(r.dict_find_int_value("incomplete"), 1);
  EXPECT_EQ(sval(r, "peers"), std::string("\x0a\x00\x00\x01\x1b\x59", 6));
  auto p6 = sval(r, "peers6");
  ASSERT_EQ(p6.size(), 18u);
  EXPECT_EQ(p6.substr(0, 16), std::string_view(ip_address::parse("fd00::2")->raw()));
  EXPECT_EQ(static_cast<unsigned char>(p6[16]) * 256 + static_cast<unsigned char>(p6[17]), 7002);
}

TEST(announcer, answers_the_dictionary_model_with_and_without_peer_ids) {
  announcer_fixture f;
  f.announce(f.query(hash_a, 1, 0), "10.0.0.1");
  f.announce(f.query(hash_a, 2, 0), "fd00::2");
  auto r = f.announce(f.query(hash_a, 3, 100, "&compact=0"), "10.0.0.3");
  expect_sorted_keys(r);
  auto peers = r.dict_find_list("peers");
  ASSERT_TRUE(peers);
  ASSERT_EQ(peers.list_size(), 2);
  std::set<std::string> ips;
  for (int i = 0; i < peers.list_size(); ++i) {
    auto p = peers.list_at(i);
    expect_sorted_keys(p);
    ips.insert(sval(p, "ip"));
    EXPECT_EQ(sval(p, "peer id").size(), 20u);
    EXPECT_GT(p.dict_find_int_value("port"), 7000);
  }
  EXPECT_EQ(ips, (std::set<std::string>{"10.0.0.1", "fd00::2"}));
  r = f.announce(f.query(hash_a, 3, 100, "&compact=0&no_peer_id=1"), "10.0.0.3");
  EXPECT_FALSE(r.dict_find_list("peers").list_at(0).dict_find("peer id"));
}

TEST(announcer, fails_unknown_passkeys_unregistered_torrents_and_bad_queries) {
  announcer_fixture f;
  auto r = f.announce(f.query(hash_a, 1, 0), "10.0.0.1", announce_result::unknown_passkey,
                      "not-a-passkey");
  EXPECT_NE(sval(r, "failure reason").find("unknown passkey"), std::string::npos);
  r = f.announce(f.query(hash_b, 1, 0), "10.0.0.1", announce_result::unregistered);
  EXPECT_NE(sval(r, "failure reason").find("not registered"), std::string::npos);
  r = f.announce("info_hash=short", "10.0.0.1", announce_result::bad_request);
  EXPECT_NE(sval(r, "failure reason").find("info_hash must be 20 bytes"), std::string::npos);
  EXPECT_EQ(
      f.a->announce("", f.query(hash_a, 1, 0), *ip_address::parse("10.0.0.1"), 1, f.scratch).result,
      announce_result::unknown_passkey);
  EXPECT_EQ(f.swarms.totals().peers, 0u);  // nothing stored
}

TEST(announcer, honours_ip_only_from_trusted_addresses) {
  announce_policy p;
  p.trusted.push_back(*cidr::parse("127.0.0.0/8"));
  announcer_fixture f(p);
  auto r = f.announce(f.query(hash_a, 1, 0, "&ip=10.9.9.9"), "192.168.1.5");
  EXPECT_EQ(sval(r, "external ip"), std::string("\xc0\xa8\x01\x05", 4));
  EXPECT_NE(sval(r, "warning message").find("ip= ignored"), std::string::npos);
  expect_sorted_keys(r);
  r = f.announce(f.query(hash_a, 2, 0, "&ip=10.9.9.9&ipv6=fd00%3A%3A9"), "127.0.0.1");
  EXPECT_EQ(sval(r, "external ip"), std::string("\x0a\x09\x09\x09", 4));
  EXPECT_FALSE(r.dict_find("warning message"));
  r = f.announce(f.query(hash_a, 3, 100), "10.0.0.3");
  EXPECT_EQ(sval(r, "peers").size(), 12u);   // 192.168.1.5 and 10.9.9.9
  EXPECT_EQ(sval(r, "peers6").size(), 18u);  // fd00::9
  r = f.announce(f.query(hash_a, 4, 0, "&ip=not-an-ip"), "127.0.0.1", announce_result::bad_request);
  EXPECT_TRUE(r.dict_find("failure reason"));
}

TEST(announcer, maps_zones_from_rules_and_the_zone_parameter) {
  std::vector<zone_rule> rules{{"10.1.0.0/16", "east"}, {"10.2.0.0/16", "west"}};
  announce_policy p;
  announcer_fixture f(p, rules);
  f.announce(f.query(hash_a, 1, 0), "10.2.0.1");                // west seeder
  f.announce(f.query(hash_a, 2, 0, "&zone=east"), "10.9.0.2");  // east by parameter
  for (int n = 3; n < 6; ++n) f.announce(f.query(hash_a, n, 100), "10.2.0." + std::to_string(n));
  auto r = f.announce(f.query(hash_a, 9, 100, "&numwant=2"), "10.1.0.9");  // east leecher
  // The east seeder first, then the east zone has no leechers: west fills.
  auto peers = sval(r, "peers");
  ASSERT_EQ(peers.size(), 12u);
  EXPECT_EQ(peers.substr(0, 4), std::string("\x0a\x09\x00\x02", 4));
}

TEST(announcer, caps_numwant_and_sends_no_peers_on_stop) {
  announce_policy p;
  p.max_numwant = 3;
  announcer_fixture f(p);
  for (int n = 0; n < 10; ++n) f.announce(f.query(hash_a, n, 0), "10.0.0." + std::to_string(n + 1));
  auto r = f.announce(f.query(hash_a, 50, 100, "&numwant=1000"), "10.0.1.1");
  EXPECT_EQ(sval(r, "peers").size(), 18u);
  r = f.announce(f.query(hash_a, 50, 100), "10.0.1.1");
  EXPECT_EQ(sval(r, "peers").size(), 18u);  // default 50, capped at 3
  r = f.announce(f.query(hash_a, 50, 100, "&event=stopped"), "10.0.1.1");
  EXPECT_EQ(sval(r, "peers").size(), 0u);
  EXPECT_EQ(r.dict_find_int_value("incomplete"), 0);
}

TEST(announcer, joins_a_hybrid_torrents_v1_and_v2_swarms) {
  announcer_fixture f;
  f.announce(f.query(hash_a, 1, 0), "10.0.0.1");
  auto r = f.announce(f.query(hash_v2, 2, 100), "10.0.0.2");
  EXPECT_EQ(sval(r, "peers"), std::string("\x0a\x00\x00\x01\x1b\x59", 6));
  // The same client announcing both hashes is one peer.
  f.announce(f.query(hash_v2, 1, 0), "10.0.0.1");
  EXPECT_EQ(f.swarms.totals().peers, 2u);
}

TEST(announcer, records_user_counters_and_scrapes) {
  announcer_fixture f;
  f.announce(f.query(hash_a, 1, 100, "&event=started"), "10.0.0.1");
  f.announce("info_hash=" + http::percent_encode(hash_a) +
                 "&peer_id=" + http::percent_encode(fmt::format("-TT0001-{:012d}", 1)) +
                 "&port=7001&uploaded=10&downloaded=100&left=0&key=K1&event=completed",
             "10.0.0.1");
  auto pending = f.users.pending(1);
  EXPECT_EQ(pending.announces, 2u);
  EXPECT_EQ(pending.downloaded, 100u);
  EXPECT_EQ(pending.uploaded, 10u);
  EXPECT_EQ(pending.completed, 1u);
  EXPECT_EQ(pending.last_announce, f.now);

  auto s = f.a->scrape(
      f.passkey,
      "info_hash=" + http::percent_encode(hash_b) + "&info_hash=" + http::percent_encode(hash_a),
      f.scratch);
  EXPECT_EQ(s, announce_result::ok);
  auto r = f.decode();
  auto files = r.dict_find_dict("files");
  ASSERT_TRUE(files);
  EXPECT_EQ(files.dict_size(), 1);  // unregistered hashes are left out
  auto a = files.dict_find_dict(lt::string_view(hash_a.data(), hash_a.size()));
  ASSERT_TRUE(a);
  expect_sorted_keys(a);
  EXPECT_EQ(a.dict_find_int_value("complete"), 1);
  EXPECT_EQ(a.dict_find_int_value("incomplete"), 0);
  EXPECT_EQ(a.dict_find_int_value("downloaded"), 1);
  EXPECT_EQ(f.a->scrape("nope", "info_hash=" + http::percent_encode(hash_a), f.scratch),
            announce_result::unknown_passkey);
  EXPECT_EQ(f.a->scrape(f.passkey, "", f.scratch), announce_result::bad_request);
  EXPECT_TRUE(f.decode().dict_find("failure reason"));
}

}  // namespace
}  // namespace blobswarm::tracker
