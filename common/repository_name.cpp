#include "common/repository_name.hpp"

namespace blobswarm {
namespace {

bool is_alnum_lower(char c) noexcept {
  return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

// path-component := [a-z0-9]+ ( ( "." | "_" | "__" | "-"+ ) [a-z0-9]+ )*
bool valid_component(std::string_view c) noexcept {
  std::size_t i = 0;
  auto run = [&] {
    std::size_t start = i;
    while (i < c.size() && is_alnum_lower(c[i])) ++i;
    return i > start;
  };
  if (!run()) return false;
  while (i < c.size()) {
    if (c[i] == '.') {
      ++i;
    } else if (c[i] == '_') {
      ++i;
      if (i < c.size() && c[i] == '_') ++i;
    } else if (c[i] == '-') {
      while (i < c.size() && c[i] == '-') ++i;
    } else {
      return false;
    }
    if (!run()) return false;
  }
  return true;
}

}  // namespace

result<repository_name> repository_name::parse(std::string_view text) {
  if (text.empty()) return fail(errc::invalid_argument, "repository name is empty");
  if (text.size() > max_length) {
    return fail(errc::invalid_argument, "repository name is {} characters, the limit is {}",
                text.size(), max_length);
  }
  std::size_t start = 0;
  while (true) {
    auto slash = text.find('/', start);
    auto component = text.substr(start, slash == std::string_view::npos ? slash : slash - start);
    if (component.empty()) {
      return fail(errc::invalid_argument, "repository name '{}' has an empty path component", text);
    }
    if (!valid_component(component)) {
      return fail(errc::invalid_argument,
                  "repository name '{}': component '{}' must be lowercase letters and digits "
                  "joined by '.', '_', '__' or '-'",
                  text, component);
    }
    if (slash == std::string_view::npos) break;
    start = slash + 1;
  }
  return repository_name(std::string(text));
}

bool is_valid_tag(std::string_view tag) noexcept {
  if (tag.empty() || tag.size() > 128) return false;
  auto word = [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
  };
  if (!word(tag[0])) return false;
  for (char c : tag.substr(1)) {
    if (!word(c) && c != '.' && c != '-') return false;
  }
  return true;
}

}  // namespace blobswarm
