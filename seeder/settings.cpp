#include "seeder/settings.hpp"

#include "common/net.hpp"
#include "common/units.hpp"

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
  return lt_settings::validate(libtorrent);
}

}  // namespace blobswarm::seeder
