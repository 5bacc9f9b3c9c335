#include "common/registry/manifest.hpp"

#include <nlohmann/json.hpp>
#include <set>

#include "common/registry/media_types.hpp"

namespace blobswarm::registry {
namespace {

using json = nlohmann::json;

bool valid_platform_part(std::string_view s) noexcept {
  if (s.empty() || s.size() > 64) return false;
  for (char c : s) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-';
    if (!ok) return false;
  }
  return true;
}

result<std::string> string_field(const json& j, const char* key, std::string_view where,
                                 bool required) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) {
    if (required) return fail(errc::invalid_argument, "{}: missing \"{}\"", where, key);
    return std::string();
  }
  if (!it->is_string())
    return fail(errc::invalid_argument, "{}: \"{}\" must be a string", where, key);
  return it->get<std::string>();
}

result<platform> parse_platform_object(const json& j, std::string_view where) {
  if (!j.is_object()) return fail(errc::invalid_argument, "{}: platform must be an object", where);
  platform p;
  auto os = string_field(j, "os", where, true);
  if (!os) return fail(os.error());
  auto arch = string_field(j, "architecture", where, true);
  if (!arch) return fail(arch.error());
  auto variant = string_field(j, "variant", where, false);
  if (!variant) return fail(variant.error());
  auto version = string_field(j, "os.version", where, false);
  if (!version) return fail(version.error());
  p.os = std::move(*os);
  p.architecture = std::move(*arch);
  p.variant = std::move(*variant);
  p.os_version = std::move(*version);
  return p;
}

result<descriptor> parse_descriptor(const json& j, std::string_view where) {
  if (!j.is_object())
    return fail(errc::invalid_argument, "{}: descriptor must be an object", where);
  auto media = string_field(j, "mediaType", where, false);
  if (!media) return fail(media.error());
  auto digest_text = string_field(j, "digest", where, true);
  if (!digest_text) return fail(digest_text.error());
  auto d = digest::parse(*digest_text);
  if (!d) return fail(d.error().with_context(std::string(where)));
  auto size_it = j.find("size");
  if (size_it == j.end() || !size_it->is_number_integer()) {
    return fail(errc::invalid_argument, "{}: \"size\" must be an integer", where);
  }
  if (size_it->is_number_integer() && !size_it->is_number_unsigned() &&
      size_it->get<std::int64_t>() < 0) {
    return fail(errc::invalid_argument, "{}: \"size\" is negative", where);
  }
  descriptor out{.media_type = std::move(*media),
                 .digest = std::move(*d),
                 .size = size_it->get<std::uint64_t>()};
  if (auto urls = j.find("urls"); urls != j.end() && !urls->is_null()) {
    if (!urls->is_array())
      return fail(errc::invalid_argument, "{}: \"urls\" must be a list", where);
    for (const auto& u : *urls) {
      if (!u.is_string())
        return fail(errc::invalid_argument, "{}: \"urls\" must hold strings", where);
      out.urls.push_back(u.get<std::string>());
    }
  }
  if (auto p = j.find("platform"); p != j.end() && !p->is_null()) {
    auto parsed = parse_platform_object(*p, where);
    if (!parsed) return fail(parsed.error());
    out.platform = std::move(*parsed);
  }
  if (auto a = j.find("annotations"); a != j.end() && a->is_object()) {
    for (const auto& [k, v] : a->items()) {
      if (v.is_string()) out.annotations.emplace(k, v.get<std::string>());
    }
  }
  return out;
}

result<std::vector<descriptor>> parse_descriptor_list(const json& j, const char* key,
                                                      bool required) {
  std::vector<descriptor> out;
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) {
    if (required) return fail(errc::invalid_argument, "manifest: missing \"{}\"", key);
    return out;
  }
  if (!it->is_array()) return fail(errc::invalid_argument, "manifest: \"{}\" must be a list", key);
  if (it->size() > max_manifest_entries) {
    return fail(errc::too_large, "manifest: \"{}\" has {} entries, the limit is {}", key,
                it->size(), max_manifest_entries);
  }
  for (std::size_t i = 0; i < it->size(); ++i) {
    auto d = parse_descriptor((*it)[i], fmt::format("manifest {}[{}]", key, i));
    if (!d) return fail(d.error());
    out.push_back(std::move(*d));
  }
  return out;
}

result<manifest> parse_schema1(const json& j, std::string media) {
  manifest m;
  m.media_type = std::move(media);
  m.schema_version = 1;
  auto it = j.find("fsLayers");
  if (it == j.end() || !it->is_array()) {
    return fail(errc::invalid_argument, "schema 1 manifest: missing \"fsLayers\" list");
  }
  if (it->size() > max_manifest_entries) {
    return fail(errc::too_large, "schema 1 manifest: too many layers");
  }
  // fsLayers lists the top layer first; images list the base first.
  for (auto l = it->rbegin(); l != it->rend(); ++l) {
    if (!l->is_object())
      return fail(errc::invalid_argument, "schema 1 manifest: bad fsLayers entry");
    auto sum = string_field(*l, "blobSum", "schema 1 manifest fsLayers", true);
    if (!sum) return fail(sum.error());
    auto d = digest::parse(*sum);
    if (!d) return fail(d.error().with_context("schema 1 manifest"));
    m.layers.push_back(descriptor{.media_type = std::string(media_type::docker_layer),
                                  .digest = std::move(*d),
                                  .size = 0,
                                  .size_known = false});
  }
  return m;
}

}  // namespace

