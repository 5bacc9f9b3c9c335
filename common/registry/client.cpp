#include "common/registry/client.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <random>
#include <thread>

#include "common/file.hpp"
#include "common/hex.hpp"
#include "common/logging.hpp"
#include "common/registry/manifest.hpp"
#include "common/registry/media_types.hpp"
#include "common/registry/registry_error.hpp"

namespace blobswarm::registry {
namespace {

constexpr std::size_t max_error_body = 64 * 1024;
constexpr std::size_t max_token_body = 1 << 20;

bool is_redirect(int status) noexcept {
  return status == 301 || status == 302 || status == 303 || status == 307 || status == 308;
}

bool is_retryable_status(int status) noexcept {
  return status == 429 || status == 500 || status == 502 || status == 503 || status == 504;
}

bool is_success(int status) noexcept {
  return status >= 200 && status < 300;
}

// "https://host:port/path?q" -> "https://host:port"
std::string_view origin_of(std::string_view url) noexcept {
  auto scheme_end = url.find("://");
  if (scheme_end == std::string_view::npos) return url;
  auto path = url.find('/', scheme_end + 3);
  return url.substr(0, path);
}

// A URL for logs: blob storage redirects carry signatures in the query.
std::string loggable(std::string_view url) {
  auto q = url.find('?');
  if (q == std::string_view::npos) return std::string(url);
  return std::string(url.substr(0, q)) + "?…";
}

std::string resolve_location(std::string_view current, std::string_view location) {
  if (location.find("://") != std::string_view::npos) return std::string(location);
  if (location.starts_with("//")) {
    return std::string(current.substr(0, current.find("://") + 1)) + std::string(location);
  }
  if (location.starts_with("/")) return std::string(origin_of(current)) + std::string(location);
  auto base = current.substr(0, current.find('?'));
  auto slash = base.rfind('/');
  return std::string(base.substr(0, slash + 1)) + std::string(location);
}

// "bytes 10-99/1000" or "bytes 10-99/*".
struct content_range {
  std::uint64_t first = 0, last = 0;
  std::optional<std::uint64_t> total;
};

std::optional<std::uint64_t> parse_u64(std::string_view s) {
  if (s.empty() || s.size() > 19) return std::nullopt;
  std::uint64_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return std::nullopt;
    v = v * 10 + static_cast<std::uint64_t>(c - '0');
  }
  return v;
}

std::optional<content_range> parse_content_range(std::string_view v) {
  if (!v.starts_with("bytes ")) return std::nullopt;
  v.remove_prefix(6);
  auto dash = v.find('-');
  auto slash = v.find('/');
  if (dash == std::string_view::npos || slash == std::string_view::npos || dash > slash) {
    return std::nullopt;
  }
  auto first = parse_u64(v.substr(0, dash));
  auto last = parse_u64(v.substr(dash + 1, slash - dash - 1));
  if (!first || !last || *last < *first) return std::nullopt;
  content_range out{*first, *last, std::nullopt};
  auto total = v.substr(slash + 1);
  if (total != "*") {
    auto t = parse_u64(total);
    if (!t || *t <= *last) return std::nullopt;
    out.total = *t;
  }
  return out;
}

bool cancelled(const request_options& opts) noexcept {
  return opts.cancel && opts.cancel->load(std::memory_order_relaxed);
}

result<void> check_reference(std::string_view reference) {
  if (reference.find(':') != std::string_view::npos) {
    if (auto d = digest::parse(reference); !d) return fail(d.error());
    return {};
  }
  if (!is_valid_tag(reference)) {
    return fail(errc::invalid_argument, "'{}' is neither a tag nor a digest",
                reference.substr(0, 140));
  }
  return {};
}

std::optional<digest> header_digest(const http::client_response& r) {
  auto h = r.header("docker-content-digest");
  if (!h) return std::nullopt;
  auto d = digest::parse(*h);
  if (!d) return std::nullopt;
  return *d;
}

std::optional<std::uint64_t> content_length(const http::client_response& r) {
  auto h = r.header("content-length");
  if (!h) return std::nullopt;
  return parse_u64(*h);
}

}  // namespace

