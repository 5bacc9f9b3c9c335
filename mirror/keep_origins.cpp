#include "mirror/keep_origins.hpp"

#include <libtorrent/error_code.hpp>
#include <libtorrent/extensions.hpp>
#include <libtorrent/operations.hpp>
#include <libtorrent/peer_connection_handle.hpp>
#include <libtorrent/torrent_handle.hpp>
#include <libtorrent/torrent_status.hpp>
#include <optional>

#include "common/peer_fingerprint.hpp"

namespace blobswarm::mirror {

namespace {

using steady = std::chrono::steady_clock;

// One torrent's completion time, and whether it holds only the pieces it
// wanted (libtorrent's "finished" without "seeding": a ranges-only
// download). libtorrent calls every hook on its network thread, so plain
// members suffice.
struct completion {
  std::optional<steady::time_point> at;
  bool partial = false;
};

// What libtorrent closes connections for once a torrent has all the pieces
// it wants and the peer wants none of its own.
bool redundant(const lt::error_code& ec) {
  return ec == lt::errors::upload_upload_connection || ec == lt::errors::torrent_finished ||
         ec == lt::errors::uninteresting_upload_peer;
}

class keep_peer final : public lt::peer_plugin {
 public:
  keep_peer(const lt::peer_connection_handle& pc, std::shared_ptr<completion> done,
            std::chrono::seconds linger)
      : pc_(pc), done_(std::move(done)), linger_(linger) {}

  lt::string_view type() const override { return "blobswarm_keep_origins"; }

  bool can_disconnect(const lt::error_code& ec) override {
    // A node that holds part of a blob (lazy pulling: only what readers
    // asked for) wants more as soon as a reader asks again, and so may a
    // peer that holds part; reconnecting costs seconds (min_reconnect_time,
    // and the seeder's gate sends the pieces others have elsewhere).
    if (redundant(ec) && (!pc_.is_seed() || done_->partial)) return false;
    if (!origin()) return true;
    if (ec == lt::errors::uninteresting_upload_peer) return false;
    if (ec == lt::errors::upload_upload_connection || ec == lt::errors::torrent_finished) {
      // Asked as the torrent completes, before its state change reaches
      // on_state: the linger starts now.
      if (!done_->at) done_->at = steady::now();
      return !lingering();
    }
    return true;
  }

  // About once a second: the linger is over, leave.
  void tick() override {
    if (done_->at && origin() && !lingering() && !pc_.is_disconnecting()) {
      pc_.disconnect(lt::errors::upload_upload_connection, lt::operation_t::bittorrent);
    }
  }

 private:
  bool origin() const {
    const auto& id = pc_.pid();
    return peer_fingerprint::is_seeder(std::string_view(id.data(), id.size()));
  }
  bool lingering() const { return done_->at && steady::now() - *done_->at < linger_; }

  lt::peer_connection_handle pc_;
  std::shared_ptr<completion> done_;
  std::chrono::seconds linger_;
};

class keep_torrent final : public lt::torrent_plugin {
 public:
  explicit keep_torrent(std::chrono::seconds linger)
      : done_(std::make_shared<completion>()), linger_(linger) {}

  std::shared_ptr<lt::peer_plugin> new_connection(const lt::peer_connection_handle& pc) override {
    if (pc.type() != lt::connection_type::bittorrent) return nullptr;
    return std::make_shared<keep_peer>(pc, done_, linger_);
  }

  // libtorrent reports "finished" then, with every piece, "seeding", both
  // before it closes the connections it no longer needs.
  void on_state(lt::torrent_status::state_t s) override {
    done_->partial = s == lt::torrent_status::finished;
    if (!done_->at && s == lt::torrent_status::seeding) done_->at = steady::now();
  }

 private:
  std::shared_ptr<completion> done_;
  std::chrono::seconds linger_;
};

class keep_plugin final : public lt::plugin {
 public:
  explicit keep_plugin(std::chrono::seconds linger) : linger_(linger) {}
  std::shared_ptr<lt::torrent_plugin> new_torrent(const lt::torrent_handle&,
                                                  lt::client_data_t) override {
    return std::make_shared<keep_torrent>(linger_);
  }

 private:
  std::chrono::seconds linger_;
};

}  // namespace

std::shared_ptr<lt::plugin> make_keep_origins(std::chrono::seconds linger) {
  return std::make_shared<keep_plugin>(linger);
}

}  // namespace blobswarm::mirror
