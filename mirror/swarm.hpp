// swarm: the mirror's single libtorrent session. It owns the lt::session,
// applies the settings every blobswarm node needs (private swarms only: no
// DHT, LSD, UPnP or NAT-PMP, and no queuing that would silently stop
// announcing torrents; rate limits that also apply to loopback and LAN
// peers), and delivers alerts on the io_context to per-torrent listeners.
// Nothing else touches the session.
#pragma once

#include <spdlog/logger.h>

#include <filesystem>
#include <libtorrent/fwd.hpp>
#include <libtorrent/torrent_handle.hpp>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "common/error.hpp"
#include "common/http/asio.hpp"
#include "common/lt_settings.hpp"

namespace boost::asio {
class io_context;
}

namespace blobswarm::mirror {

// Receives one torrent's events, on the io_context.
class swarm_listener {
 public:
  virtual ~swarm_listener() = default;
  virtual void on_piece_finished(int piece) = 0;
  virtual void on_hash_failed(int piece) = 0;
  virtual void on_torrent_error(const std::string& message) = 0;
  // A 16 KiB block arrived from a peer; `from_seeder` when its peer_id marks
  // a blobswarm seeder (common/peer_fingerprint.hpp), so nodes can report
  // where their bytes came from.
  virtual void on_block(bool from_seeder) = 0;
  // libtorrent's alert queue overflowed: some of this torrent's events may
  // never arrive. Ask the torrent for its state instead.
  virtual void on_alerts_dropped() = 0;
};

class swarm {
 public:
  struct options {
    std::string listen = "0.0.0.0:6882";
    std::uint64_t upload_rate = 0;    // bytes/s; 0: unlimited
    std::uint64_t download_rate = 0;  // bytes/s; 0: unlimited
    int connections_limit = 400;
    // Disk I/O inline on the network thread (node_disk_io.hpp); otherwise
    // libtorrent's memory-mapped back-end with disk_threads threads. There
    // each 16 KiB block crosses from the network thread to a disk thread and
    // back; libtorrent's default of 10 threads per node mostly added lock
    // contention and context switches (bench/swarm, 8 nodes on 2 cores).
    bool inline_disk_io = true;
    int disk_threads = 2;
    lt_settings::overrides libtorrent;  // applied last; validated beforehand
  };

  swarm(asio::io_context& io, options o, std::shared_ptr<spdlog::logger> log);
  ~swarm();
  swarm(const swarm&) = delete;
  swarm& operator=(const swarm&) = delete;

  // Adds a torrent saving into save_path (the file is save_path/<name>).
  // `seed_mode`: the data is already complete and verified; pieces are
  // checked lazily as peers ask for them. `piece_priorities`: the torrent's
  // starting priorities (empty: libtorrent's default for every piece).
  result<lt::torrent_handle> add(const std::shared_ptr<const lt::torrent_info>& ti,
                                 const std::filesystem::path& save_path,
                                 const std::vector<std::string>& trackers, bool seed_mode,
                                 std::weak_ptr<swarm_listener> listener,
                                 std::vector<lt::download_priority_t> piece_priorities = {});
  void remove(const lt::torrent_handle& h);
  // Listeners are held weakly: one that is gone simply stops hearing.
  void set_listener(const lt::torrent_handle& h, std::weak_ptr<swarm_listener> listener);

  std::size_t torrents() const noexcept { return listeners_.size(); }
  // The session's torrent with this v1 info-hash (an invalid handle if none).
  // Like the handles add() returns, safe to use from any thread.
  lt::torrent_handle find(const lt::sha1_hash& v1) const;

 private:
  void drain_alerts();

  asio::io_context& io_;
  std::shared_ptr<spdlog::logger> log_;
  std::unique_ptr<lt::session> session_;
  std::unordered_map<lt::torrent_handle, std::weak_ptr<swarm_listener>> listeners_;
  std::shared_ptr<bool> alive_;
};

}  // namespace blobswarm::mirror
