// Faults upstream: a registry that answers 5xx, stalls or drops the
// connection in the middle of a blob (fault_proxy.py in front of a real
// registry), and one whose bytes do not match the digest. The seeder and
// the mirrors retry and resume, or answer a clear registry error; nothing
// that does not match its digest is ever served or cached.
#include <gtest/gtest.h>

#include <fstream>

#include "tests/faults/fault_system.hpp"

namespace blobswarm::test {
namespace {

using nlohmann::json;
namespace fs = std::filesystem;

json rule(const pushed_blob& b, json r) {
  r["path"] = "/blobs/" + b.digest.str();
  r["method"] = "GET";
  return r;
}

// Files in the seeder's store (complete blobs and ingests in progress).
std::size_t seeder_files(const fs::path& data) {
  std::size_t n = 0;
  std::error_code ec;
  for (auto sub : {"blobs", "ingest"}) {
    for (const auto& e : fs::recursive_directory_iterator(data / sub, ec)) {
      if (e.is_regular_file()) ++n;
    }
  }
  return n;
}

// 4. Transient faults: the seeder retries 5xx, resumes a dropped transfer
// with a Range request and gives up on a stalled one to try again; the
// mirror does the same on its direct route. Every pull completes intact.
TEST(faults_upstream, transient_5xx_drops_and_stalls_are_retried_and_resumed) {
  fault_system sys;
  fault_proxy proxy(sys.reg.url());
  std::vector<pushed_blob> blobs;
  for (std::uint64_t i = 0; i < 4; ++i) {
    blobs.push_back(sys.reg.push_blob("faults/up", random_bytes(3 * MiB, 400 + i)));
  }
  sys.start_seeder({{"upstream_attempts", 4}, {"upstream_stall_timeout", "1s"}}, proxy.url());
  auto& m = sys.add_mirror({}, proxy.url());

  struct fault {
    const pushed_blob& blob;
    json rule;
    std::string seen;  // what the proxy logs for the injected request
  };
  for (const auto& [blob, r, seen] : std::vector<fault>{
           {blobs[0], {{"action", "status"}, {"status", 503}, {"times", 2}}, "503 status"},
           {blobs[1], {{"action", "drop"}, {"after", 1 * MiB}, {"times", 1}}, "200 drop"},
           {blobs[2],
            {{"action", "stall"}, {"after", 1 * MiB}, {"seconds", 8}, {"times", 1}},
            "200 stall"},
       }) {
    proxy.set_rules(json::array({rule(blob, r)}));
    auto got = pull_blob(blob_url(m, "faults/up", blob.digest));
    EXPECT_TRUE(got.intact(blob.digest, blob.size))
        << seen << ": " << got.status << " " << got.bytes << " " << got.error;
    auto path = "/v2/faults/up/blobs/" + blob.digest.str();
    EXPECT_GE(proxy.count({"GET " + path, seen}), 1u) << seen << " was not injected";
    EXPECT_GE(proxy.count({"GET " + path, "pass"}), 1u) << seen << ": no retry reached upstream";
  }
  // The resumed transfer asked only for the rest.
  EXPECT_NE(sys.seeder->output().find("resuming at byte"), std::string::npos);
  EXPECT_EQ(m.stats_total("from_upstream"), 0u) << "the seeder fetched everything";

  // A mirror without a seeder fetches from upstream itself: a 502 and a
  // dropped connection are retried and resumed too.
  sys.seeder.reset();
  auto& direct = sys.add_mirror({}, proxy.url());
  proxy.set_rules(
      json::array({rule(blobs[3], {{"action", "status"}, {"status", 502}, {"times", 1}}),
                   rule(blobs[3], {{"action", "drop"}, {"after", MiB}, {"times", 1}})}));
  auto got = pull_blob(blob_url(direct, "faults/up", blobs[3].digest));
  EXPECT_TRUE(got.intact(blobs[3].digest, blobs[3].size))
      << got.status << " " << got.bytes << " " << got.error;
  EXPECT_EQ(direct.stats_total("from_upstream"), blobs[3].size);
  EXPECT_GE(proxy.count({"/blobs/" + blobs[3].digest.str(), " drop"}), 1u);

  EXPECT_EQ(cache_problems(m.dir() / "data"), "");
  EXPECT_EQ(cache_problems(direct.dir() / "data"), "");
  EXPECT_EQ(cache_files(m.dir() / "data").size(), 3u);
}

// 4. A registry that keeps failing: the pull gets a registry-style error
// (not a hang, not a silent empty 200), nothing is cached anywhere, and it
// works once the registry recovers.
TEST(faults_upstream, a_persistent_upstream_failure_is_a_clear_error_and_nothing_is_kept) {
  fault_system sys;
  fault_proxy proxy(sys.reg.url());
  auto blob = sys.reg.push_blob("faults/up", random_bytes(2 * MiB, 410));
  sys.start_seeder({{"upstream_attempts", 2}}, proxy.url());
  auto& m = sys.add_mirror({}, proxy.url());
  proxy.set_rules(json::array({rule(blob, {{"action", "status"}, {"status", 500}}),
                               {{"path", "/manifests/"}, {"action", "status"}, {"status", 503}}}));

  auto t0 = std::chrono::steady_clock::now();
  auto got = pull_blob(blob_url(m, "faults/up", blob.digest));
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 60s);
  EXPECT_FALSE(got.intact(blob.digest, blob.size));
  EXPECT_GE(got.status, 500) << got.body << got.error;
  EXPECT_EQ(registry_error_code(got.body), "UNAVAILABLE") << got.body;
  // The tag was never fetched: a clear 503, not a stale or invented answer.
  auto manifest = pull_blob(m.url("/v2/faults/up/manifests/v1"));
  EXPECT_EQ(manifest.status, 503) << manifest.body;
  EXPECT_EQ(registry_error_code(manifest.body), "UNAVAILABLE") << manifest.body;

