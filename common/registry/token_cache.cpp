#include "common/registry/token_cache.hpp"

#include <nlohmann/json.hpp>

#include "common/http/url.hpp"

namespace blobswarm::registry {

result<bearer_token> parse_token_response(std::string_view body) {
  auto j = nlohmann::json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) {
    return fail(errc::upstream, "token server answer is not a JSON object");
  }
  bearer_token out;
  for (const char* key : {"token", "access_token"}) {
    if (auto it = j.find(key);
        it != j.end() && it->is_string() && !it->get<std::string>().empty()) {
      out.value = it->get<std::string>();
      break;
    }
  }
  if (out.value.empty()) return fail(errc::upstream, "token server answer has no token");
  for (char c : out.value) {
    // A token goes into a header line: no control characters or spaces.
    if (static_cast<unsigned char>(c) <= 0x20 || c == 0x7f) {
      return fail(errc::upstream, "token server sent a token with invalid characters");
    }
  }
  if (auto it = j.find("expires_in"); it != j.end() && it->is_number()) {
    auto seconds = it->get<double>();
    if (seconds >= 1 && seconds < 1e9)
      out.expires_in = std::chrono::seconds(static_cast<long>(seconds));
  }
  return out;
}

result<std::string> token_request_url(const challenge& bearer,
                                      const std::vector<std::string>& scopes,
                                      std::string_view account) {
  auto realm = bearer.param("realm");
  if (!realm || realm->empty()) return fail(errc::upstream, "Bearer challenge has no realm");
  if (!realm->starts_with("https://") && !realm->starts_with("http://")) {
    return fail(errc::upstream, "Bearer realm '{}' is not an http(s) URL", realm->substr(0, 200));
  }
  std::string url(*realm);
  char sep = url.find('?') == std::string::npos ? '?' : '&';
  auto add = [&](std::string_view k, std::string_view v) {
    url += sep;
    sep = '&';
    url += k;
    url += '=';
    url += http::percent_encode(v);
  };
  if (auto service = bearer.param("service"); service && !service->empty())
    add("service", *service);
  for (const auto& s : scopes) add("scope", s);
  if (!account.empty()) add("account", account);
  return url;
}

std::string repository_scope(std::string_view repository, std::string_view actions) {
  return fmt::format("repository:{}:{}", repository, actions);
}

std::string token_cache::key(std::string_view realm, std::string_view service,
                             std::string_view scope, std::string_view identity) {
  // '\n' cannot occur in any part (they come from header values).
  return fmt::format("{}\n{}\n{}\n{}", realm, service, scope, identity);
}

std::optional<std::string> token_cache::get(const std::string& key, clock::time_point now) const {
  std::lock_guard lock(mutex_);
  auto it = entries_.find(key);
  if (it == entries_.end() || now >= it->second.valid_until) return std::nullopt;
  return it->second.token;
}

void token_cache::put(const std::string& key, const bearer_token& token, clock::time_point now) {
  auto lifetime = std::chrono::duration_cast<clock::duration>(token.expires_in);
  auto margin = std::min<clock::duration>(lifetime / 10, std::chrono::seconds(30));
  std::lock_guard lock(mutex_);
  // Bounded: drop expired entries when the cache grows.
  if (entries_.size() >= 4096) {
    std::erase_if(entries_, [&](const auto& kv) { return now >= kv.second.valid_until; });
  }
  entries_[key] = entry{token.value, now + lifetime - margin};
}

void token_cache::erase(const std::string& key) {
  std::lock_guard lock(mutex_);
  entries_.erase(key);
}

std::size_t token_cache::size() const {
  std::lock_guard lock(mutex_);
  return entries_.size();
}

}  // namespace blobswarm::registry
