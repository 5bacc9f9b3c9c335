// torrent_fetch: a blob's bytes through its torrents — the whole-blob
// torrent (from the tracker, or the seeder once its ingest is done), or,
// while the seeder is still ingesting a large blob, its segment torrents,
// added as the seeder publishes them and assembled into the blob at the end.
//
// libtorrent downloads with the pieces just past the downloaded prefix first
// (stream_window), so readers get bytes early. When the swarm stops
// delivering (stall_watch decides, relative to the rate seen), the fetch
// kicks libtorrent's picker, then asks the tracker for the seeder too, then
// fetches the missing pieces over HTTP (seeder, then upstream) and hands
// them to libtorrent with add_piece(), which checks them like any peer's.
#pragma once

#include <chrono>
#include <libtorrent/download_priority.hpp>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "mirror/blob_download.hpp"
#include "mirror/stall_watch.hpp"

namespace blobswarm::mirror {

class torrent_fetch final : public fetch_strategy,
                            public std::enable_shared_from_this<torrent_fetch> {
 public:
  // libtorrent picks higher priorities first: what range readers wait for
  // above the stream window, the window above the rest.
  static constexpr lt::download_priority_t range_priority = lt::top_priority;
  static constexpr lt::download_priority_t window_priority{6};

  // The whole-blob torrent; `from` says where it came from (log lines).
  static std::shared_ptr<torrent_fetch> whole(blob_download& d, std::string torrent,
                                              std::string_view from);
  // The segment torrents of a blob the seeder is ingesting.
  static std::shared_ptr<torrent_fetch> segments(blob_download& d, seeder_descriptor layout);

  std::string_view mode() const noexcept override { return segmented_ ? "segments" : "swarm"; }
  awaitable<result<void>> run() override;
  void abandon() override;
  // The whole-blob torrent was registered by the seeder after it verified
  // the blob; segment torrents were made while it was still arriving.
  bool verifies_pieces() const noexcept override { return !segmented_; }
  void prioritize(std::uint64_t first, std::uint64_t last) override;
  bool ranges_pending() const noexcept override;
  void fetch_everything() override;

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
  explicit torrent_fetch(blob_download& d) : d_(d) {}

  awaitable<result<void>> run_whole();
  awaitable<result<void>> run_segmented();
  awaitable<void> add_segments(std::uint32_t count);
  awaitable<result<void>> drive();
  // Makes libtorrent pick pieces for every peer again (stall_watch.hpp).
  void kick();
  awaitable<result<void>> fill_over_http(std::uint64_t first_piece);
  awaitable<result<void>> assemble_from_segments();
  awaitable<void> retire_segments_later();
  // Raises the pieces that entered the stream window to top priority.
  void update_window();
  // Priorities a part's torrent starts with (update_window raises the window).
  std::vector<lt::download_priority_t> initial_priorities(const blob_part& p) const;
  // The announce URLs for this download's torrents (with origins=1 once asked).
  std::vector<std::string> announce_urls() const;
  void ask_for_origins();
  void remove_torrents(bool remove_files);
  // The first piece the stall remedies should get: a missing piece a range
  // reader waits for, else the first missing piece of the prefix (none in a
  // ranges-only download nobody waits on).
  std::optional<std::uint64_t> frontier() const;

  blob_download& d_;
  bool segmented_ = false;
  std::string whole_torrent_;  // bytes, once known
  std::string from_;
  seeder_descriptor layout_;
  std::vector<bool> fed_;           // handed to libtorrent from HTTP, per global piece
  std::vector<bool> wanted_;        // asked for by a range reader, per global piece
  std::uint64_t window_until_ = 0;  // pieces before this have had top priority
  std::optional<stall_watch> watch_;
  bool stalled_logged_ = false;
  // The tracker was asked for origins (announce with origins=1), which it
  // holds back while other nodes seed.
  bool origins_asked_ = false;
  std::optional<error> method_error_;  // this route failed; HTTP may still work
  bool abandoned_ = false;
};

}  // namespace blobswarm::mirror
