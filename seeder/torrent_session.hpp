// torrent_session: the seeder's one libtorrent session and the only code
// that touches it. Seeds private v1 torrents from files the store owns (see
// seed_disk_io), announces them to the tracker with the seeder's passkey,
// and reports what it uploaded. DHT, LSD, UPnP, NAT-PMP and PEX are off;
// torrents are not auto-managed, so libtorrent's queuing (active_seeds,
// active_limit) never silently stops announcing some of them.
//
// Alerts are posted to the owner's executor (set_alert_notify) and
// dispatched there with lt::alert_cast; every public member is called from
// that executor too.
#pragma once

#include <spdlog/logger.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "common/error.hpp"
#include "common/file.hpp"
#include "common/http/asio.hpp"
#include "common/info_hash.hpp"
#include "common/lt_settings.hpp"
#include "common/net.hpp"

namespace boost::asio {
class io_context;
}
namespace libtorrent {
struct alert;
}
namespace lt = libtorrent;

namespace blobswarm::seeder {

class seed_sources;
struct piece_gate_counters;

struct session_options {
  std::string listen = "127.0.0.1:6881";  // peer connections
  std::uint64_t upload_rate_limit = 0;    // bytes/s, 0: unlimited (applies to loopback too)
  int unchoke_slots = 32;                 // peers uploaded to at once, per torrent pool
  int disk_threads = 2;
  // A piece already sent to one peer is sent to another only if that peer
  // still lacks it this long after asking (see piece_gate); 0: send to
  // every peer that asks.
  std::chrono::milliseconds resend_after{10000};
  lt_settings::overrides libtorrent;  // applied last; validated beforehand
};

// A download's progress (add_download).
struct download_status {
  bool known = false;        // the session has added it
  bool finished = false;     // every piece is here (it seeds now)
  std::uint64_t done = 0;    // bytes of verified pieces
  std::vector<bool> pieces;  // which pieces are here
};

struct session_stats {
  std::size_t torrents = 0;
  std::uint64_t uploaded_payload = 0;  // bytes uploaded to peers since start
  std::uint64_t peers = 0;             // connected peers
  std::uint64_t pieces_held = 0;       // piece_gate: refused because another peer has them
  std::uint64_t pieces_resent = 0;     // of those, sent after all
  std::uint64_t pieces_deferred = 0;   // fresh pieces refused to a peer over its share
};

class torrent_session {
 public:
  torrent_session(asio::io_context& io, session_options options,
                  std::shared_ptr<spdlog::logger> log);
  ~torrent_session();
  torrent_session(const torrent_session&) = delete;
  torrent_session& operator=(const torrent_session&) = delete;

  // Seeds `torrent` (bencoded) whose bytes are `path` from `offset` (or, if
  // `fd` is given, that open file). Adding an info-hash that is already
  // seeded does nothing.
  result<info_hash> add_seed(std::string_view torrent, const std::filesystem::path& path,
                             std::uint64_t offset = 0, std::shared_ptr<unique_fd> fd = nullptr);
  // Downloads `torrent` from the swarm into `fd` (open for writing; the
  // file `path`) from `offset`: a blob, or segments of one, that this
  // seeder gets from other peers instead of upstream (swarm_fetch). It
  // seeds once complete. An info-hash already in the session is left as is.
  result<info_hash> add_download(std::string_view torrent, const std::filesystem::path& path,
                                 std::uint64_t offset, std::shared_ptr<unique_fd> fd);
  download_status status_of(const info_hash& ih) const;
  void remove(const info_hash& ih);
  // Announces now (after the tracker learned the torrent: an announce
  // before registration was refused, and the next one would come only after
  // the announce interval).
  void reannounce(const info_hash& ih);
  // Runs `f` (on the owner's executor) once the tracker has answered an
  // announce of `ih` without error; at once if it already has. Dropped if
  // the torrent is removed first.
  void when_announced(const info_hash& ih, std::function<void()> f);
  bool contains(const info_hash& ih) const { return torrents_.contains(ih); }

  // The announce URL (<tracker>/announce/<passkey>) for every torrent, now
  // and later; torrents added before it was known get it too.
  void set_announce_url(std::string url);

  // The bound peer port (after listen succeeded), for tests using port 0.
  std::optional<std::uint16_t> listen_port() const noexcept { return listen_port_; }
  const std::string& listen_error() const noexcept { return listen_error_; }
  session_stats stats() const;

  // Stops seeding: tells the tracker (best effort, bounded) and closes the
  // session.
  void shutdown();

 private:
  result<info_hash> add(std::string_view torrent, const std::filesystem::path& path,
                        std::uint64_t offset, std::shared_ptr<unique_fd> fd, bool download);
  void on_alerts();
  void handle(lt::alert* a);
  // Announces `ih` again in a moment; false once it was retried enough.
  bool retry_announce(const info_hash& ih);
  static constexpr int max_announce_retries = 40;  // 4 s at 100 ms
  void tick();

  struct impl;
  asio::io_context& io_;
  session_options options_;
  std::shared_ptr<spdlog::logger> log_;
  std::shared_ptr<seed_sources> sources_;
  std::shared_ptr<piece_gate_counters> gate_;
  std::unique_ptr<impl> impl_;
  std::map<info_hash, int> torrents_;  // info-hash -> 1 (handles live in impl)
  std::set<info_hash> announced_;      // the tracker answered an announce
  std::map<info_hash, std::vector<std::function<void()>>> announce_waiters_;
  std::map<info_hash, int> announce_retries_;  // refused announces retried, while waited for
  std::string announce_url_;
  std::optional<std::uint16_t> listen_port_;
  std::string listen_error_;
  std::uint64_t uploaded_ = 0;
  std::uint64_t peers_ = 0;
  std::shared_ptr<bool> alive_;
};

}  // namespace blobswarm::seeder
