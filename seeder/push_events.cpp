#include "seeder/push_events.hpp"

#include <nlohmann/json.hpp>

#include "common/registry/media_types.hpp"

namespace blobswarm::seeder {
namespace {

using json = nlohmann::json;

std::string string_at(const json& j, const char* key) {
  auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
}

// "http://127.0.0.1:5000/v2/x/manifests/sha256:.." -> "127.0.0.1:5000"
std::string host_of(std::string_view url) {
  auto scheme = url.find("://");
  if (scheme == std::string_view::npos) return {};
  auto rest = url.substr(scheme + 3);
  return std::string(rest.substr(0, rest.find('/')));
}

}  // namespace

result<push_events> push_events::parse(std::string_view body) {
  auto j = json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) {
    return fail(errc::invalid_argument, "notification body is not a JSON object");
  }
  auto events = j.find("events");
  if (events == j.end() || !events->is_array()) {
    return fail(errc::invalid_argument, "notification body has no \"events\" list");
  }
  push_events out;
  for (const auto& e : *events) {
    if (!e.is_object() || string_at(e, "action") != "push") {
      ++out.ignored;
      continue;
    }
    auto target = e.find("target");
    if (target == e.end() || !target->is_object()) {
      ++out.ignored;
      continue;
    }
    auto media = string_at(*target, "mediaType");
    auto name = repository_name::parse(string_at(*target, "repository"));
    auto d = digest::parse(string_at(*target, "digest"));
    if (!registry::media_type::is_manifest(media) || !name || !d) {
      ++out.ignored;
      continue;
    }
    auto host = host_of(string_at(*target, "url"));
    if (host.empty()) {
      if (auto req = e.find("request"); req != e.end() && req->is_object()) {
        host = string_at(*req, "host");
      }
    }
    out.manifests.push_back(push_event{std::move(*name), std::move(*d), std::move(media),
                                       string_at(*target, "tag"), std::move(host)});
  }
  return out;
}

}  // namespace blobswarm::seeder
