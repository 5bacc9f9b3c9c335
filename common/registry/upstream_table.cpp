#include "common/registry/upstream_table.hpp"

namespace blobswarm::registry {
namespace {

bool valid_host(std::string_view h) noexcept {
  if (h.empty() || h.size() > 255) return false;
  for (char c : h) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '-' ||
              c == ':' || c == '[' || c == ']' || c == '_';
    if (!ok) return false;
  }
  return true;
}

}  // namespace

std::string canonical_host(std::string_view host) {
  std::string h(host);
  for (auto& c : h) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c + 32);
  }
  if (h == "index.docker.io" || h == "registry-1.docker.io" || h == "registry.hub.docker.com" ||
      h == "docker.io") {
    return "docker.io";
  }
  return h;
}

result<std::string> host_of_url(std::string_view url) {
  std::string_view rest;
  if (url.starts_with("https://")) {
    rest = url.substr(8);
  } else if (url.starts_with("http://")) {
    rest = url.substr(7);
  } else {
    return fail(errc::invalid_argument, "registry URL '{}' must start with http:// or https://",
                url.substr(0, 200));
  }
  auto slash = rest.find('/');
  auto host = rest.substr(0, slash);
  if (slash != std::string_view::npos && rest.substr(slash) != "/") {
    return fail(errc::invalid_argument, "registry URL '{}' must not have a path",
                url.substr(0, 200));
  }
  std::string lowered(host);
  for (auto& c : lowered) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c + 32);
  }
  if (!valid_host(lowered)) {
    return fail(errc::invalid_argument, "registry URL '{}' has an invalid host",
                url.substr(0, 200));
  }
  return lowered;
}

std::string default_url_for_host(std::string_view host) {
  auto h = canonical_host(host);
  if (h == "docker.io") return "https://registry-1.docker.io";
  return "https://" + h;
}

result<upstream_table> upstream_table::make(std::string_view default_url,
                                            const std::map<std::string, upstream_settings>& by_host,
                                            bool allow_unlisted) {
  upstream_table t;
  t.allow_unlisted_ = allow_unlisted;
  for (const auto& [key, s] : by_host) {
    auto host = canonical_host(key);
    if (!valid_host(host)) {
      return fail(errc::invalid_argument, "upstream key '{}' is not a registry host", key);
    }
    upstream u{host, s.url.empty() ? default_url_for_host(host) : s.url, s};
    if (auto h = host_of_url(u.url); !h) {
      return fail(h.error().with_context(fmt::format("upstream '{}'", key)));
    }
    while (u.url.ends_with('/')) u.url.pop_back();
    for (const auto& existing : t.all_) {
      if (existing.host == host) {
        return fail(errc::invalid_argument, "upstream '{}' is configured twice", key);
      }
    }
    t.all_.push_back(std::move(u));
  }
  auto default_host = host_of_url(default_url);
  if (!default_host) return fail(default_host.error().with_context("default upstream"));
  auto canonical = canonical_host(*default_host);
  for (std::size_t i = 0; i < t.all_.size(); ++i) {
    if (t.all_[i].host == canonical) {
      // The default URL names a configured host: that entry (with its
      // credentials) is the default, reached at the default URL.
      t.default_index_ = i;
      t.all_[i].url = std::string(default_url);
      while (t.all_[i].url.ends_with('/')) t.all_[i].url.pop_back();
      return t;
    }
  }
  upstream d{canonical, std::string(default_url), {}};
  while (d.url.ends_with('/')) d.url.pop_back();
  t.all_.push_back(std::move(d));
  t.default_index_ = t.all_.size() - 1;
  return t;
}

result<upstream> upstream_table::resolve(std::string_view ns) const {
  if (ns.empty()) return default_upstream();
  auto host = canonical_host(ns);
  for (const auto& u : all_) {
    if (u.host == host) return u;
  }
  if (!valid_host(host)) {
    return fail(errc::invalid_argument, "'{}' is not a registry host", ns.substr(0, 100));
  }
  if (allow_unlisted_) return upstream{host, default_url_for_host(host), {}};
  return fail(errc::forbidden, "upstream registry '{}' is not configured", ns.substr(0, 100));
}

}  // namespace blobswarm::registry
