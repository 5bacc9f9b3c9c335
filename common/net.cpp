#include "common/net.hpp"

#include <arpa/inet.h>

#include <charconv>
#include <cstring>

namespace blobswarm {

result<host_port> host_port::parse(std::string_view text) {
  host_port hp;
  std::string_view port;
  if (text.starts_with('[')) {
    auto close = text.find(']');
    if (close == std::string_view::npos || close + 1 >= text.size() || text[close + 1] != ':') {
      return fail(errc::invalid_argument, "address '{}' is not like [::1]:port", text);
    }
    hp.host = std::string(text.substr(1, close - 1));
    port = text.substr(close + 2);
  } else {
    auto colon = text.rfind(':');
    if (colon == std::string_view::npos) {
      return fail(errc::invalid_argument, "address '{}' is not like host:port", text);
    }
    hp.host = std::string(text.substr(0, colon));
    if (hp.host.find(':') != std::string::npos) {
      return fail(errc::invalid_argument, "IPv6 address '{}' needs brackets: [addr]:port", text);
    }
    port = text.substr(colon + 1);
  }
  if (hp.host.empty()) return fail(errc::invalid_argument, "address '{}' has no host", text);
  unsigned v = 0;
  auto [p, ec] = std::from_chars(port.data(), port.data() + port.size(), v);
  if (port.empty() || ec != std::errc() || p != port.data() + port.size() || v > 65535) {
    return fail(errc::invalid_argument, "address '{}' has an invalid port", text);
  }
  hp.port = static_cast<std::uint16_t>(v);
  return hp;
}

std::string host_port::str() const {
  if (host.find(':') != std::string::npos) return fmt::format("[{}]:{}", host, port);
  return fmt::format("{}:{}", host, port);
}

result<ip_address> ip_address::parse(std::string_view text) {
  std::string s(text);
  ip_address a;
  if (inet_pton(AF_INET, s.c_str(), a.bytes.data()) == 1) return a;
  if (inet_pton(AF_INET6, s.c_str(), a.bytes.data()) == 1) {
    a.v6 = true;
    return a;
  }
  return fail(errc::invalid_argument, "'{}' is not an IP address", text.substr(0, 64));
}

std::string ip_address::str() const {
  char buf[INET6_ADDRSTRLEN] = {};
  inet_ntop(v6 ? AF_INET6 : AF_INET, bytes.data(), buf, sizeof buf);
  return buf;
}

bool ip_address::is_loopback() const noexcept {
  auto a = unmapped();
  if (!a.v6) return a.bytes[0] == 127;
  static constexpr std::array<std::uint8_t, 16> one{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
  return a.bytes == one;
}

ip_address ip_address::unmapped() const noexcept {
  static constexpr std::uint8_t prefix[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
  if (!v6 || std::memcmp(bytes.data(), prefix, 12) != 0) return *this;
  ip_address a;
  std::memcpy(a.bytes.data(), bytes.data() + 12, 4);
  return a;
}

std::string ip_endpoint::str() const {
  if (address.v6) return fmt::format("[{}]:{}", address.str(), port);
  return fmt::format("{}:{}", address.str(), port);
}

result<cidr> cidr::parse(std::string_view text) {
  auto slash = text.find('/');
  auto addr = ip_address::parse(text.substr(0, slash));
  if (!addr) return fail(errc::invalid_argument, "CIDR '{}': {}", text, addr.error().message);
  cidr c{*addr, addr->v6 ? 128u : 32u};
  if (slash != std::string_view::npos) {
    auto bits = text.substr(slash + 1);
    unsigned v = 0;
    auto [p, ec] = std::from_chars(bits.data(), bits.data() + bits.size(), v);
    if (bits.empty() || ec != std::errc() || p != bits.data() + bits.size() || v > c.prefix) {
      return fail(errc::invalid_argument, "CIDR '{}' has an invalid prefix length", text);
    }
    c.prefix = v;
  }
  return c;
}

bool cidr::contains(const ip_address& candidate) const noexcept {
  auto a = candidate.unmapped();
  if (a.v6 != network.v6) return false;
  unsigned full = prefix / 8, rest = prefix % 8;
  if (std::memcmp(a.bytes.data(), network.bytes.data(), full) != 0) return false;
  if (rest == 0) return true;
  auto mask = static_cast<std::uint8_t>(0xff << (8 - rest));
  return (a.bytes[full] & mask) == (network.bytes[full] & mask);
}

std::string cidr::str() const {
  return fmt::format("{}/{}", network.str(), prefix);
}

}  // namespace blobswarm
