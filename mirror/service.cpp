#include "mirror/service.hpp"

#include <fcntl.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <libtorrent/torrent_info.hpp>
#include <nlohmann/json.hpp>

#include "common/file.hpp"
#include "common/http/json.hpp"
#include "common/http/range.hpp"
#include "common/http/url.hpp"
#include "common/logging.hpp"
#include "common/registry/error_response.hpp"
#include "common/registry/manifest.hpp"
#include "common/registry/registry_error.hpp"
#include "mirror/range_relay.hpp"

namespace blobswarm::mirror {

namespace {

constexpr const char* api_version_header = "Docker-Distribution-API-Version";

// How long a digest whose torrent lied is fetched over HTTP only, and how
// many such digests are remembered.
constexpr auto lie_memory = std::chrono::hours(1);
constexpr std::size_t max_lies = 1024;

// How long a blob response waits for its download's first verified bytes
// before committing to 200 (see handle_blob).
constexpr auto first_byte_wait = std::chrono::seconds(10);

// Registry-style errors, with the header every v2 answer carries and, for
// 401, upstream's challenge so the client can fetch a token and retry.
http::response registry_error(int status, std::string_view code, std::string_view message,
                              std::string_view challenge = {}) {
  auto r = registry::error_response(status, code, message);
  r.set(api_version_header, "registry/2.0");
  if (!challenge.empty()) r.set("WWW-Authenticate", std::string(challenge));
  return r;
}

http::response registry_error(const error& e, registry::subject about) {
  auto r = registry::error_response(e, about);
  r.set(api_version_header, "registry/2.0");
  return r;
}

std::int64_t unix_now() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace

struct service::counters {
  explicit counters(metrics::registry& r)
      : peers(r.add_counter("blobswarm_mirror_blob_bytes_total",
                            "Blob bytes this node obtained, by source", {{"source", "peers"}})),
        seeder(r.add_counter("blobswarm_mirror_blob_bytes_total",
                             "Blob bytes this node obtained, by source", {{"source", "seeder"}})),
        upstream(r.add_counter("blobswarm_mirror_blob_bytes_total",
                               "Blob bytes this node obtained, by source",
                               {{"source", "upstream"}})),
        served(r.add_counter("blobswarm_mirror_served_bytes_total", "Blob bytes sent to clients",
                             {{"from", "download"}})),
        served_cache(r.add_counter("blobswarm_mirror_served_bytes_total",
                                   "Blob bytes sent to clients", {{"from", "cache"}})),
        hits(r.add_counter("blobswarm_mirror_cache_requests_total", "Blob requests by cache result",
                           {{"result", "hit"}})),
        misses(r.add_counter("blobswarm_mirror_cache_requests_total",
                             "Blob requests by cache result", {{"result", "miss"}})),
        completed(r.add_counter("blobswarm_mirror_downloads_total", "Blob downloads by outcome",
                                {{"outcome", "ok"}})),
        failed(r.add_counter("blobswarm_mirror_downloads_total", "Blob downloads by outcome",
                             {{"outcome", "failed"}})),
        mismatches(r.add_counter("blobswarm_mirror_digest_mismatches_total",
                                 "Downloads discarded because their content did not match the "
                                 "digest")),
        denied(r.add_counter("blobswarm_mirror_denied_requests_total",
                             "Requests refused because upstream does not authorize the client")),
        manifests(r.add_counter("blobswarm_mirror_manifest_requests_total",
                                "Manifest requests answered", {{"result", "ok"}})),
        manifests_stale(r.add_counter("blobswarm_mirror_manifest_requests_total",
                                      "Manifest requests answered", {{"result", "stale"}})),
        manifests_failed(r.add_counter("blobswarm_mirror_manifest_requests_total",
                                       "Manifest requests answered", {{"result", "error"}})),
        ranges_pieces(r.add_counter("blobswarm_mirror_range_requests_total",
                                    "Range requests on blobs not cached, by how they were served",
                                    {{"served", "pieces"}})),
        ranges_whole(r.add_counter("blobswarm_mirror_range_requests_total",
                                   "Range requests on blobs not cached, by how they were served",
                                   {{"served", "whole"}})),
        ranges_seeder(r.add_counter("blobswarm_mirror_range_requests_total",
                                    "Range requests on blobs not cached, by how they were served",
                                    {{"served", "seeder"}})),
        ranges_before_complete(
            r.add_counter("blobswarm_mirror_ranges_before_complete_total",
                          "Range responses sent in full while their blob was still downloading")),
        range_bytes(r.add_counter("blobswarm_mirror_range_bytes_total",
                                  "Bytes of range responses sent before their blob was cached")),
        active(r.add_gauge("blobswarm_mirror_active_downloads", "Blob downloads in progress")),
        pull_seconds(r.add_histogram("blobswarm_mirror_pull_seconds",
                                     "Time to obtain a blob that was not cached",
                                     metrics::latency_buckets())) {}
  metrics::counter& peers;
  metrics::counter& seeder;
  metrics::counter& upstream;
  metrics::counter& served;
  metrics::counter& served_cache;
  metrics::counter& hits;
  metrics::counter& misses;
  metrics::counter& completed;
  metrics::counter& failed;
  metrics::counter& mismatches;
  metrics::counter& denied;
  metrics::counter& manifests;
  metrics::counter& manifests_stale;
  metrics::counter& manifests_failed;
  metrics::counter& ranges_pieces;
  metrics::counter& ranges_whole;
  metrics::counter& ranges_seeder;
  metrics::counter& ranges_before_complete;
  metrics::counter& range_bytes;
  metrics::gauge& active;
  metrics::histogram& pull_seconds;
};

service::service(asio::io_context& io, const settings& s, std::shared_ptr<spdlog::logger> log)
    : io_(io), settings_(s), log_(std::move(log)) {}

service::~service() = default;

result<std::unique_ptr<service>> service::make(asio::io_context& io, const settings& s,
                                               std::shared_ptr<spdlog::logger> log) {
  std::unique_ptr<service> svc(new service(io, s, std::move(log)));
  if (auto r = svc->init(); !r) return fail(r.error());
  return svc;
}

result<void> service::init() {
  auto key = read_secret(settings_.passkey_file, "passkey_file");
  if (!key) return fail(key.error());
  passkey_ = std::move(*key);
  std::string seeder_token;
  if (!settings_.seeder_token_file.empty()) {
    auto token = read_secret(settings_.seeder_token_file, "seeder_token_file", 16);
    if (!token) return fail(token.error());
    seeder_token = std::move(*token);
  }

  // Each download in its first seconds holds a thread waiting on the
  // tracker or the seeder (an ingest can take minutes); clients fetch up to
  // six blobs at once and prefetching adds prefetch_concurrency more.
  pool_ = std::make_unique<blocking_pool>(32);
  auto table = registry::upstream_table::make(settings_.upstream, settings_.upstreams,
                                              settings_.allow_unlisted_upstreams);
  if (!table) return fail(table.error().with_context("upstreams"));
  upstreams_ = std::make_unique<upstreams>(std::move(*table), registry::client_options{});

  metrics_ = std::make_shared<metrics::registry>();
  counters_ = std::make_unique<counters>(*metrics_);

  cache::options co;
  co.dir = settings_.data;
  co.quota = settings_.cache_size.bytes;
  co.high_watermark = settings_.cache_high_watermark;
  co.low_watermark = settings_.cache_low_watermark;
  co.on_remove_file = [this](const info_hash& ih) {
    if (file_downloads_) file_downloads_->removed(ih);
  };
  co.on_remove = [this](const digest& d) {
    auto it = seeding_.find(d.hex());
    if (it == seeding_.end()) return;
    if (swarm_) swarm_->remove(it->second);
    seeding_.erase(it);
  };
  auto c = cache::open(co, logging::get("cache"));
  if (!c) return fail(c.error().with_context(fmt::format("cache {}", settings_.data)));
  cache_ = std::move(*c);
  metrics_->add_gauge_callback("blobswarm_mirror_cache_bytes", "Bytes held in the blob cache",
                               [this] { return static_cast<double>(cache_->bytes_used()); });
  metrics_->add_gauge_callback("blobswarm_mirror_cache_quota_bytes", "The blob cache quota",
                               [this] { return static_cast<double>(cache_->quota()); });

  swarm::options so;
  so.listen = settings_.peer_listen;
  so.upload_rate = settings_.upload_rate.bytes;
  so.download_rate = settings_.download_rate.bytes;
  so.inline_disk_io = settings_.disk_io == "inline";
  so.disk_threads = settings_.disk_threads;
  so.libtorrent = settings_.libtorrent;
  swarm_ = std::make_unique<swarm>(io_, so, logging::get("swarm"));
  metrics_->add_gauge_callback("blobswarm_mirror_torrents", "Torrents in the BitTorrent session",
                               [this] { return static_cast<double>(swarm_->torrents()); });

  auto tracker = settings_.tracker;
  while (tracker.ends_with('/')) tracker.pop_back();
  sources_ = std::make_unique<http_sources>(*pool_, *upstreams_, tracker, passkey_,
                                            settings_.seeder, seeder_token);
  authorizer_ = std::make_unique<authorizer>(*upstreams_, *pool_, settings_.auth_cache_ttl,
                                             logging::get("authz"));
  manifests_ = std::make_unique<manifest_proxy>(*cache_, *upstreams_, *authorizer_, *pool_,
                                                settings_.tag_ttl, settings_.authorize_clients,
                                                logging::get("manifests"));
  auto announce = fmt::format("{}/announce/{}", tracker, passkey_);
  if (!settings_.zone.empty()) announce += "?zone=" + http::percent_encode(settings_.zone);
  download_settings ds;
  ds.stall_timeout = settings_.stall_timeout;
  ds.stream_window = settings_.stream_window.bytes;
  ds.segment_linger = settings_.segment_linger;
  ds.swarm_min_size = settings_.swarm_min_size.bytes;
  download_ctx_ = std::make_unique<download_context>(
      download_context{io_,
                       *cache_,
                       *swarm_,
                       *sources_,
                       *pool_,
                       {announce},
                       std::filesystem::path(settings_.data) / "segments",
                       ds,
                       logging::get("download"),
                       [this](const digest& d, const lt::torrent_handle& h) {
                         on_seeding(d, h);
                       }});
  prefetch_ = std::make_unique<prefetcher>(
      io_, *cache_, prefetcher::options{.concurrency = settings_.prefetch_concurrency},
      [this](const blob_ref& ref) { return download_for(ref); },
      [this](const digest& d) {
        if (downloads_.contains(d.str())) return true;
        auto hit = cache_->find_blob(d);
        return hit && *hit;
      },
      logging::get("prefetch"));
  metrics_->add_gauge_callback("blobswarm_mirror_prefetch_queue", "Blobs waiting to be prefetched",
                               [this] { return static_cast<double>(prefetch_->queued()); });
  metrics_->add_gauge_callback(
      "blobswarm_mirror_prefetches_started",
      "Blob downloads started because an image manifest listed them (since start)",
      [this] { return static_cast<double>(prefetch_->started()); });
  // Segment files left by a previous run belong to downloads that are gone.
  std::error_code ec;
  std::filesystem::remove_all(download_ctx_->segments_dir, ec);
  reseed();
  if (auto r = init_files(seeder_token); !r) return r;
  return {};
}

result<void> service::init_files(std::string seeder_token) {
  if (!settings_.files) return {};
  std::string token;
  if (!settings_.files_token_file.empty()) {
    auto t = read_secret(settings_.files_token_file, "files_token_file", 16);
    if (!t) return fail(t.error());
    token = std::move(*t);
  }
  file_sources_ = std::make_unique<file_sources>(*pool_, settings_.tracker, passkey_,
                                                 settings_.seeder, std::move(seeder_token));
  file_settings fs;
  fs.stall_timeout = settings_.file_stall_timeout;
  fs.stream_window = std::max<std::uint64_t>(settings_.stream_window.bytes, 1);
  file_downloads_ = std::make_unique<file_downloads>(
      file_context{io_, *cache_, *swarm_, *pool_, download_ctx_->announce_urls, fs,
                   logging::get("files")},
      settings_.seed_time, *metrics_);
  files_ = std::make_unique<file_api>(
      *file_downloads_, *file_sources_,
      file_api::options{.token = std::move(token), .tls = !settings_.tls_cert_file.empty()},
      logging::get("files"));
  file_downloads_->reseed();
  return {};
}

void service::reseed() {
  auto blobs = cache_->complete_blobs();
  if (!blobs) {
    log_->warn("cannot list cached blobs to seed: {}", blobs.error().message);
    return;
  }
  std::size_t n = 0;
  for (const auto& b : *blobs) {
    if (b.torrent.empty()) continue;
    lt::error_code ec;
    auto ti = std::make_shared<lt::torrent_info>(b.torrent.data(),
                                                 static_cast<int>(b.torrent.size()), ec);
    if (ec) continue;
    auto h = swarm_->add(ti, cache_->blobs_dir(), download_ctx_->announce_urls, true, {});
    if (h) {
      seeding_[std::string(b.id.hex())] = *h;
      ++n;
    }
  }
  if (n) log_->info("seeding {} cached blob(s)", n);
}

result<ip_endpoint> service::listen() {
  auto where = host_port::parse(settings_.listen);
  if (!where) return fail(where.error());
  http::server_options o;
  o.log_target = [](std::string_view t) {
    return std::string(t.substr(0, 512));
  };
  o.tls_cert_file = settings_.tls_cert_file;
  o.tls_key_file = settings_.tls_key_file;
  server_ = std::make_unique<http::server>(io_, std::make_shared<const http::router>(routes()), o,
                                           logging::get("http"));
  return server_->listen(*where);
}

awaitable<void> service::stop() {
  if (server_) co_await server_->stop(settings_.shutdown_grace);
}

http::router service::routes() {
  http::router r;
  r.get("/healthz",
        http::sync_handler([](http::request&) { return http::response::text(200, "ok\n"); }));
  r.get("/metrics", http::sync_handler([this](http::request&) {
          return http::response::text(200, metrics_->render(), metrics::registry::content_type);
        }));
  r.get("/api/v1/stats", http::sync_handler([this](http::request&) { return stats_json(); }));
  auto v2 = http::async_handler([this](http::request& req) { return handle_v2(req); });
  r.any("/v2", v2);
  r.any("/v2/", v2);
  r.any("/v2/{rest*}", v2);
  if (files_) files_->add_routes(r);
  return r;
}

awaitable<http::response> service::handle_v2(http::request& req) {
  auto method = req.method();
  auto route = parse_registry_path(
      req.path(), [this](std::string_view h) { return upstreams_->is_configured_host(h); });
  if (!route) {
    auto code = route.error().code;
    if (code == route_error_code::tag_invalid &&
        (method == http::verb::get || method == http::verb::head)) {
      // Neither a tag nor a digest names no manifest: the distribution
      // spec's conformance suite wants 404 here, as Distribution answers.
      co_return registry_error(404, "MANIFEST_UNKNOWN",
                               fmt::format("manifest unknown: {}", route.error().message));
    }
    int status = code == route_error_code::not_found ? 404 : 400;
    co_return registry_error(
        status,
        to_string(code == route_error_code::not_found ? route_error_code::unsupported : code),
        route.error().message);
  }
  bool read = method == http::verb::get || method == http::verb::head;
  switch (route->what) {
    case registry_path::kind::base:
      if (read) co_return co_await handle_base(req, *route);
      break;
    case registry_path::kind::manifest:
      if (read) co_return co_await handle_manifest(req, *route);
      break;
    case registry_path::kind::blob:
      if (read) co_return co_await handle_blob(req, *route);
      break;
    default:
      break;
  }
  co_return registry_error(405, "UNSUPPORTED",
                           fmt::format("{} {} is not supported by this pull-through mirror",
                                       req.method_string(), req.path()));
}

awaitable<http::response> service::handle_base(http::request& req, const registry_path& route) {
  if (settings_.authorize_clients) {
    // Relay upstream's challenge: podman and skopeo decide here whether and
    // how to authenticate for the requests that follow.
    auto host = std::string(route.host);
    if (host.empty()) {
      if (auto ns = http::query_string(req.query()).get_decoded("ns")) host = *ns;
    }
    auto v = co_await authorizer_->check_registry(host, req.header("authorization"));
    if (v && !v->allowed && v->status == 401) {
      co_return registry_error(401, "UNAUTHORIZED",
                               v->message.empty() ? "authentication required" : v->message,
                               v->challenge);
    }
    // Upstream unreachable: the mirror still serves what it has.
  }
  auto r = http::response::bytes(200, "{}", "application/json");
  r.set(api_version_header, "registry/2.0");
  co_return r;
}

awaitable<http::response> service::handle_manifest(http::request& req, const registry_path& route) {
  manifest_request mr{std::string(route.host),          *route.name, route.reference,
                      req.method() == http::verb::head, {},          std::nullopt};
  if (mr.host.empty()) {
    if (auto ns = http::query_string(req.query()).get_decoded("ns")) mr.host = *ns;
  }
  for (auto v : req.header_values("accept")) mr.accept.emplace_back(v);
  if (auto a = req.header("authorization")) mr.authorization = std::string(*a);
  auto answer = co_await manifests_->get(mr);
  if (!answer) {
    const auto& no = answer.error();
    counters_->manifests_failed.inc();
    if (no.status == 401 || no.status == 403) counters_->denied.inc();
    auto code = registry::code_for(no.reason.code, registry::subject::manifest);
    co_return registry_error(no.status, code, no.reason.message, no.challenge);
  }
  (answer->stale ? counters_->manifests_stale : counters_->manifests).inc();
  if (!mr.head) prefetch_blobs_of(mr.host, mr.name, answer->body, answer->content_type);
  auto size = answer->size;
  auto r = http::response::bytes(200, std::move(answer->body), answer->content_type);
  if (mr.head) r.declare_length(size);
  r.set("Docker-Content-Digest", answer->id.str());
  r.set(api_version_header, "registry/2.0");
  r.set("Etag", fmt::format("\"{}\"", answer->id.str()));
  co_return r;
}

void service::prefetch_blobs_of(const std::string& host, const repository_name& name,
                                std::string_view body, std::string_view content_type) {
  if (settings_.prefetch_concurrency == 0) return;
  auto m = registry::parse_manifest(body, content_type);
  if (!m || m->is_index()) return;  // an index: the client asks for its platform's next
  prefetch_->image(host, name, *m);
}

awaitable<std::optional<http::response>> service::authorize_blob(http::request& req,
                                                                 const registry_path& route) {
  if (!settings_.authorize_clients) co_return std::nullopt;
  std::optional<std::string_view> auth = req.header("authorization");
  std::string host(route.host);
  if (host.empty()) {
    if (auto ns = http::query_string(req.query()).get_decoded("ns")) host = *ns;
  }
  // Named: GCC 12 destroys a braced temporary inside co_await twice.
  const authorizer::probe blob{true, *route.content_digest};
  auto v = co_await authorizer_->check(host, *route.name, auth, blob);
  if (!v) co_return registry_error(v.error(), registry::subject::blob);
  if (!v->allowed) {
    if (v->status == 404) co_return registry_error(404, "BLOB_UNKNOWN", v->message);
    counters_->denied.inc();
    co_return registry_error(v->status, v->status == 403 ? "DENIED" : "UNAUTHORIZED",
                             v->message.empty() ? "authentication required" : v->message,
                             v->challenge);
  }
  co_return std::nullopt;
}

awaitable<http::response> service::handle_blob(http::request& req, const registry_path& route) {
  if (auto refused = co_await authorize_blob(req, route)) co_return std::move(*refused);
  const auto& id = *route.content_digest;
  prefetch_->asked(id);
  blob_ref ref{std::string(route.host), *route.name, id};
  if (ref.host.empty()) {
    if (auto ns = http::query_string(req.query()).get_decoded("ns")) ref.host = *ns;
  }

  auto hit = cache_->find_blob(id);
  if (hit && *hit) {
    if (auto served = co_await serve_cached(req, **hit)) co_return std::move(*served);
  }
  counters_->misses.inc();

  auto head = req.method() == http::verb::head;
  auto in_flight = downloads_.find(id.str());
  if (head && in_flight == downloads_.end()) {
    // A HEAD answers "is it there and how big": upstream can say that
    // without this node fetching the blob.
    auto size = co_await sources_->upstream_size(ref);
    if (!size) co_return registry_error(size.error(), registry::subject::blob);
    auto r = http::response::bytes(200, "", "application/octet-stream");
    r.declare_length(*size);
    r.set("Docker-Content-Digest", id.str());
    r.set(api_version_header, "registry/2.0");
    co_return r;
  }

  if (req.header("range")) co_return co_await serve_range(req, ref);
  auto dl = download_for(ref, false);
  auto size = co_await dl->wait_size();
  if (!size) co_return registry_error(size.error(), registry::subject::blob);
  // A 200 cannot be taken back: a download that fails before its first
  // byte (no space, upstream refusing) would reach the client as a body
  // cut short instead of a registry error it can act on. Wait for the
  // first verified bytes, but not so long that a slow cold start keeps
  // the client without response headers.
  if (auto started = co_await dl->wait_started(first_byte_wait); !started) {
    co_return registry_error(started.error(), registry::subject::blob);
  }
  auto total = *size;
  auto producer = [dl, total,
                   c = counters_.get()](http::body_writer& w) -> awaitable<result<void>> {
    std::uint64_t off = 0;
    while (off < total) {
      auto end = co_await dl->wait_readable(off);
      if (!end) co_return fail(end.error());
      while (off < *end) {
        auto e = dl->extent_at(off);
        if (!e) co_return fail(e.error());
        auto len = std::min(e->length, *end - off);
        if (!co_await w.write_file(e->fd, e->file_offset, len)) {
          co_return fail(errc::unavailable, "client stopped reading");
        }
        off += len;
        c->served.inc(len);
      }
    }
    co_return result<void>{};
  };
  auto r = http::response::stream(200, total, producer, "application/octet-stream");
  r.set("Docker-Content-Digest", id.str());
  r.set(api_version_header, "registry/2.0");
  r.set("Accept-Ranges", "bytes");
  co_return r;
}

// A Range request on a blob this node does not hold (lazy pulling: eStargz,
// SOCI and Nydus snapshotters read layers this way). Its pieces become the
// most urgent of the download and are sent as soon as each is checked
// against the whole-blob torrent, which the seeder made from the verified
// blob. Without such a torrent (the blob comes over HTTP, or as segments
// of an ingest still in progress) the range waits for the whole blob and
// its digest: a partial read cannot be checked any other way.
awaitable<http::response> service::serve_range(http::request& req, const blob_ref& ref) {
  auto dl = download_for(ref, true);
  auto size = co_await dl->wait_size();
  if (!size) co_return registry_error(size.error(), registry::subject::blob);
  auto range = http::parse_range(req.header("range"), *size);
  if (range.what == http::range_request::kind::unsatisfiable) {
    auto r = registry_error(416, "BLOB_UNKNOWN", "range not satisfiable");
    r.set("Content-Range", fmt::format("bytes */{}", *size));
    co_return r;
  }
  if (range.what != http::range_request::kind::partial) range.range = {0, *size - 1};
  const auto want = range.range;
  dl->want_range(want.first, want.last);
  // The download picks its route first (torrent or HTTP); a range can only
  // be served by pieces on the whole-blob torrent.
  co_await dl->wait_route();
  if (!dl->serves_pieces() && !dl->finished()) {
    dl->want_everything();
    co_await dl->wait_finished();
  }
  if (dl->finished()) {
    if (!dl->succeeded()) co_return registry_error(*dl->failure(), registry::subject::blob);
    auto done = cache_->find_blob(ref.id);
    if (done && *done) {
      counters_->ranges_whole.inc();
      if (auto served = co_await serve_cached(req, **done)) co_return std::move(*served);
    }
    co_return registry_error(404, "BLOB_UNKNOWN", "the blob left the cache before it was served");
  }
  dl->want_range(want.first, want.last);
  if (auto relayed = co_await relay_range(ref, dl, want, *size)) co_return std::move(*relayed);
  counters_->ranges_pieces.inc();
  auto producer = [dl, want, c = counters_.get()](http::body_writer& w) -> awaitable<result<void>> {
    auto off = want.first;
    while (off <= want.last) {
      dl->want_range(off, want.last);  // keeps a ranges-only download alive
      auto end = co_await dl->wait_piece_readable(off);
      if (!end) co_return fail(end.error());
      auto stop = std::min(*end, want.last + 1);
      while (off < stop) {
        auto e = dl->extent_at(off);
        if (!e) co_return fail(e.error());
        auto len = std::min(e->length, stop - off);
        if (!co_await w.write_file(e->fd, e->file_offset, len)) {
          co_return fail(errc::unavailable, "client stopped reading");
        }
        off += len;
        c->range_bytes.inc(len);
      }
    }
    if (!dl->finished()) c->ranges_before_complete.inc();
    co_return result<void>{};
  };
  auto r = http::response::stream(206, want.length(), producer, "application/octet-stream");
  r.set("Content-Range", http::content_range(want, *size));
  r.set("Docker-Content-Digest", ref.id.str());
  r.set(api_version_header, "registry/2.0");
  r.set("Accept-Ranges", "bytes");
  co_return r;
}

awaitable<std::optional<http::response>> service::relay_range(const blob_ref& ref,
                                                              std::shared_ptr<blob_download> dl,
                                                              http::byte_range want,
                                                              std::uint64_t size) {
  if (want.length() > settings_.range_from_seeder.bytes || dl->range_local(want.first, want.last)) {
    co_return std::nullopt;
  }
  auto relay =
      std::make_shared<range_relay>(io_.get_executor(), *sources_, ref, want.first, want.length());
  relay->start();
  // A seeder that cannot answer soon leaves the read to the pieces.
  if (auto first = co_await relay->wait_first_bytes(std::chrono::seconds(2)); !first) {
    log_->debug("range {}-{} of {} from the seeder: {}; waiting for its pieces", want.first,
                want.last, ref.id.str(), first.error().message);
    co_return std::nullopt;
  }
  counters_->ranges_seeder.inc();
  auto producer = [relay, dl,
                   c = counters_.get()](http::body_writer& w) -> awaitable<result<void>> {
    std::uint64_t sent = 0;
    auto r = co_await relay->pump(w, sent);
    c->range_bytes.inc(sent);
    if (r && !dl->finished()) c->ranges_before_complete.inc();
    co_return r;
  };
  auto r = http::response::stream(206, want.length(), producer, "application/octet-stream");
  r.set("Content-Range", http::content_range(want, size));
  r.set("Docker-Content-Digest", ref.id.str());
  r.set(api_version_header, "registry/2.0");
  r.set("Accept-Ranges", "bytes");
  co_return r;
}

awaitable<std::optional<http::response>> service::serve_cached(http::request& req,
                                                               const cached_blob& b) {
  auto fd = cache_->open_blob(b);
  if (!fd && fd.error().code == errc::corrupt) {
    // The file changed since it was verified: check it before serving a byte.
    auto path = cache_->blob_path(b.id);
    auto rehash = [path, a = b.id.algorithm()] {
      return hash_file(path, a);
    };
    auto raw = co_await pool_->run(std::move(rehash));
    auto actual =
        raw ? digest::from_raw(b.id.algorithm(), *raw) : result<digest>(fail(raw.error()));
    if (actual && *actual == b.id) {
      if (auto again = open_file(path, O_RDONLY)) {
        if (auto id = identify(again->get()); id && id->size == b.size) {
          (void)cache_->record_identity(b.id, *id);
          fd = std::move(*again);
        }
      }
    } else {
      log_->error("CORRUPT CACHE ENTRY: blob {} no longer matches its digest; discarding it",
                  b.id.str());
      counters_->mismatches.inc();
      cache_->abort_blob(b.id);
      co_return std::nullopt;  // a miss: fetch it again
    }
  }
  if (!fd) {
    if (fd.error().code == errc::not_found) {
      cache_->abort_blob(b.id);
      co_return std::nullopt;
    }
    co_return registry_error(fd.error(), registry::subject::blob);
  }
  counters_->hits.inc();
  cache_->touch_blob(b.id);
  auto lease = std::make_shared<cache_lease>(cache_->lease(b.id));
  auto range = http::parse_range(req.header("range"), b.size);
  http::response r;
  if (range.what == http::range_request::kind::unsatisfiable) {
    r = registry_error(416, "BLOB_UNKNOWN", "range not satisfiable");
    r.set("Content-Range", fmt::format("bytes */{}", b.size));
    co_return r;
  }
  if (range.what == http::range_request::kind::partial) {
    r = http::response::file(206, std::move(*fd), range.range.first, range.range.length(),
                             "application/octet-stream");
    r.set("Content-Range", http::content_range(range.range, b.size));
    if (req.method() != http::verb::head) counters_->served_cache.inc(range.range.length());
  } else {
    r = http::response::file(200, std::move(*fd), 0, b.size, "application/octet-stream");
    if (req.method() != http::verb::head) counters_->served_cache.inc(b.size);
  }
  r.set("Docker-Content-Digest", b.id.str());
  r.set(api_version_header, "registry/2.0");
  r.set("Accept-Ranges", "bytes");
  r.hold(lease);
  co_return r;
}

std::shared_ptr<blob_download> service::download_for(const blob_ref& ref, bool for_a_range) {
  bool ranges_only = for_a_range && settings_.range_downloads == "ranges";
  if (auto it = downloads_.find(ref.id.str()); it != downloads_.end()) {
    // A range does not change what happens to the rest; a whole read does.
    if (!for_a_range) it->second->want_everything();
    return it->second;
  }
  bool lied = false;
  if (auto it = lying_torrents_.find(ref.id.str()); it != lying_torrents_.end()) {
    lied = std::chrono::steady_clock::now() - it->second < lie_memory;
  }
  auto d = std::make_shared<blob_download>(*download_ctx_, ref, lied);
  if (ranges_only) {
    d->ranges_only(settings_.range_idle);
  } else if (for_a_range) {
    d->readers_first();
  }
  downloads_.emplace(ref.id.str(), d);
  counters_->active.add(1);
  d->start();
  asio::co_spawn(io_, watch(d), asio::detached);
  return d;
}

awaitable<void> service::watch(std::shared_ptr<blob_download> d) {
  co_await d->wait_finished();
  counters_->active.sub(1);
  auto id = d->ref().id;
  downloads_.erase(id.str());
  auto s = d->stats();
  if (!d->succeeded()) {
    counters_->failed.inc();
    if (d->failure() && d->failure()->code == errc::digest_mismatch) {
      counters_->mismatches.inc();
      if (s.mode != "direct") remember_lie(id);
    }
    co_return;
  }
  counters_->completed.inc();
  counters_->peers.inc(s.from_peers);
  counters_->seeder.inc(s.from_seeder);
  counters_->upstream.inc(s.from_upstream);
  counters_->pull_seconds.observe(static_cast<double>(s.elapsed.count()) / 1000.0);
  recent_.push_front(recent_blob{id.str(), s, unix_now()});
  while (recent_.size() > 200) recent_.pop_back();
}

void service::remember_lie(const digest& id) {
  auto now = std::chrono::steady_clock::now();
  std::erase_if(lying_torrents_, [&](const auto& kv) { return now - kv.second >= lie_memory; });
  if (lying_torrents_.size() >= max_lies) {
    auto oldest =
        std::min_element(lying_torrents_.begin(), lying_torrents_.end(),
                         [](const auto& a, const auto& b) { return a.second < b.second; });
    lying_torrents_.erase(oldest);
  }
  lying_torrents_.insert_or_assign(id.str(), now);
}

void service::on_seeding(const digest& d, const lt::torrent_handle& h) {
  seeding_[std::string(d.hex())] = h;
  if (settings_.seed_time.count() > 0)
    asio::co_spawn(io_, stop_seeding_later(d, h), asio::detached);
}

awaitable<void> service::stop_seeding_later(digest d, lt::torrent_handle h) {
  boost::asio::steady_timer t(io_, settings_.seed_time);
  boost::system::error_code ec;
  co_await t.async_wait(asio::redirect_error(asio::use_awaitable, ec));
  if (auto it = seeding_.find(d.hex()); it != seeding_.end() && it->second == h) {
    swarm_->remove(it->second);
    seeding_.erase(it);
  }
}

http::response service::stats_json() const {
  nlohmann::json recent = nlohmann::json::array();
  std::uint64_t peers = 0, seeder = 0, upstream = 0;
  for (const auto& b : recent_) {
    recent.push_back({{"digest", b.digest},
                      {"size", b.stats.size},
                      {"mode", b.stats.mode},
                      {"seconds", static_cast<double>(b.stats.elapsed.count()) / 1000.0},
                      {"from_peers", b.stats.from_peers},
                      {"from_seeder", b.stats.from_seeder},
                      {"from_upstream", b.stats.from_upstream},
                      {"finished_at", b.finished_at}});
  }
  nlohmann::json active = nlohmann::json::array();
  for (const auto& [digest, d] : downloads_) {
    active.push_back({{"digest", digest},
                      {"size", d->size().value_or(0)},
                      {"stored", d->bytes_stored()},
                      {"ranges_only", d->is_ranges_only()}});
  }
  peers = counters_->peers.value();
  seeder = counters_->seeder.value();
  upstream = counters_->upstream.value();
  nlohmann::json j = {{"totals",
                       {{"from_peers", peers},
                        {"from_seeder", seeder},
                        {"from_upstream", upstream},
                        {"served_from_cache", counters_->served_cache.value()},
                        {"served_from_downloads", counters_->served.value()},
                        {"cache_hits", counters_->hits.value()},
                        {"cache_misses", counters_->misses.value()},
                        {"digest_mismatches", counters_->mismatches.value()},
                        {"denied", counters_->denied.value()}}},
                      {"cache", {{"bytes", cache_->bytes_used()}, {"quota", cache_->quota()}}},
                      {"active_downloads", downloads_.size()},
                      {"active", active},
                      {"ranges",
                       {{"served_from_pieces", counters_->ranges_pieces.value()},
                        {"served_whole", counters_->ranges_whole.value()},
                        {"served_from_seeder", counters_->ranges_seeder.value()},
                        {"before_complete", counters_->ranges_before_complete.value()},
                        {"bytes", counters_->range_bytes.value()}}},
                      {"prefetch",
                       {{"started", prefetch_->started()},
                        {"running", prefetch_->running()},
                        {"queued", prefetch_->queued()},
                        {"skipped", prefetch_->skipped()}}},
                      {"seeding", seeding_.size()},
                      {"recent", recent}};
  return http::json_response(200, j);
}

}  // namespace blobswarm::mirror
