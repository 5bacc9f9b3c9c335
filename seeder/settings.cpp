#include "seeder/settings.hpp"

#include <algorithm>

#include "common/net.hpp"
#include "common/rendezvous.hpp"
#include "common/units.hpp"
#include "db/urls.hpp"

namespace blobswarm::seeder {

result<void> settings::validate() const {
  if (auto r = log.validate(); !r) return r;
  if (auto r = host_port::parse(listen); !r) return fail(r.error().with_context("listen"));
  if (auto r = host_port::parse(peer_listen); !r) {
    return fail(r.error().with_context("peer_listen"));
  }
  if (data.empty()) return fail(errc::invalid_argument, "data: a directory is required");
  if (web_seed && !api_token_file.empty()) {
    return fail(errc::invalid_argument,
                "web_seed cannot be used with api_token_file: libtorrent's web seed requests "
                "carry no token, so every one would be refused");
  }
  if (auto t = registry::upstream_table::make(upstream, upstreams, allow_unlisted_upstreams); !t) {
    return fail(t.error());
  }
  if (!tracker_token_file.empty() && !tracker.starts_with("http://") &&
      !tracker.starts_with("https://")) {
    return fail(errc::invalid_argument, "tracker '{}' must be an http(s) URL", tracker);
  }
  if (!public_url.empty() && !public_url.starts_with("http://") &&
      !public_url.starts_with("https://")) {
    return fail(errc::invalid_argument, "public_url '{}' must be an http(s) URL", public_url);
  }
  auto seg = segment_size.bytes;
  if (seg != 0 && (seg < (1ULL << 20) || (seg & (seg - 1)) != 0)) {
    return fail(errc::invalid_argument,
                "segment_size must be 0 or a power of two of at least 1MiB, got {}",
                segment_size.str());
  }
  if (max_ingests < 1 || max_ingests > 256) {
    return fail(errc::invalid_argument, "max_ingests must be 1..256, got {}", max_ingests);
  }
  if (upstream_attempts < 1 || upstream_attempts > 20) {
    return fail(errc::invalid_argument, "upstream_attempts must be 1..20, got {}",
                upstream_attempts);
  }
  if (unchoke_slots < 1 || unchoke_slots > 10000) {
    return fail(errc::invalid_argument, "unchoke_slots must be 1..10000, got {}", unchoke_slots);
  }
  if (resend_after < duration::zero() || resend_after > std::chrono::minutes(10)) {
    return fail(errc::invalid_argument, "resend_after must be 0..10m, got {}",
                format_duration(resend_after));
  }
  if (tracker_user.empty() || tracker_user.size() > 64) {
    return fail(errc::invalid_argument, "tracker_user must be 1..64 characters");
  }
  if (tls_cert_file.empty() != tls_key_file.empty()) {
    return fail(errc::invalid_argument, "tls_cert_file and tls_key_file go together");
  }
  if (file_ttl < duration::zero()) return fail(errc::invalid_argument, "file_ttl must be >= 0");
  if (auto r = validate_replicas(); !r) return r;
  return lt_settings::validate(libtorrent);
}

result<void> settings::validate_replicas() const {
  auto checked = rendezvous_members(seeders, "seeders");
  if (!checked) return fail(checked.error());
  const auto& members = *checked;
  auto self = rendezvous_member(self_url());
  if (!members.empty() && std::find(members.begin(), members.end(), self) == members.end()) {
    return fail(errc::invalid_argument,
                "seeders does not list this seeder's URL {} (public_url, else http://<listen>): "
                "every seeder must find itself in the list",
                self);
  }
  if (replicas < 0 ||
      static_cast<std::size_t>(replicas) > std::max<std::size_t>(1, seeders.size())) {
    return fail(errc::invalid_argument, "replicas must be 0..{} (the seeders listed), got {}",
                std::max<std::size_t>(1, seeders.size()), replicas);
  }
  if (lease_ttl < std::chrono::seconds(1) || lease_ttl > std::chrono::minutes(10)) {
    return fail(errc::invalid_argument, "lease_ttl must be 1s..10m, got {}",
                format_duration(lease_ttl));
  }
  if (swarm_stall_timeout < std::chrono::milliseconds(100) ||
      swarm_stall_timeout > std::chrono::minutes(10)) {
    return fail(errc::invalid_argument, "swarm_stall_timeout must be 100ms..10m, got {}",
                format_duration(swarm_stall_timeout));
  }
  if (!lease_store.empty()) {
    if (auto u = db::redis_url::parse(lease_store); !u) {
      return fail(u.error().with_context("lease_store"));
    }
  }
  if (!replicated()) return {};
  if (lease_store.empty()) {
    return fail(errc::invalid_argument,
                "with {} seeders, lease_store (a redis:// URL) is required: it makes each "
                "ingest happen once",
                seeders.size());
  }
  if (tracker_token_file.empty()) {
    return fail(errc::invalid_argument,
                "with {} seeders, tracker_token_file is required: seeders find each other's "
                "blobs through the tracker",
                seeders.size());
  }
  return {};
}

std::string settings::self_url() const {
  if (!public_url.empty()) return public_url;
  return (tls_cert_file.empty() ? "http://" : "https://") + listen;
}

std::size_t settings::replica_count() const noexcept {
  if (replicas > 0) return static_cast<std::size_t>(replicas);
  return std::min<std::size_t>(2, std::max<std::size_t>(1, seeders.size()));
}

}  // namespace blobswarm::seeder
