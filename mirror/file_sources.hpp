// file_sources: what /files asks other services over HTTP — a torrent from
// the tracker by its info-hash (with this node's passkey: the tracker hands
// any registered torrent to passkey holders), and, for a file pulled from a
// URL, the seeder's answer to "what is at this URL" (with the seeder's API
// token): the seeder fetches the URL once for every node, hashes it and
// registers its torrent (seeder/url_ingest.hpp). With replicated seeders
// every mirror asks the same seeder for a URL first (rendezvous order of the
// URL over the seeder list, as for a blob's digest), so a URL is fetched
// once cluster-wide, and the next seeder when that one is unreachable,
// 5xx without an answer of its own, or out of room.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/blocking_pool.hpp"
#include "common/digest.hpp"
#include "common/error.hpp"
#include "common/http/client.hpp"
#include "common/info_hash.hpp"

namespace blobswarm::mirror {

// The seeder's record of a URL.
struct url_file {
  std::string url;
  digest id;  // SHA-256 of the bytes the seeder fetched
  std::uint64_t size = 0;
  // v1 info-hash of the file's torrent (the torrent a blob of that digest
  // has); none for an empty file.
  std::optional<info_hash> torrent;
  std::string name;  // the URL path's last segment, for Content-Disposition
};

class file_sources {
 public:
  file_sources(blocking_pool& pool, std::string tracker_url, std::string passkey,
               std::vector<std::string> seeder_urls, std::string seeder_token);

  // The .torrent the tracker has for `ih`; errc::not_found when it has none.
  awaitable<result<std::string>> torrent(const info_hash& ih);
  // Asks the seeder for `url` (fetching it if it has to; this waits for the
  // seeder's whole fetch). With `expected`, the seeder refuses other bytes.
  awaitable<result<url_file>> resolve_url(std::string url, std::optional<digest> expected);

 private:
  blocking_pool& pool_;
  std::string tracker_;
  std::string passkey_;
  awaitable<result<url_file>> ask_seeder(const std::string& seeder, std::string url,
                                         std::optional<digest> expected);

  std::vector<std::string> seeders_;  // normalized (rendezvous_member)
  std::string seeder_token_;
  http::client http_;
};

}  // namespace blobswarm::mirror
