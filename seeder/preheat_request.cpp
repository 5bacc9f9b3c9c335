#include "seeder/preheat_request.hpp"

#include <nlohmann/json.hpp>

#include "common/registry/registry_error.hpp"

namespace blobswarm::seeder {

namespace {

unexpected<preheat_request::problem> refuse(std::string_view code, error e) {
  return unexpected<preheat_request::problem>(preheat_request::problem{code, std::move(e)});
}

unexpected<preheat_request::problem> refuse(error e) {
  return refuse(registry::code::unsupported, std::move(e));
}

}  // namespace

expected<preheat_request, preheat_request::problem> preheat_request::parse(std::string_view body) {
  auto j = nlohmann::json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) {
    return refuse(error{errc::invalid_argument, "preheat request must be a JSON object"});
  }
  for (const auto& [key, value] : j.items()) {
    if (key != "image" && key != "ns" && key != "platforms" && key != "wait") {
      return refuse(error{errc::invalid_argument,
                          fmt::format("preheat request: unknown key '{}'", key.substr(0, 64))});
    }
  }
  auto image = j.find("image");
  if (image == j.end() || !image->is_string()) {
    return refuse(
        error{errc::invalid_argument, "preheat request needs \"image\": \"<name>:<tag>\""});
  }
  const auto& text = image->get<std::string>();
  auto ref = registry::image_reference::parse(text);
  if (!ref) {
    // Name the part that is wrong the way a registry would.
    auto at = text.find('@');
    auto name_part = text.substr(0, at);
    auto colon = name_part.rfind(':');
    auto slash = name_part.rfind('/');
    bool has_tag = colon != std::string::npos && (slash == std::string::npos || colon > slash);
    if (at != std::string::npos && !digest::parse(text.substr(at + 1))) {
      return refuse(registry::code::digest_invalid, ref.error());
    }
    if (!repository_name::parse(has_tag ? name_part.substr(0, colon) : name_part)) {
      return refuse(registry::code::name_invalid, ref.error());
    }
    return refuse(registry::code::tag_invalid, ref.error());
  }
  preheat_request out{std::move(*ref), {}, {}, true};
  if (auto ns = j.find("ns"); ns != j.end() && !ns->is_null()) {
    if (!ns->is_string()) {
      return refuse(error{errc::invalid_argument, "preheat request: \"ns\" must be a string"});
    }
    out.ns = ns->get<std::string>();
  }
  if (auto p = j.find("platforms"); p != j.end() && !p->is_null()) {
    if (!p->is_array()) {
      return refuse(error{errc::invalid_argument, "preheat request: \"platforms\" must be a list"});
    }
    for (const auto& item : *p) {
      if (!item.is_string()) {
        return refuse(error{errc::invalid_argument, "preheat request: platforms must be strings"});
      }
      auto platform = registry::platform::parse(item.get<std::string>());
      if (!platform) return refuse(platform.error());
      out.platforms.push_back(std::move(*platform));
    }
  }
  if (auto w = j.find("wait"); w != j.end() && !w->is_null()) {
    if (!w->is_boolean()) {
      return refuse(
          error{errc::invalid_argument, "preheat request: \"wait\" must be true or false"});
    }
    out.wait = w->get<bool>();
  }
  return out;
}

}  // namespace blobswarm::seeder
