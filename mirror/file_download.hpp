// file_download: one torrent fetched through /files into this node's cache
// by its libtorrent session, read by any number of HTTP responses while it
// arrives, then kept and seeded.
//
// The whole torrent is fetched (the cache holds and seeds torrents whole),
// rarest-first; what readers ask for goes first: each reader raises the
// piece priority of the pieces ahead of it (a window of stream_window
// bytes), a Range reader to the top priority, above every streaming
// reader, so that an offset in the middle of a large file costs its
// pieces, not everything before them. Priorities, not libtorrent's
// time-critical pieces (set_piece_deadline), which crashed mirrors inside
// libtorrent 2.0.8 (arvidn/libtorrent#5891; mirror/torrent_fetch.cpp).
//
// A reader takes a piece once libtorrent reports it passed its hash check,
// and reads it back from the files and checks it against its v1 SHA-1
// again before sending a byte (libtorrent's threaded disk back-end may
// report a piece before its bytes reach the file). With an expected digest
// (a file pulled from a URL: its SHA-256 as the seeder computed it), the
// pieces are also hashed in order, and the file's last `holdback` bytes
// are released, and the torrent cached, only once that digest matches.
//
// Everything runs on the io_context; reads and hashing go to the pool.
#pragma once

#include <spdlog/logger.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <libtorrent/torrent_handle.hpp>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/async_event.hpp"
#include "common/blocking_pool.hpp"
#include "common/digest.hpp"
#include "common/error.hpp"
#include "mirror/cache.hpp"
#include "mirror/file_torrent.hpp"
#include "mirror/swarm.hpp"

namespace boost::asio {
class io_context;
}

namespace blobswarm::mirror {

struct file_settings {
  // A download that receives nothing from any peer for this long fails
  // (nobody seeds the torrent, or nobody reachable).
  duration stall_timeout = std::chrono::seconds(60);
  // Bytes ahead of each reader whose pieces are time-critical.
  std::uint64_t stream_window = 16ULL << 20;
  // The bytes at the end of a file with an expected digest that wait for it.
  std::uint64_t holdback = 64 * 1024;
};

// What every file download on a node shares.
struct file_context {
  asio::io_context& io;
  cache& store;
  swarm& peers;
  blocking_pool& pool;
  std::vector<std::string> announce_urls;  // <tracker>/announce/<passkey>
  file_settings settings;
  std::shared_ptr<spdlog::logger> log;
};

class file_download final : public swarm_listener,
                            public std::enable_shared_from_this<file_download> {
 public:
  // `expected`: the SHA-256 the single file must have (URL files), if any.
  file_download(file_context& ctx, std::shared_ptr<const file_torrent> torrent,
                std::optional<digest> expected);
  ~file_download() override;
  file_download(const file_download&) = delete;
  file_download& operator=(const file_download&) = delete;

  // Records the download in the cache (room for every file) and adds the
  // torrent to the session, fetching only pieces [first, last] (what the
  // request that starts it reads) until they arrived or a moment passed,
  // then the rest. errc::no_space when the cache cannot hold it.
  result<void> start(int first, int last);
  const file_torrent& torrent() const noexcept { return *torrent_; }
  const std::shared_ptr<const file_torrent>& torrent_ptr() const noexcept { return torrent_; }
  std::uint64_t holdback() const noexcept { return ctx_.settings.holdback; }
  const std::optional<digest>& expected() const noexcept { return expected_; }

  // --- readers ---------------------------------------------------------------

  // Pieces [first, last] are what a reader needs next; `urgent` (a Range
  // read) puts them ahead of every streaming reader.
  void want(int first, int last, bool urgent);
  // Waits until piece `p` has passed its hash check (success), the download
  // failed (its error), or `limit` passed (errc::timeout).
  awaitable<result<void>> wait_piece(int p, duration limit);
  // Piece `p` as stored (padding read as zeros), checked against its v1
  // hash. Only after wait_piece(p) succeeded.
  awaitable<result<std::shared_ptr<const std::string>>> read_piece(int p);
  // Waits until the expected digest matched (at once without one) or the
  // download failed.
  awaitable<result<void>> wait_verified();

  bool finished() const noexcept { return committed_ || failure_.has_value(); }
  bool succeeded() const noexcept { return committed_; }
  const std::optional<error>& failure() const noexcept { return failure_; }
  // Pieces that passed their hash check so far.
  int pieces_done() const noexcept { return done_count_; }
  // The session's handle (seeding goes on through it once committed).
  const lt::torrent_handle& handle() const noexcept { return handle_; }
  // 16 KiB blocks received, from blobswarm seeders and from other peers.
  std::uint64_t blocks_from_seeders() const noexcept { return blocks_from_seeders_; }
  std::uint64_t blocks_from_peers() const noexcept { return blocks_from_peers_; }

  // Stops a download in flight (shutdown): its torrent leaves the session
  // and its files the cache. Its finished hook is not called.
  void abandon();
  // Called once, when the download ends (committed or failed).
  void on_finished(std::function<void(file_download&)> f) { finished_hook_ = std::move(f); }

  // --- swarm_listener ----------------------------------------------------------
  void on_piece_finished(int piece) override;
  void on_hash_failed(int piece) override;
  void on_torrent_error(const std::string& message) override;
  void on_block(bool from_seeder) override;
  void on_alerts_dropped() override;

 private:
  void spawn(awaitable<void> task);
  awaitable<void> watch();
  awaitable<void> hash_in_order();
  void mark_done(int piece);
  void maybe_commit();
  void fail_with(error e);
  // The pieces of [first, last] within a reader's window.
  int window_end(int first, int last) const;
  // The pieces the first request did not ask for may be fetched now.
  void release_rest();

  file_context& ctx_;
  std::shared_ptr<const file_torrent> torrent_;
  std::optional<digest> expected_;
  lt::torrent_handle handle_;
  std::vector<bool> done_;
  int done_count_ = 0;
  // Per piece, the priority a reader raised it to (0: none).
  std::vector<std::uint8_t> raised_;
  // Pieces [first_wanted_, last_wanted_] come before any other (start()).
  int first_wanted_ = 0;
  int last_wanted_ = -1;
  bool holding_rest_ = false;
  std::chrono::steady_clock::time_point started_;
  bool digest_ok_ = false;
  bool committed_ = false;
  bool began_ = false;
  std::optional<error> failure_;
  std::chrono::steady_clock::time_point last_progress_;
  std::uint64_t blocks_from_seeders_ = 0;
  std::uint64_t blocks_from_peers_ = 0;
  cache_lease lease_;
  async_event changed_;
  std::function<void(file_download&)> finished_hook_;
};

}  // namespace blobswarm::mirror
