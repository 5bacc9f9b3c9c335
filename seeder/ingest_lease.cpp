#include "seeder/ingest_lease.hpp"

namespace blobswarm::seeder {

namespace {

// KEYS[1] the lease, ARGV[1] our URL, ARGV[2] ttl in ms -> {1 | 0, holder}.
constexpr std::string_view claim_script = R"lua(
local v = redis.call('GET', KEYS[1])
if (not v) or v == ARGV[1] then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  return {1, ARGV[1]}
end
return {0, v}
)lua";

// KEYS[1] the lease, ARGV[1] our URL -> 1 when deleted.
constexpr std::string_view release_script = R"lua(
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
)lua";

}  // namespace

ingest_lease::ingest_lease(db::redis_url url, std::string owner, duration ttl,
                           std::shared_ptr<spdlog::logger> log)
    : owner_(std::move(owner)),
      ttl_(ttl),
      pool_(std::move(url),
            db::redis_pool_options{.timeout = std::chrono::seconds(1),
                                   .retry_after = std::chrono::milliseconds(500),
                                   .max_idle = 4,
                                   .name = "ingest leases",
                                   .when_down = "ingests are not coordinated"},
            std::move(log)) {}

result<std::unique_ptr<ingest_lease>> ingest_lease::make(const std::string& url, std::string owner,
                                                         duration ttl,
                                                         std::shared_ptr<spdlog::logger> log) {
  auto u = db::redis_url::parse(url);
  if (!u) return fail(u.error().with_context("lease_store"));
  return std::unique_ptr<ingest_lease>(
      new ingest_lease(std::move(*u), std::move(owner), ttl, std::move(log)));
}

std::string ingest_lease::key(const digest& d) {
  // The braces keep a blob's keys in one Redis Cluster slot.
  return "blobswarm:ingest:{" + d.str() + "}";
}

lease_claim ingest_lease::claim(const digest& d) {
  auto k = key(d);
  auto ms = std::to_string(std::max<std::int64_t>(
      1, std::chrono::duration_cast<std::chrono::milliseconds>(ttl_).count()));
  auto r = pool_.run([&](db::redis_connection& c) -> result<lease_claim> {
    auto reply = c.command({"EVAL", claim_script, "1", k, owner_, ms});
    if (!reply) return fail(reply.error());
    if (reply->is_error() || reply->size() != 2) {
      return fail(errc::unavailable, "Redis refused the lease script: {}", reply->str());
    }
    lease_claim out;
    out.what =
        reply->element_integer(0) == 1 ? lease_claim::outcome::ours : lease_claim::outcome::held;
    out.holder = std::string(reply->element(1));
    return out;
  });
  if (!r) return lease_claim{.what = lease_claim::outcome::unavailable, .error = r.error().message};
  return std::move(*r);
}

void ingest_lease::release(const digest& d) {
  auto k = key(d);
  (void)pool_.run([&](db::redis_connection& c) -> result<void> {
    auto reply = c.command({"EVAL", release_script, "1", k, owner_});
    if (!reply) return fail(reply.error());
    return {};
  });
}

}  // namespace blobswarm::seeder
