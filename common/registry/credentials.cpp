#include "common/registry/credentials.hpp"

#include <openssl/evp.h>

#include <nlohmann/json.hpp>

#include "common/registry/upstream_table.hpp"

namespace blobswarm::registry {

std::string base64_encode(std::string_view bytes) {
  std::string out(4 * ((bytes.size() + 2) / 3) + 1, '\0');
  int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                          reinterpret_cast<const unsigned char*>(bytes.data()),
                          static_cast<int>(bytes.size()));
  out.resize(static_cast<std::size_t>(n));
  return out;
}

result<std::string> base64_decode(std::string_view text) {
  if (text.size() % 4 != 0) return fail(errc::invalid_argument, "base64 text has a bad length");
  for (char c : text) {
    bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
              c == '+' || c == '/' || c == '=';
    if (!ok) return fail(errc::invalid_argument, "base64 text has an invalid character");
  }
  std::size_t padding = 0;
  if (!text.empty() && text.back() == '=') ++padding;
  if (text.size() > 1 && text[text.size() - 2] == '=') ++padding;
  if (text.substr(0, text.size() - padding).find('=') != std::string_view::npos) {
    return fail(errc::invalid_argument, "base64 text has padding in the middle");
  }
  std::string out(3 * (text.size() / 4) + 1, '\0');
  int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                          reinterpret_cast<const unsigned char*>(text.data()),
                          static_cast<int>(text.size()));
  if (n < 0) return fail(errc::invalid_argument, "base64 text does not decode");
  out.resize(static_cast<std::size_t>(n) - padding);
  return out;
}

std::string credentials::basic_authorization() const {
  return "Basic " + base64_encode(username + ":" + password);
}

result<credentials> credentials::from_docker_auth(std::string_view base64_auth) {
  auto decoded = base64_decode(base64_auth);
  if (!decoded) return fail(errc::invalid_argument, "docker auth entry is not valid base64");
  auto colon = decoded->find(':');
  if (colon == std::string::npos || colon == 0) {
    return fail(errc::invalid_argument, "docker auth entry does not decode to user:password");
  }
  return credentials{decoded->substr(0, colon), decoded->substr(colon + 1)};
}

result<credentials> credentials_from_docker_config(std::string_view config_json,
                                                   std::string_view host) {
  auto j = nlohmann::json::parse(config_json, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) {
    return fail(errc::invalid_argument, "docker config is not a JSON object");
  }
  auto auths = j.find("auths");
  if (auths == j.end() || !auths->is_object()) {
    return fail(errc::not_found, "docker config has no \"auths\"");
  }
  auto wanted = canonical_host(host);
  for (const auto& [key, entry] : auths->items()) {
    // "https://index.docker.io/v1/" -> "index.docker.io" -> "docker.io"
    std::string_view k = key;
    if (auto p = k.find("://"); p != std::string_view::npos) k.remove_prefix(p + 3);
    k = k.substr(0, k.find('/'));
    if (canonical_host(k) != wanted || !entry.is_object()) continue;
    if (auto a = entry.find("auth");
        a != entry.end() && a->is_string() && !a->get<std::string>().empty()) {
      auto c = credentials::from_docker_auth(a->get<std::string>());
      if (!c) return fail(c.error().with_context(fmt::format("docker config entry '{}'", key)));
      return c;
    }
    auto user = entry.find("username");
    auto pass = entry.find("password");
    if (user != entry.end() && user->is_string() && pass != entry.end() && pass->is_string()) {
      return credentials{user->get<std::string>(), pass->get<std::string>()};
    }
    return fail(errc::invalid_argument, "docker config entry '{}' has no auth", key);
  }
  return fail(errc::not_found, "docker config has no entry for {}", host);
}

}  // namespace blobswarm::registry
