#include "common/registry/image_reference.hpp"

namespace blobswarm::registry {

result<image_reference> image_reference::parse(std::string_view text) {
  if (text.empty()) return fail(errc::invalid_argument, "image reference is empty");
  if (text.size() > 512) return fail(errc::invalid_argument, "image reference is too long");
  std::optional<digest> pinned;
  if (auto at = text.find('@'); at != std::string_view::npos) {
    auto d = digest::parse(text.substr(at + 1));
    if (!d) return fail(d.error().with_context(fmt::format("image reference '{}'", text)));
    pinned = std::move(*d);
    text = text.substr(0, at);
  }
  std::string tag;
  // The tag follows the last ':' after the last '/'.
  auto slash = text.rfind('/');
  auto colon = text.rfind(':');
  if (colon != std::string_view::npos && (slash == std::string_view::npos || colon > slash)) {
    tag = std::string(text.substr(colon + 1));
    text = text.substr(0, colon);
    if (!is_valid_tag(tag)) {
      return fail(errc::invalid_argument, "image reference tag '{}' is not a valid tag",
                  tag.substr(0, 130));
    }
  }
  auto name = repository_name::parse(text);
  if (!name) return fail(name.error());
  if (tag.empty() && !pinned) tag = "latest";
  return image_reference(std::move(*name), std::move(tag), std::move(pinned));
}

std::string image_reference::reference() const {
  return digest_ ? digest_->str() : tag_;
}

std::string image_reference::str() const {
  std::string out = name_.str();
  if (!tag_.empty()) out += ":" + tag_;
  if (digest_) out += "@" + digest_->str();
  return out;
}

}  // namespace blobswarm::registry
