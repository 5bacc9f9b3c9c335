// blobswarm-seeder end to end, with real parts only: the Distribution
// registry (images built by umoci, pushed by skopeo, multi-platform index
// included), the blobswarm-tracker binary, seeder binaries, and libtorrent
// (python3-libtorrent) as the downloading client.
#include <gtest/gtest.h>

#include <atomic>
#include <libtorrent/torrent_info.hpp>
#include <sstream>
#include <thread>

#include "common/hex.hpp"
#include "seeder/ingestor.hpp"
#include "seeder/piece_layout.hpp"
#include "tests/seeder/harness.hpp"
#include "tests/support/registry_fixture.hpp"

namespace blobswarm::seeder {
namespace {

using namespace std::chrono_literals;
using json = nlohmann::json;
using test::registry_fixture;
using test::seeder_process;

constexpr std::uint64_t MiB = 1 << 20;

std::shared_ptr<lt::torrent_info> parse_torrent(const std::string& bytes) {
  lt::error_code ec;
  auto ti = std::make_shared<lt::torrent_info>(
      lt::span<const char>(bytes.data(), static_cast<long>(bytes.size())), ec, lt::from_span);
  if (ec) return nullptr;
  return ti;
}

std::string v1_hex(const lt::torrent_info& ti) {
  return to_hex(std::string_view(ti.info_hashes().v1.data(), 20));
}

// One registry, one tracker and one seeder for the whole suite; each test
// uses blobs of its own.
class seeder_e2e : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    registry_ = new registry_fixture();
    tracker_ = new test::tracker_process();
    seeder_ = new seeder_process(
        test::seeder_config{.upstream = registry_->url(),
                            .tracker = tracker_->url(),
                            .tracker_token_file = tracker_->token_file(),
                            .tracker_user = "seeder-a",
                            // Slow enough to observe an ingest in progress, with 1 MiB segments.
                            .args = {"--segment-size", "1MiB", "--segment-linger", "3s",
                                     "--upstream-rate-limit", "12MiB"}});
  }
  static void TearDownTestSuite() {
    delete seeder_;
    delete tracker_;
    delete registry_;
  }
  static registry_fixture* registry_;
  static test::tracker_process* tracker_;
  static seeder_process* seeder_;
};
registry_fixture* seeder_e2e::registry_ = nullptr;
test::tracker_process* seeder_e2e::tracker_ = nullptr;
seeder_process* seeder_e2e::seeder_ = nullptr;

TEST_F(seeder_e2e, ingests_layers_into_deterministic_registered_torrents) {
  auto img = registry_->push_image("e2e/ingest", "v1", {{3 * MiB + 777, 200000}, 21});
  for (const auto& blob : img.blobs()) {
    auto t = seeder_->get(seeder_->blob_path("e2e/ingest", blob.digest, "/torrent"));
    ASSERT_EQ(t.status, 200) << t.body;
    EXPECT_EQ(t.header("content-type"), "application/x-bittorrent");
    auto ti = parse_torrent(t.body);
    ASSERT_TRUE(ti);
    EXPECT_EQ(ti->name(), std::string(blob.digest.hex()));
    EXPECT_TRUE(ti->priv());
    EXPECT_EQ(ti->creation_date(), 0);
    EXPECT_TRUE(ti->trackers().empty());
    EXPECT_EQ(ti->total_size(), static_cast<std::int64_t>(blob.size));
    EXPECT_EQ(ti->piece_length(), static_cast<int>(piece_layout::piece_length_for(blob.size)));

    auto d = seeder_->descriptor("e2e/ingest", blob.digest);
    EXPECT_EQ(d["state"], "complete");
    EXPECT_EQ(d["size"], blob.size);
    EXPECT_EQ(d["info_hash_v1"], v1_hex(*ti));

    auto bytes = seeder_->get(seeder_->blob_path("e2e/ingest", blob.digest));
    ASSERT_EQ(bytes.status, 200);
    EXPECT_EQ(test::sha256_hex_digest(bytes.body), blob.digest.str());
    EXPECT_EQ(bytes.header("docker-content-digest"), blob.digest.str());

    // The tracker knows the blob's torrent.
    EXPECT_TRUE(test::wait_for(
        [&] {
          auto b = tracker_->blob(blob.digest);
          return b.contains("torrent") && b["torrent"].is_object() &&
                 b["torrent"]["info_hash_v1"] == v1_hex(*ti);
        },
        10s))
        << tracker_->blob(blob.digest).dump();
    // ... and where it came from (the web UI shows it).
    auto torrent =
        test::json_of(test::http_get(tracker_->url() + "/api/v1/torrents/" + v1_hex(*ti),
                                     {{"Authorization", "Bearer " + tracker_->admin_token()}}));
    auto repository = torrent.value("repository", json()).dump();
    EXPECT_TRUE(repository.ends_with("/e2e/ingest\"")) << torrent.dump();
  }
  EXPECT_GE(seeder_->metric("blobswarm_seeder_blobs_ingested_total"), 3);
}

