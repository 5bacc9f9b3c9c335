// Ingest leases (seeder/ingest_lease) on a real redis-server the test
// starts on loopback: one holder at a time, a holder that stops renewing
// loses the lease after its ttl, a restarted holder keeps its own, a
// release never drops another's, and a Redis that is down is reported as
// such (the seeder then ingests without a lease) and is used again once
// back.
#include <gtest/gtest.h>

#include <thread>

#include "common/logging.hpp"
#include "seeder/ingest_lease.hpp"
#include "tests/support/engines.hpp"

namespace blobswarm::seeder {
namespace {

using outcome = lease_claim::outcome;

digest blob(char c) {
  return *digest::parse("sha256:" + std::string(64, c));
}

std::unique_ptr<ingest_lease> lease_for(const test::redis_server& redis, const std::string& owner,
                                        duration ttl = std::chrono::seconds(10)) {
  auto l = ingest_lease::make(redis.url(), owner, ttl, logging::get("lease"));
  EXPECT_TRUE(l) << l.error().message;
  return std::move(*l);
}

TEST(ingest_lease, one_seeder_holds_a_blob_at_a_time) {
  test::redis_server redis;
  auto a = lease_for(redis, "http://a:8001");
  auto b = lease_for(redis, "http://b:8001");
  EXPECT_EQ(a->claim(blob('1')).what, outcome::ours);
  auto other = b->claim(blob('1'));
  EXPECT_EQ(other.what, outcome::held);
  EXPECT_EQ(other.holder, "http://a:8001");
  // Another blob is free; the holder's own claim and renewals succeed.
  EXPECT_EQ(b->claim(blob('2')).what, outcome::ours);
  EXPECT_EQ(a->claim(blob('1')).what, outcome::ours);
  EXPECT_EQ(a->renew(blob('1')).what, outcome::ours);
  EXPECT_EQ(redis.cli({"GET", ingest_lease::key(blob('1'))}), "http://a:8001\n");
  // B cannot release A's lease; A can, and then B takes it.
  b->release(blob('1'));
  EXPECT_EQ(b->claim(blob('1')).what, outcome::held);
  a->release(blob('1'));
  EXPECT_EQ(b->claim(blob('1')).what, outcome::ours);
}

TEST(ingest_lease, a_holder_that_stops_renewing_loses_it_after_the_ttl) {
  test::redis_server redis;
  auto a = lease_for(redis, "http://a:8001", std::chrono::seconds(1));
  auto b = lease_for(redis, "http://b:8001", std::chrono::seconds(1));
  ASSERT_EQ(a->claim(blob('3')).what, outcome::ours);
  EXPECT_EQ(b->claim(blob('3')).what, outcome::held);
  // Renewed within the ttl, it stays A's past the first ttl.
  std::this_thread::sleep_for(std::chrono::milliseconds(600));
  EXPECT_EQ(a->renew(blob('3')).what, outcome::ours);
  std::this_thread::sleep_for(std::chrono::milliseconds(600));
  EXPECT_EQ(b->claim(blob('3')).what, outcome::held);
  // A stops (killed): B gets it once the ttl has passed, and A's late
  // renewal says so instead of taking it back.
  EXPECT_TRUE(test::wait_for([&] { return b->claim(blob('3')).what == outcome::ours; },
                             std::chrono::seconds(5)));
  auto late = a->renew(blob('3'));
  EXPECT_EQ(late.what, outcome::held);
  EXPECT_EQ(late.holder, "http://b:8001");
}

TEST(ingest_lease, redis_down_is_reported_and_redis_back_is_used_again) {
  test::redis_server redis;
  auto a = lease_for(redis, "http://a:8001");
  ASSERT_EQ(a->claim(blob('4')).what, outcome::ours);
  redis.stop();
  auto down = a->claim(blob('5'));
  EXPECT_EQ(down.what, outcome::unavailable);
  EXPECT_FALSE(down.error.empty());
  a->release(blob('4'));  // no crash, no hang
  redis.start();
  // The restarted Redis is empty: renewing re-takes the lease.
  EXPECT_TRUE(test::wait_for([&] { return a->renew(blob('4')).what == outcome::ours; },
                             std::chrono::seconds(5)));
  EXPECT_EQ(redis.cli({"GET", ingest_lease::key(blob('4'))}), "http://a:8001\n");
}

TEST(ingest_lease, a_bad_url_is_refused) {
  auto l = ingest_lease::make("postgresql://x/y", "http://a:8001", std::chrono::seconds(10),
                              logging::get("lease"));
  ASSERT_FALSE(l);
  EXPECT_NE(l.error().message.find("lease_store"), std::string::npos) << l.error().message;
}

}  // namespace
}  // namespace blobswarm::seeder