// Everything about one logical request, kept across retries, redirects and
// resumptions.
struct client::exchange {
  std::string method = "GET";
  std::string path;   // "/v2/<name>/blobs/<digest>"
  std::string scope;  // token scope; empty for /v2/
  http::header_list headers;
  std::string what;  // for messages: "GET https://r/v2/..."

  // Buffered requests keep the success body here (up to max_body).
  bool streaming = false;
  std::uint64_t max_body = max_manifest_bytes;
  std::string body;

  // Streaming GETs.
  const start_callback* on_start = nullptr;
  const data_callback* on_data = nullptr;
  std::optional<http::byte_range> range;  // what the caller asked for
  std::uint64_t delivered = 0;            // bytes handed to on_data
  bool started = false;
  blob_response info;
  std::optional<std::uint64_t> want_end;  // absolute end (exclusive) when known

  // Per hop (one HTTP exchange).
  int hop_status = 0;
  std::uint64_t hop_offset = 0;    // absolute offset of this hop's first body byte
  std::uint64_t hop_received = 0;  // body bytes seen in this hop
  std::string error_body;

  std::optional<error> callback_error;  // a caller's callback stopped the transfer

  std::uint64_t next_offset() const noexcept { return (range ? range->first : 0) + delivered; }

  result<void> on_headers(const http::client_response& r) {
    hop_status = r.status;
    hop_received = 0;
    error_body.clear();
    if (!is_success(r.status) || !streaming) {
      if (!streaming) body.clear();
      return {};
    }
    // Which absolute byte does this body start with, and how large is the blob?
    std::optional<std::uint64_t> total;
    if (r.status == 206) {
      auto cr = r.header("content-range");
      auto parsed = cr ? parse_content_range(*cr) : std::nullopt;
      if (!parsed) {
        return fail(errc::upstream, "{}: 206 answer without a valid Content-Range", what);
      }
      if (parsed->first > next_offset()) {
        return fail(errc::upstream, "{}: upstream sent bytes from {} when {} was asked for", what,
                    parsed->first, next_offset());
      }
      hop_offset = parsed->first;
      total = parsed->total;
    } else {
      hop_offset = 0;
      total = content_length(r);
    }
    if (!started) {
      started = true;
      info.status = range ? 206 : 200;
      info.content_type = std::string(r.header("content-type").value_or(""));
      info.digest = header_digest(r);
      if (total) {
        info.size = *total;
        info.size_known = true;
        if (range && range->first >= *total) {
          return fail(errc::invalid_argument, "{}: range starts at {} but the blob has {} bytes",
                      what, range->first, *total);
        }
        want_end = range ? std::min(range->last + 1, *total) : *total;
        if (range) info.range = http::byte_range{range->first, *want_end - 1};
      } else if (range) {
        want_end = range->last + 1;
        info.range = range;
      }
      if (on_start && *on_start) {
        if (auto s = (*on_start)(info); !s) {
          callback_error = s.error();
          return s;
        }
      }
    } else if (total && info.size_known && *total != info.size) {
      return fail(errc::upstream, "{}: blob size changed from {} to {} between attempts", what,
                  info.size, *total);
    }
    return {};
  }

  result<void> on_body(std::span<const std::byte> data) {
    if (!is_success(hop_status)) {
      auto room = max_error_body - std::min(max_error_body, error_body.size());
      error_body.append(reinterpret_cast<const char*>(data.data()), std::min(room, data.size()));
      return {};
    }
    if (!streaming) {
      if (body.size() + data.size() > max_body) {
        return fail(errc::too_large, "{}: answer exceeds {} bytes", what, max_body);
      }
      body.append(reinterpret_cast<const char*>(data.data()), data.size());
      return {};
    }
    // Deliver the part of this chunk inside [next_offset, want_end).
    std::uint64_t chunk_first = hop_offset + hop_received;
    hop_received += data.size();
    std::uint64_t chunk_end = chunk_first + data.size();
    std::uint64_t from = std::max(chunk_first, next_offset());
    std::uint64_t to = want_end ? std::min(chunk_end, *want_end) : chunk_end;
    if (from >= to) return {};
    if (from > next_offset()) return fail(errc::upstream, "{}: gap in the upstream body", what);
    auto part = data.subspan(static_cast<std::size_t>(from - chunk_first),
                             static_cast<std::size_t>(to - from));
    if (on_data && *on_data) {
      if (auto r = (*on_data)(part); !r) {
        callback_error = r.error();
        return r;
      }
    }
    delivered += part.size();
    return {};
  }