TEST_F(seeder_e2e, two_seeders_make_identical_torrents) {
  auto img = registry_->push_image("e2e/twins", "v1", {{2 * MiB + 5, 70000}, 22});
  seeder_process other(test::seeder_config{.upstream = registry_->url(),
                                           .tracker = tracker_->url(),
                                           .tracker_token_file = tracker_->token_file(),
                                           .tracker_user = "seeder-b",
                                           .args = {"--segment-size", "1MiB"}});
  for (const auto& blob : img.blobs()) {
    auto a = seeder_->get(seeder_->blob_path("e2e/twins", blob.digest, "/torrent"));
    auto b = other.get(other.blob_path("e2e/twins", blob.digest, "/torrent"));
    ASSERT_EQ(a.status, 200) << a.body;
    ASSERT_EQ(b.status, 200) << b.body;
    EXPECT_EQ(a.body, b.body) << "byte-identical .torrent files for " << blob.digest.str();
  }
  // Both registered the same torrent: the tracker accepted the second
  // registration (200, not 409) and still has one torrent per blob.
  auto big = img.layers[0].digest;
  // The whole torrent's registration (no segment=) answered with `status`.
  auto posted = [&](int status) {
    std::istringstream log(tracker_->proc().output());
    auto target = "POST /api/v1/torrents?digest=sha256%3A" + std::string(big.hex());
    auto answer = fmt::format("\" {} ", status);
    for (std::string line; std::getline(log, line);) {
      if (line.find(target) != std::string::npos && line.find("segment=") == std::string::npos &&
          line.find(answer) != std::string::npos) {
        return true;
      }
    }
    return false;
  };
  EXPECT_TRUE(test::wait_for([&] { return posted(201) && posted(200); }, 10s))
      << tracker_->proc().output();
  EXPECT_EQ(other.output().find("tracker refused"), std::string::npos) << other.output();
  // Segment torrents are deterministic too (both still hold them).
  auto sa = seeder_->get(seeder_->blob_path("e2e/twins", big, "/segments/1/torrent"));
  auto sb = other.get(other.blob_path("e2e/twins", big, "/segments/1/torrent"));
  ASSERT_EQ(sa.status, 200) << sa.body;
  ASSERT_EQ(sb.status, 200) << sb.body;
  EXPECT_EQ(sa.body, sb.body);
}

TEST_F(seeder_e2e, concurrent_requests_cause_one_upstream_fetch) {
  auto content = test::random_bytes(6 * MiB, 23);
  auto blob = registry_->push_blob("e2e/concurrent", content);
  std::atomic<int> ok{0};
  std::vector<std::string> torrents(8);
  std::vector<std::thread> threads;
  for (int i = 0; i < 8; ++i) {
    threads.emplace_back([&, i] {
      auto r = seeder_->get(seeder_->blob_path("e2e/concurrent", blob.digest, "/torrent"));
      if (r.status == 200) {
        torrents[static_cast<std::size_t>(i)] = r.body;
        ++ok;
      }
    });
  }
  std::string streamed;
  threads.emplace_back([&] {
    auto r = seeder_->get(seeder_->blob_path("e2e/concurrent", blob.digest));
    if (r.status == 200) streamed = r.body;
  });
  for (auto& t : threads) t.join();
  EXPECT_EQ(ok.load(), 8);
  for (const auto& t : torrents) EXPECT_EQ(t, torrents[0]);
  EXPECT_EQ(streamed, content);
  EXPECT_EQ(registry_->count_requests("GET", "/v2/e2e/concurrent/blobs/" + blob.digest.str()), 1u)
      << registry_->log();
}

