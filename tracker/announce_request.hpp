// announce_request: the parameters of a BitTorrent announce (BEP 3, 7, 23),
// parsed from the raw query string without allocating. Values that only
// matter for some callers (ip=, ipv4=, ipv6=, which are honoured only from
// trusted addresses) stay raw until someone asks for them.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

#include "common/error.hpp"
#include "common/net.hpp"
#include "tracker/swarm_key.hpp"

namespace blobswarm::tracker {

enum class announce_event : std::uint8_t { none, started, completed, stopped, paused };

struct announce_request {
  swarm_key info_hash;
  peer_id peer;
  std::uint16_t port = 0;
  std::uint64_t uploaded = 0;
  std::uint64_t downloaded = 0;
  std::uint64_t left = 0;
  announce_event event = announce_event::none;
  bool compact = true;  // compact=0 asks for the dictionary model
  bool no_peer_id = false;
  // origins=1: hand out origins even while they stand by (a blobswarm
  // mirror whose download stalled asks for them this way).
  bool origins = false;
  std::optional<std::uint32_t> numwant;  // saturates at 2^32-1
  // The client's `key` (BEP 7 calls it an identifier that survives address
  // changes), hashed; 0 when absent. Part of the peer's identity.
  std::uint64_t key = 0;
  // Raw (still percent-encoded) values; empty when absent. They view the
  // query string given to parse(), which must outlive them.
  std::string_view ip;
  std::string_view ipv4;
  std::string_view ipv6;
  std::string_view zone;  // validated: [A-Za-z0-9._-]{1,64}

  bool is_seeder() const noexcept { return left == 0; }

  // Every problem is an errc::invalid_argument whose message is fit for a
  // bencoded `failure reason` (no raw client bytes in it).
  static result<announce_request> parse(std::string_view query);

  // Decodes and parses an address parameter (ip=, ipv4=, ipv6=); nullopt
  // when it is not an IP literal. Host names are not resolved.
  static std::optional<ip_address> parse_address(std::string_view raw) noexcept;
};

// Stable 64-bit FNV-1a, used for client keys and zone names.
std::uint64_t fnv1a64(std::string_view bytes) noexcept;

}  // namespace blobswarm::tracker
