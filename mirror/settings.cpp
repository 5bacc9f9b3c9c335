#include "mirror/settings.hpp"

#include "common/net.hpp"
#include "common/rendezvous.hpp"

namespace blobswarm::mirror {

result<void> settings::validate() const {
  if (auto l = host_port::parse(listen); !l) return fail(l.error().with_context("listen"));
  if (auto l = host_port::parse(peer_listen); !l) {
    return fail(l.error().with_context("peer_listen"));
  }
  if (passkey_file.empty()) {
    return fail(errc::invalid_argument, "passkey_file is required (the node's tracker passkey)");
  }
  if (!(cache_low_watermark > 0 && cache_low_watermark < cache_high_watermark &&
        cache_high_watermark <= 1)) {
    return fail(
        errc::invalid_argument,
        "cache watermarks must satisfy 0 < cache_low_watermark < cache_high_watermark <= 1");
  }
  if (cache_size.bytes == 0) return fail(errc::invalid_argument, "cache_size must be positive");
  if (disk_io != "inline" && disk_io != "threads") {
    return fail(errc::invalid_argument, "disk_io must be 'inline' or 'threads', got '{}'", disk_io);
  }
  if (disk_threads < 1 || disk_threads > 64) {
    return fail(errc::invalid_argument, "disk_threads must be 1-64");
  }
  if (range_downloads != "whole" && range_downloads != "ranges") {
    return fail(errc::invalid_argument, "range_downloads must be 'whole' or 'ranges', got '{}'",
                range_downloads);
  }
  if (prefetch_concurrency > 64) {
    return fail(errc::invalid_argument, "prefetch_concurrency must be 0-64");
  }
  for (auto* url : {&tracker, &upstream}) {
    if (!url->starts_with("http://") && !url->starts_with("https://")) {
      return fail(errc::invalid_argument, "'{}' is not an http(s) URL", *url);
    }
  }
  if (seeder.empty()) return fail(errc::invalid_argument, "seeder: at least one URL is required");
  if (auto m = rendezvous_members(seeder, "seeder"); !m) return fail(m.error());
  if (tls_cert_file.empty() != tls_key_file.empty()) {
    return fail(errc::invalid_argument, "tls_cert_file and tls_key_file go together");
  }
  if (file_stall_timeout < std::chrono::seconds(1)) {
    return fail(errc::invalid_argument, "file_stall_timeout must be at least 1s");
  }
  if (auto r = lt_settings::validate(libtorrent); !r) return r;
  return log.validate();
}

}  // namespace blobswarm::mirror
