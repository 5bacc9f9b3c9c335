// upstreams: one registry::client per configured upstream registry, made on
// first use, and the rule that picks the upstream for a request.
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "common/registry/client.hpp"
#include "common/registry/upstream_table.hpp"

namespace blobswarm::mirror {

class upstreams {
 public:
  upstreams(registry::upstream_table table, registry::client_options options)
      : table_(std::move(table)), options_(options) {}

  // `host` is the ?ns= value or the /v2/<host>/ prefix; empty: the default.
  result<std::shared_ptr<registry::client>> client_for(std::string_view host);
  const registry::upstream_table& table() const noexcept { return table_; }
  // The canonical host a request is for ("" means the default upstream's).
  std::string host_key(std::string_view host) const;
  bool is_configured_host(std::string_view host) const;

 private:
  registry::upstream_table table_;
  registry::client_options options_;
  std::mutex mutex_;
  std::map<std::string, std::shared_ptr<registry::client>, std::less<>> clients_;
};

}  // namespace blobswarm::mirror
