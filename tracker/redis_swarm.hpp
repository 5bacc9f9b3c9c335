// redis_swarm: the Redis side of a swarm as pure code (no I/O): the key
// layout, the compact encoding of peer records, and what one announce
// reads and writes. redis_peer_store does the talking; this is what it
// says, unit-tested without a server.
//
// Layout: a swarm is two Redis hashes, its seeders and its leechers,
//   <prefix>{<40 hex of the primary key>}:s   and   ...:l
// (the braces are a Redis Cluster hash tag: both land in one slot). A
// field is a peer's identity (peer_id, user, key: 32 bytes) and its value
// the rest of the record (last announce, addresses, zone, flags, totals:
// 36 bytes for an IPv4 peer, 54 with IPv6 too). Two hashes make counts
// (HLEN) and scrapes O(1) without reading records. Every write sets both
// keys to expire peer_ttl after the swarm's last announce, so a swarm
// nobody announces to disappears by itself.
//
// One announce = read both hashes, rebuild the swarm in memory
// (swarm::load), apply the announce and choose the peers with the same
// code as the in-memory store (swarm::announce, swarm::select), then
// write the announcing peer's record back, move it between the hashes
// when it became a seeder, and delete records older than peer_ttl if they
// are still what was read (a compare-and-delete script, so a peer that
// re-announced meanwhile on another replica is not lost).
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "tracker/peer_store.hpp"

namespace blobswarm::tracker::redis_swarm {

// The default key prefix.
inline constexpr std::string_view default_prefix = "blobswarm:peers:";
inline constexpr std::size_t identity_size = 32;

struct swarm_keys {
  std::string seeders;
  std::string leechers;
  const std::string& of(bool seeder) const noexcept { return seeder ? seeders : leechers; }
};
swarm_keys keys_for(std::string_view prefix, const swarm_key& primary);

// The 32-byte field of a peer: peer_id, user (4 bytes, big-endian), key (8).
std::string_view encode_identity(const peer_identity& who, std::string& out);
std::optional<peer_identity> decode_identity(std::string_view field);
// The user a field belongs to (remove_user scans fields); nullopt if not a field.
std::optional<std::uint32_t> user_of_field(std::string_view field);

// The value of a record (everything but the identity).
std::string_view encode_record(const peer& p, std::string& out);
// A record from its field and value; nullopt when either is malformed
// (another version's data: skipped, and expired with the key).
std::optional<peer> decode(std::string_view field, std::string_view value);

// What an announce changes in Redis.
struct announce_plan {
  swarm_answer answer;        // the effect and the counts after the announce
  std::optional<peer> write;  // store this record (in the hash of write->seeder)
  // Delete the announcing peer's field from this hash (true: seeders):
  // it stopped, or moved to the other hash.
  std::optional<bool> remove_from;
  std::vector<peer> stale;  // delete these if unchanged (older than peer_ttl)
};

// Applies `in` to the swarm in scratch.work (loaded from the hashes) and
// chooses the handout into scratch.chosen. Records older than
// in.selection.ttl are neither handed out nor counted, and are listed for
// deletion.
announce_plan plan_announce(const announce_input& in, peer_scratch& scratch);

// The compare-and-delete script: KEYS[1] a hash, ARGV field, value pairs;
// deletes each field whose value is still the one given. Returns how many.
inline constexpr std::string_view delete_if_unchanged_script =
    "local n = 0 "
    "for i = 1, #ARGV, 2 do "
    "if redis.call('HGET', KEYS[1], ARGV[i]) == ARGV[i + 1] then "
    "n = n + redis.call('HDEL', KEYS[1], ARGV[i]) end end "
    "return n";

}  // namespace blobswarm::tracker::redis_swarm
