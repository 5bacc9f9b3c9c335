// The seeder over time: a restart keeps every stored blob seeding (without
// re-hashing and without a new passkey), and registry push notifications
// preheat what was pushed. Real registry, tracker, seeder and libtorrent.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>

#include "tests/seeder/harness.hpp"
#include "tests/support/http_fixture.hpp"
#include "tests/support/registry_fixture.hpp"

namespace blobswarm::seeder {
namespace {

using namespace std::chrono_literals;
using test::registry_fixture;
using test::registry_options;
using test::seeder_process;

constexpr std::uint64_t MiB = 1 << 20;

TEST(seeder_lifecycle, a_restart_keeps_every_blob_seeding) {
  registry_fixture reg;
  test::tracker_process tracker;
  auto one = reg.push_blob("life/restart", test::random_bytes(2 * MiB + 1, 41));
  auto two = reg.push_blob("life/restart", test::random_bytes(3 * MiB + 2, 42));
  seeder_process s(test::seeder_config{.upstream = reg.url(),
                                       .tracker = tracker.url(),
                                       .tracker_token_file = tracker.token_file(),
                                       .tracker_user = "seeder-restart"});
  for (const auto& b : {one, two}) {
    ASSERT_EQ(s.get(s.blob_path("life/restart", b.digest, "/torrent")).status, 200);
  }
  ASSERT_TRUE(test::wait_for([&] { return tracker.blob(two.digest)["torrent"].is_object(); }, 10s));
  auto passkey = test::read_text(s.data() / "tracker-passkey");
  ASSERT_FALSE(passkey.empty());

  s.stop();
  auto fetches = reg.count_requests("GET", "/v2/life/restart/blobs/");
  s.start();
  // Seeding again right away, from the index: no upstream fetch, no re-hash.
  EXPECT_EQ(s.metric("blobswarm_seeder_active_torrents"), 2);
  EXPECT_EQ(s.metric("blobswarm_seeder_store_blobs"), 2);
  EXPECT_NE(s.output().find("seeding 2 stored blobs"), std::string::npos) << s.output();
  EXPECT_EQ(test::read_text(s.data() / "tracker-passkey"), passkey) << "the passkey is kept";
  EXPECT_EQ(tracker.proc().output().find("/api/v1/users/seeder-restart/passkey"), std::string::npos)
      << "no passkey rotation at restart";
  EXPECT_EQ(s.descriptor("life/restart", one.digest)["state"], "complete");

  // A client finds the restarted seeder through the tracker and gets the blob.
  auto client = tracker.create_user("client-restart");
  auto torrent = tracker.torrent_for(two.digest, client);
  ASSERT_FALSE(torrent.empty());
  auto dl = test::download_with_libtorrent(torrent, {}, 60s);
  ASSERT_EQ(dl.status, 0) << dl.output << "\n" << s.output();
  EXPECT_EQ(dl.digest, two.digest.str());
  EXPECT_EQ(reg.count_requests("GET", "/v2/life/restart/blobs/"), fetches);
  EXPECT_EQ(test::sha256_hex_digest(s.get(s.blob_path("life/restart", one.digest)).body),
            one.digest.str());
}

TEST(seeder_lifecycle, the_quota_evicts_the_least_recently_used_blob_but_not_one_being_served) {
  registry_fixture reg;
  test::tracker_process tracker;
  auto a = reg.push_blob("life/quota", test::random_bytes(16 * MiB, 46));
  auto b = reg.push_blob("life/quota", test::random_bytes(16 * MiB, 47));
  seeder_process s(test::seeder_config{
      .upstream = reg.url(),
      .tracker = tracker.url(),
      .tracker_token_file = tracker.token_file(),
      .tracker_user = "seeder-quota",
      .args = {"--max-size", "20MiB", "--min-free", "0", "--segment-size", "0"}});
  ASSERT_EQ(s.get(s.blob_path("life/quota", a.digest, "/torrent")).status, 200);
  ASSERT_TRUE(test::wait_for([&] { return tracker.blob(a.digest)["torrent"].is_object(); }, 10s));

  // A slow reader of A: it takes the response headers and then stops reading.
  int fd = test::connect_loopback(s.port());
  ASSERT_GE(fd, 0);
  auto head = test::exchange(
      fd, "GET " + s.blob_path("life/quota", a.digest) + " HTTP/1.1\r\nHost: x\r\n\r\n", 5s,
      "\r\n\r\n");
  ASSERT_TRUE(head.starts_with("HTTP/1.1 200")) << head.substr(0, 200);
  auto refused = s.get(s.blob_path("life/quota", b.digest, "/torrent"));
  EXPECT_EQ(refused.status, 507) << "A is being served and must not be evicted: " << refused.body;
  EXPECT_EQ(test::sha256_hex_digest(s.get(s.blob_path("life/quota", a.digest)).body),
            a.digest.str());
  ::close(fd);

  // Once nobody reads A, it makes room for B (after the failure cache expires).
  http::client_response ok;
  EXPECT_TRUE(test::wait_for(
      [&] {
        ok = s.get(s.blob_path("life/quota", b.digest, "/torrent"));
        return ok.status == 200;
      },
      20s))
      << ok.body;
  EXPECT_EQ(s.metric("blobswarm_seeder_store_blobs"), 1);
  EXPECT_EQ(s.metric("blobswarm_seeder_active_torrents"), 1) << "A is no longer seeded";
  EXPECT_TRUE(test::wait_for([&] { return tracker.blob(a.digest)["torrent"].is_null(); }, 10s))
      << "A's torrent is retired at the tracker: " << tracker.blob(a.digest).dump();
}

TEST(seeder_lifecycle, push_notifications_preheat_pushed_images) {
  test::temp_dir dir;
  test::write_text(dir / "notify-token", "notify-secret-0123456789\n");
  auto seeder_port = test::free_port();
  registry_fixture reg(registry_options{
      .notify = {"http://127.0.0.1:" + std::to_string(seeder_port) + "/api/v1/notifications"},
      .notify_authorization = "Bearer notify-secret-0123456789"});
  seeder_process s(
      test::seeder_config{.upstream = reg.url(),
                          .args = {"--notification-token-file", (dir / "notify-token").string()},
                          .port = seeder_port});

  auto img = reg.push_image("life/pushed", "v1", {{30000, 40000}, 43});
  // Nobody asks for the blobs: the notification alone brings them in.
  EXPECT_TRUE(test::wait_for(
      [&] {
        return s.metric("blobswarm_seeder_store_blobs") >= static_cast<double>(img.blobs().size());
      },
      30s))
      << s.output();
  for (const auto& b : img.blobs()) {
    EXPECT_EQ(s.descriptor("life/pushed", b.digest)["state"], "complete");
  }
  auto index = reg.push_index("life/multi", "v1",
                              {{{20000}, 44, "linux", "amd64"}, {{25000}, 45, "linux", "arm64"}});
  std::size_t all = index.images[0].blobs().size() + index.images[1].blobs().size();
  EXPECT_TRUE(test::wait_for(
      [&] {
        return s.metric("blobswarm_seeder_store_blobs") >=
               static_cast<double>(img.blobs().size() + all);
      },
      30s))
      << s.output();
  EXPECT_EQ(s.metric("blobswarm_seeder_ingest_failures_total"), 0);

  // Without the token a notification is refused.
  auto refused = test::http_post(s.url("/api/v1/notifications"), R"({"events":[]})");
  EXPECT_EQ(refused.status, 401);
  auto bad_body = test::http_post(
      s.url("/api/v1/notifications"), "not json",
      {{"Authorization", "Bearer notify-secret-0123456789"}, {"Content-Type", "application/json"}});
  EXPECT_EQ(bad_body.status, 400);
}

}  // namespace
}  // namespace blobswarm::seeder
