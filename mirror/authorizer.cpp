#include "mirror/authorizer.hpp"

#include <algorithm>

#include "common/hasher.hpp"
#include "common/hex.hpp"
#include "common/registry/manifest.hpp"

namespace blobswarm::mirror {

namespace {
std::string credential_key(std::optional<std::string_view> authorization) {
  // Credentials are kept only as a hash.
  return authorization ? to_hex(sha256(*authorization)).substr(0, 32) : std::string("-");
}
}  // namespace

std::string authorizer::key(std::string_view host, const repository_name& name,
                            std::optional<std::string_view> authorization,
                            const probe& what) const {
  return fmt::format("{}|{}|{}|{}{}", registries_.host_key(host), credential_key(authorization),
                     name.str(), what.blob ? "b:" : "m:", what.id.str());
}

void authorizer::store(std::string k, const authorization_verdict& v) {
  auto stamped = v;
  if (stamped.as_of == std::chrono::steady_clock::time_point{}) {
    stamped.as_of = std::chrono::steady_clock::now();
  }
  if (auto it = cache_.find(k); it != cache_.end()) {
    if (it->second.as_of <= stamped.as_of) it->second = std::move(stamped);
    return;
  }
  if (cache_.size() >= max_entries) {
    // Bounded: drop the older half of the answers (cheap to relearn).
    std::vector<std::chrono::steady_clock::time_point> ages;
    ages.reserve(cache_.size());
    for (const auto& [_, e] : cache_) ages.push_back(e.as_of);
    auto middle = ages.begin() + static_cast<std::ptrdiff_t>(ages.size() / 2);
    std::nth_element(ages.begin(), middle, ages.end());
    auto cutoff = *middle;
    std::erase_if(cache_, [&](const auto& kv) { return kv.second.as_of <= cutoff; });
  }
  cache_.emplace(std::move(k), std::move(stamped));
}

void authorizer::remember(std::string_view host, const repository_name& name,
                          std::optional<std::string_view> authorization, const probe& what,
                          const authorization_verdict& v) {
  store(key(host, name, authorization, what), v);
}

void authorizer::grant_referenced(std::string_view host, const repository_name& name,
                                  std::optional<std::string_view> authorization,
                                  std::string_view manifest_body, std::string_view content_type,
                                  std::chrono::steady_clock::time_point as_of) {
  auto m = registry::parse_manifest(manifest_body, content_type);
  if (!m) return;  // nothing learned; each blob is checked on its own
  authorization_verdict allowed{true};
  allowed.as_of = as_of;
  for (const auto& d : m->blobs()) remember(host, name, authorization, {true, d.digest}, allowed);
  for (const auto& d : m->manifests) {
    remember(host, name, authorization, {false, d.digest}, allowed);
  }
}

awaitable<result<authorization_verdict>> authorizer::check(
    std::string_view host, const repository_name& name,
    std::optional<std::string_view> authorization, const probe& what) {
  auto client = registries_.client_for(host);
  if (!client) co_return fail(client.error());
  auto challenge = std::make_shared<std::string>();
  registry::request_options opts;
  // Exactly the client's credentials: ours must never stand in for theirs.
  opts.authorization = std::string(authorization.value_or(""));
  opts.challenge = challenge.get();
  std::function<result<void>()> ask = [c = *client, name, what, opts]() -> result<void> {
    if (what.blob) {
      auto r = c->head_blob(name, what.id, opts);
      if (!r) return fail(r.error());
    } else {
      auto r = c->head_manifest(name, what.id.str(), opts);
      if (!r) return fail(r.error());
    }
    return {};
  };
  auto subject =
      fmt::format("{} {} in {}", what.blob ? "blob" : "manifest", what.id.str(), name.str());
  co_return co_await decide(key(host, name, authorization, what), std::move(ask), challenge,
                            std::move(subject));
}

awaitable<result<authorization_verdict>> authorizer::check_registry(
    std::string_view host, std::optional<std::string_view> authorization) {
  auto client = registries_.client_for(host);
  if (!client) co_return fail(client.error());
  auto challenge = std::make_shared<std::string>();
  registry::request_options opts;
  opts.authorization = std::string(authorization.value_or(""));
  opts.challenge = challenge.get();
  std::function<result<void>()> ask = [c = *client, opts]() {
    return c->ping(opts);
  };
  co_return co_await decide(
      fmt::format("{}|{}|/v2/", registries_.host_key(host), credential_key(authorization)),
      std::move(ask), challenge, "the registry");
}

awaitable<result<authorization_verdict>> authorizer::decide(std::string k,
                                                            std::function<result<void>()> ask,
                                                            std::shared_ptr<std::string> challenge,
                                                            std::string subject) {
  auto now = std::chrono::steady_clock::now();
  if (auto it = cache_.find(k); it != cache_.end() && now - it->second.as_of < ttl_) {
    co_return it->second;
  }
  // `ask` writes upstream's challenge into *challenge, which it keeps alive.
  auto outcome = co_await pool_.run(std::move(ask));

  authorization_verdict v;
  v.as_of = now;
  if (outcome) {
    v.allowed = true;
  } else if (outcome.error().code == errc::unauthorized ||
             outcome.error().code == errc::forbidden) {
    v.status = outcome.error().code == errc::forbidden ? 403 : 401;
    v.challenge = *challenge;
    v.message = outcome.error().message;
  } else if (outcome.error().code == errc::not_found) {
    // Not in this repository (or not readable through it): whatever this
    // node holds under that digest came from somewhere else.
    v.status = 404;
    v.message = fmt::format("{} is unknown", subject);
  } else {
    // Upstream could not answer. Reuse the last answer if there is one.
    auto it = cache_.find(k);  // looked up again: the map changed while we waited
    if (it != cache_.end() && std::chrono::steady_clock::now() - it->second.as_of < stale_limit) {
      log_->warn("upstream unreachable ({}); reusing the last authorization answer for {}",
                 outcome.error().message, subject);
      co_return it->second;
    }
    co_return fail(outcome.error().with_context(
        fmt::format("cannot check access to {} with upstream", subject)));
  }
  store(std::move(k), v);
  co_return v;
}

}  // namespace blobswarm::mirror
