// credentials: a user name and password for one upstream registry, given
// directly or as a docker config.json "auth" entry (base64 "user:password").
// Pure: reading the config.json file is the caller's business.
#pragma once

#include <string>
#include <string_view>

#include "common/error.hpp"

namespace blobswarm::registry {

struct credentials {
  std::string username;
  std::string password;

  bool empty() const noexcept { return username.empty() && password.empty(); }
  // "Basic dXNlcjpwYXNz"
  std::string basic_authorization() const;
  // What identifies these credentials in caches and logs: the user name
  // (never the password); "" for anonymous.
  const std::string& identity() const noexcept { return username; }

  // From a config.json "auth" value: base64 of "user:password".
  static result<credentials> from_docker_auth(std::string_view base64_auth);
};

// The credentials docker config.json content holds for `host`
// ({"auths": {"<host>": {"auth": "..."} | {"username": .., "password": ..}}}).
// Keys may be written as "host", "https://host" or "https://host/v1/";
// Docker Hub's entry is "https://index.docker.io/v1/". not_found when the
// file has no entry for the host.
result<credentials> credentials_from_docker_config(std::string_view config_json,
                                                   std::string_view host);

std::string base64_encode(std::string_view bytes);
// Standard alphabet with padding; whitespace is not allowed.
result<std::string> base64_decode(std::string_view text);

}  // namespace blobswarm::registry
