#include "tracker/swarm.hpp"

#include <algorithm>
#include <cstring>
#include <optional>
#include <span>

#include "common/peer_fingerprint.hpp"

namespace blobswarm::tracker {
namespace {

bool same_endpoint(const peer& p, const ip_address& a, std::uint16_t port) noexcept {
  if (a.v6) return p.port6 == port && std::memcmp(p.ip6.data(), a.bytes.data(), 16) == 0;
  return p.port4 == port && std::memcmp(p.ip4.data(), a.bytes.data(), 4) == 0;
}

// Appends up to `n` members of `from` to `to`, chosen at random (a partial
// Fisher-Yates shuffle of `from`, which is scratch space).
void take_random(std::vector<std::uint32_t>& from, std::size_t n, fast_rng& rng,
                 std::vector<std::uint32_t>& to) {
  std::size_t size = from.size();
  n = std::min(n, size);
  for (std::size_t i = 0; i < n; ++i) {
    auto j = i + rng.below(static_cast<std::uint32_t>(size - i));
    std::swap(from[i], from[j]);
    to.push_back(from[i]);
  }
}

// A 64-bit mix (splitmix64's finalizer): the rendezvous weight of an
// origin's user for a swarm.
std::uint64_t mix(std::uint64_t x) noexcept {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

// Keeps one of several origins in `origins` (see selection_request::
// origin_salt): the highest weight among the fresh ones, or among all when
// none is fresh.
void keep_one_origin(std::vector<std::uint32_t>& origins, std::span<const peer> peers,
                     const selection_request& req) {
  if (origins.size() < 2) return;
  std::optional<std::uint32_t> best;
  bool best_fresh = false;
  std::uint64_t best_weight = 0;
  for (auto i : origins) {
    const peer& p = peers[i];
    bool fresh = p.last_seen + req.fresh >= req.now;
    auto w = mix(req.origin_salt ^ mix(p.user));
    if (!best || (fresh && !best_fresh) || (fresh == best_fresh && w > best_weight)) {
      best = i;
      best_fresh = fresh;
      best_weight = w;
    }
  }
  origins.assign(1, *best);
}

}  // namespace

announce_effect swarm::announce(const peer_identity& who, const announce_request& req,
                                const ip_address& address, zone_id zone, std::uint32_t now,
                                const ip_address* other) {
  announce_effect effect;
  auto it = std::lower_bound(peers_.begin(), peers_.end(), who, identity_less);
  bool found = it != peers_.end() && it->identity() == who;

  if (!found) {
    if (req.event == announce_event::stopped) {
      effect.removed = true;
      return effect;
    }
    // A new identity at an endpoint another record holds is that peer
    // restarted (a node rebooted, a mirror started on an empty cache): the
    // old record describes a process that is gone. Handing it out, and
    // counting it as a seeder that keeps the origins on standby, made a
    // second wave of nodes wait for peers that no longer exist.
    if (supersede(address, req.port, effect.superseded)) {
      it = std::lower_bound(peers_.begin(), peers_.end(), who, identity_less);
    }
    peer p;
    p.id = who.id;
    p.user = who.user;
    p.key = who.key;
    // A client's totals count from its start. When the tracker first sees
    // a peer without event=started (tracker restarted without a snapshot,
    // or the peer expired), they may already have been counted: take them
    // as the baseline instead.
    if (req.event == announce_event::started) {
      effect.uploaded = req.uploaded;
      effect.downloaded = req.downloaded;
    }
    if (peers_.size() == peers_.capacity()) {
      // Grow by half instead of doubling: most swarms are small and many.
      auto at = it - peers_.begin();
      peers_.reserve(peers_.size() + peers_.size() / 2 + 1);
      it = peers_.begin() + at;
    }
    it = peers_.insert(it, p);
  } else {
    effect.uploaded = req.uploaded >= it->uploaded ? req.uploaded - it->uploaded : req.uploaded;
    effect.downloaded =
        req.downloaded >= it->downloaded ? req.downloaded - it->downloaded : req.downloaded;
  }

  peer& p = *it;
  p.uploaded = req.uploaded;
  p.downloaded = req.downloaded;
  pending_.uploaded += effect.uploaded;
  pending_.downloaded += effect.downloaded;
  if (req.event == announce_event::completed && !p.completed) {
    p.completed = true;
    effect.completed = true;
    ++completed_;
    ++pending_.completed;
  }

  if (req.event == announce_event::stopped) {
    if (p.seeder) --seeders_;
    peers_.erase(it);
    effect.removed = true;
    return effect;
  }

  for (const ip_address* a : {&address, other}) {
    if (a == nullptr) continue;
    if (a->v6) {
      std::memcpy(p.ip6.data(), a->bytes.data(), 16);
      p.port6 = req.port;
    } else {
      std::memcpy(p.ip4.data(), a->bytes.data(), 4);
      p.port4 = req.port;
    }
  }
  bool seeder = req.is_seeder();
  if (found && p.seeder != seeder) {
    seeder ? ++seeders_ : --seeders_;
  } else if (!found && seeder) {
    ++seeders_;
  }
  p.seeder = seeder;
  p.left_kib = left_in_kib(req.left);
  p.zone = zone;
  p.last_seen = now;
  effect.index = static_cast<std::size_t>(it - peers_.begin());
  return effect;
}

bool swarm::supersede(const ip_address& address, std::uint16_t port, std::vector<peer>& out) {
  if (port == 0) return false;
  auto before = peers_.size();
  std::erase_if(peers_, [&](const peer& p) {
    bool gone = same_endpoint(p, address, port);
    if (gone) {
      if (p.seeder) --seeders_;
      out.push_back(p);
    }
    return gone;
  });
  return peers_.size() != before;
}

void swarm::select(const selection_request& req, fast_rng& rng, selection_scratch& s) {
  s.chosen.clear();
  if (req.want == 0) return;
  bool fanout = req.origin_fanout != 0;
  // Classes: 0 same-zone seeders, 1 same-zone leechers, 2 other-zone
  // seeders, 3 other-zone leechers, 4 origins.
  for (auto& c : s.classes) c.clear();
  std::uint32_t other_seeders = 0;  // fresh seeders that are not origins
  std::uint32_t fed_leechers = 0;   // fresh leechers holding a place (origin_fanout)
  for (std::size_t i = 0; i < peers_.size(); ++i) {
    const peer& p = peers_[i];
    if (i == req.self) continue;
    if (p.last_seen + req.ttl < req.now) continue;
    if (p.fed && !p.seeder && p.last_seen + req.fresh >= req.now) ++fed_leechers;
    if (same_endpoint(p, req.address, req.port)) continue;  // the requester under another id
    bool origin = p.seeder && peer_fingerprint::is_seeder(p.id.view());
    if (p.seeder && !origin && p.last_seen + req.fresh >= req.now) ++other_seeders;
    if (req.seeder && p.seeder) {
      // Another origin of the swarm: is the requester the one it is served by (below)?
      if (origin && req.origin && req.origin_salt != 0) s.classes[4].push_back(i);
      continue;
    }
    if (fanout && req.origin && req.seeder && !p.fed) continue;  // not this origin's to serve
    unsigned cls = origin ? 4u : (p.zone == req.zone ? 0u : 2u) + (p.seeder ? 0u : 1u);
    s.classes[cls].push_back(static_cast<std::uint32_t>(i));
  }
  bool fed = false;
  if (req.self < peers_.size()) {
    peer& me = peers_[req.self];
    if (fanout && me.seeder) {
      me.fed = false;  // a seeder's place goes to the next leecher
    } else if (fanout && !me.fed) {
      me.fed = req.want_origins || fed_leechers < req.origin_fanout;
    }
    fed = me.fed;
  }
  bool standby =
      !req.want_origins && req.origin_standby != 0 && other_seeders >= req.origin_standby;
  if (standby && req.origin && req.seeder) {
    return;  // an origin on standby connects to no one
  }
  // Of several origins only the swarm's chosen one connects to its leechers:
  // the others would send each piece again, their piece gates knowing
  // nothing of the chosen one's (they stand by for leechers that ask for
  // origins, which connect to them).
  if (req.origin && req.seeder && !s.classes[4].empty()) {
    if (req.self >= peers_.size()) return;
    s.classes[4].push_back(static_cast<std::uint32_t>(req.self));
    std::sort(s.classes[4].begin(), s.classes[4].end());
    keep_one_origin(s.classes[4], peers_, req);
    if (s.classes[4].front() != req.self) return;
    s.classes[4].clear();
  }
  if (req.origin_salt != 0 && !req.want_origins) keep_one_origin(s.classes[4], peers_, req);
  std::array<unsigned, 5> order{4, 0, 1, 2, 3};
  if (!req.seeder && s.classes[0].empty()) order = {4, 0, 2, 1, 3};
  for (auto cls : order) {
    if (cls == 4 && (standby || (fanout && !req.want_origins && !fed))) continue;
    std::size_t room = req.want - s.chosen.size();
    if (room == 0) break;
    take_random(s.classes[cls], room, rng, s.chosen);
  }
}

std::size_t swarm::expire(std::uint32_t now, std::uint32_t ttl) {
  auto before = peers_.size();
  std::erase_if(peers_, [&](const peer& p) {
    bool old = p.last_seen + ttl < now;
    if (old && p.seeder) --seeders_;
    return old;
  });
  // A swarm that shrank a lot gives its memory back (sweeps are off the
  // announce path).
  if (peers_.capacity() > 2 * peers_.size() + 8) peers_.shrink_to_fit();
  return before - peers_.size();
}

std::size_t swarm::remove_user(std::uint32_t user) {
  auto before = peers_.size();
  std::erase_if(peers_, [&](const peer& p) {
    bool gone = p.user == user;
    if (gone && p.seeder) --seeders_;
    return gone;
  });
  return before - peers_.size();
}

void swarm::restore(const peer& p) {
  auto who = p.identity();
  auto it = std::lower_bound(peers_.begin(), peers_.end(), who, identity_less);
  if (it != peers_.end() && it->identity() == who) {
    if (it->seeder) --seeders_;
    *it = p;
  } else {
    peers_.insert(it, p);
  }
  if (p.seeder) ++seeders_;
}

void swarm::count(const announce_effect& e) noexcept {
  pending_.uploaded += e.uploaded;
  pending_.downloaded += e.downloaded;
  if (e.completed) {
    ++completed_;
    ++pending_.completed;
  }
}

void swarm::clear() noexcept {
  peers_.clear();
  seeders_ = 0;
  completed_ = 0;
  pending_ = {};
}

void swarm::load(std::span<const peer> records) {
  clear();
  peers_.assign(records.begin(), records.end());
  std::stable_sort(peers_.begin(), peers_.end(),
                   [](const peer& a, const peer& b) { return identity_less(a, b.identity()); });
  // Keep the last of equal identities.
  auto same = [](const peer& a, const peer& b) {
    return a.identity() == b.identity();
  };
  auto out = peers_.begin();
  for (auto it = peers_.begin(); it != peers_.end(); ++it) {
    if (out != peers_.begin() && same(*(out - 1), *it)) {
      *(out - 1) = *it;
    } else {
      *out++ = *it;
    }
  }
  peers_.erase(out, peers_.end());
  for (const auto& p : peers_) seeders_ += p.seeder;
}

pending_stats swarm::take_pending() noexcept {
  auto p = pending_;
  pending_ = {};
  return p;
}

void swarm::give_back(const pending_stats& p) noexcept {
  pending_.uploaded += p.uploaded;
  pending_.downloaded += p.downloaded;
  pending_.completed += p.completed;
}

}  // namespace blobswarm::tracker