std::string_view strip_media_type_parameters(std::string_view content_type) noexcept {
  auto semi = content_type.find(';');
  auto t = content_type.substr(0, semi);
  while (!t.empty() && (t.back() == ' ' || t.back() == '\t')) t.remove_suffix(1);
  while (!t.empty() && (t.front() == ' ' || t.front() == '\t')) t.remove_prefix(1);
  return t;
}

result<platform> platform::parse(std::string_view text) {
  std::vector<std::string_view> parts;
  std::size_t start = 0;
  while (parts.size() < 4) {
    auto slash = text.find('/', start);
    parts.push_back(text.substr(start, slash == std::string_view::npos ? slash : slash - start));
    if (slash == std::string_view::npos) break;
    start = slash + 1;
  }
  if (parts.size() < 2 || parts.size() > 3 || text.find('/', start) != std::string_view::npos) {
    return fail(errc::invalid_argument, "platform '{}' must be os/architecture[/variant]",
                text.substr(0, 100));
  }
  for (auto p : parts) {
    if (!valid_platform_part(p)) {
      return fail(errc::invalid_argument, "platform '{}' has an invalid part '{}'",
                  text.substr(0, 100), p.substr(0, 64));
    }
  }
  platform out{.os = std::string(parts[0]), .architecture = std::string(parts[1])};
  if (parts.size() == 3) out.variant = std::string(parts[2]);
  return out;
}

std::string platform::str() const {
  return variant.empty() ? os + "/" + architecture : os + "/" + architecture + "/" + variant;
}

bool platform::satisfies(const platform& wanted) const noexcept {
  if (os != wanted.os || architecture != wanted.architecture) return false;
  return wanted.variant.empty() || wanted.variant == variant;
}

bool descriptor::is_distributable() const noexcept {
  if (media_type == media_type::docker_foreign_layer) return false;
  return media_type.find("nondistributable") == std::string::npos;
}

std::vector<descriptor> manifest::blobs() const {
  std::vector<descriptor> out;
  std::set<std::string> seen;
  auto take = [&](const descriptor& d) {
    if (!d.is_distributable()) return;
    if (seen.insert(d.digest.str()).second) out.push_back(d);
  };
  if (config) take(*config);
  for (const auto& l : layers) take(l);
  return out;
}

std::vector<descriptor> manifest::select(const std::vector<platform>& wanted) const {
  std::vector<descriptor> out;
  for (const auto& m : manifests) {
    if (wanted.empty()) {
      out.push_back(m);
      continue;
    }
    if (!m.platform) continue;
    for (const auto& w : wanted) {
      if (m.platform->satisfies(w)) {
        out.push_back(m);
        break;
      }
    }
  }
  return out;
}

result<manifest> parse_manifest(std::string_view body, std::string_view content_type) {
  if (body.size() > max_manifest_bytes) {
    return fail(errc::too_large, "manifest is {} bytes, the limit is {}", body.size(),
                max_manifest_bytes);
  }
  auto j = json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return fail(errc::invalid_argument, "manifest is not valid JSON");
  if (!j.is_object()) return fail(errc::invalid_argument, "manifest must be a JSON object");

  auto schema = j.find("schemaVersion");
  if (schema == j.end() || !schema->is_number_integer()) {
    return fail(errc::invalid_argument, "manifest has no integer \"schemaVersion\"");
  }
  auto version = schema->get<std::int64_t>();
  auto body_media = string_field(j, "mediaType", "manifest", false);
  if (!body_media) return fail(body_media.error());

  std::string media(strip_media_type_parameters(content_type));
  if (!media_type::is_manifest(media)) {
    if (media_type::is_manifest(*body_media)) {
      media = *body_media;
    } else if (version == 1) {
      media = media_type::docker_manifest_v1_signed;
    } else if (j.contains("manifests")) {
      media = media_type::oci_index;
    } else {
      media = media_type::oci_manifest;
    }
  }

  if (media == media_type::docker_manifest_v1 || media == media_type::docker_manifest_v1_signed) {
    if (version != 1) {
      return fail(errc::invalid_argument, "schema 1 manifest has schemaVersion {}", version);
    }
    return parse_schema1(j, media);
  }
  if (version != 2) {
    return fail(errc::invalid_argument, "{} manifest has schemaVersion {}, expected 2", media,
                version);
  }
  manifest m;
  m.media_type = media;
  if (media_type::is_index(media)) {
    m.what = manifest::kind::index;
    auto list = parse_descriptor_list(j, "manifests", true);
    if (!list) return fail(list.error());
    m.manifests = std::move(*list);
    return m;
  }
  auto config_it = j.find("config");
  if (config_it == j.end()) return fail(errc::invalid_argument, "image manifest has no \"config\"");
  auto config = parse_descriptor(*config_it, "manifest config");
  if (!config) return fail(config.error());
  m.config = std::move(*config);
  auto layers = parse_descriptor_list(j, "layers", true);
  if (!layers) return fail(layers.error());
  m.layers = std::move(*layers);
  return m;
}

}  // namespace blobswarm::registry
