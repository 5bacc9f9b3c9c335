// blob_download: fetching one blob for this node, shared by every client
// that asks for it while it is in flight.
//
// It finds a torrent (the tracker's whole-blob torrent; else the seeder's,
// whole or — while the seeder is still ingesting a large blob — as segment
// torrents), lets libtorrent download it with the pieces just past the
// downloaded prefix first (stream_window), and hashes the contiguous prefix
// once for all readers. Readers may take everything but the last `holdback`
// bytes before the SHA-256 of the whole blob is known; the rest only once
// it matches. If the swarm makes no progress for `stall_timeout`, missing
// pieces are fetched over HTTP (seeder, then upstream) and handed to
// libtorrent with add_piece(), which checks them like any peer's. With no
// torrent to be had at all it streams the blob over HTTP instead.
// Everything runs on the io_context; blocking work goes to the pool.
#pragma once

#include <spdlog/logger.h>

#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <libtorrent/fwd.hpp>
#include <libtorrent/torrent_handle.hpp>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/blocking_pool.hpp"
#include "common/error.hpp"
#include "common/file.hpp"
#include "common/units.hpp"
#include "mirror/blob_sources.hpp"
#include "mirror/cache.hpp"
#include "mirror/swarm.hpp"

namespace boost::asio {
class io_context;
}

namespace blobswarm::mirror {

struct download_settings {
  duration stall_timeout = std::chrono::seconds(5);
  // Bytes past the contiguous prefix whose pieces libtorrent fetches first
  // (top piece priority, rarest-first among them); the rest get the lowest
  // priority that is still downloaded. 0: plain rarest-first over the blob.
  std::uint64_t stream_window = 16ULL << 20;
  std::uint64_t fallback_chunk = 8ULL << 20;  // bytes per HTTP fallback request
  std::uint64_t holdback = 64 * 1024;         // withheld until the digest checks out
  duration segment_linger = std::chrono::minutes(5);
  // Blobs this small come straight over HTTP from the seeder: setting up a
  // swarm costs more than the bytes (image configs are a few KiB).
  std::uint64_t swarm_min_size = 256 * 1024;
};

struct download_context {
  asio::io_context& io;
  cache& store;
  swarm& peers;
  blob_sources& sources;
  blocking_pool& pool;
  std::vector<std::string> announce_urls;  // <tracker>/announce/<passkey>
  std::filesystem::path segments_dir;
  download_settings settings;
  std::shared_ptr<spdlog::logger> log;
  // Told whenever a completed blob starts seeding (its whole-blob torrent).
  std::function<void(const digest&, const lt::torrent_handle&)> on_seeding;
};

struct download_stats {
  std::uint64_t size = 0;
  std::uint64_t from_peers = 0;     // BitTorrent, other nodes
  std::uint64_t from_seeder = 0;    // BitTorrent and HTTP from the seeder
  std::uint64_t from_upstream = 0;  // HTTP from the upstream registry
  std::string mode;                 // "swarm", "segments", "direct"
  std::chrono::milliseconds elapsed{0};
};

class blob_download : public std::enable_shared_from_this<blob_download> {
 public:
  // `force_direct`: skip the swarm (its torrent lied about this digest before).
  blob_download(download_context& ctx, blob_ref ref, bool force_direct = false);
  blob_download(const blob_download&) = delete;
  blob_download& operator=(const blob_download&) = delete;

  void start();
  const blob_ref& ref() const noexcept { return ref_; }

  // The blob's size, once a torrent or the seeder has told it.
  awaitable<result<std::uint64_t>> wait_size();
  // Waits until the download has succeeded or failed.
  awaitable<void> wait_finished();
  // Waits until bytes past `offset` may be served; returns their end.
  awaitable<result<std::uint64_t>> wait_readable(std::uint64_t offset);
  // Waits until the first bytes are verified, the download failed (its
  // error), or `limit` passed (success: it is still under way).
  awaitable<result<void>> wait_started(duration limit);

  struct part;
  struct extent {
    int fd = -1;
    std::uint64_t file_offset = 0;
    std::uint64_t length = 0;
    std::shared_ptr<const part> owner;  // keeps `fd` open while it is used
  };
  // Where the bytes at `offset` (which wait_readable allowed) are stored.
  result<extent> extent_at(std::uint64_t offset);

  bool finished() const noexcept { return committed_ || failure_.has_value(); }
  bool succeeded() const noexcept { return verified_ && committed_; }
  const std::optional<error>& failure() const noexcept { return failure_; }
  download_stats stats() const;

