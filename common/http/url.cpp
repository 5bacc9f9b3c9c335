#include "common/http/url.hpp"

namespace blobswarm::http {
namespace {
int hex_value(char c) noexcept {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}
}  // namespace

std::optional<std::size_t> percent_decode_into(std::string_view in, char* out,
                                               bool plus_is_space) noexcept {
  std::size_t n = 0;
  for (std::size_t i = 0; i < in.size(); ++i) {
    char c = in[i];
    if (c == '%') {
      if (i + 2 >= in.size()) return std::nullopt;
      int hi = hex_value(in[i + 1]);
      int lo = hex_value(in[i + 2]);
      if (hi < 0 || lo < 0) return std::nullopt;
      out[n++] = static_cast<char>((hi << 4) | lo);
      i += 2;
    } else if (c == '+' && plus_is_space) {
      out[n++] = ' ';
    } else {
      out[n++] = c;
    }
  }
  return n;
}

std::optional<std::string> percent_decode(std::string_view in, bool plus_is_space) {
  std::string out(in.size(), '\0');
  auto n = percent_decode_into(in, out.data(), plus_is_space);
  if (!n) return std::nullopt;
  out.resize(*n);
  return out;
}

std::string percent_encode(std::string_view in) {
  static constexpr char digits[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(in.size() * 3);
  for (unsigned char c : in) {
    bool unreserved = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                      c == '-' || c == '.' || c == '_' || c == '~';
    if (unreserved) {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += digits[c >> 4];
      out += digits[c & 0xf];
    }
  }
  return out;
}

std::string percent_encode_path(std::string_view path) {
  std::string out;
  while (true) {
    auto slash = path.find('/');
    out += percent_encode(path.substr(0, slash));
    if (slash == std::string_view::npos) return out;
    out += '/';
    path.remove_prefix(slash + 1);
  }
}

std::optional<std::string_view> query_string::get(std::string_view key) const noexcept {
  std::optional<std::string_view> found;
  for_each([&](std::string_view k, std::string_view v) {
    if (!found && k == key) found = v;
  });
  return found;
}

std::optional<std::string> query_string::get_decoded(std::string_view key) const {
  auto raw = get(key);
  if (!raw) return std::nullopt;
  return percent_decode(*raw);
}

}  // namespace blobswarm::http
