// ingest_lease: which seeder is bringing a blob into the cluster, as a
// lease in Redis, so that an ingest happens once cluster-wide even when
// mirrors ask different seeders for the same blob at the same moment.
//
// One key per blob, blobswarm:ingest:{<digest>}, whose value is the
// holder's URL (its entry in `seeders`) and which expires `ttl` after the
// holder last renewed it. The holder renews every ttl/3 while its ingest
// runs and deletes the key when it ends; a holder that dies stops renewing
// and the key expires, so another seeder takes the blob over (from the
// swarm, then upstream for the rest: seeder/swarm_fetch). Claiming,
// renewing and releasing are each one small Lua script, atomic in Redis:
// a claim succeeds when the key is absent or already ours (a seeder that
// restarted keeps its own lease), a release deletes only our own.
//
// When Redis cannot be reached the answer says so (`unavailable`) and the
// caller ingests anyway: availability over the once-only guarantee, which
// rendezvous ownership still makes the common case (mirrors ask a blob's
// owner first). Calls block (hiredis): run them on the blocking pool.
#pragma once

#include <spdlog/logger.h>

#include <memory>
#include <string>

#include "common/digest.hpp"
#include "common/error.hpp"
#include "common/units.hpp"
#include "db/redis_pool.hpp"

namespace blobswarm::seeder {

struct lease_claim {
  enum class outcome {
    ours,        // we hold it (new, renewed, or re-taken after it vanished)
    held,        // another seeder holds it: `holder`
    unavailable  // Redis could not be asked
  };
  outcome what = outcome::unavailable;
  std::string holder;  // the holder's URL when held
  std::string error;   // why, when unavailable
};

class ingest_lease {
 public:
  // `url`: redis://...; `owner`: this seeder's URL; `ttl`: how long a lease
  // outlives its holder's last renewal.
  static result<std::unique_ptr<ingest_lease>> make(const std::string& url, std::string owner,
                                                    duration ttl,
                                                    std::shared_ptr<spdlog::logger> log);

  // Takes the lease on `d` if nobody (else) holds it.
  lease_claim claim(const blobswarm::digest& d);
  // Extends our lease (re-taking it if it vanished, e.g. Redis restarted);
  // `held` when another seeder took it meanwhile.
  lease_claim renew(const blobswarm::digest& d) { return claim(d); }
  // Drops our lease (never another's). Best effort.
  void release(const blobswarm::digest& d);

  const std::string& owner() const noexcept { return owner_; }
  duration ttl() const noexcept { return ttl_; }
  std::string describe() const { return pool_.describe(); }
  static std::string key(const blobswarm::digest& d);

 private:
  ingest_lease(db::redis_url url, std::string owner, duration ttl,
               std::shared_ptr<spdlog::logger> log);

  std::string owner_;
  duration ttl_;
  db::redis_pool pool_;
};

}  // namespace blobswarm::seeder
