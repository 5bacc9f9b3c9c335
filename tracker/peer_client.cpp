#include "tracker/peer_client.hpp"

#include <array>
#include <string_view>

namespace blobswarm::tracker {
namespace {

struct known_client {
  std::string_view code;
  std::string_view name;
};

// Azureus-style codes (BEP 20) of the clients that meet here, and a few
// common others.
constexpr std::array<known_client, 14> azureus_clients{{
    {"LT", "libtorrent"},
    {"BW", "blobswarm-seeder"},
    {"BM", "blobswarm-mirror"},
    {"qB", "qBittorrent"},
    {"TR", "Transmission"},
    {"DE", "Deluge"},
    {"UT", "\xc2\xb5Torrent"},
    {"lt", "libTorrent (rakshasa)"},
    {"AZ", "Vuze"},
    {"BI", "BiglyBT"},
    {"KT", "KTorrent"},
    {"FD", "Free Download Manager"},
    {"WW", "WebTorrent"},
    {"BT", "BitTorrent"},
}};

bool is_version_char(char c) noexcept {
  return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
}

// libtorrent's encoding: 0-9, then A-Z for 10-35.
int version_digit(char c) noexcept {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'A' && c <= 'Z') return c - 'A' + 10;
  return c - 'a' + 36;
}

std::string printable_prefix(std::string_view raw) {
  std::string out;
  for (char c : raw) {
    if (c == 0) break;
    out += (c >= 0x20 && c < 0x7f) ? c : '?';
  }
  while (!out.empty() && out.back() == '?') out.pop_back();
  return out.size() < 3 ? std::string("unknown") : out;
}

}  // namespace

std::string client_name(const peer_id& id) {
  std::string_view raw = id.view();
  // Azureus style: '-' + 2-letter code + 4 version characters + '-'.
  if (raw[0] == '-' && raw[7] == '-' && is_version_char(raw[1]) && is_version_char(raw[2])) {
    auto code = raw.substr(1, 2);
    auto v = raw.substr(3, 4);
    bool ok = true;
    for (char c : v) ok = ok && is_version_char(c);
    if (ok) {
      std::string name;
      for (const auto& k : azureus_clients) {
        if (k.code == code) name = k.name;
      }
      if (name.empty()) name = "client " + std::string(code);
      if (code == "TR") {
        // Transmission: "3000" is 3.00, "300Z" a 3.00 nightly.
        return name + " " + std::string(1, v[0]) + "." + std::string(v.substr(1, 2));
      }
      // major.minor.tiny, and the fourth part only when it is not 0.
      std::string version = std::to_string(version_digit(v[0])) + "." +
                            std::to_string(version_digit(v[1])) + "." +
                            std::to_string(version_digit(v[2]));
      if (v[3] != '0') version += "." + std::to_string(version_digit(v[3]));
      return name + " " + version;
    }
  }
  // aria2: "A2-1-36-0-" + random.
  if (raw.starts_with("A2-")) {
    std::string version;
    std::size_t i = 3;
    for (int part = 0; part < 3 && i < raw.size(); ++part) {
      auto dash = raw.find('-', i);
      if (dash == std::string_view::npos || dash == i) break;
      auto digits = raw.substr(i, dash - i);
      bool ok = true;
      for (char c : digits) ok = ok && c >= '0' && c <= '9';
      if (!ok) break;
      if (!version.empty()) version += '.';
      version += digits;
      i = dash + 1;
    }
    return version.empty() ? std::string("aria2") : "aria2 " + version;
  }
  // Mainline style: 'M' + "7-2-0--" (digits and dashes, ending in "--").
  if (raw[0] == 'M' && raw[2] == '-') {
    auto body = raw.substr(1, 7);
    auto end = body.find("--");
    std::string version;
    bool ok = end != std::string_view::npos && end > 0;
    for (char c : body.substr(0, ok ? end : 0)) {
      ok = ok && ((c >= '0' && c <= '9') || c == '-');
      version += c == '-' ? '.' : c;
    }
    if (ok) return "BitTorrent (mainline) " + version;
  }
  return printable_prefix(raw);
}

}  // namespace blobswarm::tracker
