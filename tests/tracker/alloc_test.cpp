// The announce path does not allocate once its per-thread buffers are warm
// (the "no allocation per request"). Global operator new is counted,
// so this test has a binary of its own.
#include <gtest/gtest.h>

#include <atomic>
#include <cstdlib>
#include <new>

#include "common/http/url.hpp"
#include "tracker/announcer.hpp"

namespace {
std::atomic<std::size_t> allocations{0};
}

void* operator new(std::size_t n) {
  allocations.fetch_add(1, std::memory_order_relaxed);
  if (void* p = std::malloc(n ? n : 1)) return p;
  throw std::bad_alloc();
}
void operator delete(void* p) noexcept {
  std::free(p);
}
void operator delete(void* p, std::size_t) noexcept {
  std::free(p);
}

namespace blobswarm::tracker {
namespace {

TEST(announce_path, does_not_allocate_when_warm) {
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
  GTEST_SKIP() << "sanitizers replace operator new; the release build counts";
#endif
  user_table users;
  swarm_table swarms(16);
  zone_map zones = *zone_map::build({{"10.0.0.0/8", "lan"}});
  std::string passkey = "0123456789abcdef0123456789abcdef";
  users.add(passkey_hasher()(passkey), 1, "alice");
  std::vector<std::string> hashes;
  for (int i = 0; i < 20; ++i) {
    hashes.push_back(std::string(20, static_cast<char>('a' + i)));
    ASSERT_TRUE(swarms.add({i + 1, swarm_key::from(hashes.back()), std::nullopt, 0}));
  }
  announcer a({}, users, swarms, zones);
  announce_scratch scratch(7);
  std::vector<std::string> queries;
  for (int p = 0; p < 200; ++p) {
    queries.push_back("info_hash=" + http::percent_encode(hashes[p % 20]) +
                      "&peer_id=" + http::percent_encode(fmt::format("-TT0001-{:012d}", p)) +
                      fmt::format("&port={}&uploaded=0&downloaded=0&left={}&key=ABCD{}"
                                  "&compact=1&numwant=50&supportcrypto=1&no_peer_id=1",
                                  7000 + p, p % 3 == 0 ? 0 : 100, p));
  }
  auto remote = *ip_address::parse("10.1.2.3");
  // Warm up: every peer joins (swarms grow), buffers reach their size.
  for (int round = 0; round < 3; ++round) {
    for (const auto& q : queries) {
      ASSERT_EQ(a.announce(passkey, q, remote, 100, scratch).result, announce_result::ok);
    }
  }
  auto before = allocations.load();
  ASSERT_GT(before, 0u);  // the counter sees allocations (the warm-up made some)
  for (int round = 0; round < 5; ++round) {
    for (const auto& q : queries) a.announce(passkey, q, remote, 100, scratch);
  }
  EXPECT_EQ(allocations.load() - before, 0u) << "allocations in 1000 warm announces";
}

}  // namespace
}  // namespace blobswarm::tracker