  bool complete() const noexcept { return want_end && next_offset() >= *want_end; }
};

result<std::shared_ptr<client>> client::make(upstream target, client_options options) {
  credentials creds;
  const auto& s = target.settings;
  auto where = fmt::format("upstream {}", target.host);
  if (!s.docker_config.empty()) {
    auto text = read_file(s.docker_config, 4 << 20);
    if (!text) return fail(text.error().with_context(where));
    auto c = credentials_from_docker_config(*text, target.host);
    if (!c) return fail(c.error().with_context(fmt::format("{}: {}", where, s.docker_config)));
    creds = std::move(*c);
  }
  if (!s.auth.empty()) {
    auto c = credentials::from_docker_auth(s.auth);
    if (!c) return fail(c.error().with_context(where));
    creds = std::move(*c);
  }
  if (!s.username.empty()) {
    creds.username = s.username;
    creds.password = s.password;
    if (!s.password_file.empty()) {
      auto p = read_file(s.password_file, 64 * 1024);
      if (!p) return fail(p.error().with_context(where));
      while (!p->empty() && (p->back() == '\n' || p->back() == '\r')) p->pop_back();
      creds.password = std::move(*p);
    }
  }
  if (auto h = host_of_url(target.url); !h) return fail(h.error().with_context(where));
  return std::shared_ptr<client>(
      new client(std::move(target), std::move(options), std::move(creds)));
}

client::client(upstream target, client_options options, credentials creds)
    : target_(std::move(target)),
      options_(std::move(options)),
      creds_(std::move(creds)),
      http_(http::client_options{.connect_timeout = options_.connect_timeout,
                                 .timeout = duration{0},
                                 .stall_timeout = options_.stall_timeout,
                                 .insecure = target_.settings.insecure,
                                 .ca_file = target_.settings.ca_file,
                                 .user_agent = options_.user_agent,
                                 .max_redirects = 0,
                                 .max_body = max_manifest_bytes}),
      log_(logging::get("registry")) {}

client::~client() = default;

bool client::backoff(int attempt, const http::client_response* r,
                     const request_options& opts) const {
  auto delay = options_.initial_backoff * (1LL << std::min(attempt - 1, 16));
  if (delay > options_.max_backoff) delay = options_.max_backoff;
  if (r) {
    if (auto ra = r->header("retry-after")) {
      if (auto secs = parse_u64(*ra)) {
        delay = std::min<duration>(options_.max_backoff, std::chrono::seconds(*secs));
      }
    }
  }
  // Jitter so that many callers backing off from one registry spread out.
  std::minstd_rand rng(static_cast<unsigned>(std::random_device{}()));
  delay += duration(rng() % static_cast<unsigned>(delay.count() / 4 + 1));
  auto until = std::chrono::steady_clock::now() + delay;
  while (std::chrono::steady_clock::now() < until) {
    if (cancelled(opts)) return false;
    std::this_thread::sleep_for(std::min<duration>(std::chrono::milliseconds(50), delay));
  }
  return !cancelled(opts);
}

