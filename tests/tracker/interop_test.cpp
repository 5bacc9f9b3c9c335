// Real BitTorrent clients through blobswarm-tracker with passkey announce
// URLs, on torrents made by `torrentgen create`: libtorrent (v1 and hybrid
// torrents), aria2c seeding to
// qbittorrent-nox, and aria2c's known hybrid problem. Every client has DHT,
// LSD, PEX, UPnP and NAT-PMP off and talks only to 127.0.0.1.
#include <gtest/gtest.h>

#include <csignal>
#include <fstream>
#include <libtorrent/alert_types.hpp>
#include <libtorrent/session.hpp>
#include <libtorrent/settings_pack.hpp>
#include <libtorrent/torrent_info.hpp>
#include <libtorrent/torrent_status.hpp>

#include "common/hex.hpp"
#include "common/http/url.hpp"
#include "tests/support/lt_loopback.hpp"
#include "tests/tracker/torrent_maker.hpp"
#include "tests/tracker/tracker_fixture.hpp"

namespace blobswarm::tracker {
namespace {

using namespace std::chrono_literals;
using test_support::make_torrent_with_torrentgen;
using test_support::torrent_kind;
using test_support::tracker_instance;

// The one owner of a libtorrent session in these tests.
class lt_peer {
 public:
  lt_peer() : session_(settings()) {}

  void add(const std::string& torrent, const std::filesystem::path& save_path) {
    lt::error_code ec;
    lt::add_torrent_params p;
    p.ti = std::make_shared<lt::torrent_info>(torrent.data(), static_cast<int>(torrent.size()), ec);
    ASSERT_FALSE(ec) << ec.message();
    p.save_path = save_path.string();
    handle_ = session_.add_torrent(std::move(p), ec);
    ASSERT_FALSE(ec) << ec.message();
  }

  // Drains alerts, remembering tracker replies and errors.
  void poll() {
    std::vector<lt::alert*> alerts;
    session_.pop_alerts(&alerts);
    for (auto* a : alerts) {
      if (auto* r = lt::alert_cast<lt::tracker_reply_alert>(a)) {
        max_peers_ = std::max(max_peers_, r->num_peers);
        ++replies_;
      } else if (auto* e = lt::alert_cast<lt::tracker_error_alert>(a)) {
        errors_ += e->message() + "\n";
      }
    }
  }
  bool finished() {
    poll();
    return handle_.status().is_seeding;
  }
  int max_peers_from_tracker() const { return max_peers_; }
  int tracker_replies() const { return replies_; }
  const std::string& tracker_errors() const { return errors_; }