TEST_F(seeder_e2e, a_small_blob_does_not_wait_behind_big_ingests) {
  // One ingest at a time, each at 4 MiB/s: the big blob takes 3 s.
  seeder_process one(
      test::seeder_config{.upstream = registry_->url(),
                          .tracker = tracker_->url(),
                          .tracker_token_file = tracker_->token_file(),
                          .tracker_user = "seeder-queue",
                          .args = {"--max-ingests", "1", "--upstream-rate-limit", "4MiB"}});
  auto big = registry_->push_blob("e2e/queue", test::random_bytes(12 * MiB, 31));
  auto next_content = test::random_bytes(ingestor::small_ingest + 1, 32);
  auto next = registry_->push_blob("e2e/queue", next_content);
  auto small_content = test::random_bytes(512 * 1024, 33);
  auto small = registry_->push_blob("e2e/queue", small_content);
  // The size is known once the upstream answered the blob's GET.
  auto started = [&](const test::pushed_blob& b) {
    return !one.descriptor("e2e/queue", b.digest)["size"].is_null();
  };

  ASSERT_EQ(one.descriptor("e2e/queue", big.digest)["state"], "ingesting");
  ASSERT_TRUE(test::wait_for([&] { return started(big); }, 10s));
  // Just over the limit: waits for the slot.
  ASSERT_EQ(one.descriptor("e2e/queue", next.digest)["state"], "ingesting");
  auto r = one.get(one.blob_path("e2e/queue", small.digest));
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.body, small_content);
  EXPECT_EQ(one.descriptor("e2e/queue", big.digest)["state"], "ingesting")
      << "the small blob waited for the big one";
  EXPECT_FALSE(started(next)) << "a blob over the limit did not wait for its turn";
  EXPECT_EQ(registry_->count_requests("HEAD", "/v2/e2e/queue/blobs/" + small.digest.str()), 1u)
      << registry_->log();
  // The queue still drains in order.
  auto rest = one.get(one.blob_path("e2e/queue", next.digest));
  ASSERT_EQ(rest.status, 200) << rest.body;
  EXPECT_EQ(rest.body, next_content);
  EXPECT_EQ(one.descriptor("e2e/queue", big.digest)["state"], "complete");
}

TEST_F(seeder_e2e, serves_ranges_while_ingesting_and_holds_back_the_end) {
  auto content = test::random_bytes(8 * MiB, 24);
  auto blob = registry_->push_blob("e2e/ranges", content);
  auto path = seeder_->blob_path("e2e/ranges", blob.digest);
  // Starts the ingest; at 12 MiB/s it takes about 0.7 s.
  auto first = seeder_->get(path, {{"Range", "bytes=0-99999"}});
  ASSERT_EQ(first.status, 206) << first.body;
  EXPECT_EQ(first.body, content.substr(0, 100000));
  EXPECT_EQ(first.header("content-range"), "bytes 0-99999/" + std::to_string(content.size()));
  EXPECT_EQ(seeder_->descriptor("e2e/ranges", blob.digest)["state"], "ingesting")
      << "the range was served before the blob was complete";
  auto middle = seeder_->get(path, {{"Range", "bytes=1048576-2097151"}});
  ASSERT_EQ(middle.status, 206);
  EXPECT_EQ(middle.body, content.substr(1048576, 1048576));
  // The last byte comes only with the verified blob.
  auto tail = seeder_->get(path, {{"Range", "bytes=-10"}});
  ASSERT_EQ(tail.status, 206);
  EXPECT_EQ(tail.body, content.substr(content.size() - 10));
  EXPECT_EQ(seeder_->descriptor("e2e/ranges", blob.digest)["state"], "complete");
  auto whole = seeder_->get(path);
  EXPECT_EQ(whole.body, content);
  auto head = http::client().send({.method = "HEAD", .url = seeder_->url(path)});
  ASSERT_TRUE(head);
  EXPECT_EQ(head->header("content-length"), std::to_string(content.size()));
  auto beyond = seeder_->get(path, {{"Range", "bytes=99999999-"}});
  EXPECT_EQ(beyond.status, 416);
}

