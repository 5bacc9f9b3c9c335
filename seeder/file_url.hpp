// file_url: an absolute http(s) URL the seeder may pull a file from, parsed
// and normalized by libcurl's URL parser (the same one that fetches it), so
// that the allow-list judges exactly the origin the request goes to. URLs
// with a user name or password are refused: credentials belong in the
// allow-list (seeder/origin_allowlist.hpp), not in URLs that are logged and
// shown in the tracker's web UI. Pure; unit-tested.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "common/error.hpp"

namespace blobswarm::seeder {

struct file_url {
  std::string scheme;  // "http" or "https"
  std::string host;    // lowercase; an IPv6 address in brackets
  std::uint16_t port = 0;
  std::string path;   // "/..." as sent, percent-encoded
  std::string query;  // without '?'; may be empty
  std::string str;    // the whole URL, normalized, without a fragment

  // errc::invalid_argument naming what is wrong.
  static result<file_url> parse(std::string_view url);
  // A redirect's target: `location` (absolute, or relative to this URL).
  result<file_url> resolve(std::string_view location) const;

  // "https://host" or "http://host:8080" (the scheme's default port left out).
  std::string origin() const;
  // The URL without its query: what the tracker records and logs show (a
  // signed URL's signature stays on the seeder).
  std::string without_query() const;
  // The last path segment, percent-decoded ("" for "/"): a file name.
  std::string file_name() const;
};

}  // namespace blobswarm::seeder