 private:
  static lt::settings_pack settings() {
    auto s = test::loopback_session_settings();
    // Follow the tracker's 1 s interval (libtorrent waits at least 5 min by
    // default), so the seeder reports its upload while the test watches.
    s.set_int(lt::settings_pack::min_announce_interval, 1);
    s.set_int(lt::settings_pack::alert_mask,
              lt::alert_category::status | lt::alert_category::tracker | lt::alert_category::error);
    return s;
  }
  lt::session session_;
  lt::torrent_handle handle_;
  int max_peers_ = 0;
  int replies_ = 0;
  std::string errors_;
};

std::string user_torrent(const tracker_instance& t, const std::string& passkey,
                         const std::string& hash) {
  auto r = t.request("GET", "/api/v1/torrents/" + hash + "/file", passkey);
  EXPECT_EQ(r.status, 200) << r.body;
  return r.body;
}

nlohmann::json torrent_stats(const tracker_instance& t, const std::string& hash) {
  return t.json_of(t.request("GET", "/api/v1/torrents/" + hash, t.admin_token()));
}

nlohmann::json user_stats(const tracker_instance& t, const std::string& name) {
  return t.json_of(t.request("GET", "/api/v1/users/" + name, t.admin_token()));
}

class interop : public testing::TestWithParam<torrent_kind> {};

TEST_P(interop, libtorrent_peers_find_each_other_and_the_file_arrives_intact) {
  tracker_instance t({"--announce-interval", "1s", "--min-interval", "1s"});
  test::temp_dir dir;
  std::filesystem::create_directories(dir / "seed");
  std::filesystem::create_directories(dir / "leech");
  auto data = test::random_bytes(3 * 1024 * 1024 + 123, 5);
  test::write_text(dir / "seed" / "blob.bin", data);
  auto made = make_torrent_with_torrentgen(dir / "seed" / "blob.bin", GetParam(), 64 * 1024);
  ASSERT_EQ(t.register_torrent(made.bytes).status, 201);
  auto seed_key = t.create_user("lt-seed");
  auto leech_key = t.create_user("lt-leech");

  lt_peer seeder, leecher;
  seeder.add(user_torrent(t, seed_key, made.v1_hex), dir / "seed");
  ASSERT_TRUE(test::wait_for([&] { return seeder.finished(); }, 30s));
  leecher.add(user_torrent(t, leech_key, made.v1_hex), dir / "leech");
  ASSERT_TRUE(test::wait_for([&] { return leecher.finished(); }, 60s))
      << "tracker errors: " << leecher.tracker_errors();
  EXPECT_EQ(test::read_text(dir / "leech" / "blob.bin"), data);
  EXPECT_GE(leecher.max_peers_from_tracker(), 1);
  EXPECT_TRUE(leecher.tracker_errors().empty()) << leecher.tracker_errors();

  // The tracker saw the transfer: one completion, the leecher's download,
  // and (a hybrid torrent announced under both hashes) still two peers.
  EXPECT_TRUE(test::wait_for(
      [&] {
        seeder.poll();
        leecher.poll();
        auto s = torrent_stats(t, made.v1_hex);
        auto u = user_stats(t, "lt-leech");
        return s["completed"] == 1 && s["seeders"] == 2 &&
               u["downloaded"].get<std::uint64_t>() >= data.size();
      },
      30s))
      << torrent_stats(t, made.v1_hex).dump() << user_stats(t, "lt-leech").dump();
  auto s = torrent_stats(t, made.v1_hex);
  EXPECT_EQ(s["seeders"].get<int>() + s["leechers"].get<int>(), 2) << s.dump();
  if (GetParam() == torrent_kind::hybrid) {
    // libtorrent announces a hybrid torrent under its v1 and its truncated
    // v2 hash; a scrape of either sees the one swarm.
    for (const auto& hex : {made.v1_hex, made.v2_trunc_hex}) {
      auto raw = from_hex(hex).value();
      auto r = t.request("GET", "/scrape/" + leech_key + "?info_hash=" + http::percent_encode(raw));
      EXPECT_NE(r.body.find("8:completei2e"), std::string::npos) << hex << ": " << r.body;
    }
  }
  EXPECT_TRUE(test::wait_for(
      [&] {
        seeder.poll();
        leecher.poll();
        return user_stats(t, "lt-seed")["uploaded"].get<std::uint64_t>() >= data.size();
      },
      30s))
      << user_stats(t, "lt-seed").dump();
}

INSTANTIATE_TEST_SUITE_P(torrents, interop, testing::Values(torrent_kind::v1, torrent_kind::hybrid),
                         [](const auto& info) {
                           return info.param == torrent_kind::v1 ? "v1" : "hybrid";
                         });

std::vector<std::string> aria2c_args(const std::filesystem::path& dir, std::uint16_t port) {
  return {"--dir=" + dir.string(),        "--enable-dht=false",
          "--enable-dht6=false",          "--bt-enable-lpd=false",
          "--enable-peer-exchange=false", "--listen-port=" + std::to_string(port),
          "--summary-interval=0",         "--console-log-level=notice"};
}

TEST(interop_clients, aria2c_seeds_and_qbittorrent_downloads_through_passkey_urls) {
  auto aria2c = test::find_program("aria2c");
  auto qbt = test::find_program("qbittorrent-nox");
  auto curl = test::find_program("curl");
  if (!aria2c || !qbt || !curl) GTEST_SKIP() << "aria2c, qbittorrent-nox or curl not installed";
  tracker_instance t({"--announce-interval", "1s", "--min-interval", "1s"});
  test::temp_dir dir;
  for (auto d : {"seed", "qbt", "profile/qBittorrent/config"}) {
    std::filesystem::create_directories(dir / d);
  }
  auto data = test::random_bytes(2 * 1024 * 1024 + 77, 6);
  test::write_text(dir / "seed" / "blob.bin", data);
  auto made = make_torrent_with_torrentgen(dir / "seed" / "blob.bin", torrent_kind::v1, 64 * 1024);
  ASSERT_EQ(t.register_torrent(made.bytes).status, 201);
  auto aria_key = t.create_user("aria2c");
  auto qbt_key = t.create_user("qbittorrent");
  test::write_text(dir / "aria.torrent", user_torrent(t, aria_key, made.v1_hex));
  test::write_text(dir / "qbt.torrent", user_torrent(t, qbt_key, made.v1_hex));

  auto args = aria2c_args(dir / "seed", test::free_port());
  args.insert(args.begin(), aria2c->string());
  args.insert(args.end(),
              {"--check-integrity=true", "--seed-ratio=0.0", (dir / "aria.torrent").string()});
  test::process seeder(args);
  ASSERT_TRUE(
      test::wait_for([&] { return user_stats(t, "aria2c")["announces"].get<int>() >= 1; }, 30s))
      << seeder.output();

  auto web = test::free_port();
  test::write_text(dir / "profile/qBittorrent/config/qBittorrent.conf",
                   fmt::format(R"([LegalNotice]
Accepted=true

[BitTorrent]
Session\DHTEnabled=false
Session\LSDEnabled=false
Session\PeXEnabled=false
Session\Port={}
Session\DefaultSavePath={}
Session\TempPathEnabled=false

[Network]
PortForwardingEnabled=false

[Preferences]
WebUI\Port={}
WebUI\Address=127.0.0.1
WebUI\LocalHostAuth=false
WebUI\HostHeaderValidation=false
WebUI\CSRFProtection=false
)",
                               test::free_port(), (dir / "qbt").string(), web));
  test::process leecher({qbt->string(), "--profile=" + (dir / "profile").string()},
                        {{"HOME=" + dir.path().string()}, {}, "qbittorrent-nox"});
  auto web_url = "http://127.0.0.1:" + std::to_string(web);
  ASSERT_TRUE(test::wait_for(
      [&] {
        return test::run_command({curl->string(), "-sf", web_url + "/api/v2/app/version"}, 5s)
                   .status == 0;
      },
      30s))
      << leecher.output();
  auto added = test::run_command(
      {curl->string(), "-sf", "-F", "torrents=@" + (dir / "qbt.torrent").string(), "-F",
       "savepath=" + (dir / "qbt").string(), web_url + "/api/v2/torrents/add"});
  ASSERT_EQ(added.status, 0) << added.output;

