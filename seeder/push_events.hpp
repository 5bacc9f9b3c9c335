// push_events: Distribution's registry notifications (the webhook body,
// media type application/vnd.docker.distribution.events.v1+json), reduced
// to what the seeder preheats: manifests that were pushed, with the
// repository, the digest and the registry host they were pushed to.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/digest.hpp"
#include "common/error.hpp"
#include "common/repository_name.hpp"

namespace blobswarm::seeder {

struct push_event {
  repository_name repository;
  blobswarm::digest digest;  // of the manifest
  std::string media_type;
  std::string tag;   // may be empty
  std::string host;  // registry host from target.url (or request.host); may be empty
};

struct push_events {
  std::vector<push_event> manifests;
  std::size_t ignored = 0;  // pulls, blob pushes, deletes, malformed entries

  // Fails only when the body is not an event envelope at all; single bad
  // events are counted in `ignored`.
  static result<push_events> parse(std::string_view body);
};

}  // namespace blobswarm::seeder
