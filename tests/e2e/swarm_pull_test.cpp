// The whole system on loopback: a Distribution registry, the tracker, the
// seeder and three mirrors on 127.0.0.2, .3 and .4, pulled through with
// skopeo. What it proves: images arrive byte-identical to direct pulls, the
// registry serves each blob once, and later nodes get their bytes mostly
// from earlier ones.
#include <gtest/gtest.h>

#include <future>
#include <random>

#include "common/hex.hpp"
#include "common/http/client.hpp"
#include "tests/support/pull_clients.hpp"
#include "tests/support/registry_fixture.hpp"
#include "tests/support/service_fixtures.hpp"
#include "tests/support/support.hpp"

namespace blobswarm::test {
namespace {

using nlohmann::json;

struct blobswarm_system {
  registry_fixture reg;
  temp_dir dir;
  std::string admin_token;
  std::string passkey;
  std::unique_ptr<service_process> tracker, seeder;
  std::vector<std::unique_ptr<service_process>> mirrors;

  explicit blobswarm_system(int mirror_count = 3) {
    admin_token = to_hex(random_bytes(16, std::random_device{}()));
    tracker = start_tracker(dir.path(), admin_token);
    passkey = create_tracker_user(*tracker, admin_token, "nodes");

    auto seeder_listen = "127.0.0.1:" + std::to_string(free_port());
    seeder = std::make_unique<service_process>(
        "blobswarm-seeder",
        json{{"listen", seeder_listen},
             {"data", (dir / "seeder").string()},
             {"upstream", reg.url()},
             {"upstreams", {{reg.host(), {{"url", reg.url()}}}}},
             {"tracker", tracker->url()},
             {"tracker_token_file", (dir / "admin-token").string()},
             {"peer_listen", "127.0.0.1:" + std::to_string(free_port())}},
        seeder_listen);
    seeder->start();

    for (int i = 0; i < mirror_count; ++i) {
      mirror_config c;
      c.host = "127.0.0." + std::to_string(2 + i);
      c.upstream = reg.url();
      c.upstreams = {{reg.host(), {{"url", reg.url()}}}};
      c.tracker = tracker->url();
      c.seeder = seeder->url();
      c.passkey = passkey;
      c.extra = {{"stall_timeout", "10s"}};
      mirrors.push_back(start_mirror(c));
    }
  }
};

std::uint64_t total_of(const json& t, const char* key) {
  return t.value(key, std::uint64_t{0});
}

TEST(e2e, three_mirrors_pull_an_image_and_later_nodes_fetch_from_earlier_ones) {
  blobswarm_system sys;
  // One small layer, one larger than the seeder's 32 MiB segments.
  auto image =
      sys.reg.push_image("team/app", "v1", {.layer_sizes = {6 << 20, 48 << 20}, .seed = 21});
  std::uint64_t image_bytes = 0;
  for (const auto& b : image.blobs()) image_bytes += b.size;

  temp_dir out;
  // The first node pulls cold: the seeder fetches each blob from the registry once.
  auto first = skopeo_copy_to_dir(sys.mirrors[0]->listen() + "/team/app:v1", out / "m0");
  ASSERT_EQ(first.status, 0) << first.output;
  // The others pull at the same time, warm.
  auto second = std::async(std::launch::async, [&] {
    return skopeo_copy_to_dir(sys.mirrors[1]->listen() + "/team/app:v1", out / "m1");
  });
  auto third = skopeo_copy_to_dir(sys.mirrors[2]->listen() + "/team/app:v1", out / "m2");
  ASSERT_EQ(third.status, 0) << third.output;
  auto second_result = second.get();
  ASSERT_EQ(second_result.status, 0) << second_result.output;

  // The registry served every blob exactly once (to the seeder).
  for (const auto& b : image.blobs()) {
    EXPECT_EQ(sys.reg.count_requests("GET", "/v2/team/app/blobs/" + b.digest.str()), 1u)
        << b.digest.str();
  }
  // Byte-identical to a direct pull.
  auto direct = skopeo_copy_to_dir(sys.reg.host() + "/team/app:v1", out / "direct");
  ASSERT_EQ(direct.status, 0) << direct.output;
  auto expected = read_tree(out / "direct");
  for (auto name : {"m0", "m1", "m2"}) EXPECT_EQ(read_tree(out / name), expected) << name;

  // Nothing came from upstream over HTTP; the later nodes got most of their
  // bytes from the other nodes rather than from the seeder.
  std::uint64_t later_peers = 0, later_total = 0;
  for (int i = 0; i < 3; ++i) {
    auto t = sys.mirrors[i]->stats_totals();
    auto got =
        total_of(t, "from_peers") + total_of(t, "from_seeder") + total_of(t, "from_upstream");
    EXPECT_EQ(got, image_bytes) << "mirror " << i << ": " << t.dump();
    EXPECT_EQ(total_of(t, "from_upstream"), 0u) << "mirror " << i << ": " << t.dump();
    if (i > 0) {
      later_peers += total_of(t, "from_peers");
      later_total += got;
    }
  }
  // Most from the other nodes: once a node seeds, the tracker keeps the
  // seeder (an origin) on standby and hands out the nodes instead.
  fmt::print("later nodes: {} of {} bytes from peers\n", later_peers, later_total);
  EXPECT_GT(later_peers * 2, later_total) << "later nodes took most bytes from the seeder";
  EXPECT_NE(sys.mirrors[1]->output().find("via swarm"), std::string::npos);
}

TEST(e2e, three_cold_mirrors_at_once_share_one_upstream_fetch) {
  blobswarm_system sys;
  auto image = sys.reg.push_image("team/cold", "v1", {.layer_sizes = {40 << 20}, .seed = 22});
  temp_dir out;
  std::vector<std::future<command_result>> pulls;
  for (int i = 0; i < 3; ++i) {
    pulls.push_back(std::async(std::launch::async, [&, i] {
      return skopeo_copy_to_dir(sys.mirrors[i]->listen() + "/team/cold:v1",
                                out / ("m" + std::to_string(i)));
    }));
  }
  for (auto& p : pulls) {
    auto r = p.get();
    EXPECT_EQ(r.status, 0) << r.output;
  }
  for (const auto& b : image.blobs()) {
    EXPECT_EQ(sys.reg.count_requests("GET", "/v2/team/cold/blobs/" + b.digest.str()), 1u);
  }
  auto direct = skopeo_copy_to_dir(sys.reg.host() + "/team/cold:v1", out / "direct");
  ASSERT_EQ(direct.status, 0) << direct.output;
  auto expected = read_tree(out / "direct");
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(read_tree(out / ("m" + std::to_string(i))), expected) << i;
    EXPECT_EQ(total_of(sys.mirrors[i]->stats_totals(), "from_upstream"), 0u) << i;
  }
}

}  // namespace
}  // namespace blobswarm::test
