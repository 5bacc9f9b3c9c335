// scrape_request: the info_hash values of a scrape (BEP 48), parsed from
// the raw query string into a fixed array, sorted and without duplicates
// (the order the bencoded `files` dictionary needs).
#pragma once

#include <array>
#include <cstddef>
#include <span>
#include <string_view>

#include "common/error.hpp"
#include "tracker/swarm_key.hpp"

namespace blobswarm::tracker {

struct scrape_request {
  static constexpr std::size_t max_hashes = 64;

  std::array<swarm_key, max_hashes> hashes{};
  std::size_t count = 0;

  std::span<const swarm_key> info_hashes() const noexcept { return {hashes.data(), count}; }

  // At least one and at most max_hashes info_hash parameters, each 20 bytes.
  static result<scrape_request> parse(std::string_view query);
};

}  // namespace blobswarm::tracker
