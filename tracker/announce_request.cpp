#include "tracker/announce_request.hpp"

#include <arpa/inet.h>

#include <charconv>
#include <cstring>

#include "common/http/url.hpp"

namespace blobswarm::tracker {
namespace {

// Printable and short, for quoting client input in a failure reason.
std::string printable(std::string_view raw) {
  std::string out;
  for (char c : raw.substr(0, 32)) out += (c >= 0x20 && c < 0x7f && c != '\'') ? c : '?';
  if (raw.size() > 32) out += "...";
  return out;
}

// A 20-byte binary value (info_hash, peer_id). At most 3 encoded characters
// per byte, so anything longer than 60 is wrong before decoding.
result<void> decode20(std::string_view name, std::string_view raw, swarm_key& out) {
  char buf[60];
  if (raw.size() > sizeof buf) {
    return fail(errc::invalid_argument, "{} must be 20 bytes (got more)", name);
  }
  auto n = http::percent_decode_into(raw, buf, false);
  if (!n) return fail(errc::invalid_argument, "{} is not valid percent-encoding", name);
  if (*n != 20) return fail(errc::invalid_argument, "{} must be 20 bytes (got {})", name, *n);
  std::memcpy(out.bytes.data(), buf, 20);
  return {};
}

result<std::uint64_t> number(std::string_view name, std::string_view raw) {
  std::uint64_t v = 0;
  auto [p, ec] = std::from_chars(raw.data(), raw.data() + raw.size(), v);
  if (raw.empty() || ec != std::errc() || p != raw.data() + raw.size()) {
    return fail(errc::invalid_argument, "{} must be a non-negative integer (got '{}')", name,
                printable(raw));
  }
  return v;
}

bool valid_zone(std::string_view z) noexcept {
  if (z.empty() || z.size() > 64) return false;
  for (char c : z) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '_' || c == '-';
    if (!ok) return false;
  }
  return true;
}

}  // namespace

std::uint64_t fnv1a64(std::string_view bytes) noexcept {
  std::uint64_t h = 0xcbf29ce484222325ULL;
  for (unsigned char c : bytes) {
    h ^= c;
    h *= 0x100000001b3ULL;
  }
  return h;
}

std::optional<ip_address> announce_request::parse_address(std::string_view raw) noexcept {
  char buf[64 * 3 + 1];
  if (raw.empty() || raw.size() > 64 * 3) return std::nullopt;
  auto n = http::percent_decode_into(raw, buf, false);
  if (!n || *n > 64) return std::nullopt;
  buf[*n] = '\0';
  std::string_view text(buf, *n);
  if (text.starts_with('[') && text.ends_with(']')) {  // some clients bracket IPv6
    buf[*n - 1] = '\0';
    text = std::string_view(buf + 1, *n - 2);
  }
  ip_address a;
  if (inet_pton(AF_INET, text.data(), a.bytes.data()) == 1) return a;
  if (inet_pton(AF_INET6, text.data(), a.bytes.data()) == 1) {
    a.v6 = true;
    return a.unmapped();
  }
  return std::nullopt;
}

