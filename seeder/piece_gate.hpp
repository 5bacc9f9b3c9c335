// piece_gate: a libtorrent plugin that makes the seeder send each piece of a
// torrent out once, not once per node that asks.
//
// Nodes pick pieces rarest-first from what they know, and none of them knows
// what the others have in flight from the seeder: two nodes fed by the
// seeder asked it for the same pieces, and every extra copy cost the
// seeder's link (the swarm's bottleneck) a piece's worth of time. So the
// first peer to ask for a piece owns it; another peer that asks is refused
// (BEP 6 reject) and told the seeder does not have it (lt_donthave), which
// makes its picker fetch the piece from the owner or whoever got it since.
// If the peer still lacks the piece `resend_after` later, or the owner
// disconnects, the seeder announces the piece to it again (HAVE) and serves
// it.
//
// Owning is also relaying: every piece a mirror is sent first is a piece
// the other mirrors fetch from it. The mirror whose requests reached the
// seeder first kept winning (it was ahead, so it asked for the fresh
// pieces) and ended up owning up to 40% of an image among eight, its
// uplink the bottleneck of the whole swarm. So a mirror that owns more
// than twice the median of the mirrors asking (plus a few pieces) is
// refused a piece nobody owns yet; the piece is announced to it again a
// moment later, by when another mirror usually owns it. The median, not
// the mean: one slow node among fast ones does not hold the fast ones back
// (and with two mirrors, whose median is taken as the larger count, nobody
// is ever over).
//
// Only blobswarm mirrors (by peer id) are held back: a node that wants
// nothing the seeder has left would close the connection by libtorrent's
// rule for upload-only peers, and mirrors keep it open for the pieces to
// come (mirror/keep_origins). The messages are written unencrypted, so an
// RC4-encrypted connection is not held back either. Every other client is
// served as usual.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <unordered_map>
#include <unordered_set>
#include <vector>

namespace libtorrent {
struct plugin;
}
namespace lt = libtorrent;

namespace blobswarm::seeder {

// Who owns which piece of one torrent and which pieces each peer is held
// back from. Pure: the plugin feeds it requests, ticks and departures.
class piece_owners {
 public:
  using clock = std::chrono::steady_clock;
  using peer_key = std::uint64_t;
  enum class verdict {
    serve,
    hold_new,   // refuse, and tell the peer the seeder lacks the piece
    hold_again  // refuse (a request sent before the peer heard)
  };
  // What the caller announces to a peer again (HAVE).
  struct due_pieces {
    std::vector<int> resend;  // held back from an owner's piece: served from now on
    std::vector<int> retry;   // refused as over its share while unowned: judged afresh
  };
  // A peer may own fair_factor times the median of the active peers' pieces, plus fair_slack.
  static constexpr std::size_t fair_slack = 16;
  static constexpr std::size_t fair_factor = 2;
  // Peers that asked for anything this recently count towards the median.
  static constexpr clock::duration active_within = std::chrono::seconds(3);
  // An unowned piece refused to a peer over its share is announced again this long after.
  static constexpr clock::duration retry_unowned = std::chrono::milliseconds(500);

  explicit piece_owners(clock::duration resend_after) : resend_after_(resend_after) {}

  verdict request(peer_key who, int piece, clock::time_point now);
  // Pieces `who` has been held back from for resend_after, or whose owner
  // left (served to `who` from now on), and unowned pieces it was refused
  // as over its share retry_unowned ago. The caller announces them.
  due_pieces due(peer_key who, clock::time_point now);
  // `who` got the piece (from anyone): no longer held back from it.
  void has(peer_key who, int piece);
  bool owned(int piece) const { return owner_.contains(piece); }
  // `who` disconnected: every piece it owned is free again (those held back
  // from it are released at the next `due`). Nothing is kept for a peer
  // that left: it may have completed and still seed, but it may as well be
  // gone — and when a whole first wave of nodes is gone, pieces kept owned
  // by them made every node of the next wave wait resend_after per piece.
  // A mirror that completed stays connected for a while instead
  // (mirror/keep_origins), so nodes arriving soon after still fetch its
  // pieces from it.
  void left(peer_key who);

 private:
  static constexpr peer_key no_owner = 0;  // peer keys start at 1
  struct hold {
    clock::time_point since;
    peer_key owner;  // no_owner: refused as over its share
  };
  struct peer_state {
    std::map<int, hold> held;
    std::unordered_set<int> released;
    std::size_t owned = 0;  // pieces it was the first to be sent
    clock::time_point last_request{};
  };
  bool over_share(const peer_state& p, clock::time_point now);
  void compute_share_limit(clock::time_point now);
  struct owner {
    peer_key who;
  };
  clock::duration resend_after_;
  std::unordered_map<int, owner> owner_;
  std::unordered_map<peer_key, peer_state> peers_;
  // over_share's limit (slack included). Computing it visits every peer (a
  // swarm may have hundreds, and every 16 KiB request asks), so requests
  // under it reuse it for 100 ms.
  std::size_t share_limit_ = 0;
  clock::time_point share_limit_at_{};
};

struct piece_gate_counters {
  std::atomic<std::uint64_t> held{0};      // pieces refused to a peer that asked
  std::atomic<std::uint64_t> resent{0};    // of those, sent after all (resend_after, owner left)
  std::atomic<std::uint64_t> deferred{0};  // of those, unowned ones refused as over its share
};

// The session plugin (add with lt::session::add_extension).
std::shared_ptr<lt::plugin> make_piece_gate(std::chrono::milliseconds resend_after,
                                            std::shared_ptr<piece_gate_counters> counters);

}  // namespace blobswarm::seeder
