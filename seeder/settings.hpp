// seeder::settings: everything blobswarm-seeder can be configured with.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "common/error.hpp"
#include "common/logging.hpp"
#include "common/lt_settings.hpp"
#include "common/registry/upstream_table.hpp"
#include "common/units.hpp"
#include "seeder/origin_allowlist.hpp"

namespace blobswarm::seeder {

struct settings {
  std::string listen = "127.0.0.1:8001";
  std::string data = "blobswarm-seeder-data";
  std::string upstream = "https://registry-1.docker.io";
  std::map<std::string, registry::upstream_settings> upstreams;
  bool allow_unlisted_upstreams = false;
  std::string tracker = "http://127.0.0.1:6969";
  std::string tracker_token_file;
  std::string tracker_user = "blobswarm-seeder";
  std::string peer_listen = "127.0.0.1:6881";
  std::string public_url;
  bool web_seed = false;
  byte_size max_size{0};
  byte_size min_free{64ULL << 20};
  byte_size segment_size{8ULL << 20};
  duration segment_linger = std::chrono::minutes(10);
  int max_ingests = 2;
  duration wait_timeout = std::chrono::minutes(10);
  duration upstream_timeout = std::chrono::seconds(60);
  duration upstream_stall_timeout = std::chrono::seconds(30);
  int upstream_attempts = 4;
  byte_size upstream_rate_limit{0};
  byte_size upload_rate_limit{0};
  int unchoke_slots = 32;
  duration resend_after = std::chrono::seconds(10);
  std::string api_token_file;
  std::string notification_token_file;
  std::string tls_cert_file;
  std::string tls_key_file;
  // Files pulled from URLs for the mirrors' /files?url= (seeder/url_ingest.hpp).
  std::map<std::string, origin_settings> file_origins;
  duration file_ttl = std::chrono::minutes(10);
  byte_size max_file_size{0};
  // Replicated seeders (docs/seeder.md, "Replicas"). Empty, or this one
  // alone: a single seeder, as without the setting.
  std::vector<std::string> seeders;
  std::string lease_store;  // redis://...: the blobs' ingest leases (two or more seeders)
  duration lease_ttl = std::chrono::seconds(10);  // a dead holder's blob is taken over this late
  int replicas = 0;  // seeders holding each blob; 0: two when there are two or more
  // A blob (or the start of one) taken from the swarm instead of upstream:
  // nothing for this long (twice as long before the first byte) means
  // nobody has the rest, which then comes from upstream.
  duration swarm_stall_timeout = std::chrono::seconds(5);
  lt_settings::overrides libtorrent;
  logging::settings log;

