// authorizer: decides whether a client may pull from a repository, by
// asking upstream with the client's own credentials (its Authorization
// header, or none). A blob or manifest of a private repository is served
// from this node's cache or swarm only to clients upstream would serve it
// to — a cache shared by tenants must not become a way around their
// registry's access control. Answers are cached per (registry, repository,
// credential) for `ttl`; when upstream cannot be reached, the last answer
// is reused (stale-if-error), and without one the request is refused.
#pragma once

#include <spdlog/logger.h>

#include <chrono>
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
  int status = 401;       // when refused: 401 (credentials needed) or 403
  std::string challenge;  // upstream's WWW-Authenticate, relayed to the client
  std::string message;
};

class authorizer {
 public:
  authorizer(upstreams& registries, blocking_pool& pool, duration ttl,
             std::shared_ptr<spdlog::logger> log)
      : registries_(registries), pool_(pool), ttl_(ttl), log_(std::move(log)) {}

  // `probe` is a blob digest of the repository (HEAD blob) or a manifest
  // reference (HEAD manifest) to ask upstream about.
  struct probe {
    bool blob = true;
    std::string reference;
  };
  awaitable<result<authorization_verdict>> check(std::string_view host, const repository_name& name,
                                                 std::optional<std::string_view> authorization,
                                                 probe what);

  // Records a verdict learned elsewhere (a manifest fetch made with the
  // client's credentials answers the same question).
  void remember(std::string_view host, const repository_name& name,
                std::optional<std::string_view> authorization, const authorization_verdict& v);

 private:
  struct entry {
    authorization_verdict verdict;
    std::chrono::steady_clock::time_point checked;
  };
  std::string key(std::string_view host, const repository_name& name,
                  std::optional<std::string_view> authorization) const;

  upstreams& registries_;
  blocking_pool& pool_;
  duration ttl_;
  std::shared_ptr<spdlog::logger> log_;
  std::map<std::string, entry, std::less<>> cache_;
};

}  // namespace blobswarm::mirror
