// registry::client: the pull side of the Registry HTTP API v2 against one
// upstream registry, as real registries behave:
//  - the /v2/ challenge, then anonymous, Basic or Bearer-token auth
//    (tokens fetched from the challenge's realm with our credentials and
//    cached per scope until shortly before they expire: Docker Hub's flow);
//  - manifests of every media type with all the right Accept values, or
//    the caller's own Accept lines and Authorization (a mirror forwarding a
//    runtime's request);
//  - blob HEAD and streaming GET with Range, following redirects to blob
//    storage without sending our credentials to another host, and resuming
//    a dropped transfer where it stopped;
//  - retries with exponential backoff (and Retry-After) on 429, 5xx and
//    connection failures; timeouts on everything.
// Blocking (libcurl); thread-safe. Services call it through a blocking_pool.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/digest.hpp"
#include "common/error.hpp"
#include "common/http/client.hpp"
#include "common/http/range.hpp"
#include "common/registry/credentials.hpp"
#include "common/registry/token_cache.hpp"
#include "common/registry/upstream_table.hpp"
#include "common/registry/www_authenticate.hpp"
#include "common/repository_name.hpp"
#include "common/units.hpp"

namespace spdlog {
class logger;
}

namespace blobswarm::registry {

struct client_options {
  duration connect_timeout = std::chrono::seconds(10);
  duration request_timeout = std::chrono::seconds(60);  // /v2/, manifests, HEAD, tokens
  duration stall_timeout = std::chrono::seconds(30);    // blob bodies: no byte for this long
  int max_attempts = 4;                                 // per request (429, 5xx, network)
  duration initial_backoff = std::chrono::milliseconds(250);
  duration max_backoff = std::chrono::seconds(8);
  int max_redirects = 5;
  std::uint64_t max_recv_speed = 0;  // blob GETs, bytes/s; 0: unlimited (benchmarks)
  std::string user_agent = "blobswarm/" BLOBSWARM_VERSION;
};

struct request_options {
  // Accept lines for manifest requests; empty: every manifest type we know.
  std::vector<std::string> accept;
  // Sent verbatim instead of our own credentials (a runtime's own token or
  // Basic header that a mirror forwards). No token dance then: a 401 is
  // returned to the caller, with the challenge in `challenge`.
  std::optional<std::string> authorization;
  // Receives the upstream's WWW-Authenticate header when the final answer
  // is 401, so a mirror can relay it.
  std::string* challenge = nullptr;
  // Set to true (from any thread) to abort; the call returns unavailable.
  const std::atomic<bool>* cancel = nullptr;
};

struct manifest_response {
  std::string content_type;  // exactly as upstream sent it
  std::string media_type;    // content_type without parameters
  std::string body;          // empty for HEAD
  // The manifest's digest: Docker-Content-Digest when upstream sent one,
  // else computed from the body. For a GET by digest the body is verified
  // against the requested digest (digest_mismatch otherwise).
  std::optional<blobswarm::digest> digest;
  std::uint64_t size = 0;  // body size (HEAD: Content-Length)
};

struct blob_response {
  int status = 0;                         // 200, or 206 for a range
  std::uint64_t size = 0;                 // size of the whole blob when known, else of this body
  bool size_known = false;                // upstream sent Content-Length / Content-Range
  std::optional<http::byte_range> range;  // the bytes this body carries when partial
  std::string content_type;
  std::optional<blobswarm::digest> digest;  // Docker-Content-Digest, if sent
};

class client {
 public:
  // Resolves the credentials (password_file, auth, docker_config); fails
  // with a message naming the upstream when they cannot be read.
  static result<std::shared_ptr<client>> make(upstream target, client_options options = {});
  ~client();
  client(const client&) = delete;
  client& operator=(const client&) = delete;

  const upstream& target() const noexcept { return target_; }
  const client_options& options() const noexcept { return options_; }

  // GET /v2/: learns how the registry wants us to authenticate and checks
  // that our credentials work. Called implicitly before the first request.
  result<void> ping(const request_options& opts = {}) const;

  result<manifest_response> get_manifest(const repository_name& name, std::string_view reference,
                                         const request_options& opts = {}) const;
  result<manifest_response> head_manifest(const repository_name& name, std::string_view reference,
                                          const request_options& opts = {}) const;

  result<blob_response> head_blob(const repository_name& name, const blobswarm::digest& d,
                                  const request_options& opts = {}) const;

  using start_callback = std::function<result<void>(const blob_response&)>;
  using data_callback = std::function<result<void>(std::span<const std::byte>)>;
  // Streams the blob (or `range` of it). `on_start` runs once before the
  // first byte; `on_data` receives every byte exactly once and in order,
  // even when a dropped connection had to be resumed with a Range request.
  // An error from a callback aborts and is returned. The bytes are NOT
  // verified against the digest: the caller hashes what it receives.
  result<blob_response> get_blob(const repository_name& name, const blobswarm::digest& d,
                                 std::optional<http::byte_range> range,
                                 const start_callback& on_start, const data_callback& on_data,
                                 const request_options& opts = {}) const;

  // Tokens currently cached (for tests and metrics).
  std::size_t cached_tokens() const { return tokens_.size(); }

 private:
  struct hop_state;
  struct exchange;
  enum class scheme { unknown, anonymous, basic, bearer };

  client(upstream target, client_options options, credentials creds);

  result<http::client_response> perform(exchange& x, const request_options& opts) const;
  result<http::client_response> follow(exchange& x, const std::string& authorization,
                                       const request_options& opts) const;
  result<std::string> authorization_for(const std::string& scope, const request_options& opts,
                                        bool refresh) const;
  result<std::string> fetch_token(const challenge& bearer, const std::string& scope) const;
  result<void> learn(const http::client_response& r) const;
  result<void> ensure_pinged(const request_options& opts) const;
  error failure(std::string_view what, int status, std::string_view body,
                const request_options& opts) const;
  bool backoff(int attempt, const http::client_response* r, const request_options& opts) const;
  std::string url(std::string_view path) const { return target_.url + std::string(path); }

  upstream target_;
  client_options options_;
  credentials creds_;
  http::client http_;
  std::shared_ptr<spdlog::logger> log_;

  mutable std::mutex mutex_;
  mutable scheme scheme_ = scheme::unknown;
  mutable challenge bearer_;  // realm and service of the registry's token server
  mutable token_cache tokens_;
};

// One client per upstream host, made on first use and shared afterwards.
class client_pool {
 public:
  client_pool(upstream_table table, client_options options);

  // `ns`: registry host, or empty for the default upstream.
  result<std::shared_ptr<client>> get(std::string_view ns);
  const upstream_table& table() const noexcept { return table_; }

 private:
  upstream_table table_;
  client_options options_;
  std::mutex mutex_;
  std::map<std::string, std::shared_ptr<client>, std::less<>> clients_;
};

}  // namespace blobswarm::registry
