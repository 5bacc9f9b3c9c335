// mirror::settings: everything blobswarm-mirror can be configured with.
#pragma once

#include <map>
#include <string>

#include "common/config.hpp"
#include "common/error.hpp"
#include "common/logging.hpp"
#include "common/lt_settings.hpp"
#include "common/registry/upstream_table.hpp"
#include "common/units.hpp"

namespace blobswarm::mirror {

struct settings {
  std::string listen = "127.0.0.1:65001";
  std::string data = "blobswarm-mirror-data";
  std::string tracker = "http://127.0.0.1:6969";
  std::string passkey_file;
  // One seeder's URL, or every seeder's (replicas: the seeders' `seeders`,
  // in any order); a blob's seeder is chosen by rendezvous hashing.
  config::string_list seeder = {"http://127.0.0.1:8001"};
  std::string seeder_token_file;
  std::string peer_listen = "0.0.0.0:6882";
  std::string upstream = "https://registry-1.docker.io";
  std::map<std::string, registry::upstream_settings> upstreams;
  bool allow_unlisted_upstreams = false;
  byte_size cache_size{20ULL << 30};
  double cache_high_watermark = 0.90;
  double cache_low_watermark = 0.80;
  std::string zone;
  byte_size upload_rate{0};
  byte_size download_rate{0};
  duration seed_time{0};
  duration tag_ttl = std::chrono::seconds(30);
  duration auth_cache_ttl = std::chrono::seconds(60);
  bool authorize_clients = true;
  duration stall_timeout = std::chrono::seconds(5);
  byte_size stream_window{16ULL << 20};
  std::string disk_io = "inline";
  int disk_threads = 2;
  duration segment_linger = std::chrono::minutes(5);
  byte_size swarm_min_size{256 * 1024};
  // Prefetched downloads at once when an image manifest is served (0: off).
  unsigned prefetch_concurrency = 4;
  // A Range request for a blob not cached: "whole" downloads all of it in
  // the background (the range's pieces first); "ranges" only what readers
  // ask for (lazy pulling), dropped after range_idle without a request.
  std::string range_downloads = "whole";
  duration range_idle = std::chrono::seconds(60);
  // A Range read of at most this many bytes whose pieces are not here yet
  // streams from the seeder while they come (mirror/range_relay.hpp; 0: off).
  byte_size range_from_seeder{4ULL << 20};
  duration shutdown_grace = std::chrono::seconds(10);
  // /files: torrents and allowed URLs through this node (docs/mirror.md, "Files").
  bool files = true;
  std::string files_token_file;
  duration file_stall_timeout = std::chrono::seconds(60);
  std::string tls_cert_file;
  std::string tls_key_file;
  lt_settings::overrides libtorrent;
  logging::settings log;

  template <class V>
  void visit(V& v) {
    v("listen", listen, "address:port for the registry mirror API (runtimes connect here)");
    v("data", data, "cache directory (blobs, manifests, index)");
    v("tracker", tracker, "tracker base URL");
    v("passkey_file", passkey_file, "file holding this node's tracker passkey");
    v("seeder", seeder,
      "seeder base URL (ingests blobs the swarm does not have yet); with seeder replicas, every "
      "seeder's URL (a list; comma-separated as a flag): each blob is asked of the seeder that "
      "owns it, then the next in the same rendezvous order when that one is down");
    v("seeder_token_file", seeder_token_file,
      "file with the seeder's API token (its api_token_file), sent as a bearer token");
    v("peer_listen", peer_listen, "address:port for BitTorrent peer connections");
    v("upstream", upstream, "default upstream registry URL (requests without ?ns=)");
    v("upstreams", upstreams,
      "registries by host: {\"127.0.0.1:5000\": {\"url\": ..., \"username\": ..., "
      "\"password_file\": ..., \"insecure\": ...}}");
    v("allow_unlisted_upstreams", allow_unlisted_upstreams,
      "let ?ns= name registries that are not configured (reached at https://<host>)");
    v("cache_size", cache_size, "disk cache quota");
    v("cache_high_watermark", cache_high_watermark, "start evicting above this share of the quota");
    v("cache_low_watermark", cache_low_watermark, "evict down to this share of the quota");
    v("zone", zone, "this node's zone, sent to the tracker (same-zone peers are preferred)");
    v("upload_rate", upload_rate, "BitTorrent upload limit per second (0: none)");
    v("download_rate", download_rate, "BitTorrent download limit per second (0: none)");
    v("seed_time", seed_time, "stop seeding a blob this long after it completed (0: while cached)");
    v("tag_ttl", tag_ttl, "how long a tag's manifest is served from cache before asking upstream");
    v("auth_cache_ttl", auth_cache_ttl,
      "how long upstream's answer to 'may this client read this digest in this repository' is "
      "reused");
    v("authorize_clients", authorize_clients,
      "serve a blob or manifest only to clients upstream lets read that digest in the requested "
      "repository");
    v("stall_timeout", stall_timeout,
      "the longest the swarm may deliver nothing before missing pieces come over HTTP (shorter "
      "waits follow the gaps between pieces seen so far)");
    v("stream_window", stream_window,
      "bytes past the downloaded prefix of a blob whose pieces are fetched first, so clients "
      "are sent bytes while it downloads (0: rarest-first over the whole blob)");
    v("disk_io", disk_io,
      "'inline': BitTorrent reads, writes and piece hashes run on libtorrent's network thread "
      "(least CPU); 'threads': libtorrent's own back-end with disk_threads threads (for storage "
      "slower than the node's link)");
    v("disk_threads", disk_threads, "libtorrent disk I/O threads (disk_io 'threads')");
    v("swarm_min_size", swarm_min_size,
      "blobs smaller than this come over HTTP from the seeder instead of a swarm");
    v("prefetch_concurrency", prefetch_concurrency,
      "when an image manifest is served, download its layers before the client asks, this many "
      "at a time (0: off)");
    v("range_downloads", range_downloads,
      "a Range request on a blob not cached: 'whole' downloads the rest in the background, "
      "'ranges' only what readers ask for (lazy pulling)");
    v("range_from_seeder", range_from_seeder,
      "a Range read on a blob not cached of at most this size, whose pieces are not here yet, is "
      "answered from the seeder over HTTP as its bytes arrive (the pieces still come through the "
      "swarm); 0: such reads wait for their pieces");
    v("range_idle", range_idle,
      "with range_downloads 'ranges': drop a partial download nobody asked for a range of this "
      "long");
    v("segment_linger", segment_linger,
      "keep seeding a cold blob's segment torrents this long after it completed");
    v("shutdown_grace", shutdown_grace, "how long requests in flight may finish on shutdown");
    v("files", files,
      "serve /files: any torrent the tracker has, and files the seeder pulls from allowed URLs, "
      "fetched through this node's swarm");
    v("files_token_file", files_token_file,
      "file with a token /files requests must send as 'Authorization: Bearer <token>' (empty: "
      "whoever reaches --listen may fetch every torrent this node's passkey can)");
    v("file_stall_timeout", file_stall_timeout,
      "a /files download that receives nothing from any peer for this long fails");
    v("tls_cert_file", tls_cert_file,
      "PEM certificate (chain) for HTTPS on --listen (with --tls-key-file; default: plain HTTP)");
    v("tls_key_file", tls_key_file, "PEM private key of --tls-cert-file");
    v("libtorrent", libtorrent,
      "libtorrent settings_pack entries by name, applied after blobswarm's (expert tuning), "
      "e.g. {\"request_queue_time\": 1}");
    log.visit(v);
  }
  result<void> validate() const;
};

}  // namespace blobswarm::mirror
