// Rendezvous hashing (common/rendezvous): the owner of a digest is the same
// in every process whatever order the seeders are listed in, the weights
// are pinned (mirrors and seeders of different builds must agree), load
// spreads evenly, and removing a seeder moves only the blobs it owned.
#include "common/rendezvous.hpp"

#include <gtest/gtest.h>

#include <map>

namespace blobswarm {
namespace {

std::string key(int i) {
  auto hex = std::to_string(i);
  return "sha256:" + std::string(64 - hex.size(), '0') + hex;
}

TEST(rendezvous, weights_are_pinned_to_sha256_of_url_and_key) {
  // Computed independently: int.from_bytes(sha256(b"<url>\n<key>")[:8], "big").
  const std::string k = "sha256:" + std::string(64, 'a');
  EXPECT_EQ(rendezvous_weight("http://a:8001", k), 7354126402246286567ULL);
  EXPECT_EQ(rendezvous_weight("http://b:8001", k), 8468276888124814471ULL);
  EXPECT_EQ(rendezvous_weight("http://c:8001", k), 18203666113411723251ULL);
  std::vector<std::string> set = {"http://a:8001", "http://b:8001", "http://c:8001"};
  EXPECT_EQ(rendezvous_ranked(set, k),
            (std::vector<std::string>{"http://c:8001", "http://b:8001", "http://a:8001"}));
  EXPECT_EQ(rendezvous_order(set, k), (std::vector<std::size_t>{2, 1, 0}));
}

TEST(rendezvous, order_ignores_list_order_and_trailing_slashes) {
  std::vector<std::string> one = {"http://s1:8001", "http://s2:8001/", "http://s3:8001"};
  std::vector<std::string> other = {"http://s3:8001//", "http://s1:8001", "http://s2:8001"};
  for (int i = 0; i < 200; ++i) {
    EXPECT_EQ(rendezvous_ranked(one, key(i)), rendezvous_ranked(other, key(i))) << key(i);
  }
  EXPECT_EQ(rendezvous_member("http://s2:8001//"), "http://s2:8001");
}

TEST(rendezvous, owners_are_spread_evenly) {
  std::vector<std::string> set = {"http://s1:8001", "http://s2:8001", "http://s3:8001"};
  std::map<std::string, int> owned;
  for (int i = 0; i < 3000; ++i) ++owned[rendezvous_ranked(set, key(i)).front()];
  ASSERT_EQ(owned.size(), 3u);
  for (const auto& [m, n] : owned) {
    EXPECT_GT(n, 850) << m;
    EXPECT_LT(n, 1150) << m;
  }
}

TEST(rendezvous, removing_a_member_moves_only_its_blobs_to_their_second_choice) {
  std::vector<std::string> three = {"http://s1:8001", "http://s2:8001", "http://s3:8001"};
  std::vector<std::string> two = {"http://s1:8001", "http://s3:8001"};
  int moved = 0;
  for (int i = 0; i < 1000; ++i) {
    auto before = rendezvous_ranked(three, key(i));
    auto after = rendezvous_ranked(two, key(i));
    if (before.front() == "http://s2:8001") {
      ++moved;
      EXPECT_EQ(after.front(), before[1]) << "the replica takes over: " << key(i);
    } else {
      EXPECT_EQ(after.front(), before.front()) << key(i);
    }
  }
  EXPECT_GT(moved, 250);
  EXPECT_LT(moved, 420);
}

TEST(rendezvous, empty_and_single_sets) {
  EXPECT_TRUE(rendezvous_order({}, key(1)).empty());
  std::vector<std::string> one = {"http://only:8001/"};
  EXPECT_EQ(rendezvous_ranked(one, key(1)), std::vector<std::string>{"http://only:8001"});
}

}  // namespace
}  // namespace blobswarm
