// Tracker replicas: several real blobswarm-tracker processes on one
// PostgreSQL (index of record, sessions) and one Redis (peers), both real
// servers the test starts on loopback. Any replica answers for any other:
// peers, users, torrents and web UI sessions made on one work on the
// others; migrations run once when replicas start together; a replica
// killed mid-load loses no peer; Redis or PostgreSQL restarting gives
// errors (never a crash) and the replicas recover; a replica started late
// joins cleanly.
#include <gtest/gtest.h>

#include <atomic>
#include <csignal>
#include <libtorrent/bdecode.hpp>
#include <libtorrent/torrent_info.hpp>
#include <set>
#include <thread>

#include "common/hex.hpp"
#include "common/http/url.hpp"
#include "tests/support/engines.hpp"
#include "tests/tracker/torrent_maker.hpp"
#include "tests/tracker/tracker_fixture.hpp"

namespace blobswarm::tracker {
namespace {

using test_support::announce_query;
using test_support::make_torrent;
using test_support::torrent_kind;
using test_support::tracker_instance;

constexpr const char* public_url = "http://tracker.cluster.test:6969";

// A bencoded announce reply, decoded.
struct reply {
  std::string body;
  lt::bdecode_node node;
  explicit reply(std::string b) : body(std::move(b)) {
    lt::error_code ec;
    node = lt::bdecode(body, ec);
  }
  bool failed() const {
    return node.type() != lt::bdecode_node::dict_t || node.dict_find("failure reason");
  }
  std::string failure() const {
    auto v = node.dict_find_string_value("failure reason");
    return std::string(v.data(), v.size());
  }
  // Ports of the IPv4 peers handed out (every test peer is 127.0.0.1).
  std::set<int> ports() const {
    std::set<int> out;
    auto peers = node.dict_find_string_value("peers");
    for (std::size_t i = 0; i + 6 <= peers.size(); i += 6) {
      out.insert((static_cast<unsigned char>(peers[i + 4]) << 8) |
                 static_cast<unsigned char>(peers[i + 5]));
    }
    return out;
  }
  std::int64_t count(const char* key) const { return node.dict_find_int_value(key, -1); }
};

class replicas : public ::testing::Test {
 protected:
  void SetUp() override {
    db_url = test::shared_postgres().create_database();
    test::write_text(shared / "passkeys.key", std::string(64, '7'));
  }

  std::vector<std::string> args() const {
    return {"--db",
            db_url,
            "--peer-store",
            redis.url(),
            "--public-url",
            public_url,
            "--passkey-key-file",
            (shared / "passkeys.key").string(),
            "--resync-interval",
            "2s",
            "--stats-flush-interval",
            "1s"};
  }
  std::unique_ptr<tracker_instance> start() { return std::make_unique<tracker_instance>(args()); }

  // A user and a registered torrent, made through `t`'s admin API.
  struct setup {
    std::string passkey;
    std::string hash_hex;
  };
  setup populate(tracker_instance& t, const std::string& user = "node") {
    setup s;
    s.passkey = t.create_user(user);
    auto file = files / (user + ".bin");
    test::write_text(file, test::random_bytes(50000, 3));
    auto tor = make_torrent(file, torrent_kind::v1);
    auto r = t.register_torrent(tor.bytes);
    EXPECT_EQ(r.status, 201) << r.body;
    s.hash_hex = tor.v1_hex;
    return s;
  }

  reply announce(tracker_instance& t, const setup& s, int port, bool seeder,
                 const std::string& extra = "") {
    auto r = t.request("GET", "/announce/" + s.passkey + "?" +
                                  announce_query(s.hash_hex, fmt::format("-TT0001-{:012d}", port),
                                                 port, seeder ? 0 : 100, "&numwant=200" + extra));
    return reply(r.body);
  }
  // Waits until `t` accepts the user's passkey for the torrent (the change
  // reached it through PostgreSQL).
  bool knows(tracker_instance& t, const setup& s, int port = 1) {
    return test::wait_for([&] { return !announce(t, s, port, true).failed(); });
  }