TEST_F(seeder_e2e, publishes_segment_torrents_while_ingesting_and_retires_them) {
  auto content = test::random_bytes(6 * MiB + 4321, 25);
  auto blob = registry_->push_blob("e2e/segments", content);
  auto desc = seeder_->descriptor("e2e/segments", blob.digest);  // starts the ingest
  ASSERT_EQ(desc["state"], "ingesting") << desc.dump();
  auto seg0 = seeder_->get(seeder_->blob_path("e2e/segments", blob.digest, "/segments/0/torrent"));
  ASSERT_EQ(seg0.status, 200) << seg0.body;
  EXPECT_EQ(seeder_->descriptor("e2e/segments", blob.digest)["state"], "ingesting")
      << "segment 0 was published before the ingest ended";
  auto s0 = parse_torrent(seg0.body);
  ASSERT_TRUE(s0);
  EXPECT_EQ(s0->name(), std::string(blob.digest.hex()) + ".0");
  EXPECT_TRUE(s0->priv());
  // A libtorrent client can fetch the segment from the seeder right away.
  auto dl = test::download_with_libtorrent(
      seg0.body, {"127.0.0.1:" + std::to_string(seeder_->peer_port())}, 30s);
  ASSERT_EQ(dl.status, 0) << dl.output;
  EXPECT_EQ(dl.digest, test::sha256_hex_digest(content.substr(0, s0->total_size())));

  auto whole = seeder_->get(seeder_->blob_path("e2e/segments", blob.digest, "/torrent"));
  ASSERT_EQ(whole.status, 200);
  auto w = parse_torrent(whole.body);
  desc = seeder_->descriptor("e2e/segments", blob.digest);
  ASSERT_EQ(desc["segment_count"], 7);
  EXPECT_EQ(desc["segments_ready"], 7);
  EXPECT_EQ(desc["segment_length"], 1 * MiB);
  // Every segment's pieces are the whole torrent's pieces.
  int piece = 0;
  for (int n = 0; n < 7; ++n) {
    auto seg = seeder_->get(seeder_->blob_path("e2e/segments", blob.digest,
                                               "/segments/" + std::to_string(n) + "/torrent"));
    ASSERT_EQ(seg.status, 200) << n;
    auto s = parse_torrent(seg.body);
    for (int p = 0; p < s->num_pieces(); ++p, ++piece) {
      EXPECT_EQ(s->hash_for_piece(lt::piece_index_t(p)),
                w->hash_for_piece(lt::piece_index_t(piece)));
    }
  }
  EXPECT_EQ(piece, w->num_pieces());
  EXPECT_EQ(
      seeder_->get(seeder_->blob_path("e2e/segments", blob.digest, "/segments/7/torrent")).status,
      404);
  EXPECT_TRUE(
      test::wait_for([&] { return tracker_->blob(blob.digest)["segments"].size() == 7; }, 10s))
      << tracker_->blob(blob.digest).dump();
  // After the linger time the segments are gone, from the seeder and the tracker.
  EXPECT_TRUE(test::wait_for(
      [&] {
        return seeder_->descriptor("e2e/segments", blob.digest)["segments_ready"] == 0 &&
               tracker_->blob(blob.digest)["segments"].empty();
      },
      15s))
      << tracker_->blob(blob.digest).dump();
  EXPECT_EQ(
      seeder_->get(seeder_->blob_path("e2e/segments", blob.digest, "/segments/0/torrent")).status,
      404);
}

TEST_F(seeder_e2e, a_libtorrent_client_downloads_a_blob_through_the_tracker) {
  auto content = test::random_bytes(3 * MiB + 99, 26);
  auto blob = registry_->push_blob("e2e/download", content);
  ASSERT_EQ(seeder_->get(seeder_->blob_path("e2e/download", blob.digest, "/torrent")).status, 200);
  auto passkey = tracker_->create_user("client-download");
  std::string torrent;
  ASSERT_TRUE(test::wait_for(
      [&] {
        torrent = tracker_->torrent_for(blob.digest, passkey);
        return !torrent.empty();
      },
      10s));
  auto ti = parse_torrent(torrent);
  ASSERT_TRUE(ti);
  ASSERT_FALSE(ti->trackers().empty()) << "the tracker writes the client's announce URL";
  auto before = seeder_->metric("blobswarm_seeder_uploaded_bytes");
  // No peer given: the client finds the seeder through the tracker only.
  auto dl = test::download_with_libtorrent(torrent, {}, 60s);
  ASSERT_EQ(dl.status, 0) << dl.output << "\n" << tracker_->proc().output();
  EXPECT_EQ(dl.digest, blob.digest.str());
  EXPECT_TRUE(test::wait_for(
      [&] {
        return seeder_->metric("blobswarm_seeder_uploaded_bytes") - before >=
               static_cast<double>(content.size());
      },
      10s));
}

