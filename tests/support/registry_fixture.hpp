// registry_fixture: a real Distribution registry (Debian's docker-registry)
// on a free loopback port, for integration tests of everything that talks
// to registries (seeder, mirror). Optionally with htpasswd (bcrypt) Basic
// auth, or with `auth: token` and an in-process token server that signs
// RS256 JWTs the registry trusts through a self-signed rootcertbundle — the
// flow Docker Hub uses. Optionally sends push notifications to given URLs.
//
// Images are built offline with umoci (layers of deterministic
// pseudo-random content from a seed) and pushed with skopeo, as OCI or
// Docker schema 2, including multi-platform indexes / manifest lists.
// Large plain blobs can be pushed through the registry's own upload API.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/digest.hpp"
#include "tests/support/support.hpp"

namespace blobswarm::test {

class http_fixture;

struct registry_user {
  std::string name;
  std::string password;
};

// Token mode: what a user may do in the repositories a pattern names
// ("team/app", or "team/*" for every repository under team/).
struct registry_grant {
  std::string user;  // "" for anonymous callers
  std::string repositories;
  std::string actions = "pull";  // "pull" or "pull,push"
};

struct registry_options {
  enum class auth_mode { none, htpasswd, token };
  auth_mode auth = auth_mode::none;
  // The first user pushes the fixture's images (give it "*" when grants are set).
  std::vector<registry_user> users = {{"alice", "wonderland"}};
  // Token mode: anonymous callers get pull tokens (like Docker Hub's public
  // repositories). Otherwise they get tokens without access.
  bool anonymous_pull = false;
  // Token mode: when not empty, tokens grant exactly these (per user and
  // repository) instead of everything to every authenticated user.
  std::vector<registry_grant> grants;
  std::chrono::seconds token_ttl{300};
  // Push notifications go to these URLs, with this Authorization header
  // when it is not empty.
  std::vector<std::string> notify;
  std::string notify_authorization;
};

struct image_spec {
  std::vector<std::size_t> layer_sizes = {64 * 1024, 256 * 1024};
  std::uint64_t seed = 1;  // layer i holds random_bytes(size, seed * 1000 + i)
  std::string os = "linux";
  std::string architecture = "amd64";
  std::string variant;  // written into the index entry's platform only
  // More than 1: layer i holds files "layer-<i>-<j>.bin", each
  // random_bytes(size / files_per_layer, seed * 1000 + i * 100 + j).
  int files_per_layer = 1;
};

struct pushed_blob {
  blobswarm::digest digest;
  std::uint64_t size = 0;
  std::string media_type;
};

struct pushed_image {
  std::string name;
  std::string tag;
  blobswarm::digest manifest_digest;
  std::string manifest_media_type;
  std::string manifest;  // the bytes the registry serves
  pushed_blob config;
  std::vector<pushed_blob> layers;
  std::string platform;  // "linux/amd64"

  // Config first, then layers.
  std::vector<pushed_blob> blobs() const;
};

struct pushed_index {
  std::string name;
  std::string tag;
  blobswarm::digest digest;
  std::string media_type;
  std::string manifest;
  std::vector<pushed_image> images;  // in index order
};

class registry_fixture {
 public:
  explicit registry_fixture(registry_options options = {});
  ~registry_fixture();
  registry_fixture(const registry_fixture&) = delete;
  registry_fixture& operator=(const registry_fixture&) = delete;

  std::uint16_t port() const noexcept { return port_; }
  std::string host() const;  // "127.0.0.1:PORT"
  std::string url() const;   // "http://127.0.0.1:PORT"
  const registry_options& options() const noexcept { return options_; }
  const std::filesystem::path& storage() const noexcept { return storage_; }
  // Where the registry keeps a blob's bytes (tests corrupt it to make the
  // registry serve content that does not match its digest).
  std::filesystem::path blob_data_path(const blobswarm::digest& d) const;

  // Builds an image with umoci and pushes it with skopeo as name:tag.
  pushed_image push_image(const std::string& name, const std::string& tag,
                          const image_spec& spec = {}, bool docker_format = false);
  // Builds one image per spec and pushes them as a multi-platform OCI index
  // (docker_format: a Docker manifest list) with skopeo copy --all.
  pushed_index push_index(const std::string& name, const std::string& tag,
                          const std::vector<image_spec>& platforms, bool docker_format = false);
  // Pushes bytes as a blob through the registry's chunked upload API.
  pushed_blob push_blob(const std::string& name, std::string_view bytes);
  // Same, from a file (large benchmark blobs), in 64 MiB chunks.
  pushed_blob push_blob_file(const std::string& name, const std::filesystem::path& file);

  // An Authorization header value that the registry accepts for `name`
  // (Basic for htpasswd, a freshly minted token for token auth; empty
  // without auth). For the fixture's own checks and for test clients.
  std::string authorization(const std::string& name, const std::string& actions = "pull,push");
  // Token mode: the Authorization a client gets from the token server for
  // `scope` ("repository:<name>:pull") with user's credentials (nullopt:
  // anonymously), as docker or containerd would: "Bearer <token>".
  std::string token_for(const std::optional<registry_user>& user, const std::string& scope);
  // skopeo's --creds value for the first user ("" without auth).
  std::string skopeo_creds() const;

  // How many requests the registry has completed whose access-log line
  // starts with "<method> <path>" (path may be a prefix).
  std::size_t count_requests(std::string_view method, std::string_view path_prefix) const;
  // Tokens the token server issued (token mode).
  std::size_t tokens_issued() const noexcept { return tokens_issued_.load(); }
  std::string token_realm() const;
  std::string log() const;

  // Stops and restarts the registry on the same port and storage.
  void stop();
  void start();
  bool running() const noexcept { return process_ != nullptr; }

 private:
  struct token_server;
  void write_config();
  std::string mint_token(const std::string& subject, const std::vector<std::string>& scopes,
                         bool authenticated);
  bool granted(const std::string& subject, bool authenticated, const std::string& repository,
               const std::string& action) const;
  pushed_image describe_image(const std::string& name, const std::string& reference,
                              const std::string& accept);
  std::filesystem::path build_image(const std::filesystem::path& layout, const std::string& tag,
                                    const image_spec& spec);

  registry_options options_;
  temp_dir dir_;
  std::filesystem::path storage_;
  std::uint16_t port_ = 0;
  std::unique_ptr<process> process_;
  std::unique_ptr<token_server> tokens_;
  std::atomic<std::size_t> tokens_issued_{0};
  int builds_ = 0;
};

}  // namespace blobswarm::test
