// WWW-Authenticate (RFC 9110 §11.6.1) as registries send it:
//   Bearer
//   realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/alpine:pull"
//   Basic realm="Registry Realm"
// One header may carry several challenges; parameter names are
// case-insensitive and values may be tokens or quoted strings.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/error.hpp"

namespace blobswarm::registry {

struct challenge {
  std::string scheme;                                       // lowercase: "bearer", "basic"
  std::vector<std::pair<std::string, std::string>> params;  // names lowercase, values unquoted

  std::optional<std::string_view> param(std::string_view name) const noexcept;
  bool is_bearer() const noexcept { return scheme == "bearer"; }
  bool is_basic() const noexcept { return scheme == "basic"; }
};

// Every challenge in one or more header values (pass each WWW-Authenticate
// line). Malformed input is an invalid_argument error naming the problem.
result<std::vector<challenge>> parse_www_authenticate(std::string_view header);

// Writes a challenge back as a header value (for a mirror that relays it).
std::string format_challenge(const challenge& c);

}  // namespace blobswarm::registry