  test::temp_dir shared;  // the files every replica shares (the passkey key)
  test::temp_dir files;
  std::string db_url;
  test::redis_server redis;
};

TEST_F(replicas, a_peer_announced_to_one_replica_is_handed_out_by_another) {
  auto a = start();
  auto b = start();
  auto s = populate(*a);
  ASSERT_TRUE(knows(*b, s, 7001));
  ASSERT_FALSE(announce(*a, s, 7002, true).failed());
  auto on_b = announce(*b, s, 7003, false);
  ASSERT_FALSE(on_b.failed()) << on_b.failure();
  EXPECT_EQ(on_b.ports(), (std::set<int>{7001, 7002}));
  EXPECT_EQ(on_b.count("complete"), 2);
  EXPECT_EQ(on_b.count("incomplete"), 1);
  // Scrapes agree too.
  auto raw = from_hex(s.hash_hex).value_or("");
  auto scrape =
      a->request("GET", "/scrape/" + s.passkey + "?info_hash=" + http::percent_encode(raw));
  EXPECT_NE(scrape.body.find("8:completei2e"), std::string::npos) << scrape.body;
}

TEST_F(replicas, users_and_torrents_made_on_one_replica_work_on_all) {
  auto a = start();
  auto b = start();
  auto c = start();
  auto s = populate(*a, "alice");
  ASSERT_TRUE(knows(*c, s));
  auto user = c->request("GET", "/api/v1/users/alice", c->admin_token());
  EXPECT_EQ(user.status, 200) << user.body;
  auto t = c->request("GET", "/api/v1/torrents/" + s.hash_hex, s.passkey);
  ASSERT_EQ(t.status, 200) << t.body;
  // Handed-out .torrent files carry the one public URL, whichever replica answers.
  for (auto* r : {a.get(), b.get(), c.get()}) {
    auto file = r->request("GET", "/api/v1/torrents/" + s.hash_hex + "/file", s.passkey);
    ASSERT_EQ(file.status, 200);
    lt::error_code ec;
    lt::torrent_info ti(file.body.data(), static_cast<int>(file.body.size()), ec);
    ASSERT_FALSE(ec);
    ASSERT_EQ(ti.trackers().size(), 1u);
    EXPECT_EQ(ti.trackers()[0].url, std::string(public_url) + "/announce/" + s.passkey);
  }
  // Deleting the user on B ends the passkey everywhere.
  ASSERT_EQ(b->request("DELETE", "/api/v1/users/alice", b->admin_token()).status, 204);
  for (auto* r : {a.get(), c.get()}) {
    EXPECT_TRUE(test::wait_for([&] {
      auto rep = announce(*r, s, 7001, true);
      return rep.failed() && rep.failure().starts_with("unknown passkey");
    })) << r->process().output();
  }
}

TEST_F(replicas, a_web_ui_session_made_on_one_replica_works_on_another) {
  auto a = start();
  auto b = start();
  auto login = a->request("POST", "/ui/login", std::nullopt,
                          nlohmann::json{{"token", a->admin_token()}}.dump(), "application/json");
  ASSERT_EQ(login.status, 200) << login.body;
  auto set_cookie = std::string(login.header("set-cookie").value_or(""));
  auto cookie = set_cookie.substr(0, set_cookie.find(';'));
  ASSERT_TRUE(cookie.starts_with("blobswarm_session=")) << set_cookie;
  auto on = [&](tracker_instance& t, const std::string& method, const std::string& path,
                const std::string& csrf = "") {
    http::client c;
    http::client_request req;
    req.method = method;
    req.url = t.url(path);
    req.headers.emplace_back("Cookie", cookie);
    if (!csrf.empty()) req.headers.emplace_back("X-CSRF-Token", csrf);
    auto r = c.send(req);
    EXPECT_TRUE(r);
    return r ? *r : http::client_response{};
  };
  auto session = on(*b, "GET", "/ui/api/session");
  ASSERT_EQ(session.status, 200) << session.body;
  auto j = nlohmann::json::parse(session.body);
  EXPECT_EQ(j["name"], "admin");
  EXPECT_EQ(on(*b, "GET", "/").status, 200) << "a page, not a redirect to /login";
  // Signing out on B ends it on A.
  ASSERT_EQ(on(*b, "POST", "/ui/logout", j["csrf"]).status, 200);
  EXPECT_EQ(on(*a, "GET", "/ui/api/session").status, 401);
}

TEST_F(replicas, migrations_run_once_when_three_replicas_start_at_the_same_moment) {
  std::vector<std::unique_ptr<tracker_instance>> all(3);
  std::vector<std::thread> threads;
  for (std::size_t i = 0; i < all.size(); ++i) {
    threads.emplace_back([&, i] { all[i] = start(); });
  }
  for (auto& t : threads) t.join();
  int applied = 0, current = 0;
  for (auto& t : all) {
    ASSERT_TRUE(t->process().running()) << t->process().output();
    auto out = t->process().output();
    applied += out.find(" schema migration(s) to PostgreSQL") != std::string::npos;
    current += out.find("is current") != std::string::npos;
  }
  EXPECT_EQ(applied, 1);
  EXPECT_EQ(current, 2);
  // And they all serve.
  auto s = populate(*all[0]);
  for (auto& t : all) EXPECT_TRUE(knows(*t, s));
}

TEST_F(replicas, a_replica_killed_mid_load_loses_no_peer) {
  auto a = start();
  auto b = start();
  auto c = start();
  auto s = populate(*a);
  ASSERT_TRUE(knows(*b, s, 9000));
  ASSERT_TRUE(knows(*c, s, 9000));
  constexpr int peers = 30;
  std::atomic<bool> stop{false};
  std::atomic<int> served{0}, failed_on_survivors{0};
  std::vector<tracker_instance*> all{a.get(), b.get(), c.get()};
  std::thread load([&] {
    for (int round = 0; !stop && round < 200; ++round) {
      for (int p = 0; p < peers; ++p) {
        // Each peer sticks to one replica, so a third of them were only
        // ever announced to A.
        auto* t = all[static_cast<std::size_t>(p) % 3];
        bool survivor = t != a.get();
        http::client cl;
        auto r =
            cl.send({.method = "GET",
                     .url = t->url("/announce/" + s.passkey + "?" +
                                   announce_query(s.hash_hex, fmt::format("-TT0001-{:012d}", p),
                                                  8000 + p, p % 2 ? 0 : 100))});
        if (!survivor) continue;  // A dies mid-load
        if (!r || r->status != 200 || reply(r->body).failed()) {
          ++failed_on_survivors;
        } else {
          ++served;
        }
      }
    }
  });
  ASSERT_TRUE(test::wait_for([&] { return served > 60; }));
  a->process().stop(SIGKILL);
  ASSERT_TRUE(test::wait_for([&] { return served > 180; }));
  stop = true;
  load.join();
  EXPECT_EQ(failed_on_survivors, 0);
  auto last = announce(*c, s, 9999, false);
  ASSERT_FALSE(last.failed()) << last.failure();
  std::set<int> expected;
  for (int p = 0; p < peers; ++p) expected.insert(8000 + p);
  expected.insert(9000);
  EXPECT_EQ(last.ports(), expected)
      << "every peer, also those only ever announced to the replica that died";
}

TEST_F(replicas, redis_restarting_gives_a_failure_reason_then_peers_come_back) {
  auto a = start();
  auto b = start();
  auto s = populate(*a);
  ASSERT_TRUE(knows(*b, s, 7001));
  redis.stop();
  auto down = announce(*a, s, 7002, false);
  ASSERT_TRUE(down.failed());
  EXPECT_NE(down.failure().find("peer store unavailable"), std::string::npos) << down.failure();
  EXPECT_TRUE(a->process().running());
  EXPECT_EQ(a->request("GET", "/healthz").status, 200);
  redis.start();  // empty: peers return as they announce
  ASSERT_TRUE(test::wait_for([&] { return !announce(*a, s, 7001, true).failed(); }));
  auto back = announce(*b, s, 7002, false);
  ASSERT_FALSE(back.failed()) << back.failure();
  EXPECT_EQ(back.ports(), std::set<int>{7001});
  EXPECT_TRUE(a->process().output().find("reachable again") != std::string::npos ||
              a->process().output().find("Redis") != std::string::npos);
}

TEST_F(replicas, postgresql_restarting_fails_writes_then_recovers) {
  auto a = start();
  auto b = start();
  auto s = populate(*a);
  ASSERT_TRUE(knows(*b, s, 7001));
  test::shared_postgres().stop();
  // Announces do not need the database.
  EXPECT_FALSE(announce(*a, s, 7002, false).failed());
  auto made = a->request("POST", "/api/v1/users", a->admin_token(), R"({"name":"late"})",
                         "application/json");
  EXPECT_EQ(made.status, 503) << made.body;
  EXPECT_TRUE(a->process().running());
  test::shared_postgres().start();
  setup late;
  ASSERT_TRUE(test::wait_for(
      [&] {
        auto r = a->request("POST", "/api/v1/users", a->admin_token(), R"({"name":"late"})",
                            "application/json");
        if (r.status != 201) return false;
        late.passkey = nlohmann::json::parse(r.body)["passkey"];
        return true;
      },
      std::chrono::seconds(20)));
  late.hash_hex = s.hash_hex;
  // B's change feed reconnected: the new user announces there.
  EXPECT_TRUE(knows(*b, late, 7003)) << b->process().output();
}

TEST_F(replicas, a_replica_started_while_others_serve_joins_cleanly) {
  auto a = start();
  auto b = start();
  auto s = populate(*a);
  ASSERT_TRUE(knows(*b, s, 7001));
  ASSERT_FALSE(announce(*b, s, 7002, false).failed());
  auto c = start();
  auto on_c = announce(*c, s, 7003, false);
  ASSERT_FALSE(on_c.failed()) << on_c.failure();
  EXPECT_EQ(on_c.ports(), (std::set<int>{7001, 7002}));
  EXPECT_NE(c->process().output().find("schema of PostgreSQL"), std::string::npos);
  // And leaves cleanly (under ASan, a leak would make this non-zero).
  EXPECT_EQ(c->stop(), std::optional<int>(0)) << c->process().output();
  EXPECT_FALSE(announce(*a, s, 7004, false).failed());
}

}  // namespace
}  // namespace blobswarm::tracker
