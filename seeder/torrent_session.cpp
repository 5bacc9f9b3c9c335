#include "seeder/torrent_session.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <libtorrent/add_torrent_params.hpp>
#include <libtorrent/alert_types.hpp>
#include <libtorrent/extensions/smart_ban.hpp>
#include <libtorrent/session.hpp>
#include <libtorrent/session_params.hpp>
#include <libtorrent/session_stats.hpp>
#include <libtorrent/settings_pack.hpp>
#include <libtorrent/torrent_info.hpp>
#include <libtorrent/torrent_status.hpp>

#include "common/peer_fingerprint.hpp"
#include "seeder/piece_gate.hpp"
#include "seeder/seed_disk_io.hpp"

namespace blobswarm::seeder {

namespace {

lt::sha1_hash to_lt(const info_hash& ih) {
  return lt::sha1_hash(ih.raw().data());
}

info_hash from_lt(const lt::sha1_hash& h) {
  return *info_hash::from_raw(std::string_view(h.data(), h.size()));
}

}  // namespace

struct torrent_session::impl {
  std::unique_ptr<lt::session> session;
  std::map<info_hash, lt::torrent_handle> handles;
  std::unique_ptr<asio::steady_timer> ticker;
  int sent_payload_idx = -1;
  int peers_idx = -1;
};

torrent_session::torrent_session(asio::io_context& io, session_options options,
                                 std::shared_ptr<spdlog::logger> log)
    : io_(io),
      options_(std::move(options)),
      log_(std::move(log)),
      sources_(std::make_shared<seed_sources>()),
      gate_(std::make_shared<piece_gate_counters>()),
      impl_(std::make_unique<impl>()),
      alive_(std::make_shared<bool>(true)) {
  lt::settings_pack pack = lt::high_performance_seed();
  // Block requests a peer may have waiting here; peers learn it from the
  // extension handshake (reqq) and send no more. high_performance_seed's
  // 2000 (31 MiB per mirror) let every mirror queue seconds of the link:
  // the piece gate gives a piece to the first mirror that asks, so pieces
  // were owned long before they left, others were held back meanwhile and
  // then sent them after all (resend_after), and mirrors with deep queues
  // took most of the link. 64 (1 MiB per mirror) still covers a 10 ms
  // round trip at 100 MB/s per mirror (bench/swarm, bench/RESULTS.md).
  pack.set_int(lt::settings_pack::max_allowed_in_request_queue, 64);
  lt_settings::private_swarm_baseline(
      pack, {options_.listen,
             // Mirrors tell the seeder's bytes from other nodes' by it.
             std::string(peer_fingerprint::seeder), "blobswarm-seeder/" BLOBSWARM_VERSION});
  // Kept out of the way in case anything is ever managed.
  pack.set_int(lt::settings_pack::active_tracker_limit, -1);
  pack.set_int(lt::settings_pack::unchoke_slots_limit, options_.unchoke_slots);
  pack.set_int(lt::settings_pack::upload_rate_limit,
               static_cast<int>(std::min<std::uint64_t>(options_.upload_rate_limit, INT32_MAX)));
  pack.set_int(lt::settings_pack::alert_mask, lt::alert_category::error |
                                                  lt::alert_category::status |
                                                  lt::alert_category::tracker);
  // Stop quickly at shutdown.
  pack.set_int(lt::settings_pack::stop_tracker_timeout, 2);
  if (auto r = lt_settings::apply(options_.libtorrent, pack); !r) {
    log_->error("libtorrent settings not applied: {}", r.error().message);  // validated at start
  }
  // No default plugins: ut_pex and ut_metadata have no place in a private
  // swarm whose members already hold the torrent. smart_ban and piece_gate
  // are added below.
  lt::session_params params(std::move(pack), std::vector<std::shared_ptr<lt::plugin>>{});
  params.disk_io_constructor = seed_disk_io_constructor(sources_, options_.disk_threads);
  impl_->session = std::make_unique<lt::session>(std::move(params));
  impl_->session->add_extension(&lt::create_smart_ban_plugin);
  if (options_.resend_after.count() > 0) {
    impl_->session->add_extension(make_piece_gate(options_.resend_after, gate_));
  }
  if (options_.upload_rate_limit > 0) {
    lt_settings::rate_limit_every_address(*impl_->session);
  }
  impl_->sent_payload_idx = lt::find_metric_idx("net.sent_payload_bytes");
  impl_->peers_idx = lt::find_metric_idx("peer.num_peers_connected");
  std::weak_ptr<bool> alive = alive_;
  impl_->session->set_alert_notify([this, alive] {
    // Called on libtorrent's thread: hop to ours.
    asio::post(io_, [this, alive] {
      if (alive.lock()) on_alerts();
    });
  });
  impl_->ticker = std::make_unique<asio::steady_timer>(io_);
  tick();
}

torrent_session::~torrent_session() {
  shutdown();
}

void torrent_session::shutdown() {
  if (!impl_->session) return;
  log_->info(
      "uploaded {} payload bytes to peers; {} pieces held back from a peer another had "
      "been sent, {} of them sent after all; {} fresh pieces refused to a peer over its share",
      uploaded_, gate_->held.load(), gate_->resent.load(), gate_->deferred.load());
  alive_.reset();
  impl_->ticker->cancel();
  impl_->session->set_alert_notify([] {});
  // The proxy's destructor waits for the tracker "stopped" announces
  // (stop_tracker_timeout) and the disk threads.
  auto proxy = impl_->session->abort();
  impl_->handles.clear();
  impl_->session.reset();
  torrents_.clear();
  announce_waiters_.clear();
  announce_retries_.clear();
}

void torrent_session::tick() {
  if (!impl_->session) return;
  impl_->session->post_session_stats();
  impl_->ticker->expires_after(std::chrono::seconds(1));
  std::weak_ptr<bool> alive = alive_;
  impl_->ticker->async_wait([this, alive](boost::system::error_code ec) {
    if (!ec && alive.lock()) tick();
  });
}

result<info_hash> torrent_session::add_seed(std::string_view torrent,
                                            const std::filesystem::path& path, std::uint64_t offset,
                                            std::shared_ptr<unique_fd> fd) {
  return add(torrent, path, offset, std::move(fd), false);
}

result<info_hash> torrent_session::add_download(std::string_view torrent,
                                                const std::filesystem::path& path,
                                                std::uint64_t offset,
                                                std::shared_ptr<unique_fd> fd) {
  if (!fd) return fail(errc::invalid_argument, "a download needs a writable descriptor");
  return add(torrent, path, offset, std::move(fd), true);
}

result<info_hash> torrent_session::add(std::string_view torrent, const std::filesystem::path& path,
                                       std::uint64_t offset, std::shared_ptr<unique_fd> fd,
                                       bool download) {
  if (!impl_->session) return fail(errc::unavailable, "the torrent session is shut down");
  lt::error_code ec;
  auto ti = std::make_shared<lt::torrent_info>(
      lt::span<const char>(torrent.data(), static_cast<std::ptrdiff_t>(torrent.size())), ec,
      lt::from_span);
  if (ec) return fail(errc::invalid_argument, "cannot load torrent: {}", ec.message());
  auto ih = from_lt(ti->info_hashes().v1);
  if (torrents_.contains(ih)) return ih;
  sources_->bind(to_lt(ih),
                 seed_sources::source{
                     .fd = std::move(fd), .path = path, .offset = offset, .writable = download});
  lt::add_torrent_params p;
  p.ti = std::move(ti);
  p.save_path = path.parent_path().string();
  p.flags &= ~(lt::torrent_flags::auto_managed | lt::torrent_flags::paused |
               lt::torrent_flags::need_save_resume);
  if (!download) p.flags |= lt::torrent_flags::seed_mode;
  if (!announce_url_.empty()) p.trackers.push_back(announce_url_);
  impl_->session->async_add_torrent(std::move(p));
  torrents_.emplace(ih, 1);
  return ih;
}

download_status torrent_session::status_of(const info_hash& ih) const {
  download_status out;
  auto it = impl_->handles.find(ih);
  if (!impl_->session || it == impl_->handles.end() || !it->second.is_valid()) return out;
  try {
    auto st = it->second.status(lt::torrent_handle::query_pieces);
    out.known = true;
    out.finished = st.is_seeding;
    out.done = static_cast<std::uint64_t>(st.total_wanted_done);
    out.pieces.resize(static_cast<std::size_t>(st.pieces.size()));
    for (int i = 0; i < st.pieces.size(); ++i) {
      out.pieces[static_cast<std::size_t>(i)] = st.pieces.get_bit(lt::piece_index_t(i));
    }
  } catch (const std::exception& e) {
    log_->debug("no status for {}: {}", ih, e.what());  // removed meanwhile
    out.known = false;
  }
  return out;
}

void torrent_session::remove(const info_hash& ih) {
  if (!impl_->session || !torrents_.erase(ih)) return;
  auto it = impl_->handles.find(ih);
  lt::torrent_handle h =
      it != impl_->handles.end() ? it->second : impl_->session->find_torrent(to_lt(ih));
  if (it != impl_->handles.end()) impl_->handles.erase(it);
  announced_.erase(ih);
  announce_waiters_.erase(ih);
  announce_retries_.erase(ih);
  // A torrent whose add is still queued is removed when its add alert
  // arrives (it is no longer in torrents_).
  if (h.is_valid()) impl_->session->remove_torrent(h);
  sources_->unbind(to_lt(ih));
}

void torrent_session::reannounce(const info_hash& ih) {
  if (!impl_->session || announce_url_.empty()) return;
  try {
    auto it = impl_->handles.find(ih);
    auto h = it != impl_->handles.end() ? it->second : impl_->session->find_torrent(to_lt(ih));
    if (h.is_valid()) h.force_reannounce(0, -1, lt::torrent_handle::ignore_min_interval);
  } catch (const std::exception& e) {
    log_->debug("cannot re-announce {}: {}", ih, e.what());  // removed meanwhile
  }
}

void torrent_session::when_announced(const info_hash& ih, std::function<void()> f) {
  if (!torrents_.contains(ih)) return;
  if (announced_.contains(ih)) {
    f();
    return;
  }
  announce_waiters_[ih].push_back(std::move(f));
}

bool torrent_session::retry_announce(const info_hash& ih) {
  auto& tries = announce_retries_[ih];
  if (tries >= max_announce_retries) return false;
  ++tries;
  auto timer = std::make_shared<asio::steady_timer>(io_, std::chrono::milliseconds(100));
  std::weak_ptr<bool> alive = alive_;
  timer->async_wait([this, alive, timer, ih](boost::system::error_code ec) {
    if (ec || !alive.lock() || !announce_waiters_.contains(ih) || announce_url_.empty()) return;
    auto it = impl_->handles.find(ih);
    if (it == impl_->handles.end()) return;
    try {
      // A fresh tracker entry: libtorrent keeps backing off a tracker that
      // said "failure reason", even when asked to announce now.
      it->second.replace_trackers({lt::announce_entry(announce_url_)});
      it->second.force_reannounce(0, -1, lt::torrent_handle::ignore_min_interval);
    } catch (const std::exception& e) {
      log_->debug("cannot re-announce {}: {}", ih, e.what());  // removed meanwhile
    }
  });
  return true;
}

void torrent_session::set_announce_url(std::string url) {
  if (url == announce_url_) return;
  announce_url_ = std::move(url);
  for (auto& [ih, h] : impl_->handles) {
    try {
      if (!h.is_valid()) continue;
      h.replace_trackers({lt::announce_entry(announce_url_)});
      h.force_reannounce();
    } catch (const std::exception& e) {
      log_->debug("cannot set the tracker of {}: {}", ih, e.what());  // removed meanwhile
    }
  }
}

session_stats torrent_session::stats() const {
  return session_stats{.torrents = torrents_.size(),
                       .uploaded_payload = uploaded_,
                       .peers = peers_,
                       .pieces_held = gate_->held.load(std::memory_order_relaxed),
                       .pieces_resent = gate_->resent.load(std::memory_order_relaxed),
                       .pieces_deferred = gate_->deferred.load(std::memory_order_relaxed)};
}

void torrent_session::on_alerts() {
  if (!impl_->session) return;
  std::vector<lt::alert*> alerts;
  impl_->session->pop_alerts(&alerts);
  for (auto* a : alerts) {
    // Handle calls throw for torrents removed in the meantime; one bad
    // alert must not take the executor down.
    try {
      handle(a);
    } catch (const std::exception& e) {
      log_->warn("while handling {}: {}", a->what(), e.what());
    }
  }
}

void torrent_session::handle(lt::alert* a) {
  if (auto* added = lt::alert_cast<lt::add_torrent_alert>(a)) {
    if (added->error) {
      log_->error("cannot seed {}: {}", added->params.ti ? added->params.ti->name() : "?",
                  added->error.message());
      return;
    }
    // From the parameters, not the handle: the torrent may already be gone.
    if (!added->params.ti) return;
    auto ih = from_lt(added->params.ti->info_hashes().v1);
    if (!torrents_.contains(ih)) {
      // Removed while it was being added.
      impl_->session->remove_torrent(added->handle);
      return;
    }
    impl_->handles[ih] = added->handle;
    // The announce URL may have arrived after the add was queued.
    if (!announce_url_.empty() && added->handle.trackers().empty()) {
      added->handle.replace_trackers({lt::announce_entry(announce_url_)});
      added->handle.force_reannounce();
    }
    return;
  }
  if (auto* ls = lt::alert_cast<lt::listen_succeeded_alert>(a)) {
    if (ls->socket_type == lt::socket_type_t::tcp) {
      listen_port_ = static_cast<std::uint16_t>(ls->port);
      log_->info("seeding on {}:{}", ls->address.to_string(), ls->port);
    }
    return;
  }
  if (auto* lf = lt::alert_cast<lt::listen_failed_alert>(a)) {
    listen_error_ =
        fmt::format("cannot listen for peers on {}: {}", options_.listen, lf->error.message());
    log_->error("{}", listen_error_);
    return;
  }
  if (auto* st = lt::alert_cast<lt::session_stats_alert>(a)) {
    auto counters = st->counters();
    if (impl_->sent_payload_idx >= 0) {
      uploaded_ = static_cast<std::uint64_t>(counters[impl_->sent_payload_idx]);
    }
    if (impl_->peers_idx >= 0) peers_ = static_cast<std::uint64_t>(counters[impl_->peers_idx]);
    return;
  }
  if (auto* tr = lt::alert_cast<lt::tracker_reply_alert>(a)) {
    auto ih = from_lt(tr->handle.info_hashes().v1);
    if (!torrents_.contains(ih) || !announced_.insert(ih).second) return;
    auto waiters = std::move(announce_waiters_[ih]);
    announce_waiters_.erase(ih);
    announce_retries_.erase(ih);
    for (auto& f : waiters) f();
    return;
  }
  if (auto* te = lt::alert_cast<lt::tracker_error_alert>(a)) {
    auto ih = from_lt(te->handle.info_hashes().v1);
    if (announce_waiters_.contains(ih) && retry_announce(ih)) {
      // Someone waits for the tracker to know this torrent, which it was
      // just told (registration): with tracker replicas the one that
      // answered may learn of it a moment later. Ask again shortly rather
      // than after libtorrent's backoff.
      log_->debug("tracker refused {} right after its registration ({}); announcing again",
                  te->torrent_name(), te->failure_reason());
      return;
    }
    log_->warn("tracker error for {}: {} {}", te->torrent_name(), te->error.message(),
               te->failure_reason());
    return;
  }
  if (auto* fe = lt::alert_cast<lt::file_error_alert>(a)) {
    log_->error("cannot read {} for seeding: {}", fe->torrent_name(), fe->error.message());
    return;
  }
  if (auto* he = lt::alert_cast<lt::hash_failed_alert>(a)) {
    log_->error("stored data of {} failed verification at piece {}", he->torrent_name(),
                static_cast<int>(he->piece_index));
    return;
  }
  if (auto* err = lt::alert_cast<lt::torrent_error_alert>(a)) {
    log_->error("torrent {} stopped: {}", err->torrent_name(), err->error.message());
    return;
  }
}

}  // namespace blobswarm::seeder
