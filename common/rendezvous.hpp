// rendezvous: which seeder owns a blob, by rendezvous (highest random
// weight) hashing of the blob's digest over the set of seeder URLs. Every
// mirror and seeder configured with the same set computes the same order
// for a digest, with no coordination: the first is the owner (mirrors ask
// it first, it ingests), the next ones hold the replicas and are where a
// mirror goes when the owner is down. Adding or removing one seeder moves
// only the blobs it owns (or would own), about 1/N of them, unlike a
// modulo over the list.
//
// Pure and deterministic across processes and builds: the weight of a
// seeder for a key is the first 8 bytes (big-endian) of
// SHA-256("<url>\n<key>"), with the URL's trailing slashes removed, so the
// set may be listed in any order. Ties (practically impossible) go to the
// smaller URL.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/error.hpp"

namespace blobswarm {

// The URL as rendezvous hashing sees it: without trailing slashes.
std::string rendezvous_member(std::string_view url);

// The weight of `member` (already normalized) for `key`.
std::uint64_t rendezvous_weight(std::string_view member, std::string_view key);

// Indices into `members` (URLs, normalized here), highest weight first.
std::vector<std::size_t> rendezvous_order(std::span<const std::string> members,
                                          std::string_view key);

// A configured set of seeder URLs, checked: each http(s), none twice (once
// normalized). Returns them normalized; `what` names the setting in errors.
result<std::vector<std::string>> rendezvous_members(std::span<const std::string> urls,
                                                    std::string_view what);

// The members themselves (normalized), highest weight first.
std::vector<std::string> rendezvous_ranked(std::span<const std::string> members,
                                           std::string_view key);

}  // namespace blobswarm
