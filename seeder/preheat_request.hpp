// preheat_request: the body of POST /api/v1/preheat,
//   {"image": "<name>:<tag>" | "<name>@<digest>", "ns": "<registry host>",
//    "platforms": ["linux/amd64"], "wait": true}
// "ns" defaults to the default upstream, "platforms" to all of an index's
// platforms, "wait" (answer only when every blob is ingested) to true.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "common/error.hpp"
#include "common/registry/image_reference.hpp"
#include "common/registry/manifest.hpp"

namespace blobswarm::seeder {

struct preheat_request {
  registry::image_reference image;
  std::string ns;
  std::vector<registry::platform> platforms;
  bool wait = true;

  // Why a body was refused, with the registry error code that fits
  // (NAME_INVALID, TAG_INVALID, DIGEST_INVALID, or UNSUPPORTED for the rest).
  struct problem {
    std::string_view code;
    error what;
  };
  // Unknown keys are rejected (a misspelt "platform" must not silently
  // preheat every platform).
  static expected<preheat_request, problem> parse(std::string_view body);
};

}  // namespace blobswarm::seeder