  // From the swarm (through per-part listeners).
  void piece_finished(std::size_t part, int local_piece);
  void hash_failed(std::size_t part, int local_piece);
  void torrent_error(std::size_t part, const std::string& message);
  void block_received(bool from_seeder);
  // Marks the pieces libtorrent has as done, whether or not their
  // piece_finished alerts arrived (libtorrent drops alerts when its queue
  // overflows).
  void resync();

 private:
  class part_listener;

  // Starts a member coroutine that keeps this download alive until it ends.
  void spawn(awaitable<void> task);
  awaitable<void> run();
  awaitable<result<void>> fetch();
  awaitable<result<void>> run_whole(std::string torrent, std::string_view from);
  awaitable<result<void>> run_segmented(seeder_descriptor d);
  awaitable<result<void>> run_direct();
  awaitable<result<void>> drive_swarm();
  awaitable<void> add_segments(std::uint32_t count);
  awaitable<result<void>> fallback(std::uint64_t piece);
  awaitable<void> verify();
  awaitable<result<void>> assemble_from_segments();
  awaitable<void> retire_segments_later();
  // After an HTTP-only download: find the blob's torrent and seed it too.
  awaitable<void> adopt_torrent();
  void start_seeding(const std::shared_ptr<const lt::torrent_info>& ti);

  result<std::shared_ptr<const lt::torrent_info>> parse_torrent(std::string_view bytes,
                                                                std::string_view expected_name,
                                                                std::uint64_t expected_size) const;
  void set_size(std::uint64_t size, std::uint32_t piece_length);
  void advance();
  // Raises the pieces that entered the stream window to top priority.
  void update_window();
  // Priorities a part's torrent starts with (update_window raises the window).
  std::vector<lt::download_priority_t> initial_priorities(const part& p) const;
  void fail_with(error e);
  void abandon_swarm();
  void notify();
  awaitable<void> wait_change(duration limit);
  // The announce URLs for this download's torrents (with origins=1 once asked).
  std::vector<std::string> announce_urls() const;
  void ask_for_origins();

  download_context& ctx_;
  blob_ref ref_;
  std::chrono::steady_clock::time_point started_;
  std::optional<std::uint64_t> size_;
  std::uint32_t piece_length_ = 0;
  std::uint32_t pieces_per_part_ = 0;  // segmented: pieces per segment
  std::vector<std::shared_ptr<part>> parts_;
  std::vector<bool> done_;        // per global piece
  std::vector<bool> fed_;         // handed to libtorrent from HTTP, per global piece
  std::uint64_t next_piece_ = 0;  // first piece not done
  // [0, contiguous_): libtorrent (or our HTTP writer) reported these bytes
  // complete. [0, checked_): verify() has read them back from the files,
  // matched each piece against the torrent and hashed them; only these are
  // handed to readers (libtorrent may report a piece before it is on disk).
  std::uint64_t contiguous_ = 0;
  std::uint64_t checked_ = 0;
  std::uint64_t window_until_ = 0;  // pieces before this have had top priority
  std::chrono::steady_clock::time_point last_progress_;
  // The last piece the swarm itself delivered (not one fed from HTTP): the
  // stall detector's clock, so a stalled swarm keeps being bypassed.
  std::chrono::steady_clock::time_point last_swarm_progress_;
  bool stalled_logged_ = false;
  // The tracker was asked for origins (announce with origins=1), which it
  // holds back while other nodes seed: asked when the swarm delivers
  // nothing for half of stall_timeout, before HTTP takes over.
  bool origins_asked_ = false;
  bool verified_ = false;
  bool committed_ = false;
  bool began_ = false;                 // the cache holds a 'downloading' entry
  std::optional<error> failure_;       // fatal: the download is over
  std::optional<error> method_error_;  // the swarm route failed; HTTP may still work
  bool force_direct_ = false;
  std::string mode_;
  std::string whole_torrent_;
  std::uint64_t http_from_seeder_ = 0;
  std::uint64_t http_from_upstream_ = 0;
  // Blocks received over BitTorrent, by kind of sender.
  std::uint64_t blocks_from_seeders_ = 0;
  std::uint64_t blocks_from_peers_ = 0;
  std::chrono::milliseconds elapsed_{0};
  cache_lease lease_;
  lt::torrent_handle seeding_;
  std::vector<std::shared_ptr<boost::asio::steady_timer>> waiters_;
};

}  // namespace blobswarm::mirror