  ASSERT_TRUE(test::wait_for(
      [&] {
        std::error_code ec;
        return std::filesystem::file_size(dir / "qbt" / "blob.bin", ec) == data.size() &&
               test::read_text(dir / "qbt" / "blob.bin") == data;
      },
      60s))
      << seeder.output() << leecher.output();

  // The tracker's counters show the transfer from both sides.
  EXPECT_TRUE(test::wait_for(
      [&] {
        auto q = user_stats(t, "qbittorrent");
        auto a = user_stats(t, "aria2c");
        auto s = torrent_stats(t, made.v1_hex);
        return s["completed"] == 1 && q["completed"] == 1 &&
               q["downloaded"].get<std::uint64_t>() >= data.size() &&
               a["uploaded"].get<std::uint64_t>() >= data.size();
      },
      30s))
      << torrent_stats(t, made.v1_hex).dump() << user_stats(t, "qbittorrent").dump()
      << user_stats(t, "aria2c").dump();
  // aria2c announces `stopped` on SIGINT; the swarm then has one peer left.
  seeder.stop(SIGINT);
  EXPECT_TRUE(test::wait_for([&] { return torrent_stats(t, made.v1_hex)["seeders"] == 1; }, 20s))
      << torrent_stats(t, made.v1_hex).dump();
}

TEST(interop_clients, aria2c_announces_hybrid_torrents_under_a_hash_nobody_registered) {
  // aria2c 1.36 derives a hybrid torrent's info-hash from its own
  // re-encoding of the info dictionary, which is neither the v1 hash nor
  // the truncated v2 hash. A private tracker can only refuse it, clearly.
  // (The seeder's blob torrents are v1, which aria2c handles.)
  auto aria2c = test::find_program("aria2c");
  if (!aria2c) GTEST_SKIP() << "aria2c not installed";
  tracker_instance t;
  test::temp_dir dir;
  std::filesystem::create_directories(dir / "seed");
  test::write_text(dir / "seed" / "blob.bin", test::random_bytes(300000, 8));
  auto made =
      make_torrent_with_torrentgen(dir / "seed" / "blob.bin", torrent_kind::hybrid, 64 * 1024);
  ASSERT_EQ(t.register_torrent(made.bytes).status, 201);
  auto key = t.create_user("aria2c");
  test::write_text(dir / "hy.torrent", user_torrent(t, key, made.v1_hex));
  auto args = aria2c_args(dir / "seed", test::free_port());
  args.insert(args.begin(), aria2c->string());
  args.insert(args.end(),
              {"--check-integrity=true", "--seed-ratio=0.0", (dir / "hy.torrent").string()});
  test::process client(args);
  EXPECT_TRUE(client.wait_for_output("not registered with this tracker", 30s)) << client.output();
  auto metrics = t.request("GET", "/metrics").body;
  EXPECT_EQ(metrics.find("blobswarm_tracker_announces_total{result=\"unregistered\"} 0"),
            std::string::npos);
}

}  // namespace
}  // namespace blobswarm::tracker
