// Faults at the mirror itself: its disk fills up, it is SIGKILLed in the
// middle of a download and restarted, and 64 clients pull one image
// through it at once. Real tracker, seeder and mirror processes; the full
// disk is a small tmpfs mounted in a private mount namespace of this test.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sched.h>
#include <sys/mount.h>
#include <unistd.h>

#include <future>
#include <latch>
#include <thread>

#include "tests/faults/fault_system.hpp"

namespace blobswarm::test {
namespace {

using nlohmann::json;
namespace fs = std::filesystem;

bool has_entry(const fs::path& data, const digest& d) {
  for (const auto& e : cache_index(data)) {
    if (e.digest == d.str()) return true;
  }
  return false;
}

bool healthy(const service_process& s) {
  http::client c;
  auto r = c.send({.url = s.url("/healthz"), .timeout = std::chrono::seconds(2)});
  return r && r->status == 200;
}

// A tmpfs of `size` at a fresh directory, visible only to this process and
// the processes it starts (a private mount namespace), unmounted at the end.
class small_disk {
 public:
  explicit small_disk(const std::string& size) {
    if (::unshare(CLONE_NEWNS) != 0) throw std::runtime_error("unshare(CLONE_NEWNS) failed");
    if (::mount("none", "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0)
      throw std::runtime_error("cannot make / private");
    if (::mount("tmpfs", dir_.path().c_str(), "tmpfs", 0, ("size=" + size).c_str()) != 0)
      throw std::runtime_error("cannot mount a tmpfs");
  }
  ~small_disk() { ::umount2(dir_.path().c_str(), MNT_DETACH); }
  fs::path path() const { return dir_.path(); }
  // Writes a file until the disk is full; returns its size.
  std::uint64_t fill(const std::string& name) {
    int fd = ::open((dir_ / name).c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    std::string chunk(64 * 1024, 'x');
    std::uint64_t written = 0;
    for (int i = 0; i < 100000; ++i) {
      auto n = ::write(fd, chunk.data(), chunk.size());
      if (n <= 0) break;
      written += static_cast<std::uint64_t>(n);
    }
    ::close(fd);
    return written;
  }

 private:
  temp_dir dir_;
};

// 6. The mirror's disk is full: a blob larger than the disk and a blob
// that arrives while the disk is full are refused with 507 NO_SPACE; the
// disk filling up in the middle of a download ends that download without
// a partial cache entry; once space returns, the same blobs are pulled and
// cached intact. The mirror stays up throughout.
TEST(faults_mirror, a_full_disk_is_a_clear_error_leaves_nothing_behind_and_recovers) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root to mount a small tmpfs";
  small_disk disk("8m");
  fault_system sys;
  auto huge = sys.reg.push_blob("faults/disk", random_bytes(12 * MiB, 601));
  auto mid = sys.reg.push_blob("faults/disk", random_bytes(5 * MiB, 602));
  auto small = sys.reg.push_blob("faults/disk", random_bytes(1 * MiB, 603));
  sys.start_seeder();
  for (const auto* b : {&huge, &mid, &small}) sys.ingest("faults/disk", *b);
  auto data = disk.path() / "data";
  auto& m = sys.add_mirror(
      {{"data", data.string()}, {"download_rate", "1MiB"}, {"stall_timeout", "30s"}});

  // Larger than the whole disk.
  auto r = pull_blob(blob_url(m, "faults/disk", huge.digest));
  EXPECT_EQ(r.status, 507) << r.body;
  EXPECT_EQ(registry_error_code(r.body), "NO_SPACE") << r.body;
  EXPECT_FALSE(has_entry(data, huge.digest));

  // The disk fills up while a download is under way.
  auto pull = std::async(std::launch::async,
                         [&] { return pull_blob(blob_url(m, "faults/disk", mid.digest)); });
  ASSERT_TRUE(wait_for([&] { return stored_bytes(data, mid.digest) >= 512 * 1024; }, 30s))
      << m.output();
  ASSERT_TRUE(has_entry(data, mid.digest));
  auto filler = disk.fill("filler");
  ASSERT_LT(stored_bytes(data, mid.digest), mid.size - 1 * MiB) << "filled too late";
  EXPECT_GT(filler, 0u);
  auto cut = pull.get();
  EXPECT_FALSE(cut.intact(mid.digest, mid.size)) << "the download cannot have finished";
  EXPECT_LT(cut.bytes, mid.size);
  EXPECT_TRUE(healthy(m)) << "the mirror died on a full disk:\n" << m.output();
  EXPECT_TRUE(wait_for([&] { return !has_entry(data, mid.digest); }, 10s))
      << "a partial cache entry was left";
  EXPECT_EQ(cache_problems(data), "");

  // A blob that arrives while the disk is full (the failed download's
  // partial file is gone: fill its space too).
  disk.fill("filler-2");
  r = pull_blob(blob_url(m, "faults/disk", small.digest));
  EXPECT_EQ(r.status, 507) << r.body;
  EXPECT_EQ(registry_error_code(r.body), "NO_SPACE") << r.body;
  EXPECT_EQ(cache_files(data).size(), 0u);
  EXPECT_EQ(cache_index(data).size(), 0u);

  // Space returns: both are pulled and cached intact.
  fs::remove(disk.path() / "filler");
  fs::remove(disk.path() / "filler-2");
  for (const auto* b : {&mid, &small}) {
    auto ok = pull_blob(blob_url(m, "faults/disk", b->digest));
    EXPECT_TRUE(ok.intact(b->digest, b->size)) << ok.status << " " << ok.error << " " << ok.body;
  }
  EXPECT_EQ(cache_problems(data), "");
  EXPECT_EQ(cache_files(data).size(), 2u);
}

// 7. The mirror is SIGKILLed while it downloads (a whole-blob torrent, and
// a cold blob it follows as segment torrents while the seeder ingests it).
// After the restart the index holds no partial entry and no stray file,
// and the pull completes intact.
TEST(faults_mirror, sigkill_mid_download_then_restart_keeps_the_cache_consistent) {
  fault_system sys;
  auto warm = sys.reg.push_blob("faults/kill", random_bytes(6 * MiB, 701));
  auto cold = sys.reg.push_blob("faults/kill", random_bytes(6 * MiB, 702));
  auto kept = sys.reg.push_blob("faults/kill", random_bytes(512 * 1024, 703));
  sys.start_seeder({{"segment_size", "1MiB"}, {"upstream_rate_limit", "1MiB"}});
  sys.ingest("faults/kill", warm);
  sys.ingest("faults/kill", kept);
  auto& m = sys.add_mirror({{"download_rate", "1MiB"}, {"stall_timeout", "30s"}});
  auto data = m.dir() / "data";
  ASSERT_TRUE(pull_blob(blob_url(m, "faults/kill", kept.digest)).intact(kept.digest, kept.size));

  for (const auto* b : {&warm, &cold}) {
    SCOPED_TRACE(b == &warm ? "whole-blob torrent" : "segment torrents");
    if (m.config()["download_rate"] != "1MiB") {
      m.config()["download_rate"] = "1MiB";  // slow, to be killed in the middle
      m.restart();
    }
    auto pull = std::async(std::launch::async,
                           [&] { return pull_blob(blob_url(m, "faults/kill", b->digest)); });
    auto progress = [&] {
      return stored_bytes(data, b->digest);
    };
    ASSERT_TRUE(wait_for([&] { return progress() >= 1 * MiB; }, 30s)) << m.output();
    bool in_progress = false;
    for (const auto& e : cache_index(data)) {
      if (e.digest == b->digest.str()) in_progress = e.state == "downloading";
    }
    EXPECT_TRUE(in_progress) << "the index does not record the download in progress";
    if (b == &cold) {
      EXPECT_FALSE(fs::is_empty(data / "segments"));
    }
    m.stop(SIGKILL);
    ASSERT_LT(progress(), b->size - 1 * MiB) << "too late: the mirror was not killed mid-download";
    auto cut = pull.get();
    EXPECT_FALSE(cut.intact(b->digest, b->size));
    EXPECT_LT(cut.bytes, b->size);

    m.config()["download_rate"] = "0";  // the rest of the test at full speed
    m.start();
    EXPECT_NE(m.output().find("discarding unverified partial download of " + b->digest.str()),
              std::string::npos);
    EXPECT_EQ(cache_problems(data), "");
    EXPECT_FALSE(has_entry(data, b->digest));
    EXPECT_FALSE(fs::exists(data / "segments") && !fs::is_empty(data / "segments"));
    // The blob cached before the crash survived it and is still served.
    EXPECT_TRUE(has_entry(data, kept.digest));

    auto again = pull_blob(blob_url(m, "faults/kill", b->digest));
    EXPECT_TRUE(again.intact(b->digest, b->size)) << again.status << " " << again.error;
    EXPECT_EQ(cache_problems(data), "");
  }
  EXPECT_EQ(cache_files(data).size(), 3u);
  EXPECT_TRUE(pull_blob(blob_url(m, "faults/kill", kept.digest)).intact(kept.digest, kept.size));
}

// 8. 64 clients pull one image through one mirror at the same moment: the
// mirror downloads each blob once (one swarm download, one upstream fetch
// by the seeder), every client gets identical, verified bytes, and the
// mirror's memory stays bounded (it streams from its cache files; nothing
// is buffered per client).
TEST(faults_mirror, sixty_four_clients_pulling_one_image_share_one_download) {
  constexpr int clients = 64;
  fault_system sys;
  auto image =
      sys.reg.push_image("faults/many", "v1", {.layer_sizes = {8 * MiB, 2 * MiB}, .seed = 801});
  sys.start_seeder();
  // Slow enough that every client joins while the download is in flight.
  auto& m = sys.add_mirror({{"download_rate", "4MiB"}});
  int pid = pid_of(m);
  ASSERT_GT(pid, 0);
  auto rss_before = rss_anon_kib(pid);

  std::atomic<bool> done{false};
  std::atomic<std::uint64_t> rss_peak{rss_before};
  std::thread sampler([&] {
    for (int i = 0; i < 20000 && !done.load(); ++i) {
      auto now = rss_anon_kib(pid);
      if (now > rss_peak.load()) rss_peak.store(now);
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
  });

  struct client_result {
    std::string manifest_digest;
    std::vector<blob_pull> blobs;
  };
  std::latch start(clients);
  std::vector<std::future<client_result>> pulls;
  for (int i = 0; i < clients; ++i) {
    pulls.push_back(std::async(std::launch::async, [&] {
      client_result out;
      start.arrive_and_wait();
      auto manifest = pull_blob(m.url("/v2/faults/many/manifests/v1"), nullptr,
                                {{"Accept", image.manifest_media_type}});
      out.manifest_digest = manifest.digest;
      for (const auto& b : image.blobs()) {
        out.blobs.push_back(pull_blob(blob_url(m, "faults/many", b.digest)));
      }
      return out;
    }));
  }
  std::vector<client_result> results;
  for (auto& p : pulls) results.push_back(p.get());
  done = true;
  sampler.join();

  auto blobs = image.blobs();
  for (int i = 0; i < clients; ++i) {
    EXPECT_EQ(results[i].manifest_digest, image.manifest_digest.str()) << "client " << i;
    for (std::size_t j = 0; j < blobs.size(); ++j) {
      const auto& r = results[i].blobs[j];
      EXPECT_TRUE(r.intact(blobs[j].digest, blobs[j].size))
          << "client " << i << " blob " << j << ": " << r.status << " " << r.bytes << " "
          << r.error;
    }
  }
  // One download per blob at the mirror, one upstream fetch per blob.
  EXPECT_EQ(metric_of(m, "blobswarm_mirror_downloads_total{outcome=\"ok\"}"), blobs.size());
  EXPECT_EQ(metric_of(m, "blobswarm_mirror_downloads_total{outcome=\"failed\"}"), 0);
  for (const auto& b : blobs) {
    EXPECT_EQ(sys.reg.count_requests("GET", "/v2/faults/many/blobs/" + b.digest.str()), 1u)
        << b.digest.str();
  }
  auto t = m.stats_totals();
  EXPECT_EQ(t.value("from_upstream", 0u), 0u) << t.dump();
  std::uint64_t image_bytes = 0;
  for (const auto& b : blobs) image_bytes += b.size;
  EXPECT_EQ(t.value("from_peers", 0u) + t.value("from_seeder", 0u), image_bytes) << t.dump();
  EXPECT_EQ(t.value("served_from_cache", 0u) + t.value("served_from_downloads", 0u),
            image_bytes * clients)
      << t.dump();
  EXPECT_EQ(cache_problems(m.dir() / "data"), "");

  // Memory: 64 clients × 10 MiB is 640 MiB; what the mirror holds on top
  // of its idle footprint must be a small fraction of one copy.
  auto growth_mib =
      static_cast<double>(rss_peak.load() - std::min(rss_before, rss_peak.load())) / 1024.0;
  std::printf(
      "mirror RssAnon: %llu KiB idle, %llu KiB peak (+%.1f MiB) with %d clients; VmHWM %llu KiB\n",
      static_cast<unsigned long long>(rss_before), static_cast<unsigned long long>(rss_peak.load()),
      growth_mib, clients, static_cast<unsigned long long>(peak_rss_kib(pid)));
#if defined(__SANITIZE_ADDRESS__)
  // ASan's quarantine and shadow memory grow with every allocation; still
  // far below one copy per client.
  constexpr double limit_mib = 128.0;
#else
  constexpr double limit_mib = 32.0;
#endif
  EXPECT_LT(growth_mib, limit_mib) << "the mirror's anonymous memory grew with the clients";
}

}  // namespace
}  // namespace blobswarm::test
