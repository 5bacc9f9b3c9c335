// Faults of the replicated control plane (issue 20), with real processes:
// PostgreSQL, redis-server, three tracker replicas behind one address, two
// seeder replicas, mirrors with both seeders (tests/faults/ha_system). Each
// scenario ends with every pull complete, every digest right, and the
// registry having sent at most 1.05 times the blobs' bytes.
#include <gtest/gtest.h>

#include <csignal>
#include <future>
#include <optional>

#include "tests/faults/ha_system.hpp"

namespace blobswarm::test {
namespace {

using nlohmann::json;

constexpr double max_egress = 1.05;

std::uint64_t total_size(const std::vector<pushed_blob>& blobs) {
  std::uint64_t n = 0;
  for (const auto& b : blobs) n += b.size;
  return n;
}

std::vector<service_process*> all(std::vector<std::unique_ptr<service_process>>& v) {
  std::vector<service_process*> out;
  for (auto& p : v) {
    if (p) out.push_back(p.get());
  }
  return out;
}

// Bytes of a blob the mirrors have stored so far, together.
std::uint64_t progress(ha_system& sys, const pushed_blob& b) {
  std::uint64_t n = 0;
  for (auto& m : sys.mirrors) n += stored_bytes(m->dir() / "data", b.digest);
  return n;
}

// Three mirrors, each downloading at 3 MiB/s, start pulling `blobs` (so
// that a fault can strike mid-pull).
std::future<pulled> slow_pulls(ha_system& sys, const std::string& name,
                               const std::vector<pushed_blob>& blobs) {
  for (int i = 0; i < 3; ++i) sys.add_mirror({{"download_rate", "3MiB"}});
  return std::async(std::launch::async,
                    [&sys, name, blobs] { return pull_everywhere(all(sys.mirrors), name, blobs); });
}

// Blobs a seeder holds (asking about one blob would start its ingest).
double stored_blobs(const service_process& seeder) {
  return metric_of(seeder, "blobswarm_seeder_store_blobs");
}

// A tracker replica dies (kill -9) while mirrors pull through the swarm:
// the pulls finish, and a mirror that starts afterwards finds its peers
// through the replicas left.
TEST(ha_faults, a_tracker_replica_killed_mid_pull) {
  ha_system sys;
  std::vector<pushed_blob> blobs = {sys.reg.push_blob("ha/app", random_bytes(6 * MiB, 2001)),
                                    sys.reg.push_blob("ha/app", random_bytes(4 * MiB, 2002))};
  auto pulls = slow_pulls(sys, "ha/app", blobs);
  ASSERT_TRUE(wait_for([&] { return progress(sys, blobs[0]) >= 4 * MiB; }, 60s)) << sys.logs();
  sys.trackers[0]->stop(SIGKILL);
  ASSERT_LT(progress(sys, blobs[0]), 3 * blobs[0].size - 4 * MiB) << "too late: not mid-pull";
  auto got = pulls.get();
  EXPECT_EQ(got.problems, "") << sys.logs();

  // A new node pulls with one replica gone: peers come from the other two.
  auto& late = sys.add_mirror();
  auto again = pull_everywhere({&late}, "ha/app", blobs);
  EXPECT_EQ(again.problems, "") << sys.logs();
  EXPECT_GT(late.stats_total("from_peers"), 0u) << late.stats_totals().dump();
  EXPECT_LE(static_cast<double>(sys.registry_egress()), max_egress * total_size(blobs))
      << sys.logs();
  for (auto& m : sys.mirrors) EXPECT_EQ(cache_problems(m->dir() / "data"), "");
}

// The seeder that owns a blob dies (kill -9) in the middle of its ingest:
// the other seeder takes the ingest over once the lease expires, gets the
// segments already published from the mirrors, and fetches only the rest
// from the registry. The image has five more layers, ingested meanwhile
// by their owners and copied to the other seeder; what the registry sends
// twice is what the dead seeder had fetched but not yet passed on: its
// lead over the mirrors, a segment and what arrived in the last second or
// two (4-8 MiB here).
TEST(ha_faults, the_owning_seeder_killed_mid_ingest_is_taken_over) {
  ha_system sys;
  auto first = sys.reg.push_blob("ha/big", random_bytes(24 * MiB, 2101));
  auto owner = sys.owners(first.digest)[0];
  auto other = 1 - owner;
  std::vector<pushed_blob> image = {first};
  for (std::uint64_t seed = 2102; seed < 2107; ++seed) {
    image.push_back(sys.reg.push_blob("ha/big", random_bytes(24 * MiB, seed)));
  }
  // The first layer comes from the registry at 3 MB/s (about 8 s), the
  // others at loopback speed.
  sys.registry_proxy->set_rules(nlohmann::json::array({{{"path", first.digest.str()},
                                                        {"method", "GET"},
                                                        {"action", "throttle"},
                                                        {"rate", 3000000}}}));
  sys.add_mirror();
  sys.add_mirror();
  auto pulls = std::async(std::launch::async,
                          [&] { return pull_everywhere(all(sys.mirrors), "ha/big", image); });
  // Killed once the mirrors hold a quarter of the layer between them, and
  // the other layers have their second copy (replicas: 2) on the survivor.
  // A layer whose only complete copy dies with its seeder comes from the
  // registry again, whatever the system does: that is what the copy is
  // for, and it is made within seconds (longer under sanitizers, where the
  // kill would otherwise come first).
  ASSERT_TRUE(wait_for([&] { return progress(sys, first) >= 12 * MiB; }, 60s)) << sys.logs();
  ASSERT_TRUE(wait_for(
      [&] { return stored_blobs(*sys.seeders[other]) >= static_cast<double>(image.size() - 1); },
      60s))
      << sys.logs();
  sys.seeders[owner]->stop(SIGKILL);
  ASSERT_LT(progress(sys, first), 2 * first.size - 16 * MiB) << "too late: not mid-ingest";

  auto got = pulls.get();
  EXPECT_EQ(got.problems, "") << sys.logs();
  EXPECT_LE(static_cast<double>(sys.registry_egress()), max_egress * total_size(image))
      << "the registry sent " << sys.registry_egress() << " bytes\n"
      << sys.logs();
  auto& survivor = *sys.seeders[other];
  EXPECT_NE(survivor.output().find("taking over"), std::string::npos) << survivor.output();
  EXPECT_GT(metric_of(survivor, "blobswarm_seeder_swarm_bytes_total"), 2 * MiB)
      << "the published segments came from the mirrors";
  EXPECT_GE(stored_blobs(survivor), 1) << "it holds the layer it took over";
  for (auto& m : sys.mirrors) EXPECT_EQ(cache_problems(m->dir() / "data"), "");
}

// Mirrors that know different seeders ask each its own for the same blob
// at the same moment: one ingest, one copy from the registry.
TEST(ha_faults, mirrors_asking_different_seeders_at_once_ingest_once) {
  ha_system sys;
  auto blob = sys.reg.push_blob("ha/once", random_bytes(8 * MiB, 2201));
  sys.throttle_registry(8000000);
  sys.add_mirror({{"seeder", sys.seeder_urls()[0]}});
  sys.add_mirror({{"seeder", sys.seeder_urls()[1]}});
  auto got = pull_everywhere(all(sys.mirrors), "ha/once", {blob});
  EXPECT_EQ(got.problems, "") << sys.logs();
  EXPECT_EQ(sys.registry_proxy->count({"GET", blob.digest.str()}), 1u)
      << testing::PrintToString(sys.registry_proxy->requests());
  EXPECT_LE(static_cast<double>(sys.registry_egress()), max_egress * blob.size) << sys.logs();
  double followed = 0;
  for (auto& s : sys.seeders) followed += metric_of(*s, "blobswarm_seeder_ingests_followed_total");
  EXPECT_EQ(followed, 1) << "one seeder followed the other's ingest\n" << sys.logs();
}

// Redis restarts (losing every peer and lease) while mirrors pull a blob
// being ingested: the pulls finish, the ingest is not repeated.
TEST(ha_faults, redis_restarted_mid_pull) {
  ha_system sys;
  std::vector<pushed_blob> blobs = {sys.reg.push_blob("ha/redis", random_bytes(12 * MiB, 2301))};
  sys.throttle_registry(6000000);
  auto pulls = slow_pulls(sys, "ha/redis", blobs);
  ASSERT_TRUE(wait_for([&] { return progress(sys, blobs[0]) >= 2 * MiB; }, 60s)) << sys.logs();
  sys.redis.stop();
  ASSERT_TRUE(wait_for([&] { return progress(sys, blobs[0]) >= 4 * MiB; }, 30s)) << sys.logs();
  sys.redis.start();
  auto got = pulls.get();
  EXPECT_EQ(got.problems, "") << sys.logs();
  EXPECT_LE(static_cast<double>(sys.registry_egress()), max_egress * total_size(blobs))
      << sys.logs();
  // The replicas use Redis again: a new node gets peers.
  auto& late = sys.add_mirror();
  EXPECT_EQ(pull_everywhere({&late}, "ha/redis", blobs).problems, "") << sys.logs();
  EXPECT_GT(late.stats_total("from_peers"), 0u) << late.stats_totals().dump();
}

// PostgreSQL restarts while mirrors pull: announces go on from the
// replicas' memory, registrations wait for it, the pulls finish.
TEST(ha_faults, postgresql_restarted_mid_pull) {
  ha_system sys;
  std::vector<pushed_blob> blobs = {sys.reg.push_blob("ha/pg", random_bytes(8 * MiB, 2401)),
                                    sys.reg.push_blob("ha/pg", random_bytes(3 * MiB, 2402))};
  auto pulls = slow_pulls(sys, "ha/pg", blobs);
  ASSERT_TRUE(wait_for([&] { return progress(sys, blobs[0]) >= 2 * MiB; }, 60s)) << sys.logs();
  shared_postgres().stop();
  ASSERT_TRUE(wait_for([&] { return progress(sys, blobs[0]) >= 6 * MiB; }, 30s)) << sys.logs();
  shared_postgres().start();
  auto got = pulls.get();
  EXPECT_EQ(got.problems, "") << sys.logs();
  // After the restart the index of record works: a new node finds the
  // blobs' torrents at the tracker and the peers in the swarm.
  auto& late = sys.add_mirror();
  EXPECT_EQ(pull_everywhere({&late}, "ha/pg", blobs).problems, "") << sys.logs();
  EXPECT_GT(late.stats_total("from_peers"), 0u) << late.stats_totals().dump();
  EXPECT_LE(static_cast<double>(sys.registry_egress()), max_egress * total_size(blobs))
      << sys.logs();
}

// A tracker and a seeder replica start while the others serve. The new
// seeder gets copies of what was ingested before it came (the replicator
// keeps asking), so when the first tracker replicas and the first seeder
// are then killed, a new node still pulls everything, without the
// registry.
TEST(ha_faults, replicas_started_while_others_serve_take_over) {
  ha_system sys({.trackers_started = 2, .seeders_started = 1});
  std::vector<pushed_blob> first = {sys.reg.push_blob("ha/late", random_bytes(6 * MiB, 2501)),
                                    sys.reg.push_blob("ha/late", random_bytes(2 * MiB, 2502))};
  std::vector<pushed_blob> second = {sys.reg.push_blob("ha/late", random_bytes(5 * MiB, 2503))};
  sys.add_mirror();
  sys.add_mirror();
  ASSERT_EQ(pull_everywhere(all(sys.mirrors), "ha/late", first).problems, "") << sys.logs();
  // Seeder 1 was down: the mirrors went to seeder 0, which ingested all.
  auto pulls = std::async(std::launch::async,
                          [&] { return pull_everywhere(all(sys.mirrors), "ha/late", second); });
  sys.start_tracker(2);
  sys.start_seeder(1);
  ASSERT_EQ(pulls.get().problems, "") << sys.logs();
  // Every blob reaches seeder 1 (replicas: 2 of 2 seeders), those
  // ingested before it started too.
  EXPECT_TRUE(wait_for([&] { return stored_blobs(*sys.seeders[1]) == 3; }, 30s)) << sys.logs();
  auto egress = sys.registry_egress();
  sys.trackers[0]->stop(SIGKILL);
  sys.trackers[1]->stop(SIGKILL);
  sys.seeders[0]->stop(SIGKILL);
  sys.mirrors.clear();  // no node holds anything: only seeder 1 does
  auto& fresh = sys.add_mirror();
  auto all_blobs = first;
  all_blobs.insert(all_blobs.end(), second.begin(), second.end());
  EXPECT_EQ(pull_everywhere({&fresh}, "ha/late", all_blobs).problems, "") << sys.logs();
  EXPECT_EQ(sys.registry_egress(), egress) << "the registry was not asked again\n" << sys.logs();
  EXPECT_LE(static_cast<double>(egress), max_egress * total_size(all_blobs)) << sys.logs();
}

}  // namespace
}  // namespace blobswarm::test
