#include "mirror/swarm.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <libtorrent/add_torrent_params.hpp>
#include <libtorrent/alert_types.hpp>
#include <libtorrent/session.hpp>
#include <libtorrent/session_params.hpp>
#include <libtorrent/settings_pack.hpp>
#include <libtorrent/torrent_info.hpp>

#include "common/logging.hpp"
#include "common/peer_fingerprint.hpp"
#include "mirror/keep_origins.hpp"
#include "mirror/node_disk_io.hpp"

namespace blobswarm::mirror {

swarm::swarm(asio::io_context& io, options o, std::shared_ptr<spdlog::logger> log)
    : io_(io), log_(std::move(log)), alive_(std::make_shared<bool>(true)) {
  lt::settings_pack pack;
  lt_settings::private_swarm_baseline(pack, {o.listen, std::string(peer_fingerprint::mirror),
                                             "blobswarm-mirror/" BLOBSWARM_VERSION});
  // `peer` brings peer_ban_alert: without it a peer banned for sending
  // corrupt pieces would go unreported.
  // A block alert per 16 KiB: on a fast link a burst of blocks fills
  // libtorrent's default queue of 2000 while this node's io thread is busy,
  // and the alerts that do not fit are dropped (downloads resync then; see
  // on_alerts_dropped). Alerts are small; room for seconds of them.
  pack.set_int(lt::settings_pack::alert_queue_size, 50000);
  pack.set_int(lt::settings_pack::alert_mask,
               lt::alert_category::error | lt::alert_category::status |
                   lt::alert_category::piece_progress | lt::alert_category::block_progress |
                   lt::alert_category::storage | lt::alert_category::peer);
  pack.set_int(lt::settings_pack::connections_limit, o.connections_limit);
  // Nodes of one deployment cooperate: no tit-for-tat. With libtorrent's
  // default of 8 upload slots per session a node that holds pieces others
  // lack (one fed by the origin, tracker origin_fanout) kept most of its
  // peers choked for an unchoke interval (15 s) at a time, and they stalled.
  pack.set_int(lt::settings_pack::unchoke_slots_limit, -1);
  pack.set_int(lt::settings_pack::aio_threads, o.disk_threads);
  pack.set_int(lt::settings_pack::upload_rate_limit, static_cast<int>(o.upload_rate));
  pack.set_int(lt::settings_pack::download_rate_limit, static_cast<int>(o.download_rate));
  // Blob swarms are small and fast: announce and connect without the
  // Internet-scale politeness delays.
  pack.set_int(lt::settings_pack::min_announce_interval, 5);
  pack.set_int(lt::settings_pack::tracker_completion_timeout, 10);
  pack.set_int(lt::settings_pack::request_timeout, 10);
  pack.set_int(lt::settings_pack::peer_connect_timeout, 5);
  // Nodes join a blob's swarm within seconds of each other; a connection
  // that failed because a peer had not added the torrent yet must be
  // retried in seconds, not after the default minute.
  pack.set_int(lt::settings_pack::min_reconnect_time, 2);
  pack.set_bool(lt::settings_pack::announce_to_all_trackers, true);
  pack.set_bool(lt::settings_pack::announce_to_all_tiers, true);
  if (auto r = lt_settings::apply(o.libtorrent, pack); !r) {
    log_->error("libtorrent settings not applied: {}", r.error().message);  // validated at start
  }
  lt::session_params params(std::move(pack));
  if (o.inline_disk_io) params.disk_io_constructor = node_disk_io_constructor();
  session_ = std::make_unique<lt::session>(std::move(params));
  session_->add_extension(make_keep_origins());
  // Rate limits (upload_rate, download_rate) hold for every peer.
  lt_settings::rate_limit_every_address(*session_);
  std::weak_ptr<bool> alive = alive_;
  session_->set_alert_notify([this, alive] {
    // Called on a libtorrent thread: hop to ours before touching anything.
    asio::post(io_, [this, alive] {
      if (alive.lock()) drain_alerts();
    });
  });
}

swarm::~swarm() {
  alive_.reset();
  session_->set_alert_notify([] {});
}

result<lt::torrent_handle> swarm::add(const std::shared_ptr<const lt::torrent_info>& ti,
                                      const std::filesystem::path& save_path,
                                      const std::vector<std::string>& trackers, bool seed_mode,
                                      std::weak_ptr<swarm_listener> listener,
                                      std::vector<lt::download_priority_t> piece_priorities) {
  lt::add_torrent_params p;
  p.piece_priorities = std::move(piece_priorities);
  auto copy = std::make_shared<lt::torrent_info>(*ti);
  copy->clear_trackers();
  p.ti = std::move(copy);
  p.save_path = save_path.string();
  p.trackers = trackers;
  p.flags &= ~lt::torrent_flags::auto_managed;
  p.flags &= ~lt::torrent_flags::paused;
  p.flags &= ~lt::torrent_flags::apply_ip_filter;
  if (seed_mode) p.flags |= lt::torrent_flags::seed_mode;
  lt::error_code ec;
  auto h = session_->add_torrent(std::move(p), ec);
  if (ec) return fail(errc::internal, "libtorrent refused the torrent: {}", ec.message());
  listeners_[h] = std::move(listener);
  return h;
}

lt::torrent_handle swarm::find(const lt::sha1_hash& v1) const {
  return session_->find_torrent(v1);
}

void swarm::remove(const lt::torrent_handle& h) {
  listeners_.erase(h);
  if (h.is_valid()) session_->remove_torrent(h);
}

void swarm::set_listener(const lt::torrent_handle& h, std::weak_ptr<swarm_listener> listener) {
  if (auto it = listeners_.find(h); it != listeners_.end()) it->second = std::move(listener);
}

void swarm::drain_alerts() {
  std::vector<lt::alert*> alerts;
  session_->pop_alerts(&alerts);
  for (auto* a : alerts) {
    auto* ta = dynamic_cast<lt::torrent_alert*>(a);
    std::shared_ptr<swarm_listener> l;
    if (ta) {
      if (auto it = listeners_.find(ta->handle); it != listeners_.end()) l = it->second.lock();
    }
    if (auto* b = lt::alert_cast<lt::block_finished_alert>(a)) {
      if (l) {
        l->on_block(peer_fingerprint::is_seeder(std::string_view(b->pid.data(), b->pid.size())));
      }
    } else if (auto* p = lt::alert_cast<lt::piece_finished_alert>(a)) {
      if (l) l->on_piece_finished(static_cast<int>(p->piece_index));
    } else if (auto* f = lt::alert_cast<lt::hash_failed_alert>(a)) {
      log_->warn("piece {} of {} failed its hash check", static_cast<int>(f->piece_index),
                 f->torrent_name());
      if (l) l->on_hash_failed(static_cast<int>(f->piece_index));
    } else if (auto* e = lt::alert_cast<lt::torrent_error_alert>(a)) {
      log_->error("torrent {}: {}", e->torrent_name(), e->error.message());
      if (l) l->on_torrent_error(e->error.message());
    } else if (auto* fe = lt::alert_cast<lt::file_error_alert>(a)) {
      log_->error("torrent {}: file error: {}", fe->torrent_name(), fe->error.message());
      if (l) l->on_torrent_error(fe->error.message());
    } else if (auto* pb = lt::alert_cast<lt::peer_ban_alert>(a)) {
      log_->warn("{}", pb->message());
    } else if (lt::alert_cast<lt::alerts_dropped_alert>(a)) {
      log_->warn("libtorrent dropped alerts (its queue was full); downloads ask their torrents");
      // Copies: a listener may add or remove torrents.
      std::vector<std::shared_ptr<swarm_listener>> all;
      for (auto& [h, weak] : listeners_) {
        if (auto l = weak.lock()) all.push_back(std::move(l));
      }
      for (auto& l : all) l->on_alerts_dropped();
    } else if (a->category() & lt::alert_category::error) {
      // Tracker alerts quote the announce URL, which holds this node's passkey.
      log_->debug("libtorrent: {}", logging::redact_passkeys(a->message()));
    }
  }
}

}  // namespace blobswarm::mirror
