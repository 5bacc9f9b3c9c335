#include "seeder/piece_gate.hpp"

#include <algorithm>
#include <libtorrent/bdecode.hpp>
#include <libtorrent/error_code.hpp>
#include <libtorrent/extensions.hpp>
#include <libtorrent/io.hpp>
#include <libtorrent/peer_connection_handle.hpp>
#include <libtorrent/peer_info.hpp>
#include <libtorrent/peer_request.hpp>
#include <libtorrent/torrent_handle.hpp>
#include <libtorrent/torrent_info.hpp>
#include <optional>

#include "common/peer_fingerprint.hpp"

namespace blobswarm::seeder {

void piece_owners::compute_share_limit(clock::time_point now) {
  std::vector<std::size_t> owned;
  for (const auto& [key, s] : peers_) {
    if (now - s.last_request <= active_within) owned.push_back(s.owned);
  }
  // The peer asking is active, so there is a median, and the peer owning
  // the least is never over: some peer can always take a fresh piece.
  auto mid = owned.begin() + static_cast<std::ptrdiff_t>(owned.size() / 2);
  std::nth_element(owned.begin(), mid, owned.end());
  share_limit_ = (owned.empty() ? 0 : fair_factor * *mid) + fair_slack;
  share_limit_at_ = now;
}

bool piece_owners::over_share(const peer_state& p, clock::time_point now) {
  // Most requests come from peers well under the limit: a limit up to
  // 100 ms old decides those. A refusal is always decided on a fresh one.
  if (share_limit_at_ == clock::time_point{} ||
      now - share_limit_at_ >= std::chrono::milliseconds(100)) {
    compute_share_limit(now);
  }
  if (p.owned <= share_limit_) return false;
  if (share_limit_at_ != now) compute_share_limit(now);
  return p.owned > share_limit_;
}

piece_owners::verdict piece_owners::request(peer_key who, int piece, clock::time_point now) {
  auto& p = peers_[who];
  p.last_request = now;
  auto it = owner_.find(piece);
  if (it == owner_.end()) {
    if (!p.held.contains(piece) && !over_share(p, now)) {
      owner_.emplace(piece, owner{who});
      ++p.owned;
      return verdict::serve;
    }
    auto [h, inserted] = p.held.try_emplace(piece, hold{now, no_owner});
    return inserted ? verdict::hold_new : verdict::hold_again;
  }
  if (it->second.who == who || p.released.contains(piece)) return verdict::serve;
  auto [h, inserted] = p.held.try_emplace(piece, hold{now, it->second.who});
  return inserted ? verdict::hold_new : verdict::hold_again;
}

piece_owners::due_pieces piece_owners::due(peer_key who, clock::time_point now) {
  due_pieces out;
  auto p = peers_.find(who);
  if (p == peers_.end()) return out;
  auto& held = p->second.held;
  for (auto it = held.begin(); it != held.end();) {
    auto o = owner_.find(it->first);
    auto& h = it->second;
    if (h.owner == no_owner) {
      if (o != owner_.end()) {
        // Another peer took it meanwhile: held back from that one now.
        h = hold{now, o->second.who};
        ++it;
      } else if (now - h.since >= retry_unowned) {
        out.retry.push_back(it->first);
        it = held.erase(it);
      } else {
        ++it;
      }
      continue;
    }
    bool owner_gone = o == owner_.end() || o->second.who != h.owner;
    if (!owner_gone && now - h.since < resend_after_) {
      ++it;
      continue;
    }
    out.resend.push_back(it->first);
    p->second.released.insert(it->first);
    // The first to be served it after its owner left owns it now.
    if (owner_gone && owner_.try_emplace(it->first, owner{who}).second) ++p->second.owned;
    it = held.erase(it);
  }
  return out;
}

void piece_owners::has(peer_key who, int piece) {
  if (auto p = peers_.find(who); p != peers_.end()) p->second.held.erase(piece);
}

void piece_owners::left(peer_key who) {
  peers_.erase(who);
  std::erase_if(owner_, [who](const auto& o) { return o.second.who == who; });
}

namespace {

using steady = piece_owners::clock;

// BitTorrent messages, written with the plugin API's send_buffer: libtorrent
// exports no message writers to plugins, and the bytes go out unencrypted.
// Each is <length><id><payload>, big-endian (libtorrent's io.hpp writers).
void send_have(lt::peer_connection_handle& pc, int piece) {
  char msg[9];
  char* p = msg;
  lt::aux::write_uint32(5, p);
  lt::aux::write_uint8(4, p);  // have
  lt::aux::write_int32(piece, p);
  pc.send_buffer(msg, sizeof msg);
}

void send_reject(lt::peer_connection_handle& pc, const lt::peer_request& r) {
  char msg[17];
  char* p = msg;
  lt::aux::write_uint32(13, p);
  lt::aux::write_uint8(16, p);  // reject request (BEP 6)
  lt::aux::write_int32(static_cast<int>(r.piece), p);
  lt::aux::write_int32(r.start, p);
  lt::aux::write_int32(r.length, p);
  pc.send_buffer(msg, sizeof msg);
}

void send_dont_have(lt::peer_connection_handle& pc, std::uint8_t ext_id, int piece) {
  char msg[10];
  char* p = msg;
  lt::aux::write_uint32(6, p);
  lt::aux::write_uint8(20, p);  // extended (BEP 10)
  lt::aux::write_uint8(ext_id, p);
  lt::aux::write_int32(piece, p);
  pc.send_buffer(msg, sizeof msg);
}

struct gate_torrent_state {
  gate_torrent_state(int pieces, std::chrono::milliseconds resend_after,
                     std::shared_ptr<piece_gate_counters> c)
      : num_pieces(pieces), owners(resend_after), counters(std::move(c)) {}
  int num_pieces;
  piece_owners owners;
  std::shared_ptr<piece_gate_counters> counters;
  piece_owners::peer_key next_key = 1;
};

class gate_peer final : public lt::peer_plugin {
 public:
  gate_peer(std::shared_ptr<gate_torrent_state> state, const lt::peer_connection_handle& pc)
      : state_(std::move(state)), pc_(pc), key_(state_->next_key++) {}
  ~gate_peer() override { state_->owners.left(key_); }

