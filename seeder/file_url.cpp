#include "seeder/file_url.hpp"

#include <curl/curl.h>

#include <algorithm>
#include <memory>

#include "common/http/url.hpp"

namespace blobswarm::seeder {
namespace {

struct url_deleter {
  void operator()(CURLU* u) const noexcept { curl_url_cleanup(u); }
};
using url_handle = std::unique_ptr<CURLU, url_deleter>;

// A part of `u`, or "" when it has none.
std::string part(CURLU* u, CURLUPart which, unsigned flags = 0) {
  char* out = nullptr;
  if (curl_url_get(u, which, &out, flags) != CURLUE_OK || !out) return {};
  std::string s(out);
  curl_free(out);
  return s;
}

result<file_url> from_handle(CURLU* u, std::string_view shown) {
  file_url f;
  f.scheme = part(u, CURLUPART_SCHEME);
  if (f.scheme != "http" && f.scheme != "https") {
    return fail(errc::invalid_argument, "'{}' is not an http or https URL", shown.substr(0, 200));
  }
  if (!part(u, CURLUPART_USER).empty() || !part(u, CURLUPART_PASSWORD).empty()) {
    return fail(errc::invalid_argument,
                "'{}' carries a user name or password; give an origin's credentials in the "
                "seeder's file_origins instead",
                f.scheme + "://...");
  }
  f.host = part(u, CURLUPART_HOST);
  std::transform(f.host.begin(), f.host.end(), f.host.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  if (f.host.empty()) {
    return fail(errc::invalid_argument, "'{}' names no host", shown.substr(0, 200));
  }
  auto port = part(u, CURLUPART_PORT, CURLU_DEFAULT_PORT);
  f.port = static_cast<std::uint16_t>(std::stoul(port.empty() ? "0" : port));
  f.path = part(u, CURLUPART_PATH);
  if (f.path.empty()) f.path = "/";
  f.query = part(u, CURLUPART_QUERY);
  // Rebuilt from the parts (no fragment, lowercase host, default port dropped).
  f.str = f.origin() + f.path + (f.query.empty() ? "" : "?" + f.query);
  return f;
}

result<url_handle> parse_into(std::string_view url, CURLU* base = nullptr) {
  url_handle u(base ? curl_url_dup(base) : curl_url());
  if (!u) return fail(errc::internal, "out of memory parsing a URL");
  std::string text(url);
  if (text.size() > 8192) return fail(errc::invalid_argument, "the URL is over 8192 characters");
  for (char c : text) {
    if (static_cast<unsigned char>(c) <= 0x20 || c == 0x7f) {
      return fail(errc::invalid_argument, "the URL contains a space or a control character");
    }
  }
  if (auto rc = curl_url_set(u.get(), CURLUPART_URL, text.c_str(), 0); rc != CURLUE_OK) {
    return fail(errc::invalid_argument, "'{}' is not a valid URL: {}", text.substr(0, 200),
                curl_url_strerror(rc));
  }
  return u;
}

}  // namespace

result<file_url> file_url::parse(std::string_view url) {
  auto u = parse_into(url);
  if (!u) return fail(u.error());
  return from_handle(u->get(), url);
}

result<file_url> file_url::resolve(std::string_view location) const {
  auto base = parse_into(str);
  if (!base) return fail(base.error());
  auto u = parse_into(location, base->get());
  if (!u) return fail(u.error().with_context("redirect"));
  return from_handle(u->get(), location);
}

std::string file_url::origin() const {
  bool default_port = (scheme == "https" && port == 443) || (scheme == "http" && port == 80);
  return default_port ? scheme + "://" + host : scheme + "://" + host + ":" + std::to_string(port);
}

std::string file_url::without_query() const {
  return origin() + path;
}

std::string file_url::file_name() const {
  auto slash = path.rfind('/');
  auto last = slash == std::string::npos ? path : path.substr(slash + 1);
  return http::percent_decode(last, false).value_or(last);
}

}  // namespace blobswarm::seeder
