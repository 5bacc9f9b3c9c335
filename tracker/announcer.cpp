#include "tracker/announcer.hpp"

#include <algorithm>
#include <cstring>

#include "common/peer_fingerprint.hpp"
#include "tracker/announce_request.hpp"
#include "tracker/memory_peer_store.hpp"
#include "tracker/reply_writer.hpp"
#include "tracker/scrape_request.hpp"

namespace blobswarm::tracker {
namespace {

constexpr std::string_view unknown_passkey_reason =
    "unknown passkey: the user does not exist, was deleted, or the passkey was rotated";
constexpr std::string_view unregistered_reason =
    "torrent is not registered with this tracker (private tracker)";

bool plausible_passkey(std::string_view p) noexcept {
  return !p.empty() && p.size() <= 128;
}

void write_compact_peer(std::string& out, const std::uint8_t* ip, std::size_t n,
                        std::uint16_t port) {
  char entry[18];
  std::memcpy(entry, ip, n);
  entry[n] = static_cast<char>(port >> 8);
  entry[n + 1] = static_cast<char>(port & 0xff);
  out.append(entry, n + 2);
}

void write_dict_peer(reply_writer& w, std::string_view ip_text, const peer& p, std::uint16_t port,
                     bool with_id) {
  w.dict().string("ip").string(ip_text);
  if (with_id) w.string("peer id").string(p.id.view());
  w.string("port").integer(port).end();
}

}  // namespace

std::string_view to_string(announce_result r) noexcept {
  switch (r) {
    case announce_result::ok:
      return "ok";
    case announce_result::bad_request:
      return "bad_request";
    case announce_result::unknown_passkey:
      return "unknown_passkey";
    case announce_result::unregistered:
      return "unregistered";
    case announce_result::unavailable:
      return "unavailable";
  }
  return "ok";
}

announcer::announcer(announce_policy policy, user_table& users, swarm_table& swarms,
                     const zone_map& zones, zone_directory* zone_names)
    : policy_(std::move(policy)),
      owned_(std::make_unique<memory_peer_store>(swarms)),
      users_(users),
      peers_(*owned_),
      zones_(zones),
      zone_names_(zone_names) {}

std::string announcer::unavailable_reason(const error& e) {
  return "tracker peer store unavailable, try again shortly (" + e.message.substr(0, 200) + ")";
}

bool announcer::trusted(const ip_address& a) const noexcept {
  return std::any_of(policy_.trusted.begin(), policy_.trusted.end(),
                     [&](const cidr& c) { return c.contains(a); });
}

announce_outcome announcer::announce(std::string_view passkey, std::string_view query,
                                     const ip_address& remote, std::uint32_t now,
                                     announce_scratch& scratch) const {
  std::string& out = scratch.reply;
  announce_outcome outcome;
  if (!plausible_passkey(passkey)) {
    reply_writer::failure(out, unknown_passkey_reason);
    outcome.result = announce_result::unknown_passkey;
    return outcome;
  }
  auto key = scratch.hasher(passkey);
  auto user = users_.find_id(key);
  if (!user) {
    reply_writer::failure(out, unknown_passkey_reason);
    outcome.result = announce_result::unknown_passkey;
    return outcome;
  }
  auto req = announce_request::parse(query);
  if (!req) {
    reply_writer::failure(out, req.error().message);
    outcome.result = announce_result::bad_request;
    return outcome;
  }

  // Where the peer is: the connection's address, unless a trusted caller
  // (a proxy, a test harness) says otherwise.
  ip_address address = remote.unmapped();
  std::optional<ip_address> other;
  std::string_view warning;
  if (trusted(address)) {
    if (!req->ip.empty()) {
      auto a = announce_request::parse_address(req->ip);
      if (!a) {
        reply_writer::failure(out, "ip is not an IPv4 or IPv6 address");
        outcome.result = announce_result::bad_request;
        return outcome;
      }
      address = *a;
    }
    for (auto raw : {req->ipv4, req->ipv6}) {
      if (raw.empty()) continue;
      auto a = announce_request::parse_address(raw);
      if (a && a->v6 != address.v6) other = *a;
      if (a && a->v6 == address.v6 && req->ip.empty()) address = *a;
    }
  } else if (!req->ip.empty()) {
    warning = "ip= ignored: only trusted addresses may set a peer's address";
  }

  zone_id zone = req->zone.empty() ? zones_.lookup(address) : zone_of_name(req->zone);
  if (zone_names_ != nullptr && !req->zone.empty()) zone_names_->note(zone, req->zone);
  std::uint32_t want = req->numwant.value_or(policy_.default_numwant);
  if (want > policy_.max_numwant) want = policy_.max_numwant;
  if (req->event == announce_event::stopped) want = 0;

  announce_input in;
  in.who = peer_identity{req->peer, *user, req->key};
  in.req = &*req;
  in.address = address;
  in.other = other;
  in.zone = zone;
  in.now = now;
  selection_request& sel = in.selection;
  sel.address = address;
  sel.port = req->port;
  sel.seeder = req->is_seeder();
  sel.origin = peer_fingerprint::is_seeder(req->peer.view());
  sel.zone = zone;
  sel.want = want;
  sel.now = now;
  sel.ttl = policy_.peer_ttl;
  sel.origin_standby = policy_.origin_standby;
  sel.fresh = policy_.interval + policy_.interval / 2;
  sel.want_origins = req->origins;
  sel.origin_fanout = policy_.origin_fanout;
  // The swarm's salt for choosing one of several origins: its info-hash.
  std::uint64_t salt = 0;
  std::memcpy(&salt, req->info_hash.bytes.data(), sizeof salt);
  sel.origin_salt = salt | 1;  // never 0 (which means: every origin)
  auto answer = peers_.announce(in, scratch.peers);
  if (!answer) {
    reply_writer::failure(out, unavailable_reason(answer.error()));
    outcome.result = announce_result::unavailable;
    return outcome;
  }
  if (!*answer) {
    reply_writer::failure(out, unregistered_reason);
    outcome.result = announce_result::unregistered;
    return outcome;
  }
  const auto& effect = (*answer)->effect;
  outcome.uploaded = effect.uploaded;
  outcome.downloaded = effect.downloaded;
  outcome.completed = effect.completed;

  // Keys in sorted order: complete, external ip, incomplete, interval,
  // min interval, peers, peers6, warning message.
  const auto& chosen = scratch.peers.chosen;
  reply_writer w(out);
  w.dict();
  w.string("complete").integer((*answer)->seeders);
  w.string("external ip").string(address.raw());
  w.string("incomplete").integer((*answer)->leechers);
  w.string("interval").integer(policy_.interval);
  w.string("min interval").integer(policy_.min_interval);
  if (req->compact) {
    std::size_t n4 = 0, n6 = 0;
    for (const auto& p : chosen) {
      n4 += p.has_v4();
      n6 += p.has_v6();
    }
    w.string("peers").string_header(n4 * 6);
    for (const auto& p : chosen) {
      if (p.has_v4()) write_compact_peer(out, p.ip4.data(), 4, p.port4);
    }
    if (n6 > 0) {
      w.string("peers6").string_header(n6 * 18);
      for (const auto& p : chosen) {
        if (p.has_v6()) write_compact_peer(out, p.ip6.data(), 16, p.port6);
      }
    }
  } else {
    // The dictionary model carries both families in one list.
    w.string("peers").list();
    for (const auto& p : chosen) {
      if (p.has_v4()) {
        ip_address a;
        std::copy(p.ip4.begin(), p.ip4.end(), a.bytes.begin());
        write_dict_peer(w, a.str(), p, p.port4, !req->no_peer_id);
      }
      if (p.has_v6()) {
        ip_address a;
        a.v6 = true;
        std::copy(p.ip6.begin(), p.ip6.end(), a.bytes.begin());
        write_dict_peer(w, a.str(), p, p.port6, !req->no_peer_id);
      }
    }
    w.end();
  }
  if (!warning.empty()) w.string("warning message").string(warning);
  w.end();

  user_pending delta;
  delta.uploaded = outcome.uploaded;
  delta.downloaded = outcome.downloaded;
  delta.completed = outcome.completed ? 1 : 0;
  delta.announces = 1;
  delta.last_announce = now;
  users_.record(key, delta);
  return outcome;
}

announce_result announcer::scrape(std::string_view passkey, std::string_view query,
                                  announce_scratch& scratch) const {
  std::string& out = scratch.reply;
  if (!plausible_passkey(passkey) || !users_.find_id(scratch.hasher(passkey))) {
    reply_writer::failure(out, unknown_passkey_reason);
    return announce_result::unknown_passkey;
  }
  auto req = scrape_request::parse(query);
  if (!req) {
    reply_writer::failure(out, req.error().message);
    return announce_result::bad_request;
  }
  auto hashes = req->info_hashes();
  auto counts = peers_.counts(hashes);
  if (!counts) {
    reply_writer::failure(out, unavailable_reason(counts.error()));
    return announce_result::unavailable;
  }
  reply_writer w(out);
  w.dict().string("files").dict();
  for (std::size_t i = 0; i < hashes.size(); ++i) {
    // Unregistered hashes are left out (BEP 48).
    const auto& c = (*counts)[i];
    if (!c) continue;
    w.string(hashes[i].view()).dict();
    w.string("complete").integer(c->seeders);
    w.string("downloaded").integer(static_cast<std::int64_t>(c->completed));
    w.string("incomplete").integer(c->leechers);
    w.end();
  }
  w.end().end();
  return announce_result::ok;
}

}  // namespace blobswarm::tracker