result<void> client::learn(const http::client_response& r) const {
  std::string joined;
  for (auto v : r.header_values("www-authenticate")) {
    if (!joined.empty()) joined += ", ";
    joined += v;
  }
  if (joined.empty()) {
    std::lock_guard lock(mutex_);
    scheme_ = scheme::anonymous;
    return fail(errc::unauthorized, "{} answered 401 without a WWW-Authenticate challenge",
                target_.url);
  }
  auto challenges = parse_www_authenticate(joined);
  if (!challenges) return fail(challenges.error().with_context(target_.url));
  const challenge* bearer = nullptr;
  const challenge* basic = nullptr;
  for (const auto& c : *challenges) {
    if (c.is_bearer() && !bearer) bearer = &c;
    if (c.is_basic() && !basic) basic = &c;
  }
  std::lock_guard lock(mutex_);
  if (bearer) {
    scheme_ = scheme::bearer;
    bearer_ = *bearer;
    return {};
  }
  if (basic) {
    scheme_ = scheme::basic;
    return {};
  }
  scheme_ = scheme::anonymous;
  return fail(errc::unauthorized, "{} asks for an unsupported auth scheme: {}", target_.url,
              joined.substr(0, 200));
}

result<std::string> client::fetch_token(const challenge& bearer, const std::string& scope) const {
  std::vector<std::string> scopes;
  if (!scope.empty()) scopes.push_back(scope);
  auto url = token_request_url(bearer, scopes, creds_.username);
  if (!url) return fail(url.error().with_context(target_.url));
  auto realm = bearer.param("realm").value_or("");
  http::client_request req{.method = "GET", .url = *url};
  if (!creds_.empty()) req.headers.emplace_back("Authorization", creds_.basic_authorization());
  req.follow_redirects = false;
  req.timeout = options_.request_timeout;
  for (int attempt = 1;; ++attempt) {
    std::string body;
    auto r = http_.stream(req, nullptr, [&](std::span<const std::byte> d) -> result<void> {
      if (body.size() + d.size() > max_token_body) {
        return fail(errc::too_large, "token answer from {} is too large", realm);
      }
      body.append(reinterpret_cast<const char*>(d.data()), d.size());
      return {};
    });
    if (!r) {
      if ((r.error().code == errc::unavailable || r.error().code == errc::timeout) &&
          attempt < options_.max_attempts && backoff(attempt, nullptr, {})) {
        continue;
      }
      return fail(r.error().with_context(fmt::format("token server for {}", target_.url)));
    }
    if (r->status == 200) {
      auto t = parse_token_response(body);
      if (!t) return fail(t.error().with_context(fmt::format("token server {}", realm)));
      log_->debug("{}: got a token for '{}' valid {}s", target_.host, scope, t->expires_in.count());
      tokens_.put(
          token_cache::key(realm, bearer.param("service").value_or(""), scope, creds_.identity()),
          *t, token_cache::clock::now());
      return t->value;
    }
    if (is_retryable_status(r->status) && attempt < options_.max_attempts &&
        backoff(attempt, &*r, {})) {
      continue;
    }
    if (r->status == 401 || r->status == 403) {
      return fail(errc::unauthorized, "token server {} refused {} for scope '{}' ({})", realm,
                  creds_.empty() ? std::string("anonymous access")
                                 : fmt::format("the credentials of '{}'", creds_.username),
                  scope, r->status);
    }
    return fail(upstream_failure(r->status, body, fmt::format("GET {}", loggable(*url))));
  }
}

result<std::string> client::authorization_for(const std::string& scope, const request_options& opts,
                                              bool refresh) const {
  if (opts.authorization) return *opts.authorization;
  challenge bearer;
  {
    std::lock_guard lock(mutex_);
    switch (scheme_) {
      case scheme::unknown:
      case scheme::anonymous:
        return std::string();
      case scheme::basic:
        return creds_.empty() ? std::string() : creds_.basic_authorization();
      case scheme::bearer:
        bearer = bearer_;
        break;
    }
  }
  auto key = token_cache::key(bearer.param("realm").value_or(""),
                              bearer.param("service").value_or(""), scope, creds_.identity());
  if (!refresh) {
    if (auto t = tokens_.get(key, token_cache::clock::now())) return "Bearer " + *t;
  } else {
    tokens_.erase(key);
  }
  auto t = fetch_token(bearer, scope);
  if (!t) return fail(t.error());
  return "Bearer " + *t;
}