  lt::string_view type() const override { return "blobswarm_piece_gate"; }

  bool on_handshake(lt::span<const char> reserved) override {
    // BEP 6 (fast extension): reserved byte 7, bit 0x04. The peer id is
    // known by now.
    fast_ = reserved.size() >= 8 && (reserved[7] & 0x04) != 0;
    const auto& id = pc_.pid();
    mirror_ = peer_fingerprint::is_mirror(std::string_view(id.data(), id.size()));
    return true;
  }

  bool on_extension_handshake(const lt::bdecode_node& h) override {
    // The message id the peer wants lt_donthave messages under.
    auto m = h.dict_find_dict("m");
    auto id = m ? m.dict_find_int_value("lt_donthave", 0) : 0;
    dont_have_id_ = id > 0 && id < 256 ? static_cast<std::uint8_t>(id) : 0;
    return true;
  }

  void on_disconnect(const lt::error_code&) override { state_->owners.left(key_); }

  // A mirror that completed stays a while to relay what it owns, then
  // leaves by itself (mirror/keep_origins): ownership lasts as long as the
  // connection, so the seeder does not close it as redundant.
  bool can_disconnect(const lt::error_code& ec) override {
    return !(mirror_ &&
             (ec == lt::errors::upload_upload_connection ||
              ec == lt::errors::uninteresting_upload_peer || ec == lt::errors::torrent_finished));
  }

  bool on_have(lt::piece_index_t piece) override {
    state_->owners.has(key_, static_cast<int>(piece));
    return false;
  }

  bool on_request(const lt::peer_request& r) override {
    int piece = static_cast<int>(r.piece);
    // Out-of-range requests are libtorrent's to refuse.
    if (!mirror_ || !fast_ || dont_have_id_ == 0 || piece < 0 || piece >= state_->num_pieces) {
      return false;
    }
    if (!rc4_) {
      // Known once the handshake is done. The messages below go into the
      // send buffer as they are: on an RC4-encrypted connection (a peer
      // that insists on it; libtorrent's default is plaintext after an
      // obfuscated handshake) they would break the stream.
      lt::peer_info pi;
      pc_.get_peer_info(pi);
      rc4_ = static_cast<bool>(pi.flags & lt::peer_info::rc4_encrypted);
    }
    if (*rc4_) return false;
    auto v = state_->owners.request(key_, piece, steady::now());
    if (v == piece_owners::verdict::serve) return false;
    send_reject(pc_, r);
    if (v == piece_owners::verdict::hold_new) {
      send_dont_have(pc_, dont_have_id_, piece);
      state_->counters->held.fetch_add(1, std::memory_order_relaxed);
      if (!state_->owners.owned(piece)) {
        state_->counters->deferred.fetch_add(1, std::memory_order_relaxed);
      }
    }
    return true;
  }

  // About once a second.
  void tick() override {
    auto due = state_->owners.due(key_, steady::now());
    for (int piece : due.resend) {
      if (pc_.has_piece(lt::piece_index_t(piece))) continue;
      send_have(pc_, piece);
      state_->counters->resent.fetch_add(1, std::memory_order_relaxed);
    }
    for (int piece : due.retry) {
      if (!pc_.has_piece(lt::piece_index_t(piece))) send_have(pc_, piece);
    }
  }

 private:
  std::shared_ptr<gate_torrent_state> state_;
  lt::peer_connection_handle pc_;
  piece_owners::peer_key key_;
  bool mirror_ = false;
  bool fast_ = false;
  std::uint8_t dont_have_id_ = 0;
  std::optional<bool> rc4_;
};

class gate_torrent final : public lt::torrent_plugin {
 public:
  explicit gate_torrent(std::shared_ptr<gate_torrent_state> state) : state_(std::move(state)) {}

  std::shared_ptr<lt::peer_plugin> new_connection(const lt::peer_connection_handle& pc) override {
    if (pc.type() != lt::connection_type::bittorrent) return nullptr;
    return std::make_shared<gate_peer>(state_, pc);
  }

 private:
  std::shared_ptr<gate_torrent_state> state_;
};

class gate_plugin final : public lt::plugin {
 public:
  gate_plugin(std::chrono::milliseconds resend_after, std::shared_ptr<piece_gate_counters> c)
      : resend_after_(resend_after), counters_(std::move(c)) {}

  std::shared_ptr<lt::torrent_plugin> new_torrent(const lt::torrent_handle& h,
                                                  lt::client_data_t) override {
    // On the network thread, where the handle's calls run inline. The
    // seeder adds every torrent with its metadata.
    auto ti = h.torrent_file();
    if (!ti || ti->num_pieces() < 2) return nullptr;
    return std::make_shared<gate_torrent>(
        std::make_shared<gate_torrent_state>(ti->num_pieces(), resend_after_, counters_));
  }

 private:
  std::chrono::milliseconds resend_after_;
  std::shared_ptr<piece_gate_counters> counters_;
};

}  // namespace

std::shared_ptr<lt::plugin> make_piece_gate(std::chrono::milliseconds resend_after,
                                            std::shared_ptr<piece_gate_counters> counters) {
  return std::make_shared<gate_plugin>(resend_after, std::move(counters));
}

}  // namespace blobswarm::seeder
