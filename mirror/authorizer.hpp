// authorizer: decides whether a client may read one blob or manifest of a
// repository, by asking upstream with the client's own credentials (its
// Authorization header, or none). A cache shared by tenants must not become
// a way around their registry's access control, and a digest is not a
// secret (it appears in shared base images' manifests, in logs, in the
// tracker's UI): so the question is per (registry, repository, digest,
// credential) — may this client read *this* blob in *this* repository —
// not merely "may it read the repository". Upstream answers it with a HEAD
// of the blob (or manifest) in that repository: 2xx allows, 404 means the
// blob is not in that repository (answered as BLOB_UNKNOWN /
// MANIFEST_UNKNOWN, nothing from the cache or swarm), 401/403 are relayed.
//
// Answers are cached per key for `ttl`. A manifest that upstream served to
// a client is itself such an answer for everything it references (a
// registry links a manifest's blobs into its repository before it accepts
// the manifest), so a pull's blob checks are usually answered without one
// more request (grant_referenced). When upstream cannot be reached, the
// last answer is reused (stale-if-error) for at most `stale_limit`; without
// one the request is refused.
#pragma once

#include <spdlog/logger.h>

#include <chrono>
#include <functional>
#include <map>
#include <optional>
#include <string>

#include "common/blocking_pool.hpp"
#include "common/digest.hpp"
#include "common/repository_name.hpp"
#include "common/units.hpp"
#include "mirror/upstreams.hpp"

namespace blobswarm::mirror {

struct authorization_verdict {
  bool allowed = false;
  // When refused: 401 (credentials needed), 403, or 404 (not in this repository).
  int status = 401;
  std::string challenge;  // upstream's WWW-Authenticate, relayed to the client
  std::string message;
  // When upstream gave this answer (facts derived from it are no newer).
  std::chrono::steady_clock::time_point as_of{};
};

class authorizer {
 public:
  // Answers kept at most this long when upstream cannot be reached.
  static constexpr auto stale_limit = std::chrono::hours(1);
  // Entries kept before the oldest half is dropped.
  static constexpr std::size_t max_entries = 100000;

  authorizer(upstreams& registries, blocking_pool& pool, duration ttl,
             std::shared_ptr<spdlog::logger> log)
      : registries_(registries), pool_(pool), ttl_(ttl), log_(std::move(log)) {}

  // What to ask upstream about: a blob (HEAD blob) or a manifest by digest
  // (HEAD manifest).
  struct probe {
    bool blob = true;
    digest id;
  };
  awaitable<result<authorization_verdict>> check(std::string_view host, const repository_name& name,
                                                 std::optional<std::string_view> authorization,
                                                 const probe& what);

  // May the client use the registry at all (GET /v2/ with its credentials)?
  // Clients such as podman and skopeo learn from the mirror's /v2/ whether
  // and how to authenticate, so it relays upstream's challenge.
  awaitable<result<authorization_verdict>> check_registry(
      std::string_view host, std::optional<std::string_view> authorization);

  // Records a verdict learned elsewhere (as of v.as_of, or now when unset):
  // a manifest fetch made with the client's credentials answers the same
  // question for that manifest.
  void remember(std::string_view host, const repository_name& name,
                std::optional<std::string_view> authorization, const probe& what,
                const authorization_verdict& v);
  // Upstream served `manifest_body` (whose digest is the manifest's) from
  // this repository to this credential: allows the blobs and manifests it
  // references there for the same credential.
  // `as_of`: when upstream answered for the manifest.
  void grant_referenced(std::string_view host, const repository_name& name,
                        std::optional<std::string_view> authorization,
                        std::string_view manifest_body, std::string_view content_type,
                        std::chrono::steady_clock::time_point as_of);

  std::size_t entries() const noexcept { return cache_.size(); }

 private:
  std::string key(std::string_view host, const repository_name& name,
                  std::optional<std::string_view> authorization, const probe& what) const;
  // Asks upstream through `ask` (run on the pool, writing a 401's
  // challenge into *challenge) unless a fresh answer for `k` is cached;
  // `subject` names what is asked about in log lines and errors.
  awaitable<result<authorization_verdict>> decide(std::string k, std::function<result<void>()> ask,
                                                  std::shared_ptr<std::string> challenge,
                                                  std::string subject);
  // Keeps `v` unless a newer answer is already there.
  void store(std::string key, const authorization_verdict& v);

  upstreams& registries_;
  blocking_pool& pool_;
  duration ttl_;
  std::shared_ptr<spdlog::logger> log_;
  std::map<std::string, authorization_verdict, std::less<>> cache_;
};

}  // namespace blobswarm::mirror
