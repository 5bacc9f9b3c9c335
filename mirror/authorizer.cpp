#include "mirror/authorizer.hpp"

#include "common/hasher.hpp"
#include "common/hex.hpp"

namespace blobswarm::mirror {

std::string authorizer::key(std::string_view host, const repository_name& name,
                            std::optional<std::string_view> authorization) const {
  // Credentials are kept only as a hash.
  auto cred = authorization ? to_hex(sha256(*authorization)).substr(0, 32) : std::string("-");
  return fmt::format("{}|{}|{}", registries_.host_key(host), name.str(), cred);
}

void authorizer::remember(std::string_view host, const repository_name& name,
                          std::optional<std::string_view> authorization,
                          const authorization_verdict& v) {
  if (cache_.size() > 100000) cache_.clear();  // bounded; entries are cheap to relearn
  cache_[key(host, name, authorization)] = entry{v, std::chrono::steady_clock::now()};
}

awaitable<result<authorization_verdict>> authorizer::check(
    std::string_view host, const repository_name& name,
    std::optional<std::string_view> authorization, probe what) {
  auto k = key(host, name, authorization);
  auto now = std::chrono::steady_clock::now();
  auto it = cache_.find(k);
  if (it != cache_.end() && now - it->second.checked < ttl_) co_return it->second.verdict;

  auto client = registries_.client_for(host);
  if (!client) co_return fail(client.error());
  auto challenge = std::make_shared<std::string>();
  registry::request_options opts;
  // Exactly the client's credentials: ours must never stand in for theirs.
  opts.authorization = std::string(authorization.value_or(""));
  opts.challenge = challenge.get();
  auto ask = [c = *client, name, what, opts]() -> result<void> {
    if (what.blob) {
      auto d = digest::parse(what.reference);
      if (!d) return fail(d.error());
      auto r = c->head_blob(name, *d, opts);
      if (!r) return fail(r.error());
    } else {
      auto r = c->head_manifest(name, what.reference, opts);
      if (!r) return fail(r.error());
    }
    return {};
  };
  auto outcome = co_await pool_.run(std::move(ask));

  authorization_verdict v;
  if (outcome) {
    v.allowed = true;
  } else if (outcome.error().code == errc::unauthorized ||
             outcome.error().code == errc::forbidden) {
    v.allowed = false;
    v.status = outcome.error().code == errc::forbidden ? 403 : 401;
    v.challenge = *challenge;
    v.message = outcome.error().message;
  } else if (outcome.error().code == errc::not_found) {
    // Upstream answered for this repository: access is fine, the thing
    // probed is not there (a cached blob the registry has since deleted).
    v.allowed = true;
  } else {
    // Upstream could not answer. Reuse the last answer if there is one.
    if (it != cache_.end()) {
      log_->warn("upstream unreachable ({}); reusing the last authorization answer for {}",
                 outcome.error().message, name.str());
      co_return it->second.verdict;
    }
    co_return fail(outcome.error().with_context(
        fmt::format("cannot check access to {} with upstream", name.str())));
  }
  remember(host, name, authorization, v);
  co_return v;
}

}  // namespace blobswarm::mirror