result<http::client_response> client::follow(exchange& x, const std::string& authorization,
                                             const request_options& opts) const {
  std::string current = url(x.path);
  auto home = std::string(origin_of(target_.url));
  for (int hop = 0; hop <= options_.max_redirects; ++hop) {
    http::client_request req{.method = x.method, .url = current, .headers = x.headers};
    // Credentials go to the registry only, never to blob storage elsewhere.
    if (!authorization.empty() && origin_of(current) == home) {
      req.headers.emplace_back("Authorization", authorization);
    }
    if (x.streaming && (x.range || x.delivered > 0)) {
      auto first = x.next_offset();
      if (x.want_end) {
        req.headers.emplace_back("Range", fmt::format("bytes={}-{}", first, *x.want_end - 1));
      } else if (x.range) {
        req.headers.emplace_back("Range", fmt::format("bytes={}-{}", first, x.range->last));
      } else {
        req.headers.emplace_back("Range", fmt::format("bytes={}-", first));
      }
    }
    req.follow_redirects = false;
    req.cancel = opts.cancel;
    if (x.streaming) {
      req.max_recv_speed = options_.max_recv_speed;
    } else {
      req.timeout = options_.request_timeout;
    }
    auto r = http_.stream(
        req, [&](const http::client_response& h) { return x.on_headers(h); },
        [&](std::span<const std::byte> d) { return x.on_body(d); });
    if (!r) {
      // libcurl's message names the URL it used, which for blob storage
      // carries a signature: name the request instead.
      const auto& m = r.error().message;
      auto sep = m.find(": ");
      auto reason =
          sep == std::string::npos ? std::string_view(m) : std::string_view(m).substr(sep + 2);
      if (x.callback_error) return r;
      return fail(r.error().code, "{}: {}", x.what, reason);
    }
    if (is_redirect(r->status)) {
      auto location = r->header("location");
      if (!location || location->empty()) {
        return fail(errc::upstream, "{}: {} redirect without a Location", x.what, r->status);
      }
      auto next = resolve_location(current, *location);
      if (!next.starts_with("http://") && !next.starts_with("https://")) {
        return fail(errc::upstream, "{}: redirect to a non-http URL", x.what);
      }
      log_->debug("{}: redirected to {}", x.what, loggable(next));
      if (x.method == "GET" || x.method == "HEAD") {
        current = std::move(next);
        continue;
      }
      return fail(errc::upstream, "{}: unexpected redirect", x.what);
    }
    return r;
  }
  return fail(errc::upstream, "{}: more than {} redirects", x.what, options_.max_redirects);
}

result<void> client::ensure_pinged(const request_options& opts) const {
  if (opts.authorization) return {};
  {
    std::lock_guard lock(mutex_);
    if (scheme_ != scheme::unknown) return {};
  }
  return ping(opts);
}

result<http::client_response> client::perform(exchange& x, const request_options& opts) const {
  bool reauthenticated = false;
  bool refresh = false;
  for (int attempt = 1;; ++attempt) {
    if (cancelled(opts)) return fail(errc::unavailable, "{}: cancelled", x.what);
    auto auth = authorization_for(x.scope, opts, refresh);
    refresh = false;
    if (!auth) return fail(auth.error());
    auto r = follow(x, *auth, opts);
    if (!r) {
      if (x.callback_error) return fail(*x.callback_error);
      bool transient = r.error().code == errc::unavailable || r.error().code == errc::timeout;
      if (transient && !cancelled(opts) && attempt < options_.max_attempts) {
        log_->warn("{} (attempt {} of {}{})", r.error().message, attempt, options_.max_attempts,
                   x.delivered > 0 ? fmt::format(", resuming at byte {}", x.next_offset()) : "");
        if (backoff(attempt, nullptr, opts)) continue;
      }
      return r;
    }
    if (x.streaming && is_success(r->status) && x.want_end && !x.complete()) {
      // The connection closed early without an error from curl.
      if (attempt < options_.max_attempts && backoff(attempt, nullptr, opts)) continue;
      return fail(errc::upstream, "{}: body ended at byte {} of {}", x.what, x.next_offset(),
                  *x.want_end);
    }
    if (r->status == 401 && !opts.authorization && !reauthenticated) {
      // First 401: the token expired, or this is a new scope, or the
      // registry changed how it authenticates. Learn and try once more.
      reauthenticated = true;
      if (auto l = learn(*r); !l) return fail(l.error());
      refresh = true;
      --attempt;
      continue;
    }
    if (r->status == 401 && opts.challenge) {
      *opts.challenge = std::string(r->header("www-authenticate").value_or(""));
    }
    if (is_retryable_status(r->status) && attempt < options_.max_attempts) {
      log_->warn("{}: upstream answered {} (attempt {} of {})", x.what, r->status, attempt,
                 options_.max_attempts);
      if (backoff(attempt, &*r, opts)) continue;
    }
    return r;
  }
}

