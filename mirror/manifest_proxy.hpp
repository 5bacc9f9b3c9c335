// manifest_proxy: manifests for the mirror's clients. Fetched from upstream
// with every Accept line the client sent and with its Authorization (or,
// when clients are not authorized individually, the node's credentials).
// A manifest by digest is immutable and cached for good; a tag maps to a
// digest for `tag_ttl`, and when upstream cannot be reached a stale tag is
// served (and logged as such) rather than failing the pull.
#pragma once

#include <spdlog/logger.h>

#include <optional>
#include <string>
#include <vector>

#include "common/blocking_pool.hpp"
#include "common/repository_name.hpp"
#include "common/units.hpp"
#include "mirror/authorizer.hpp"
#include "mirror/cache.hpp"
#include "mirror/upstreams.hpp"

namespace blobswarm::mirror {

struct manifest_request {
  std::string host;  // "" for the default upstream
  repository_name name;
  std::string reference;  // tag or digest
  bool head = false;
  std::vector<std::string> accept;           // the client's Accept lines
  std::optional<std::string> authorization;  // the client's Authorization
};

struct manifest_answer {
  std::string content_type;
  digest id;
  std::uint64_t size = 0;
  std::string body;  // empty for HEAD
  bool stale = false;
};

// Why a manifest could not be served, with what to tell the client.
struct manifest_refusal {
  error reason;
  int status = 0;
  std::string challenge;  // WWW-Authenticate to relay on 401
};

class manifest_proxy {
 public:
  manifest_proxy(cache& store, upstreams& registries, authorizer& access, blocking_pool& pool,
                 duration tag_ttl, bool authorize_clients, std::shared_ptr<spdlog::logger> log)
      : store_(store),
        registries_(registries),
        access_(access),
        pool_(pool),
        tag_ttl_(tag_ttl),
        authorize_clients_(authorize_clients),
        log_(std::move(log)) {}

  awaitable<expected<manifest_answer, manifest_refusal>> get(const manifest_request& req);

 private:
  awaitable<expected<manifest_answer, manifest_refusal>> from_upstream(const manifest_request& req);
  // May the client read manifest `id` in its repository? When it may and
  // the manifest's bytes are `known`, what it references is allowed too.
  awaitable<std::optional<manifest_refusal>> authorize(const manifest_request& req,
                                                       const digest& id,
                                                       const cached_manifest* known);

  cache& store_;
  upstreams& registries_;
  authorizer& access_;
  blocking_pool& pool_;
  duration tag_ttl_;
  bool authorize_clients_;
  std::shared_ptr<spdlog::logger> log_;
};

// True when `media_type` is acceptable under the client's Accept lines
// (none sent, or a matching type, or a wildcard).
bool accepts(const std::vector<std::string>& accept_lines, std::string_view media_type);

}  // namespace blobswarm::mirror
