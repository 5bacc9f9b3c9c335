// swarm: the peers of one registered torrent, their counts and the
// transfer totals not yet written to the database; applies announces and
// chooses the peers handed out. Pure: time comes in as an argument, the
// random generator and scratch space from the caller. Not thread-safe on
// its own: swarm_table locks the shard a swarm lives in.
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <vector>

#include "common/net.hpp"
#include "tracker/announce_request.hpp"
#include "tracker/fast_rng.hpp"
#include "tracker/peer.hpp"

namespace blobswarm::tracker {

// What an announce changed, for the counters.
struct announce_effect {
  std::uint64_t uploaded = 0;    // bytes newly reported
  std::uint64_t downloaded = 0;  // bytes newly reported
  bool completed = false;        // first event=completed of this peer
  bool removed = false;          // event=stopped removed the peer
  std::size_t index = 0;         // the announcing peer's record, unless removed
  // Records this announce replaced: the same address and port under an
  // older identity (the host's client restarted). Empty nearly always.
  std::vector<peer> superseded;
};

// Transfer totals reported since the last flush to the database.
struct pending_stats {
  std::uint64_t uploaded = 0;
  std::uint64_t downloaded = 0;
  std::uint64_t completed = 0;
  bool empty() const noexcept { return uploaded == 0 && downloaded == 0 && completed == 0; }
};

// Reusable buffers for select(); one per thread, so selecting allocates
// only while the buffers grow.
struct selection_scratch {
  std::array<std::vector<std::uint32_t>, 5> classes;
  std::vector<std::uint32_t> chosen;
};

struct selection_request {
  std::size_t self = SIZE_MAX;  // the requester's own record (never handed out)
  ip_address address;           // and its endpoint in this request's family
  std::uint16_t port = 0;
  bool seeder = false;
  bool origin = false;  // the requester is an origin
  zone_id zone = 0;
  std::uint32_t want = 0;
  std::uint32_t now = 0;
  std::uint32_t ttl = 0;  // seconds; records older than this are skipped
  // Origins (blobswarm seeders, known by their peer_id) stand by while the
  // swarm has at least this many other seeders heard from within `fresh`
  // seconds: leechers then get no origin and an origin gets no peers, so
  // the nodes serve each other and the origin's upload stays for what
  // only it has. 0: origins are handed out like any seeder.
  std::uint32_t origin_standby = 0;
  std::uint32_t fresh = 0;
  bool want_origins = false;  // the requester asks for origins anyway (origins=1)
  // Origin fan-out: at most this many leechers (heard from within `fresh`)
  // are handed the origins at a time, and an origin is handed only those
  // leechers; the others get the blob from them and from each other. An
  // origin uploading to every node at once sends most pieces several times
  // (each node asks it for what others already hold), so its link, the
  // swarm's only source of new pieces, carries copies instead of new
  // pieces. A leecher keeps its place until it seeds or goes quiet; one
  // that asks for origins (origins=1, its download stalled) is handed them
  // regardless. 0: every leecher gets the origins.
  std::uint32_t origin_fanout = 0;
  // Several origins (replicated seeders holding the same blob): a leecher
  // is handed one of them, the same for every leecher of the swarm, chosen
  // by rendezvous over the origins' users with this salt (the swarm's
  // info-hash), among those heard from within `fresh` when any is. Each
  // origin sends a piece to one node only (seeder/piece_gate), so two
  // origins serving the same nodes would send each new piece twice; the
  // others stand by, handed out to a leecher that asks for origins
  // (origins=1, its download stalled: the chosen one may be gone). Different
  // swarms get different origins, so replicated seeders share the load.
  // 0: every origin is handed out.
  std::uint64_t origin_salt = 0;
};

class swarm {
 public:
  explicit swarm(std::int64_t torrent_id = 0, std::uint64_t completed = 0) noexcept
      : torrent_id_(torrent_id), completed_(completed) {}

  std::int64_t torrent_id() const noexcept { return torrent_id_; }

  // Applies one announce from `who`. `address` (IPv4 or IPv6) fills the
  // record's slot of its family; `other`, when set, is an address of the
  // other family the peer is known by (ipv4=/ipv6= from a trusted caller).
  announce_effect announce(const peer_identity& who, const announce_request& req,
                           const ip_address& address, zone_id zone, std::uint32_t now,
                           const ip_address* other = nullptr);

  // Chooses up to req.want peers into scratch.chosen (indices into peers()):
  // a leecher gets seeders, then leechers; a seeder gets only leechers.
  // Same-zone peers come before other zones within each group, except that
  // a leecher whose zone has no seeder gets other zones' seeders before
  // its zone's leechers (so a zone never waits on itself). Random within
  // each class. Origins come first while they are wanted, and not at all
  // while they stand by (see selection_request::origin_standby). With an
  // origin_fanout it also decides, in the same pass, whether the requesting
  // leecher (req.self) takes one of the places, and remembers it in its
  // record. Of several origins, one is handed out (origin_salt).
  void select(const selection_request& req, fast_rng& rng, selection_scratch& scratch);

  // Drops peers not heard from for `ttl` seconds; returns how many.
  std::size_t expire(std::uint32_t now, std::uint32_t ttl);
  // Drops every peer of a user (deleted or revoked); returns how many.
  std::size_t remove_user(std::uint32_t user);
  // Adds a record from a snapshot (replacing one with the same identity).
  void restore(const peer& p);

  std::span<const peer> peers() const noexcept { return peers_; }
  std::uint32_t seeders() const noexcept { return seeders_; }
  std::uint32_t leechers() const noexcept {
    return static_cast<std::uint32_t>(peers_.size()) - seeders_;
  }
  // Completions ever recorded (database total plus pending).
  std::uint64_t completed() const noexcept { return completed_; }

  const pending_stats& pending() const noexcept { return pending_; }
  // Counts an announce applied elsewhere (peers in a shared store): its
  // transfer and completion go to the pending totals.
  void count(const announce_effect& e) noexcept;
  // The completions the database has recorded (refreshed from a shared
  // index): completed() becomes that plus what is pending here.
  void set_recorded_completions(std::uint64_t n) noexcept { completed_ = n + pending_.completed; }
  // Forgets every peer and counter, keeping the memory (scratch reuse).
  void clear() noexcept;
  // Replaces the peers with `records` (any order; a later record with the
  // same identity replaces an earlier one): a swarm rebuilt from a shared
  // store, to run announce() and select() on. Counters start at zero.
  void load(std::span<const peer> records);
  // Hands the pending totals to the caller (for a database flush) and
  // starts over; give_back() returns them if the flush failed.
  pending_stats take_pending() noexcept;
  void give_back(const pending_stats& p) noexcept;

 private:
  // Moves the records at this endpoint into `out` (an announce from a new
  // identity there); true when there were any.
  bool supersede(const ip_address& address, std::uint16_t port, std::vector<peer>& out);

  std::int64_t torrent_id_;
  std::vector<peer> peers_;  // sorted by identity
  std::uint32_t seeders_ = 0;
  std::uint64_t completed_ = 0;
  pending_stats pending_;
};

}  // namespace blobswarm::tracker
