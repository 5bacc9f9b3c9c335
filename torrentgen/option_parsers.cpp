#include "torrentgen/option_parsers.hpp"

#include <charconv>

namespace blobswarm::torrentgen {
namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

bool has_scheme(std::string_view url, std::initializer_list<std::string_view> schemes) {
  auto sep = url.find("://");
  if (sep == std::string_view::npos || sep + 3 >= url.size()) return false;
  auto scheme = url.substr(0, sep);
  for (auto s : schemes) {
    if (scheme.size() != s.size()) continue;
    bool same = true;
    for (std::size_t i = 0; i < s.size(); ++i) {
      char c = scheme[i];
      if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
      if (c != s[i]) same = false;
    }
    if (same) return true;
  }
  return false;
}

bool has_space_or_control(std::string_view s) {
  for (unsigned char c : s) {
    if (c <= 0x20 || c == 0x7F) return true;
  }
  return false;
}

}  // namespace

result<std::vector<std::string>> parse_tracker_tier(std::string_view text) {
  std::vector<std::string> urls;
  std::size_t start = 0;
  while (start <= text.size()) {
    auto comma = text.find(',', start);
    auto part = trim(text.substr(
        start, comma == std::string_view::npos ? std::string_view::npos : comma - start));
    if (part.empty()) {
      return fail(errc::invalid_argument, "tracker list '{}' has an empty entry", text);
    }
    if (!has_scheme(part, {"http", "https", "udp", "ws", "wss"}) || has_space_or_control(part)) {
      return fail(errc::invalid_argument,
                  "tracker '{}' is not an announce URL (http://, https://, udp://, ws://, wss://)",
                  part);
    }
    urls.emplace_back(part);
    if (comma == std::string_view::npos) break;
    start = comma + 1;
  }
  return urls;
}

result<std::string> parse_web_seed(std::string_view text) {
  auto url = trim(text);
  if (!has_scheme(url, {"http", "https", "ftp"}) || has_space_or_control(url)) {
    return fail(errc::invalid_argument, "web seed '{}' is not an http://, https:// or ftp:// URL",
                text);
  }
  return std::string(url);
}

result<std::optional<std::int64_t>> parse_creation_date(std::string_view text, std::int64_t now) {
  if (text == "none") return std::optional<std::int64_t>();
  if (text == "now") return std::optional<std::int64_t>(now);
  std::int64_t v = 0;
  auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (text.empty() || ec != std::errc() || p != text.data() + text.size() || v <= 0 ||
      v > 253402300799) {  // 9999-12-31
    return fail(errc::invalid_argument,
                "date '{}' is not 'none', 'now' or a positive unix time in seconds", text);
  }
  return std::optional<std::int64_t>(v);
}

}  // namespace blobswarm::torrentgen
