// Fuzzes the tracker's parsers of outside input and the announce path that
// uses them: announce and scrape query strings, address parameters, and
// whole announces/scrapes against a small registered swarm. The first byte
// picks the target; the rest is the input. Beyond "no crash", every reply
// must be well-formed bencode with sorted dictionary keys, and a parsed
// announce must survive re-encoding unchanged.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "common/http/url.hpp"
#include "tracker/announce_request.hpp"
#include "tracker/announcer.hpp"
#include "tracker/scrape_request.hpp"

using namespace blobswarm;
using namespace blobswarm::tracker;

#define CHECK(cond)                                                                  \
  do {                                                                               \
    if (!(cond)) {                                                                   \
      __builtin_printf("invariant failed: %s (%s:%d)\n", #cond, __FILE__, __LINE__); \
      std::abort();                                                                  \
    }                                                                                \
  } while (0)

namespace {

// Minimal bencode checker: returns the end of one value, or npos when the
// value is malformed or a dictionary's keys are not strictly ascending.
std::size_t check_value(std::string_view s, std::size_t i, int depth) {
  if (i >= s.size() || depth > 32) return std::string_view::npos;
  char c = s[i];
  if (c == 'i') {
    auto e = s.find('e', i);
    if (e == std::string_view::npos || e == i + 1) return std::string_view::npos;
    return e + 1;
  }
  if (c >= '0' && c <= '9') {
    auto colon = s.find(':', i);
    if (colon == std::string_view::npos) return std::string_view::npos;
    std::size_t n = 0;
    for (auto k = i; k < colon; ++k) {
      if (s[k] < '0' || s[k] > '9') return std::string_view::npos;
      n = n * 10 + static_cast<std::size_t>(s[k] - '0');
    }
    if (colon + 1 + n > s.size()) return std::string_view::npos;
    return colon + 1 + n;
  }
  if (c == 'l' || c == 'd') {
    ++i;
    std::string_view previous;
    bool first = true;
    while (i < s.size() && s[i] != 'e') {
      if (c == 'd') {
        if (s[i] < '0' || s[i] > '9') return std::string_view::npos;
        auto start = i;
        i = check_value(s, i, depth + 1);
        if (i == std::string_view::npos) return i;
        auto key = s.substr(s.find(':', start) + 1, i - s.find(':', start) - 1);
        if (!first && !(previous < key)) return std::string_view::npos;
        previous = key;
        first = false;
      }
      i = check_value(s, i, depth + 1);
      if (i == std::string_view::npos) return i;
    }
    if (i >= s.size()) return std::string_view::npos;
    return i + 1;
  }
  return std::string_view::npos;
}

void check_bencode(std::string_view reply) {
  CHECK(!reply.empty() && reply.front() == 'd');
  CHECK(check_value(reply, 0, 0) == reply.size());
}

const std::string passkey = "0123456789abcdef0123456789abcdef";
const std::string hash_a(20, 'A');  // registered (v1 of a hybrid)
const std::string hash_v(20, 'V');  // its truncated v2

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  std::string_view in(reinterpret_cast<const char*>(data) + 1, size - 1);
  switch (data[0] % 5) {
    case 0:
      if (auto r = announce_request::parse(in)) {
        CHECK(r->port != 0);
        // Re-encoding what was understood gives the same request.
        auto again = announce_request::parse(
            "info_hash=" + http::percent_encode(r->info_hash.view()) +
            "&peer_id=" + http::percent_encode(r->peer.view()) +
            "&port=" + std::to_string(r->port) + "&uploaded=" + std::to_string(r->uploaded) +
            "&downloaded=" + std::to_string(r->downloaded) + "&left=" + std::to_string(r->left));
        CHECK(again);
        CHECK(again->info_hash == r->info_hash && again->peer == r->peer);
        CHECK(again->port == r->port && again->left == r->left);
      } else {
        for (char c : r.error().message) CHECK(c >= 0x20 && c < 0x7f);
      }
      break;
    case 1:
      if (auto r = scrape_request::parse(in)) {
        CHECK(r->count >= 1 && r->count <= scrape_request::max_hashes);
        for (std::size_t i = 1; i < r->count; ++i) CHECK(r->hashes[i - 1] < r->hashes[i]);
      }
      break;
    case 2:
      if (auto a = announce_request::parse_address(in)) {
        CHECK(announce_request::parse_address(a->str()).has_value());
      }
      break;
    case 3:
    case 4: {
      // A small tracker: one user, one hybrid swarm with a few peers.
      user_table users(2);
      swarm_table swarms(2);
      zone_map zones = *zone_map::build({{"10.0.0.0/8", "lan"}});
      users.add(passkey_hasher()(passkey), 1, "fuzz");
      CHECK(swarms.add({1, swarm_key::from(hash_a), swarm_key::from(hash_v), 0}));
      announce_policy policy;
      policy.trusted.push_back(*cidr::parse("127.0.0.0/8"));
      announcer a(policy, users, swarms, zones);
      announce_scratch scratch(1);
      auto remote = *ip_address::parse(data[0] & 8 ? "127.0.0.1" : "10.1.2.3");
      for (int p = 0; p < 4; ++p) {
        auto q = "info_hash=" + http::percent_encode(p % 2 ? hash_a : hash_v) +
                 "&peer_id=-FZ0001-00000000000" + std::to_string(p) +
                 "&port=" + std::to_string(6881 + p) +
                 "&uploaded=0&downloaded=0&left=" + std::to_string(p % 2 ? 0 : 100) +
                 (p == 3 ? "&ipv6=fd00%3A%3A1" : "");
        CHECK(a.announce(passkey, q, remote, 100, scratch).result == announce_result::ok);
        check_bencode(scratch.reply);
      }
      if (data[0] % 5 == 3) {
        a.announce(passkey, in, remote, 101, scratch);
      } else {
        a.scrape(passkey, in, scratch);
      }
      check_bencode(scratch.reply);
      break;
    }
  }
  return 0;
}
