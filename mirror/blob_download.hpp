// blob_download: fetching one blob for this node, shared by every client
// that asks for it while it is in flight.
//
// The download keeps what readers and verification need — the blob's size,
// the files holding its bytes (blob_part), which pieces are stored and the
// contiguous prefix — and leaves getting the bytes to a fetch strategy
// (mirror/fetch_strategy.hpp): the blob's torrents (torrent_fetch), else
// HTTP (http_fetch). It hashes the contiguous prefix once for all readers:
// they may take everything but the last `holdback` bytes before the SHA-256
// of the whole blob is known, the rest only once it matches.
// Everything runs on the io_context; blocking work goes to the pool.
#pragma once

#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/error.hpp"
#include "mirror/blob_part.hpp"
#include "mirror/download_context.hpp"
#include "mirror/fetch_strategy.hpp"

namespace blobswarm::mirror {

class blob_download : public std::enable_shared_from_this<blob_download> {
 public:
  // `force_direct`: skip the swarm (its torrent lied about this digest before).
  blob_download(download_context& ctx, blob_ref ref, bool force_direct = false);
  // Only the ranges readers ask for are fetched (lazy pulling with
  // range_downloads: ranges) until a reader wants the whole blob; such a
  // download never completes, and goes when readers stop asking.
  void ranges_only(duration idle_limit);
  // Started by a range reader, with the rest of the blob to follow
  // (range_downloads: whole): only the ranges' pieces are fetched until none
  // is missing, then everything; so the first ranges do not queue behind
  // the start of the blob at the peers.
  void readers_first();
  // Fetching only what readers asked for (for now, after readers_first()).
  bool is_ranges_only() const noexcept { return ranges_only_; }
  ~blob_download();
  blob_download(const blob_download&) = delete;
  blob_download& operator=(const blob_download&) = delete;

  void start();
  const blob_ref& ref() const noexcept { return ref_; }

  // --- readers ---------------------------------------------------------------

  // The blob's size, once a torrent or the seeder has told it.
  awaitable<result<std::uint64_t>> wait_size();
  // Waits until the download has succeeded or failed.
  awaitable<void> wait_finished();
  // Waits until bytes past `offset` may be served; returns their end.
  awaitable<result<std::uint64_t>> wait_readable(std::uint64_t offset);
  // Waits until the first bytes are verified, the download failed (its
  // error), or `limit` passed (success: it is still under way).
  awaitable<result<void>> wait_started(duration limit);

  // Ranges. Whether pieces may be served as they arrive (see
  // fetch_strategy::verifies_pieces); false until the strategy is known.
  bool serves_pieces() const noexcept;
  // Waits until the download has chosen how it gets the blob (and, for a
  // torrent, added it), or finished.
  awaitable<void> wait_route();
  // A reader wants bytes [first, last]: their pieces become the most urgent
  // (kept until the strategy knows its pieces, if it does not yet).
  void want_range(std::uint64_t first, std::uint64_t last);
  // The strategy knows its pieces now: it gets the ranges asked for before.
  void replay_ranges();
  // A reader wants the whole blob (ends a ranges-only start).
  void want_everything();
  // Whether every piece covering [first, last] is stored here already (or
  // the whole blob is verified); false while the piece length is unknown.
  bool range_local(std::uint64_t first, std::uint64_t last) const noexcept;
  // Waits until bytes at `offset` are in pieces checked against the
  // torrent (or the whole blob is verified); returns the end of that run.
  awaitable<result<std::uint64_t>> wait_piece_readable(std::uint64_t offset);

  struct extent {
    int fd = -1;
    std::uint64_t file_offset = 0;
    std::uint64_t length = 0;
    std::shared_ptr<const blob_part> owner;  // keeps `fd` open while it is used
  };
  // Where the bytes at `offset` (which wait_readable allowed) are stored.
  result<extent> extent_at(std::uint64_t offset);

  bool finished() const noexcept { return committed_ || failure_.has_value(); }
  bool succeeded() const noexcept { return verified_ && committed_; }
  const std::optional<error>& failure() const noexcept { return failure_; }
  download_stats stats() const;

  // --- for the fetch strategies ------------------------------------------------