  EXPECT_EQ(cache_index(m.dir() / "data").size(), 0u);
  EXPECT_EQ(cache_files(m.dir() / "data").size(), 0u);
  EXPECT_EQ(seeder_files(sys.dir / "seeder"), 0u);
  EXPECT_GE(metric_of(m, "blobswarm_mirror_downloads_total{outcome=\"failed\"}"), 1);

  // The registry recovers: the next pull works.
  proxy.set_rules(json::array());
  auto again = pull_blob(blob_url(m, "faults/up", blob.digest));
  EXPECT_TRUE(again.intact(blob.digest, blob.size)) << again.status << " " << again.error;
  EXPECT_EQ(cache_problems(m.dir() / "data"), "");
}

// 5. The registry's copy of a blob is corrupt (a byte changed in its
// storage): the seeder refuses it, the mirror's own fetch from upstream is
// caught by the digest check, no client ever receives the whole body, and
// neither the seeder's store, the tracker nor any mirror keeps it. A blob
// larger than the seeder's segments is used, so bytes do reach the mirror
// through segment torrents before the digest is known.
TEST(faults_upstream, bytes_that_do_not_match_the_digest_are_never_served_or_cached) {
  fault_system sys;
  auto blob = sys.reg.push_blob("faults/lie", random_bytes(4 * MiB, 501));
  auto original = read_text(sys.reg.blob_data_path(blob.digest));
  {
    std::fstream f(sys.reg.blob_data_path(blob.digest),
                   std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(static_cast<std::streamoff>(3 * MiB + 12345));
    f.put(static_cast<char>(original[3 * MiB + 12345] ^ 0x20));
  }
  sys.start_seeder({{"segment_size", "1MiB"}, {"upstream_rate_limit", "4MiB"}});
  auto& a = sys.add_mirror();
  auto& b = sys.add_mirror();

  for (auto* m : {&a, &b, &a}) {
    auto got = pull_blob(blob_url(*m, "faults/lie", blob.digest));
    EXPECT_NE(got.digest, sha256_of(read_text(sys.reg.blob_data_path(blob.digest))))
        << "the corrupt blob was served whole";
    EXPECT_FALSE(got.status == 200 && got.bytes == blob.size && got.error.empty())
        << "a complete 200 for bytes that do not match " << blob.digest.str();
    EXPECT_LT(got.bytes, blob.size);
  }
  for (auto* m : {&a, &b}) {
    EXPECT_EQ(cache_index(m->dir() / "data").size(), 0u);
    EXPECT_EQ(cache_files(m->dir() / "data").size(), 0u);
    EXPECT_GE(metric_of(*m, "blobswarm_mirror_digest_mismatches_total"), 1);
    EXPECT_NE(m->output().find("DIGEST MISMATCH"), std::string::npos);
  }
  EXPECT_EQ(seeder_files(sys.dir / "seeder"), 0u);
  EXPECT_GE(metric_of(*sys.seeder, "blobswarm_seeder_ingest_failures_total"), 1);
  http::client c;
  auto at_tracker = c.send({.url = sys.tracker_url() + "/api/v1/blobs/" + blob.digest.str(),
                            .headers = {{"Authorization", "Bearer " + sys.admin_token}}});
  ASSERT_TRUE(at_tracker);
  if (at_tracker->status == 200) {
    auto j = json::parse(at_tracker->body);
    EXPECT_TRUE(j["torrent"].is_null()) << "a whole torrent was registered: " << j.dump();
    EXPECT_TRUE(j["segments"].empty()) << "segment torrents were not withdrawn: " << j.dump();
  }

  // The registry is repaired: the same digest is pulled intact.
  write_text(sys.reg.blob_data_path(blob.digest), original);
  auto fixed = pull_blob(blob_url(b, "faults/lie", blob.digest));
  EXPECT_TRUE(fixed.intact(blob.digest, blob.size)) << fixed.status << " " << fixed.error;
  EXPECT_EQ(cache_problems(b.dir() / "data"), "");
}

}  // namespace
}  // namespace blobswarm::test
