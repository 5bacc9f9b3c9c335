// Small network value types: "host:port" strings from configuration, and
// the IP address of an HTTP peer (kept as bytes so the tracker can write
// compact peer lists without reformatting).
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

#include "common/error.hpp"

namespace blobswarm {

// "127.0.0.1:6969", "[::1]:6969", "localhost:80". Port 0 is allowed (any).
struct host_port {
  std::string host;
  std::uint16_t port = 0;

  static result<host_port> parse(std::string_view text);
  // Brackets IPv6 literals: "[::1]:80".
  std::string str() const;
};

struct ip_address {
  std::array<std::uint8_t, 16> bytes{};  // v4 uses the first 4 bytes
  bool v6 = false;

  static result<ip_address> parse(std::string_view text);
  std::string str() const;
  std::string_view raw() const noexcept {
    return {reinterpret_cast<const char*>(bytes.data()), v6 ? 16u : 4u};
  }
  bool is_loopback() const noexcept;
  // An IPv4 address written as ::ffff:a.b.c.d becomes plain IPv4.
  ip_address unmapped() const noexcept;

  friend bool operator==(const ip_address&, const ip_address&) = default;
};

struct ip_endpoint {
  ip_address address;
  std::uint16_t port = 0;
  std::string str() const;
};

// A CIDR block such as 10.0.0.0/8 or fd00::/8.
struct cidr {
  ip_address network;
  unsigned prefix = 0;

  static result<cidr> parse(std::string_view text);
  bool contains(const ip_address& a) const noexcept;
  std::string str() const;
};

}  // namespace blobswarm
