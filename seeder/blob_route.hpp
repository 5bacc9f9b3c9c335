// blob_route: the seeder's blob URLs, after "/api/v1/blobs/":
//   <name>/<digest>                          the bytes (GET, HEAD; Range)
//   <name>/<digest>/torrent                  the whole-blob .torrent
//   <name>/<digest>/descriptor               JSON state of the blob's ingest
//   <name>/<digest>/segments/<n>/torrent     segment n's .torrent
//   <name>/<digest>/replicate                hold a copy (POST; replicated seeders)
// <name> is a repository name and may contain '/'. Splitting is separate
// from validating so that callers can answer NAME_INVALID and
// DIGEST_INVALID precisely.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "common/error.hpp"

namespace blobswarm::seeder {

struct blob_route {
  enum class kind { bytes, torrent, descriptor, segment_torrent, replicate };
  kind what = kind::bytes;
  std::string name;    // percent-decoded, not yet validated
  std::string digest;  // percent-decoded, not yet validated
  std::uint32_t segment = 0;

  // not_found for paths of no known shape; invalid_argument for a bad
  // segment number or a malformed escape.
  static result<blob_route> split(std::string_view rest);
};

}  // namespace blobswarm::seeder
