#include "seeder/api.hpp"

#include <fcntl.h>

#include <nlohmann/json.hpp>

#include "common/file.hpp"
#include "common/hasher.hpp"
#include "common/http/json.hpp"
#include "common/http/range.hpp"
#include "common/http/url.hpp"
#include "common/registry/error_response.hpp"
#include "common/registry/media_types.hpp"
#include "seeder/blob_route.hpp"
#include "seeder/push_events.hpp"

namespace blobswarm::seeder {

namespace {

using json = nlohmann::json;
using registry::error_response;
using registry::subject;

constexpr std::string_view torrent_type = "application/x-bittorrent";

std::string ns_of(const http::request& req) {
  return http::query_string(req.query()).get_decoded("ns").value_or("");
}

json digest_detail(const digest& d) {
  return json{{"digest", d.str()}};
}

http::response blob_headers(http::response r, const digest& d) {
  r.set("Docker-Content-Digest", d.str());
  r.set("Accept-Ranges", "bytes");
  r.set("ETag", "\"" + d.str() + "\"");
  return r;
}

}  // namespace

api::api(ingestor& ingest, blob_store& store, preheater& preheat, torrent_session& session,
         tracker_link& tracker, blocking_pool& pool, metrics::registry& metrics,
         api_options options, std::shared_ptr<spdlog::logger> log)
    : ingest_(ingest),
      store_(store),
      preheater_(preheat),
      session_(session),
      tracker_(tracker),
      pool_(pool),
      metrics_(metrics),
      options_(std::move(options)),
      log_(std::move(log)),
      http_bytes_(metrics.add_counter("blobswarm_seeder_http_bytes_total",
                                      "Blob bytes sent over HTTP (fallback and web seed)")),
      unauthorized_(metrics.add_counter(
          "blobswarm_seeder_unauthorized_total",
          "API requests refused for a missing or wrong bearer token (api or notification token)")) {
  while (options_.public_url.ends_with('/')) options_.public_url.pop_back();
}

http::router api::routes() {
  http::router r;
  r.get("/healthz", http::sync_handler([this](http::request&) { return health(); }));
  r.get("/metrics", http::sync_handler([this](http::request&) {
          return http::response::text(200, metrics_.render(), metrics::registry::content_type);
        }));
  r.get("/api/v1/blobs/{rest*}",
        http::async_handler([this](http::request& req) { return blob(req); }));
  r.post("/api/v1/blobs/{rest*}",
         http::async_handler([this](http::request& req) { return blob(req); }));
  r.post("/api/v1/preheat",
         http::async_handler([this](http::request& req) { return preheat(req); }));
  r.post("/api/v1/notifications",
         http::sync_handler([this](http::request& req) { return notifications(req); }));
  r.not_found(http::sync_handler([](http::request& req) {
    return error_response(404, registry::code::unsupported,
                          fmt::format("no such endpoint: {}", req.path().substr(0, 200)));
  }));
  r.method_not_allowed(http::sync_handler([](http::request& req) {
    return error_response(405, registry::code::unsupported,
                          fmt::format("{} is not supported here", req.method_string()));
  }));
  return r;
}

http::response api::health() {
  auto stats = session_.stats();
  json body = {{"status", "ok"},
               {"torrents", stats.torrents},
               {"blobs", store_.count()},
               {"ingesting", ingest_.running()},
               {"tracker", !tracker_.enabled()       ? "disabled"
                           : tracker_.announce_url() ? (tracker_.reachable() ? "ok" : "unreachable")
                                                     : "no passkey yet"}};
  if (!session_.listen_error().empty()) {
    body["status"] = "error";
    body["error"] = session_.listen_error();
    return http::json_response(503, body);
  }
  return http::json_response(200, body);
}

std::optional<http::response> api::refuse(const http::request& req, const std::string& token,
                                          std::string_view what) {
  if (token.empty() || secrets_equal(req.header("authorization").value_or(""), "Bearer " + token)) {
    return std::nullopt;
  }
  unauthorized_.inc();
  auto r = error_response(401, registry::code::unauthorized,
                          fmt::format("{} need the configured bearer token", what));
  r.set("WWW-Authenticate", "Bearer realm=\"blobswarm-seeder\"");
  return r;
}

awaitable<http::response> api::blob(http::request& req) {
  if (auto no = refuse(req, options_.api_token, "blob requests")) co_return std::move(*no);
  auto route = blob_route::split(req.param("rest"));
  if (!route) co_return error_response(route.error(), subject::other);
  auto name = repository_name::parse(route->name);
  if (!name) co_return error_response(name.error(), subject::repository);
  auto d = digest::parse(route->digest);
  if (!d) co_return error_response(d.error(), subject::blob);
  auto ns = ns_of(req);
  // POST is for replicate only, and replicate is POST only.
  if ((req.method() == http::verb::post) != (route->what == blob_route::kind::replicate)) {
    co_return error_response(405, registry::code::unsupported,
                             fmt::format("{} is not supported here", req.method_string()));
  }
  switch (route->what) {
    case blob_route::kind::replicate:
      co_return replicate(ns, *name, *d);
    case blob_route::kind::torrent:
      co_return co_await torrent(std::move(ns), std::move(*name), std::move(*d));
    case blob_route::kind::descriptor:
      co_return descriptor(ns, *name, *d);
    case blob_route::kind::segment_torrent:
      co_return co_await segment(std::move(ns), std::move(*name), std::move(*d), route->segment);
    case blob_route::kind::bytes:
      co_return co_await bytes(req, std::move(ns), std::move(*name), std::move(*d));
  }
  co_return error_response(404, registry::code::unsupported, "no such blob resource");
}

std::string api::web_seed_url(const repository_name& name, const digest& d,
                              std::string_view ns) const {
  auto url = fmt::format("{}/api/v1/blobs/{}/{}", options_.public_url, name.str(), d.str());
  if (!ns.empty()) url += "?ns=" + http::percent_encode(ns);
  return url;
}

http::response api::torrent_response(std::string bytes, const repository_name& name,
                                     const digest& d, std::string_view ns) const {
  if (options_.web_seed) {
    if (auto with = with_web_seed(bytes, web_seed_url(name, d, ns))) bytes = std::move(*with);
  }
  auto r = http::response::bytes(200, std::move(bytes), torrent_type);
  r.set("Docker-Content-Digest", d.str());
  return r;
}

awaitable<http::response> api::torrent(std::string ns, repository_name name, digest d) {
  auto v = ingest_.get(ns, name, d);
  if (!v) co_return error_response(v.error(), subject::blob, digest_detail(d));
  if (v->job && v->job->known_whole && !v->job->done()) {
    // Replicated seeders: another seeder has the blob and the tracker its
    // torrent; this one is still getting it from the swarm.
    co_return torrent_response(v->job->known_whole->bytes, name, d, ns);
  }
  if (v->job) {
    co_await ingestor::wait_done(v->job, options_.wait_timeout);
    auto& job = *v->job;
    if (job.st == blob_job::state::failed) {
      co_return error_response(*job.failure, subject::blob, digest_detail(d));
    }
    if (job.st != blob_job::state::complete) {
      co_return error_response(
          error{errc::timeout, fmt::format("{} is still being ingested after {}", d,
                                           format_duration(options_.wait_timeout))},
          subject::blob, digest_detail(d));
    }
    if (!job.whole) {
      co_return error_response(404, registry::code::blob_unknown,
                               fmt::format("{} has 0 bytes and no torrent; fetch the bytes", d),
                               digest_detail(d));
    }
    co_return torrent_response(job.whole->bytes, name, d, ns);
  }
  if (!v->stored->torrent_hash) {
    co_return error_response(404, registry::code::blob_unknown,
                             fmt::format("{} has 0 bytes and no torrent; fetch the bytes", d),
                             digest_detail(d));
  }
  auto read = [this, d] {
    return store_.torrent(d);
  };
  auto bytes = co_await pool_.run(std::move(read));
  if (!bytes) co_return error_response(bytes.error(), subject::blob, digest_detail(d));
  co_return torrent_response(std::move(*bytes), name, d, ns);
}

http::response api::replicate(std::string_view ns, const repository_name& name, const digest& d) {
  auto v = ingest_.get(ns, name, d);
  if (!v) return error_response(v.error(), subject::blob, digest_detail(d));
  auto r = descriptor_of(*v, d);
  return http::json_response(v->stored ? 200 : 202, r);
}

http::response api::descriptor(std::string_view ns, const repository_name& name, const digest& d) {
  auto v = ingest_.get(ns, name, d);
  if (!v) return error_response(v.error(), subject::blob, digest_detail(d));
  return http::json_response(200, descriptor_of(*v, d));
}

nlohmann::json api::descriptor_of(const ingestor::view& view, const digest& d) const {
  const auto* v = &view;
  json body = {{"digest", d.str()}};
  std::optional<piece_layout> layout;
  std::string state = "complete";
  std::size_t ready = 0;
  std::optional<info_hash> ih;
  if (v->job) {
    const auto& job = *v->job;
    layout = job.layout;
    state = std::string(to_string(job.st));
    ready = job.segments_retired ? 0 : job.segments.size();
    if (job.whole) ih = job.whole->v1;
    if (!ih && job.known_whole) ih = job.known_whole->v1;
    if (!job.following.empty()) body["following"] = job.following;
    if (job.failure) body["error"] = job.failure->message;
  } else {
    layout = piece_layout::make(v->stored->size, ingest_.options().segment_size);
    ih = v->stored->torrent_hash;
  }
  body["state"] = state;
  if (layout) {
    body["size"] = layout->size;
    body["piece_length"] = layout->piece_length;
    body["segment_length"] = layout->segmented() ? layout->segment_length() : 0;
    body["segment_count"] = layout->segment_count;
  } else {
    body["size"] = nullptr;
    body["piece_length"] = nullptr;
    body["segment_length"] = nullptr;
    body["segment_count"] = nullptr;
  }
  if (v->job && v->job->known_whole && !v->job->done()) {
    // The whole torrent is known (another seeder has the blob): no segments
    // to follow, whatever this seeder's own progress.
    body["segment_length"] = 0;
    body["segment_count"] = 0;
    ready = 0;
  }
  body["segments_ready"] = ready;
  if (ih) body["info_hash_v1"] = ih->hex();
  return body;
}

awaitable<http::response> api::segment(std::string ns, repository_name name, digest d,
                                       std::uint32_t n) {
  auto v = ingest_.get(ns, name, d);
  if (!v) co_return error_response(v.error(), subject::blob, digest_detail(d));
  auto job = v->job;
  auto gone = [&](std::string why) {
    return error_response(404, registry::code::blob_unknown, std::move(why), digest_detail(d));
  };
  if (!job)
    co_return gone(
        fmt::format("{} is stored and has no segment torrents now; use its "
                    "whole torrent",
                    d));
  auto deadline = std::chrono::steady_clock::now() + options_.wait_timeout;
  // Bounded: each pass waits for a change of the job or the deadline.
  while (true) {
    if (job->st == blob_job::state::failed) {
      co_return error_response(*job->failure, subject::blob, digest_detail(d));
    }
    if (job->segments_retired) {
      co_return gone(
          fmt::format("the segment torrents of {} were retired; use its whole torrent", d));
    }
    if (job->layout && !job->layout->segmented()) {
      co_return gone(fmt::format("{} ({} bytes) is not segmented", d, job->layout->size));
    }
    if (job->layout && n >= job->layout->segment_count) {
      co_return gone(fmt::format("{} has {} segments; there is no segment {}", d,
                                 job->layout->segment_count, n));
    }
    if (n < job->segments.size()) {
      co_return torrent_response(job->segments[n].bytes, name, d, ns);
    }
    if (job->st == blob_job::state::complete && n >= job->seeded.size()) {
      co_return gone(fmt::format("{} has no segment {}", d, n));
    }
    auto left = deadline - std::chrono::steady_clock::now();
    if (left <= duration::zero()) break;
    co_await job->changed.wait(std::chrono::duration_cast<duration>(left));
  }
  co_return error_response(
      error{errc::timeout, fmt::format("segment {} of {} is not ready after {}", n, d,
                                       format_duration(options_.wait_timeout))},
      subject::blob, digest_detail(d));
}

http::response api::stored_bytes(http::request& req, const stored_blob& b) {
  auto lease = store_.lease(b.digest);
  auto range = http::parse_range(req.header("range"), b.size);
  if (range.what == http::range_request::kind::unsatisfiable) {
    auto r = error_response(416, registry::code::blob_unknown,
                            fmt::format("range not satisfiable for {} bytes", b.size));
    r.set("Content-Range", fmt::format("bytes */{}", b.size));
    return r;
  }
  auto fd = open_file(store_.blob_path(b.digest), O_RDONLY | O_CLOEXEC);
  if (!fd) return error_response(fd.error(), subject::blob, digest_detail(b.digest));
  store_.touch(b.digest);
  bool partial = range.what == http::range_request::kind::partial;
  std::uint64_t first = partial ? range.range.first : 0;
  std::uint64_t length = partial ? range.range.length() : b.size;
  auto r = http::response::file(partial ? 206 : 200, std::move(*fd), first, length,
                                registry::media_type::octet_stream);
  if (partial) r.set("Content-Range", http::content_range(range.range, b.size));
  if (req.method() != http::verb::head) http_bytes_.inc(length);
  r.hold(std::move(lease));
  return blob_headers(std::move(r), b.digest);
}

awaitable<http::response> api::bytes(http::request& req, std::string ns, repository_name name,
                                     digest d) {
  auto v = ingest_.get(ns, name, d);
  if (!v) co_return error_response(v.error(), subject::blob, digest_detail(d));
  if (v->stored) co_return stored_bytes(req, *v->stored);
  auto job = v->job;
  // The size comes with upstream's first answer.
  auto deadline = std::chrono::steady_clock::now() + options_.wait_timeout;
  while (!job->layout && !job->done()) {
    auto left = deadline - std::chrono::steady_clock::now();
    if (left <= duration::zero()) break;
    co_await job->changed.wait(std::chrono::duration_cast<duration>(left));
  }
  if (job->st == blob_job::state::failed) {
    co_return error_response(*job->failure, subject::blob, digest_detail(d));
  }
  if (job->st == blob_job::state::complete) co_return stored_bytes(req, *job->stored);
  if (!job->layout) {
    co_return error_response(
        error{errc::timeout, fmt::format("upstream has not answered for {}", d)}, subject::blob,
        digest_detail(d));
  }
  auto size = job->layout->size;
  auto range = http::parse_range(req.header("range"), size);
  if (range.what == http::range_request::kind::unsatisfiable) {
    auto r = error_response(416, registry::code::blob_unknown,
                            fmt::format("range not satisfiable for {} bytes", size));
    r.set("Content-Range", fmt::format("bytes */{}", size));
    co_return r;
  }
  bool partial = range.what == http::range_request::kind::partial;
  std::uint64_t first = partial ? range.range.first : 0;
  std::uint64_t end = partial ? range.range.last + 1 : size;
  int status = partial ? 206 : 200;
  if (req.method() == http::verb::head) {
    http::response r(status);
    r.set("Content-Type", std::string(registry::media_type::octet_stream));
    if (partial) r.set("Content-Range", http::content_range(range.range, size));
    r.declare_length(end - first);
    co_return blob_headers(std::move(r), d);
  }
  auto stall = options_.wait_timeout;
  auto& counter = http_bytes_;
  // Streams what has arrived, waiting for more. The blob's last byte is
  // held back until the digest is verified: a response that ends is a
  // response whose bytes were checked; on a mismatch it is cut short.
  auto produce = [job, first, end, size, stall,
                  &counter](http::body_writer& w) -> awaitable<result<void>> {
    auto pos = first;
    while (pos < end) {
      bool verified = job->st == blob_job::state::complete;
      auto avail = job->received.load(std::memory_order_acquire);
      auto limit = verified ? end : std::min({end, avail, size - 1});
      if (pos < limit) {
        if (!co_await w.write_file(job->read_fd->get(), pos, limit - pos)) {
          co_return fail(errc::unavailable, "the client went away");
        }
        counter.inc(limit - pos);
        pos = limit;
        continue;
      }
      if (job->st == blob_job::state::failed) co_return fail(*job->failure);
      if (verified) continue;
      if (!co_await job->changed.wait(stall) &&
          job->received.load(std::memory_order_acquire) == avail && !job->done()) {
        co_return fail(errc::timeout, "no progress from upstream for {}", format_duration(stall));
      }
    }
    co_return result<void>{};
  };
  auto r = http::response::stream(status, end - first, std::move(produce),
                                  registry::media_type::octet_stream);
  if (partial) r.set("Content-Range", http::content_range(range.range, size));
  co_return blob_headers(std::move(r), d);
}

awaitable<http::response> api::preheat(http::request& req) {
  if (auto no = refuse(req, options_.api_token, "preheat requests")) co_return std::move(*no);
  auto request = preheat_request::parse(req.body());
  if (!request) {
    co_return error_response(400, request.error().code, request.error().what.message);
  }
  auto outcome = co_await preheater_.preheat(*request);
  if (!outcome) co_return error_response(outcome.error(), subject::manifest);
  json blobs = json::array();
  std::vector<registry::error_entry> failures;
  std::optional<errc> first_failure;
  bool pending = false;
  for (const auto& b : outcome->blobs) {
    json item = {{"digest", b.descriptor.digest.str()},
                 {"size", b.descriptor.size},
                 {"media_type", b.descriptor.media_type}};
    if (!b.platform.empty()) item["platform"] = b.platform;
    std::optional<error> failure = b.failure;
    std::optional<info_hash> ih;
    std::string state = "complete";
    if (b.stored) {
      ih = b.stored->torrent_hash;
    } else if (b.job) {
      state = std::string(to_string(b.job->st));
      if (b.job->failure) failure = b.job->failure;
      if (b.job->whole) ih = b.job->whole->v1;
      if (b.job->st == blob_job::state::ingesting) pending = true;
    }
    if (failure) state = "failed";
    item["state"] = state;
    if (ih) item["info_hash_v1"] = ih->hex();
    if (failure) {
      item["error"] = failure->message;
      if (!first_failure) first_failure = failure->code;
      failures.push_back({std::string(registry::code_for(failure->code, subject::blob)),
                          failure->message, digest_detail(b.descriptor.digest)});
    }
    blobs.push_back(std::move(item));
  }
  if (first_failure) {
    co_return http::response::bytes(http::status_for(*first_failure),
                                    registry::format_errors(failures), registry::media_type::json);
  }
  json body = {
      {"image", request->image.str()},
      {"ns", outcome->upstream},
      {"manifest", {{"digest", outcome->manifest.str()}, {"media_type", outcome->media_type}}},
      {"blobs", std::move(blobs)}};
  co_return http::json_response(pending ? 202 : 200, body);
}

http::response api::notifications(http::request& req) {
  if (auto no = refuse(req, options_.notification_token, "notifications")) return std::move(*no);
  auto events = push_events::parse(req.body());
  if (!events) return error_response(events.error(), subject::other);
  for (const auto& e : events->manifests) preheater_.on_push(e);
  return http::json_response(
      200, json{{"accepted", events->manifests.size()}, {"ignored", events->ignored}});
}

}  // namespace blobswarm::seeder
