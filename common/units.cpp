#include "common/units.hpp"

#include <charconv>
#include <cmath>
#include <limits>

namespace blobswarm {
namespace {

bool iequals(std::string_view a, std::string_view b) noexcept {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    char x = a[i], y = b[i];
    if (x >= 'A' && x <= 'Z') x = static_cast<char>(x - 'A' + 'a');
    if (y >= 'A' && y <= 'Z') y = static_cast<char>(y - 'A' + 'a');
    if (x != y) return false;
  }
  return true;
}

std::string_view trim(std::string_view s) noexcept {
  while (!s.empty() && s.front() == ' ') s.remove_prefix(1);
  while (!s.empty() && s.back() == ' ') s.remove_suffix(1);
  return s;
}

struct unit {
  std::string_view name;
  std::uint64_t factor;
};

constexpr unit size_units[] = {
    {"", 1},
    {"b", 1},
    {"k", 1ULL << 10},
    {"kb", 1000ULL},
    {"kib", 1ULL << 10},
    {"m", 1ULL << 20},
    {"mb", 1000ULL * 1000},
    {"mib", 1ULL << 20},
    {"g", 1ULL << 30},
    {"gb", 1000ULL * 1000 * 1000},
    {"gib", 1ULL << 30},
    {"t", 1ULL << 40},
    {"tb", 1000ULL * 1000 * 1000 * 1000},
    {"tib", 1ULL << 40},
};

}  // namespace

result<byte_size> byte_size::parse(std::string_view text) {
  auto s = trim(text);
  std::size_t n = 0;
  while (n < s.size() && ((s[n] >= '0' && s[n] <= '9') || s[n] == '.')) ++n;
  auto number = s.substr(0, n);
  auto suffix = trim(s.substr(n));
  if (number.empty()) {
    return fail(errc::invalid_argument, "size '{}' does not start with a number", text);
  }
  const unit* u = nullptr;
  for (const auto& candidate : size_units) {
    if (iequals(candidate.name, suffix)) u = &candidate;
  }
  if (!u) {
    return fail(errc::invalid_argument,
                "size '{}' has unknown unit '{}' (use B, KB, MB, GB, TB, KiB, MiB, GiB, TiB)", text,
                suffix);
  }
  if (number.find('.') == std::string_view::npos) {
    std::uint64_t v = 0;
    auto [p, ec] = std::from_chars(number.data(), number.data() + number.size(), v);
    if (ec != std::errc() || p != number.data() + number.size()) {
      return fail(errc::invalid_argument, "size '{}' is not a valid number", text);
    }
    if (v > std::numeric_limits<std::uint64_t>::max() / u->factor) {
      return fail(errc::invalid_argument, "size '{}' is too large", text);
    }
    return byte_size{v * u->factor};
  }
  double v = 0;
  auto [p, ec] = std::from_chars(number.data(), number.data() + number.size(), v);
  if (ec != std::errc() || p != number.data() + number.size()) {
    return fail(errc::invalid_argument, "size '{}' is not a valid number", text);
  }
  double bytes = v * static_cast<double>(u->factor);
  if (bytes >= 1.8e19) return fail(errc::invalid_argument, "size '{}' is too large", text);
  return byte_size{static_cast<std::uint64_t>(std::llround(bytes))};
}

std::string byte_size::str() const {
  static constexpr unit binary[] = {
      {"TiB", 1ULL << 40}, {"GiB", 1ULL << 30}, {"MiB", 1ULL << 20}, {"KiB", 1ULL << 10}};
  if (bytes != 0) {
    for (const auto& u : binary) {
      if (bytes % u.factor == 0) return fmt::format("{}{}", bytes / u.factor, u.name);
    }
  }
  return fmt::format("{}B", bytes);
}

std::string human_bytes(std::uint64_t bytes) {
  static constexpr std::string_view names[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB"};
  double v = static_cast<double>(bytes);
  std::size_t i = 0;
  while (v >= 1024 && i + 1 < std::size(names)) {
    v /= 1024;
    ++i;
  }
  if (i == 0) return fmt::format("{} B", bytes);
  return fmt::format("{:.{}f} {}", v, v < 10 ? 2 : (v < 100 ? 1 : 0), names[i]);
}

std::string byte_size::human() const {
  return human_bytes(bytes);
}

result<duration> parse_duration(std::string_view text) {
  auto s = trim(text);
  if (s.empty()) return fail(errc::invalid_argument, "duration is empty");
  // A bare number means seconds.
  if (s.find_first_not_of("0123456789") == std::string_view::npos) {
    std::uint64_t v = 0;
    auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (ec != std::errc() || v > 1'000'000'000ULL) {
      return fail(errc::invalid_argument, "duration '{}' is out of range", text);
    }
    return std::chrono::duration_cast<duration>(std::chrono::seconds(v));
  }
  double total_ms = 0;
  while (!s.empty()) {
    std::size_t n = 0;
    while (n < s.size() && ((s[n] >= '0' && s[n] <= '9') || s[n] == '.')) ++n;
    if (n == 0) {
      return fail(errc::invalid_argument, "duration '{}' is not like 30s, 5m, 1h30m, 250ms", text);
    }
    double v = 0;
    auto [p, ec] = std::from_chars(s.data(), s.data() + n, v);
    if (ec != std::errc() || p != s.data() + n) {
      return fail(errc::invalid_argument, "duration '{}' has a bad number", text);
    }
    s.remove_prefix(n);
    std::size_t u = 0;
    while (u < s.size() && s[u] >= 'a' && s[u] <= 'z') ++u;
    auto name = s.substr(0, u);
    s.remove_prefix(u);
    double factor = 0;
    if (name == "ms") {
      factor = 1;
    } else if (name == "s") {
      factor = 1000;
    } else if (name == "m") {
      factor = 60'000;
    } else if (name == "h") {
      factor = 3'600'000;
    } else if (name == "d") {
      factor = 86'400'000;
    } else {
      return fail(errc::invalid_argument, "duration '{}' has unknown unit '{}' (ms, s, m, h, d)",
                  text, name);
    }
    total_ms += v * factor;
    if (total_ms > 1e15) return fail(errc::invalid_argument, "duration '{}' is too long", text);
  }
  return duration(static_cast<duration::rep>(std::llround(total_ms)));
}

std::string format_duration(duration d) {
  auto ms = d.count();
  if (ms == 0) return "0s";
  if (ms % 1000 != 0) return fmt::format("{}ms", ms);
  auto s = ms / 1000;
  std::string out;
  if (s >= 3600) {
    out += fmt::format("{}h", s / 3600);
    s %= 3600;
  }
  if (s >= 60) {
    out += fmt::format("{}m", s / 60);
    s %= 60;
  }
  if (s > 0) out += fmt::format("{}s", s);
  return out;
}

}  // namespace blobswarm