result<void> client::ping(const request_options& opts) const {
  exchange x;
  x.path = "/v2/";
  x.what = "GET " + url(x.path);
  x.max_body = max_error_body;
  {
    std::lock_guard lock(mutex_);
    if (scheme_ == scheme::unknown && !opts.authorization) scheme_ = scheme::anonymous;
  }
  auto r = perform(x, opts);
  if (!r) return fail(r.error());
  if (r->status == 200) return {};
  if (r->status == 401 || r->status == 403) {
    return fail(errc_for(r->status), "{} rejected {}: {}", target_.url,
                opts.authorization ? std::string("the forwarded credentials")
                : creds_.empty()   ? std::string("anonymous access")
                                   : fmt::format("the credentials of '{}'", creds_.username),
                upstream_failure(r->status, x.error_body, x.what).message);
  }
  if (r->status == 404) {
    return fail(errc::upstream, "{} does not serve the Registry API v2 (GET /v2/ answered 404)",
                target_.url);
  }
  return fail(failure(x.what, r->status, x.error_body, opts));
}

result<manifest_response> client::get_manifest(const repository_name& name,
                                               std::string_view reference,
                                               const request_options& opts) const {
  if (auto c = check_reference(reference); !c) return fail(c.error());
  if (auto p = ensure_pinged(opts); !p) return fail(p.error());
  exchange x;
  x.path = fmt::format("/v2/{}/manifests/{}", name.str(), reference);
  x.scope = repository_scope(name.str());
  x.what = "GET " + url(x.path);
  if (opts.accept.empty()) {
    for (auto a : media_type::manifest_accept) x.headers.emplace_back("Accept", std::string(a));
  } else {
    for (const auto& a : opts.accept) x.headers.emplace_back("Accept", a);
  }
  auto r = perform(x, opts);
  if (!r) return fail(r.error());
  if (!is_success(r->status)) return fail(failure(x.what, r->status, x.error_body, opts));
  manifest_response m;
  m.content_type = std::string(r->header("content-type").value_or(""));
  m.media_type = std::string(strip_media_type_parameters(m.content_type));
  m.body = std::move(x.body);
  m.size = m.body.size();
  auto announced = header_digest(*r);
  if (reference.find(':') != std::string_view::npos) {
    auto wanted = *digest::parse(reference);
    auto h = wanted.make_hasher();
    h.update(m.body);
    auto got = digest::from_raw(wanted.algorithm(), h.finish());
    if (!got || *got != wanted) {
      return fail(errc::digest_mismatch, "{}: manifest body hashes to {}, not {}", x.what,
                  got ? got->str() : "?", wanted.str());
    }
    m.digest = wanted;
  } else {
    auto algorithm = announced ? announced->algorithm() : hash_algorithm::sha256;
    hasher h(algorithm);
    h.update(m.body);
    auto got = digest::from_raw(algorithm, h.finish());
    if (!got) return fail(got.error());
    if (announced && *announced != *got) {
      return fail(errc::digest_mismatch,
                  "{}: Docker-Content-Digest says {} but the body hashes to {}", x.what,
                  announced->str(), got->str());
    }
    m.digest = *got;
  }
  return m;
}

