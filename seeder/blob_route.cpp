#include "seeder/blob_route.hpp"

#include <vector>

#include "common/http/url.hpp"

namespace blobswarm::seeder {

namespace {

// "sha256:..." or its percent-encoded form: a digest, not a repository
// component (those never contain ':').
bool looks_like_digest(std::string_view part) {
  auto decoded = http::percent_decode(part, false);
  return decoded && decoded->find(':') != std::string::npos;
}

}  // namespace

result<blob_route> blob_route::split(std::string_view rest) {
  if (rest.size() > 1024) return fail(errc::invalid_argument, "blob path is too long");
  std::vector<std::string_view> parts;
  std::size_t start = 0;
  while (true) {
    auto slash = rest.find('/', start);
    parts.push_back(rest.substr(start, slash == std::string_view::npos ? slash : slash - start));
    if (slash == std::string_view::npos) break;
    start = slash + 1;
  }
  blob_route r;
  std::size_t digest_at = 0;
  auto n = parts.size();
  if (n >= 5 && parts[n - 1] == "torrent" && parts[n - 3] == "segments") {
    r.what = kind::segment_torrent;
    auto seg = parts[n - 2];
    if (seg.empty() || seg.size() > 9 ||
        seg.find_first_not_of("0123456789") != std::string_view::npos) {
      return fail(errc::invalid_argument, "segment number '{}' is not a number", seg.substr(0, 20));
    }
    r.segment = static_cast<std::uint32_t>(std::stoul(std::string(seg)));
    digest_at = n - 4;
  } else if (n >= 3 &&
             (parts[n - 1] == "torrent" || parts[n - 1] == "descriptor" ||
              parts[n - 1] == "replicate") &&
             looks_like_digest(parts[n - 2])) {
    r.what = parts[n - 1] == "torrent"      ? kind::torrent
             : parts[n - 1] == "descriptor" ? kind::descriptor
                                            : kind::replicate;
    digest_at = n - 2;
  } else if (n >= 2) {
    r.what = kind::bytes;
    digest_at = n - 1;
  } else {
    return fail(errc::not_found, "no such blob resource: /api/v1/blobs/{}", rest.substr(0, 200));
  }
  auto name = rest.substr(0, static_cast<std::size_t>(parts[digest_at].data() - rest.data()));
  if (name.ends_with('/')) name.remove_suffix(1);
  auto decoded_name = http::percent_decode(name, false);
  auto decoded_digest = http::percent_decode(parts[digest_at], false);
  if (!decoded_name || !decoded_digest) {
    return fail(errc::invalid_argument, "blob path has a malformed %-escape");
  }
  r.name = std::move(*decoded_name);
  r.digest = std::move(*decoded_digest);
  return r;
}

}  // namespace blobswarm::seeder