result<announce_request> announce_request::parse(std::string_view query) {
  announce_request r;
  bool have_hash = false, have_peer = false, have_port = false, have_left = false;
  bool have_up = false, have_down = false;
  std::optional<error> problem;
  auto set_error = [&](error e) {
    if (!problem) problem = std::move(e);
  };

  http::query_string(query).for_each([&](std::string_view key, std::string_view value) {
    if (problem) return;
    // Table-driven on the key; the first occurrence of a key wins.
    if (key == "info_hash") {
      if (have_hash) return;
      if (auto d = decode20("info_hash", value, r.info_hash); !d) return set_error(d.error());
      have_hash = true;
    } else if (key == "peer_id") {
      if (have_peer) return;
      if (auto d = decode20("peer_id", value, r.peer); !d) return set_error(d.error());
      have_peer = true;
    } else if (key == "port") {
      if (have_port) return;
      auto v = number("port", value);
      if (!v) return set_error(v.error());
      if (*v == 0 || *v > 65535) {
        return set_error(error{errc::invalid_argument,
                               fmt::format("port must be between 1 and 65535 (got {})", *v)});
      }
      r.port = static_cast<std::uint16_t>(*v);
      have_port = true;
    } else if (key == "uploaded" || key == "downloaded" || key == "left") {
      bool& seen = key == "uploaded" ? have_up : key == "downloaded" ? have_down : have_left;
      if (seen) return;
      auto v = number(key, value);
      if (!v) return set_error(v.error());
      (key == "uploaded" ? r.uploaded : key == "downloaded" ? r.downloaded : r.left) = *v;
      seen = true;
    } else if (key == "event") {
      if (value == "started") {
        r.event = announce_event::started;
      } else if (value == "completed") {
        r.event = announce_event::completed;
      } else if (value == "stopped") {
        r.event = announce_event::stopped;
      } else if (value == "paused") {
        r.event = announce_event::paused;
      } else if (value.empty() || value == "empty") {
        r.event = announce_event::none;
      } else {
        set_error(error{errc::invalid_argument,
                        fmt::format("unknown event '{}' (started, completed, stopped, paused)",
                                    printable(value))});
      }
    } else if (key == "compact") {
      if (value == "1") {
        r.compact = true;
      } else if (value == "0") {
        r.compact = false;
      } else {
        set_error(error{errc::invalid_argument,
                        fmt::format("compact must be 0 or 1 (got '{}')", printable(value))});
      }
    } else if (key == "no_peer_id") {
      r.no_peer_id = value != "0";
    } else if (key == "origins") {
      r.origins = value != "0";
    } else if (key == "numwant") {
      // Huge values are capped later, not refused: clients differ wildly.
      std::uint64_t v = 0;
      bool digits = !value.empty() && value.size() <= 32;
      for (char c : value) digits = digits && c >= '0' && c <= '9';
      if (!digits) {
        return set_error(error{
            errc::invalid_argument,
            fmt::format("numwant must be a non-negative integer (got '{}')", printable(value))});
      }
      auto [p, ec] = std::from_chars(value.data(), value.data() + value.size(), v);
      (void)p;
      if (ec == std::errc::result_out_of_range || v > 0xffffffffULL) v = 0xffffffffULL;
      r.numwant = static_cast<std::uint32_t>(v);
    } else if (key == "key") {
      char buf[64];
      if (value.size() > 3 * sizeof buf) {
        return set_error(error{errc::invalid_argument, "key is too long (at most 64 bytes)"});
      }
      char wide[3 * sizeof buf];
      auto n = http::percent_decode_into(value, wide, false);
      if (!n) return set_error(error{errc::invalid_argument, "key is not valid percent-encoding"});
      if (*n > sizeof buf) {
        return set_error(error{errc::invalid_argument, "key is too long (at most 64 bytes)"});
      }
      r.key = fnv1a64(std::string_view(wide, *n)) | 1;  // never 0, which means "no key"
    } else if (key == "ip") {
      r.ip = value;
    } else if (key == "ipv4") {
      r.ipv4 = value;
    } else if (key == "ipv6") {
      r.ipv6 = value;
    } else if (key == "zone") {
      if (!valid_zone(value)) {
        return set_error(
            error{errc::invalid_argument, "zone must be 1-64 characters of [A-Za-z0-9._-]"});
      }
      r.zone = value;
    }
    // Anything else (supportcrypto, requirecrypto, corrupt, redundant,
    // trackerid, ...) is accepted and ignored.
  });

  if (problem) return fail(std::move(*problem));
  if (!have_hash) return fail(errc::invalid_argument, "missing info_hash");
  if (!have_peer) return fail(errc::invalid_argument, "missing peer_id");
  if (!have_port) return fail(errc::invalid_argument, "missing port");
  if (!have_up) return fail(errc::invalid_argument, "missing uploaded");
  if (!have_down) return fail(errc::invalid_argument, "missing downloaded");
  if (!have_left) return fail(errc::invalid_argument, "missing left");
  return r;
}

}  // namespace blobswarm::tracker
