// upstream_table: which upstream registry a request goes to. Registries are
// configured by host ("docker.io", "127.0.0.1:5000", "ghcr.io"), each with
// a base URL, optional credentials and TLS options; one is the default for
// requests that name no host (no ?ns=). Docker Hub's aliases (index.docker.io,
// registry-1.docker.io, registry.hub.docker.com) all mean "docker.io".
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "common/error.hpp"

namespace blobswarm::registry {

// One upstream's settings, as they appear in a component's config file:
//   "upstreams": {"127.0.0.1:5000": {"url": "http://127.0.0.1:5000",
//                                    "username": "u", "password_file": "/run/secrets/p"}}
struct upstream_settings {
  std::string url;       // empty: https://<host> (Docker Hub: https://registry-1.docker.io)
  std::string username;  // Basic credentials, also sent to Bearer token servers
  std::string password;
  std::string password_file;  // read at start-up instead of `password`
  std::string auth;           // a docker config.json "auth" value: base64("user:password")
  std::string docker_config;  // a docker config.json whose entry for this host is used
  bool insecure = false;      // skip TLS certificate verification
  std::string ca_file;        // extra CA bundle (PEM) for this registry

  template <class V>
  void visit(V& v) {
    v("url", url, "base URL, e.g. https://registry-1.docker.io (default: https://<host>)");
    v("username", username, "user name for Basic auth and token servers");
    v("password", password, "password (prefer password_file)");
    v("password_file", password_file, "file holding the password");
    v("auth", auth, "docker config.json style auth: base64 of user:password");
    v("docker_config", docker_config, "docker config.json to take this host's credentials from");
    v("insecure", insecure, "skip TLS certificate verification");
    v("ca_file", ca_file, "extra CA certificates (PEM) to trust for this registry");
  }
};

struct upstream {
  std::string host;  // canonical: "docker.io", "127.0.0.1:5000"
  std::string url;   // base URL without a trailing slash
  upstream_settings settings;
};

// Lowercase; Docker Hub aliases become "docker.io".
std::string canonical_host(std::string_view host);
// "https://registry-1.docker.io" -> "registry-1.docker.io"; "http://127.0.0.1:5000/" ->
// "127.0.0.1:5000". Fails unless the URL is http(s)://host[:port][/].
result<std::string> host_of_url(std::string_view url);
// https://<host>, or https://registry-1.docker.io for Docker Hub.
std::string default_url_for_host(std::string_view host);

class upstream_table {
 public:
  // `default_url` is the registry for requests without a host; `by_host`
  // the configured registries. With `allow_unlisted`, a host that is not
  // configured resolves to https://<host> without credentials; without it
  // such a request is refused (a service that fetches from any host a
  // caller names would be an open proxy).
  static result<upstream_table> make(std::string_view default_url,
                                     const std::map<std::string, upstream_settings>& by_host,
                                     bool allow_unlisted = false);

  // `ns` is a registry host (containerd's ?ns=) or empty for the default.
  result<upstream> resolve(std::string_view ns) const;
  const upstream& default_upstream() const noexcept { return all_.at(default_index_); }
  const std::vector<upstream>& all() const noexcept { return all_; }

 private:
  std::vector<upstream> all_;
  std::size_t default_index_ = 0;
  bool allow_unlisted_ = false;
};

}  // namespace blobswarm::registry
