#include "mirror/upstreams.hpp"

namespace blobswarm::mirror {

result<std::shared_ptr<registry::client>> upstreams::client_for(std::string_view host) {
  auto target = table_.resolve(host);
  if (!target) return fail(target.error());
  std::lock_guard lock(mutex_);
  if (auto it = clients_.find(target->host); it != clients_.end()) return it->second;
  auto c = registry::client::make(*target, options_);
  if (!c) return fail(c.error());
  clients_.emplace(target->host, *c);
  return *c;
}

std::string upstreams::host_key(std::string_view host) const {
  if (host.empty()) return table_.default_upstream().host;
  return registry::canonical_host(host);
}

bool upstreams::is_configured_host(std::string_view host) const {
  auto key = registry::canonical_host(host);
  for (const auto& u : table_.all()) {
    if (u.host == key) return true;
  }
  return false;
}

}  // namespace blobswarm::mirror