  template <class V>
  void visit(V& v) {
    v("listen", listen, "address:port for the seeder's HTTP API");
    v("data", data, "directory for blobs and the index");
    v("upstream", upstream, "default upstream registry URL (requests without ?ns=)");
    v("upstreams", upstreams,
      "upstream registries by host: {\"<host>\": {url, username, password, password_file, auth, "
      "docker_config, insecure, ca_file}}");
    v("allow_unlisted_upstreams", allow_unlisted_upstreams,
      "fetch from https://<ns> for registry hosts not listed in upstreams");
    v("tracker", tracker, "tracker base URL");
    v("tracker_token_file", tracker_token_file,
      "file holding the tracker admin token (empty: do not register with a tracker)");
    v("tracker_user", tracker_user,
      "tracker user the seeder announces as (give each seeder replica its own)");
    v("peer_listen", peer_listen, "address:port for BitTorrent peer connections");
    v("public_url", public_url, "base URL peers reach this API at (default: http://<listen>)");
    v("web_seed", web_seed, "put a BEP 19 web seed (this API) into the .torrent files served");
    v("max_size", max_size, "store quota; least recently used blobs are evicted (0: no quota)");
    v("min_free", min_free, "disk space to always leave free");
    v("segment_size", segment_size,
      "segment size for cold pulls (0: no segments); must be equal on all seeders");
    v("segment_linger", segment_linger, "how long segment torrents stay after an ingest");
    v("max_ingests", max_ingests,
      "upstream fetches running at once (more wait their turn, blobs up to 4 MiB excepted; raise "
      "it for upstreams whose single connections are slow)");
    v("wait_timeout", wait_timeout, "longest a request waits for an ingest or a segment");
    v("upstream_timeout", upstream_timeout, "timeout for manifest, token and HEAD requests");
    v("upstream_stall_timeout", upstream_stall_timeout,
      "abort a blob transfer that delivers nothing for this long");
    v("upstream_attempts", upstream_attempts, "attempts per upstream request (429, 5xx, network)");
    v("upstream_rate_limit", upstream_rate_limit,
      "bytes/s per upstream blob transfer (0: unlimited; for benchmarks)");
    v("upload_rate_limit", upload_rate_limit,
      "BitTorrent upload limit in bytes/s, loopback included (0: unlimited)");
    v("unchoke_slots", unchoke_slots, "peers uploaded to at the same time");
    v("resend_after", resend_after,
      "a piece already sent to one mirror is sent to another mirror that asks for it only if "
      "that one still lacks it this long later (0: send every peer what it asks for)");
    v("api_token_file", api_token_file,
      "file with a token /api/v1/blobs and /api/v1/preheat requests must send as "
      "'Authorization: Bearer <token>' (16-128 characters; the mirrors' seeder_token_file; not "
      "with web_seed; empty: the API is open)");
    v("notification_token_file", notification_token_file,
      "file with a token registry notifications must send as 'Authorization: Bearer <token>'");
    v("tls_cert_file", tls_cert_file,
      "PEM certificate (chain) for HTTPS on --listen (with --tls-key-file; default: plain HTTP)");
    v("tls_key_file", tls_key_file, "PEM private key of --tls-cert-file");
    v("file_origins", file_origins,
      "origins files may be pulled from for the mirrors' /files?url=, with their credentials: "
      "{\"https://<host>\": {paths, bearer_token_file, username, password_file, header, "
      "header_value_file, insecure, ca_file}} (empty: no URL is fetched)");
    v("file_ttl", file_ttl,
      "how long a URL's file is served as fetched before the origin is asked again (with its "
      "ETag / Last-Modified)");
    v("max_file_size", max_file_size,
      "largest file pulled from a URL (0: as large as the store can hold)");
    v("seeders", seeders,
      "every seeder's URL (its public_url), the same list on every seeder and mirror: blobs are "
      "owned by rendezvous hashing over it (empty: a single seeder)");
    v("lease_store", lease_store,
      "redis:// URL holding the ingest leases of replicated seeders (required with two or more "
      "seeders)");
    v("lease_ttl", lease_ttl,
      "an ingest lease outlives its holder's last renewal by this long (renewed every third of "
      "it): how soon a dead seeder's ingest is taken over");
    v("replicas", replicas,
      "seeders that hold each blob (the first ones of its rendezvous order); 0: 2 when there are "
      "two or more seeders");
    v("swarm_stall_timeout", swarm_stall_timeout,
      "a blob taken from the swarm instead of upstream (replicas, takeovers) gets the rest from "
      "upstream after this long without progress");
    v("libtorrent", libtorrent,
      "libtorrent settings_pack entries by name, applied after blobswarm's (expert tuning), "
      "e.g. {\"send_buffer_watermark\": 1024}");
    log.visit(v);
  }
  result<void> validate() const;

  // This seeder's URL as mirrors and other seeders reach it: public_url,
  // else http(s)://<listen>.
  std::string self_url() const;
  // Two or more seeders share the cluster.
  bool replicated() const noexcept { return seeders.size() > 1; }
  // How many seeders hold each blob.
  std::size_t replica_count() const noexcept;

 private:
  result<void> validate_replicas() const;
};

}  // namespace blobswarm::seeder
