#include "tracker/redis_swarm.hpp"

#include <algorithm>
#include <cstring>

#include "common/hex.hpp"

namespace blobswarm::tracker::redis_swarm {
namespace {

// Record format 1: version, flags, last_seen, left_kib, zone, uploaded,
// downloaded, port4, ip4, then port6 and ip6 when flag has_v6 is set.
constexpr std::uint8_t format = 1;
constexpr std::size_t v4_size = 1 + 1 + 4 + 4 + 4 + 8 + 8 + 2 + 4;
constexpr std::size_t v6_extra = 2 + 16;

enum : std::uint8_t {
  flag_seeder = 1,
  flag_completed = 2,
  flag_fed = 4,
  flag_v6 = 8,
};

template <class T>
void put(std::string& out, T v) {
  char b[sizeof(T)];
  for (std::size_t i = 0; i < sizeof(T); ++i) {
    b[i] = static_cast<char>((v >> (8 * (sizeof(T) - 1 - i))) & 0xff);
  }
  out.append(b, sizeof b);
}

template <class T>
T get(const char*& p) {
  T v = 0;
  for (std::size_t i = 0; i < sizeof(T); ++i) {
    v = static_cast<T>((v << 8) | static_cast<unsigned char>(p[i]));
  }
  p += sizeof(T);
  return v;
}

}  // namespace

swarm_keys keys_for(std::string_view prefix, const swarm_key& primary) {
  auto base = std::string(prefix) + "{" + to_hex(primary.view()) + "}:";
  return {base + "s", base + "l"};
}

std::string_view encode_identity(const peer_identity& who, std::string& out) {
  out.clear();
  out.append(who.id.view());
  put<std::uint32_t>(out, who.user);
  put<std::uint64_t>(out, who.key);
  return out;
}

std::optional<peer_identity> decode_identity(std::string_view field) {
  if (field.size() != identity_size) return std::nullopt;
  peer_identity who;
  who.id = peer_id::from(field.substr(0, 20));
  const char* p = field.data() + 20;
  who.user = get<std::uint32_t>(p);
  who.key = get<std::uint64_t>(p);
  return who;
}

std::optional<std::uint32_t> user_of_field(std::string_view field) {
  if (field.size() != identity_size) return std::nullopt;
  const char* p = field.data() + 20;
  return get<std::uint32_t>(p);
}

std::string_view encode_record(const peer& r, std::string& out) {
  out.clear();
  std::uint8_t flags = (r.seeder ? flag_seeder : 0) | (r.completed ? flag_completed : 0) |
                       (r.fed ? flag_fed : 0) | (r.has_v6() ? flag_v6 : 0);
  put<std::uint8_t>(out, format);
  put<std::uint8_t>(out, flags);
  put<std::uint32_t>(out, r.last_seen);
  put<std::uint32_t>(out, r.left_kib);
  put<std::uint32_t>(out, r.zone);
  put<std::uint64_t>(out, r.uploaded);
  put<std::uint64_t>(out, r.downloaded);
  put<std::uint16_t>(out, r.port4);
  out.append(reinterpret_cast<const char*>(r.ip4.data()), 4);
  if (r.has_v6()) {
    put<std::uint16_t>(out, r.port6);
    out.append(reinterpret_cast<const char*>(r.ip6.data()), 16);
  }
  return out;
}

std::optional<peer> decode(std::string_view field, std::string_view value) {
  auto who = decode_identity(field);
  if (!who || value.size() < v4_size || static_cast<std::uint8_t>(value[0]) != format) {
    return std::nullopt;
  }
  const char* p = value.data() + 1;
  auto flags = get<std::uint8_t>(p);
  bool v6 = (flags & flag_v6) != 0;
  if (value.size() != v4_size + (v6 ? v6_extra : 0)) return std::nullopt;
  peer r;
  r.id = who->id;
  r.user = who->user;
  r.key = who->key;
  r.seeder = (flags & flag_seeder) != 0;
  r.completed = (flags & flag_completed) != 0;
  r.fed = (flags & flag_fed) != 0;
  r.last_seen = get<std::uint32_t>(p);
  r.left_kib = get<std::uint32_t>(p);
  r.zone = get<std::uint32_t>(p);
  r.uploaded = get<std::uint64_t>(p);
  r.downloaded = get<std::uint64_t>(p);
  r.port4 = get<std::uint16_t>(p);
  std::memcpy(r.ip4.data(), p, 4);
  p += 4;
  if (v6) {
    r.port6 = get<std::uint16_t>(p);
    std::memcpy(r.ip6.data(), p, 16);
  }
  return r;
}

announce_plan plan_announce(const announce_input& in, peer_scratch& scratch) {
  announce_plan plan;
  swarm& work = scratch.work;
  const auto& who = in.who;
  std::optional<peer> old;
  {
    auto peers = work.peers();
    auto it = std::lower_bound(peers.begin(), peers.end(), who, identity_less);
    if (it != peers.end() && it->identity() == who) old = *it;
  }
  plan.answer.effect =
      work.announce(who, *in.req, in.address, in.zone, in.now, in.other ? &*in.other : nullptr);
  const auto& effect = plan.answer.effect;
  scratch.chosen.clear();
  if (!effect.removed) {
    selection_request sel = in.selection;
    sel.self = effect.index;
    work.select(sel, scratch.rng, scratch.selection);
    auto peers = work.peers();
    for (auto i : scratch.selection.chosen) scratch.chosen.push_back(peers[i]);
    plan.write = peers[effect.index];
    if (old && old->seeder != plan.write->seeder) plan.remove_from = old->seeder;
  } else if (old) {
    plan.remove_from = old->seeder;
  }
  // Records the announce replaced (the host's client restarted) go too,
  // if nobody rewrote them meanwhile.
  plan.stale = effect.superseded;
  std::uint32_t seeders = 0, leechers = 0;
  for (const auto& p : work.peers()) {
    bool mine = p.identity() == who;
    if (!mine && p.last_seen + in.selection.ttl < in.now) {
      plan.stale.push_back(p);
      continue;
    }
    (p.seeder ? seeders : leechers) += 1;
  }
  plan.answer.seeders = seeders;
  plan.answer.leechers = leechers;
  return plan;
}

}  // namespace blobswarm::tracker::redis_swarm