  download_context& context() noexcept { return ctx_; }
  std::optional<std::uint64_t> size() const noexcept { return size_; }
  std::uint32_t piece_length() const noexcept { return piece_length_; }
  std::uint64_t piece_count() const noexcept { return done_.size(); }
  // Learns the blob's size and, when torrents will fill it, their piece
  // length (0: bytes come over HTTP in order).
  void set_size(std::uint64_t size, std::uint32_t piece_length);
  // The cache's 'downloading' entry the bytes go into (made once).
  result<void> begin_entry();
  std::shared_ptr<blob_part> add_part(blob_part p);
  const std::vector<std::shared_ptr<blob_part>>& parts() const noexcept { return parts_; }
  // The part holding global piece `piece` (torrents only).
  blob_part& part_of_piece(std::uint64_t piece);
  std::uint64_t pieces_per_part() const noexcept { return pieces_per_part_; }
  void set_pieces_per_part(std::uint64_t n) noexcept { pieces_per_part_ = n; }
  // Forgets the parts (a strategy gave up; their torrents are gone).
  void clear_parts();
  // A torrent stored global piece `piece`.
  void piece_done(std::uint64_t piece);
  bool is_done(std::uint64_t piece) const { return piece < done_.size() && done_[piece]; }
  std::uint64_t next_piece() const noexcept { return next_piece_; }
  // HTTP stored bytes [0, end) (in order).
  void prefix_stored(std::uint64_t end);
  // Starts over from byte 0 as far as storing goes (a new file); what was
  // verified stays verified.
  void restart_prefix();
  std::uint64_t contiguous() const noexcept { return contiguous_; }
  // Bytes stored so far (pieces reported done, or the HTTP prefix).
  std::uint64_t bytes_stored() const noexcept;
  bool verified() const noexcept { return verified_; }
  const std::optional<error>& failed() const noexcept { return failure_; }
  void count_http(byte_source from, std::uint64_t bytes);
  void count_block(bool from_seeder);
  // Records the verified blob in the cache with its whole torrent ("" if
  // none is known yet).
  result<void> commit(const std::string& torrent);
  // A blob torrent for this blob: a v1 single-file torrent named
  // `expected_name` of `expected_size` bytes (0: any size), else corrupt.
  result<std::shared_ptr<const lt::torrent_info>> parse_torrent(std::string_view bytes,
                                                                std::string_view expected_name,
                                                                std::uint64_t expected_size) const;
  // Seeds the committed blob with its whole torrent.
  void start_seeding(const std::shared_ptr<const lt::torrent_info>& ti);
  // The blob now seeds through `h` (its whole-blob torrent).
  void seeding(const lt::torrent_handle& h);
  // Starts a coroutine that keeps this download alive until it ends.
  void spawn(awaitable<void> task);
  void notify();
  awaitable<void> wait_change(duration limit);

 private:
  awaitable<void> run();
  awaitable<result<void>> fetch();
  // Runs `s` as the current strategy; on failure it is abandoned.
  awaitable<result<void>> attempt(std::shared_ptr<fetch_strategy> s);
  awaitable<void> verify();
  // Reads piece `piece` back and matches it against the torrent (ranges).
  awaitable<void> check_piece(std::uint64_t piece);
  // Ends a ranges-only download that readers stopped asking for.
  awaitable<void> expire_when_idle();
  // After readers_first(): fetches everything once no range waits.
  awaitable<void> rest_after_ranges();
  void advance();
  void fail_with(error e);

  download_context& ctx_;
  blob_ref ref_;
  std::chrono::steady_clock::time_point started_;
  std::optional<std::uint64_t> size_;
  std::uint32_t piece_length_ = 0;
  std::uint64_t pieces_per_part_ = 0;  // segmented: pieces per segment
  std::vector<std::shared_ptr<blob_part>> parts_;
  std::vector<bool> done_;  // per global piece
  // Pieces read back and matched against the torrent out of order (for
  // ranges), and those being checked.
  std::vector<bool> piece_checked_;
  std::vector<bool> piece_checking_;
  bool ranges_only_ = false;
  bool rest_follows_ = false;  // readers_first()
  bool range_asked_ = false;   // want_range() was called
  // Ranges asked for before the piece length was known (a few at most).
  std::vector<std::pair<std::uint64_t, std::uint64_t>> early_ranges_;
  duration idle_limit_{};
  std::chrono::steady_clock::time_point last_range_{};
  std::uint64_t next_piece_ = 0;  // first piece not done
  // [0, contiguous_): a strategy reported these bytes stored. [0, checked_):
  // verify() has read them back from the files, matched each piece against
  // the torrent and hashed them; only these are handed to readers
  // (libtorrent may report a piece before it is on disk).
  std::uint64_t contiguous_ = 0;
  std::uint64_t checked_ = 0;
  bool verified_ = false;
  bool committed_ = false;
  bool began_ = false;            // the cache holds a 'downloading' entry
  std::optional<error> failure_;  // fatal: the download is over
  bool force_direct_ = false;
  std::shared_ptr<fetch_strategy> strategy_;
  std::string mode_;
  std::uint64_t http_from_seeder_ = 0;
  std::uint64_t http_from_upstream_ = 0;
  // Blocks received over BitTorrent, by kind of sender.
  std::uint64_t blocks_from_seeders_ = 0;
  std::uint64_t blocks_from_peers_ = 0;
  std::chrono::milliseconds elapsed_{0};
  cache_lease lease_;
  std::vector<std::shared_ptr<boost::asio::steady_timer>> waiters_;
};

}  // namespace blobswarm::mirror