// libtorrent's queuing (active_seeds = 5 by default for auto-managed
// torrents) would silently stop most of these from announcing.
TEST_F(seeder_e2e, announces_every_blob_it_seeds) {
  std::vector<test::pushed_blob> blobs;
  for (int i = 0; i < 24; ++i) {
    blobs.push_back(registry_->push_blob("e2e/many", test::random_bytes(20000 + i, 100 + i)));
  }
  std::vector<std::thread> threads;
  std::atomic<int> ok{0};
  for (const auto& b : blobs) {
    threads.emplace_back([&, d = b.digest] {
      if (seeder_->get(seeder_->blob_path("e2e/many", d, "/torrent")).status == 200) ++ok;
    });
  }
  for (auto& t : threads) t.join();
  ASSERT_EQ(ok.load(), 24);
  auto swarm = [&](const test::pushed_blob& b) {
    auto blob = tracker_->blob(b.digest);
    if (!blob["torrent"].is_object()) return json();
    return test::json_of(test::http_get(
        tracker_->url() + "/api/v1/torrents/" + blob["torrent"]["info_hash_v1"].get<std::string>(),
        {{"Authorization", "Bearer " + tracker_->admin_token()}}));
  };
  EXPECT_TRUE(test::wait_for(
      [&] {
        for (const auto& b : blobs) {
          if (swarm(b)["seeders"] != 1) return false;
        }
        return true;
      },
      20s))
      << "the tracker does not see the seeder on every torrent: " << [&] {
           std::string out;
           for (const auto& b : blobs) {
             if (auto j = swarm(b); j["seeders"] != 1) out += j.dump() + "\n";
           }
           return out;
         }();
}

TEST_F(seeder_e2e, preheats_selected_platforms_of_an_index) {
  auto index = registry_->push_index(
      "e2e/multi", "v1",
      {{{50000, 60000}, 27, "linux", "amd64"}, {{70000}, 28, "linux", "arm64", "v8"}});
  auto r = test::http_post(seeder_->url("/api/v1/preheat"),
                           R"({"image":"e2e/multi:v1","platforms":["linux/arm64"]})");
  ASSERT_EQ(r.status, 200) << r.body;
  auto body = test::json_of(r);
  EXPECT_EQ(body["manifest"]["digest"], index.digest.str());
  const auto& arm = index.images[1];
  ASSERT_EQ(body["blobs"].size(), arm.blobs().size()) << body.dump();
  for (const auto& b : body["blobs"]) {
    EXPECT_EQ(b["state"], "complete") << b.dump();
    EXPECT_EQ(b["platform"], "linux/arm64/v8");
    EXPECT_EQ(b["info_hash_v1"].get<std::string>().size(), 40u);
  }
  auto stored_before = seeder_->metric("blobswarm_seeder_store_blobs");
  // All platforms (and the arm64 ones again: already stored).
  auto all = test::http_post(seeder_->url("/api/v1/preheat"), R"({"image":"e2e/multi:v1"})");
  ASSERT_EQ(all.status, 200) << all.body;
  EXPECT_EQ(test::json_of(all)["blobs"].size(),
            arm.blobs().size() + index.images[0].blobs().size());
  EXPECT_EQ(seeder_->metric("blobswarm_seeder_store_blobs") - stored_before,
            static_cast<double>(index.images[0].blobs().size()));
  // A single image by digest, without waiting.
  auto nowait = test::http_post(
      seeder_->url("/api/v1/preheat"),
      json{{"image", "e2e/multi@" + index.images[0].manifest_digest.str()}, {"wait", false}}
          .dump());
  EXPECT_TRUE(nowait.status == 200 || nowait.status == 202) << nowait.body;

  // Bad requests.
  auto unknown = test::http_post(seeder_->url("/api/v1/preheat"), R"({"image":"e2e/nothing:v1"})");
  EXPECT_EQ(unknown.status, 404);
  EXPECT_EQ(test::json_of(unknown)["errors"][0]["code"], "MANIFEST_UNKNOWN") << unknown.body;
  auto bad = test::http_post(seeder_->url("/api/v1/preheat"), R"({"image":"E2E/multi:v1"})");
  EXPECT_EQ(bad.status, 400);
  EXPECT_EQ(test::json_of(bad)["errors"][0]["code"], "NAME_INVALID");
  auto no_platform = test::http_post(seeder_->url("/api/v1/preheat"),
                                     R"({"image":"e2e/multi:v1","platforms":["linux/s390x"]})");
  EXPECT_EQ(no_platform.status, 404) << no_platform.body;
  auto denied = test::http_post(seeder_->url("/api/v1/preheat"),
                                R"({"image":"e2e/multi:v1","ns":"ghcr.io"})");
  EXPECT_EQ(denied.status, 403);
  EXPECT_EQ(test::json_of(denied)["errors"][0]["code"], "DENIED");
}

}  // namespace
}  // namespace blobswarm::seeder
