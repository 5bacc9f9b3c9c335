#include "mirror/registry_path.hpp"

#include <vector>

#include "common/http/url.hpp"

namespace blobswarm::mirror {
namespace {

unexpected<route_error> route_fail(route_error_code c, std::string message) {
  return unexpected<route_error>(route_error{c, std::move(message)});
}

std::vector<std::string_view> split(std::string_view s) {
  std::vector<std::string_view> out;
  while (true) {
    auto slash = s.find('/');
    out.push_back(s.substr(0, slash));
    if (slash == std::string_view::npos) break;
    s.remove_prefix(slash + 1);
  }
  return out;
}

std::string join(const std::vector<std::string>& parts, std::size_t from, std::size_t to) {
  std::string out;
  for (std::size_t i = from; i < to; ++i) {
    if (i > from) out += '/';
    out += parts[i];
  }
  return out;
}

}  // namespace

std::string_view to_string(route_error_code c) noexcept {
  switch (c) {
    case route_error_code::name_invalid:
      return "NAME_INVALID";
    case route_error_code::digest_invalid:
      return "DIGEST_INVALID";
    case route_error_code::tag_invalid:
      return "TAG_INVALID";
    case route_error_code::not_found:
      return "NOT_FOUND";
    case route_error_code::unsupported:
      return "UNSUPPORTED";
  }
  return "UNKNOWN";
}

expected<registry_path, route_error> parse_registry_path(
    std::string_view path, const std::function<bool(std::string_view)>& is_registry_host) {
  if (path == "/v2" || path == "/v2/") return registry_path{};
  if (!path.starts_with("/v2/")) return route_fail(route_error_code::not_found, "not a /v2/ path");
  auto raw_parts = split(path.substr(4));
  std::vector<std::string> parts;
  parts.reserve(raw_parts.size());
  for (auto p : raw_parts) {
    // Clients may encode the ':' of a digest; nothing else needs decoding.
    auto decoded = http::percent_decode(p, false);
    if (!decoded) {
      return route_fail(route_error_code::name_invalid, "malformed percent-encoding in path");
    }
    if (decoded->find('/') != std::string::npos) {
      return route_fail(route_error_code::name_invalid, "an encoded '/' is not a path separator");
    }
    parts.push_back(std::move(*decoded));
  }
  if (parts.size() == 1 && parts[0] == "_catalog") {
    registry_path r;
    r.what = registry_path::kind::catalog;
    return r;
  }

  registry_path r;
  std::size_t name_end = 0;  // parts[0, name_end) form the name
  const auto n = parts.size();
  if (n >= 3 && parts[n - 2] == "tags" && parts[n - 1] == "list") {
    r.what = registry_path::kind::tags_list;
    name_end = n - 2;
  } else if (n >= 3 && parts[n - 2] == "manifests") {
    r.what = registry_path::kind::manifest;
    name_end = n - 2;
  } else if (n >= 3 && parts[n - 2] == "referrers") {
    r.what = registry_path::kind::referrers;
    name_end = n - 2;
  } else if (n >= 3 && parts[n - 2] == "blobs" && parts[n - 1] != "uploads") {
    r.what = registry_path::kind::blob;
    name_end = n - 2;
  } else {
    // Uploads: .../blobs/uploads/ or .../blobs/uploads/<uuid>
    for (std::size_t i = n; i >= 2; --i) {
      if (parts[i - 2] == "blobs" && parts[i - 1] == "uploads" && i - 2 >= 1 && n - i <= 1) {
        r.what = registry_path::kind::upload;
        name_end = i - 2;
        break;
      }
    }
    if (r.what != registry_path::kind::upload) {
      return route_fail(route_error_code::not_found, "no registry API route matches this path");
    }
  }
  if (name_end == 0) return route_fail(route_error_code::name_invalid, "repository name is empty");

  std::size_t name_begin = 0;
  if (is_registry_host && name_end >= 2 && is_registry_host(parts[0])) {
    r.host = parts[0];
    name_begin = 1;
  }
  auto name_text = join(parts, name_begin, name_end);
  auto name = repository_name::parse(name_text);
  if (!name) return route_fail(route_error_code::name_invalid, name.error().message);
  r.name = std::move(*name);
  if (r.what == registry_path::kind::upload) return r;

  const auto& last = parts[n - 1];
  switch (r.what) {
    case registry_path::kind::manifest:
      if (last.find(':') != std::string::npos) {
        auto d = digest::parse(last);
        if (!d) return route_fail(route_error_code::digest_invalid, d.error().message);
        r.content_digest = std::move(*d);
      } else if (!is_valid_tag(last)) {
        return route_fail(route_error_code::tag_invalid,
                          "tag must match [A-Za-z0-9_][A-Za-z0-9._-]{0,127}");
      }
      r.reference = last;
      break;
    case registry_path::kind::blob:
    case registry_path::kind::referrers: {
      auto d = digest::parse(last);
      if (!d) return route_fail(route_error_code::digest_invalid, d.error().message);
      r.content_digest = std::move(*d);
      r.reference = last;
      break;
    }
    default:
      break;
  }
  return r;
}

}  // namespace blobswarm::mirror