result<manifest_response> client::head_manifest(const repository_name& name,
                                                std::string_view reference,
                                                const request_options& opts) const {
  if (auto c = check_reference(reference); !c) return fail(c.error());
  if (auto p = ensure_pinged(opts); !p) return fail(p.error());
  exchange x;
  x.method = "HEAD";
  x.path = fmt::format("/v2/{}/manifests/{}", name.str(), reference);
  x.scope = repository_scope(name.str());
  x.what = "HEAD " + url(x.path);
  if (opts.accept.empty()) {
    for (auto a : media_type::manifest_accept) x.headers.emplace_back("Accept", std::string(a));
  } else {
    for (const auto& a : opts.accept) x.headers.emplace_back("Accept", a);
  }
  auto r = perform(x, opts);
  if (!r) return fail(r.error());
  if (!is_success(r->status)) return fail(failure(x.what, r->status, x.error_body, opts));
  manifest_response m;
  m.content_type = std::string(r->header("content-type").value_or(""));
  m.media_type = std::string(strip_media_type_parameters(m.content_type));
  m.size = content_length(*r).value_or(0);
  m.digest = header_digest(*r);
  if (reference.find(':') != std::string_view::npos) {
    auto wanted = *digest::parse(reference);
    if (m.digest && *m.digest != wanted) {
      return fail(errc::digest_mismatch, "{}: Docker-Content-Digest says {}", x.what,
                  m.digest->str());
    }
    m.digest = wanted;
  }
  return m;
}

result<blob_response> client::head_blob(const repository_name& name, const digest& d,
                                        const request_options& opts) const {
  if (auto p = ensure_pinged(opts); !p) return fail(p.error());
  exchange x;
  x.method = "HEAD";
  x.path = fmt::format("/v2/{}/blobs/{}", name.str(), d.str());
  x.scope = repository_scope(name.str());
  x.what = "HEAD " + url(x.path);
  auto r = perform(x, opts);
  if (!r) return fail(r.error());
  if (!is_success(r->status)) return fail(failure(x.what, r->status, x.error_body, opts));
  blob_response b;
  b.status = r->status;
  auto len = content_length(*r);
  b.size = len.value_or(0);
  b.size_known = len.has_value();
  b.content_type = std::string(r->header("content-type").value_or(""));
  b.digest = header_digest(*r);
  return b;
}

result<blob_response> client::get_blob(const repository_name& name, const digest& d,
                                       std::optional<http::byte_range> range,
                                       const start_callback& on_start, const data_callback& on_data,
                                       const request_options& opts) const {
  if (auto p = ensure_pinged(opts); !p) return fail(p.error());
  exchange x;
  x.path = fmt::format("/v2/{}/blobs/{}", name.str(), d.str());
  x.scope = repository_scope(name.str());
  x.what = "GET " + url(x.path);
  x.streaming = true;
  x.range = range;
  x.on_start = &on_start;
  x.on_data = &on_data;
  auto r = perform(x, opts);
  if (!r) return fail(r.error());
  if (!is_success(r->status)) return fail(failure(x.what, r->status, x.error_body, opts));
  if (!x.started) {
    // A 2xx without a body (a 204, or 200 with nothing): still report it.
    if (auto s = x.on_headers(*r); !s) return fail(s.error());
  }
  return x.info;
}

error client::failure(std::string_view what, int status, std::string_view body,
                      const request_options& opts) const {
  auto e = upstream_failure(status, body, what);
  if (status == 401 || status == 403) {
    e.message += opts.authorization ? " with the forwarded credentials"
                 : creds_.empty()   ? std::string(" for anonymous access")
                                    : fmt::format(" with the credentials of '{}'", creds_.username);
  }
  return e;
}

client_pool::client_pool(upstream_table table, client_options options)
    : table_(std::move(table)), options_(std::move(options)) {}

result<std::shared_ptr<client>> client_pool::get(std::string_view ns) {
  auto u = table_.resolve(ns);
  if (!u) return fail(u.error());
  std::lock_guard lock(mutex_);
  if (auto it = clients_.find(u->host); it != clients_.end()) return it->second;
  auto c = client::make(*u, options_);
  if (!c) return fail(c.error());
  clients_.emplace(u->host, *c);
  return *c;
}

}  // namespace blobswarm::registry
