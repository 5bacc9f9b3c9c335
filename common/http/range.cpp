#include "common/http/range.hpp"

#include <fmt/format.h>

#include <charconv>

namespace blobswarm::http {
namespace {
std::optional<std::uint64_t> number(std::string_view s) {
  if (s.empty() || s.size() > 19) return std::nullopt;
  std::uint64_t v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size()) return std::nullopt;
  return v;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}
}  // namespace

range_request parse_range(std::optional<std::string_view> header, std::uint64_t size) {
  range_request whole;
  if (!header) return whole;
  auto h = trim(*header);
  if (!h.starts_with("bytes=")) return whole;
  auto spec = trim(h.substr(6));
  if (spec.find(',') != std::string_view::npos) return whole;
  auto dash = spec.find('-');
  if (dash == std::string_view::npos) return whole;
  auto first_s = trim(spec.substr(0, dash));
  auto last_s = trim(spec.substr(dash + 1));
  range_request r{range_request::kind::partial, {}};
  if (first_s.empty()) {
    // Suffix range: the last N bytes.
    auto n = number(last_s);
    if (!n) return whole;
    if (*n == 0 || size == 0) return {range_request::kind::unsatisfiable, {}};
    r.range.first = *n >= size ? 0 : size - *n;
    r.range.last = size - 1;
    return r;
  }
  auto first = number(first_s);
  if (!first) return whole;
  std::uint64_t last = size == 0 ? 0 : size - 1;
  if (!last_s.empty()) {
    auto l = number(last_s);
    if (!l || *l < *first) return whole;
    last = std::min(*l, last);
  }
  if (*first >= size) return {range_request::kind::unsatisfiable, {}};
  r.range = {*first, last};
  return r;
}

std::string content_range(const byte_range& r, std::uint64_t size) {
  return fmt::format("bytes {}-{}/{}", r.first, r.last, size);
}

}  // namespace blobswarm::http
