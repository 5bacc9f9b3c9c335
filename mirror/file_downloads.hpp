// file_downloads: the torrents this node fetches and seeds for /files — one
// file_download per torrent however many requests ask for it, the seeding
// of completed ones (until they leave the cache, or for seed_time), and
// seeding again what the cache holds at start-up. Lives on the io_context.
#pragma once

#include <spdlog/logger.h>

#include <map>
#include <memory>
#include <nlohmann/json_fwd.hpp>
#include <optional>

#include "common/metrics.hpp"
#include "mirror/file_download.hpp"

namespace blobswarm::mirror {

class file_downloads {
 public:
  // `seed_time`: stop seeding a completed torrent this long after it
  // completed (0: while it is cached).
  file_downloads(file_context ctx, duration seed_time, metrics::registry& metrics);
  ~file_downloads();
  file_downloads(const file_downloads&) = delete;
  file_downloads& operator=(const file_downloads&) = delete;

  // The download of torrent `v1` in flight, if any.
  std::shared_ptr<file_download> in_flight(const info_hash& v1) const;
  // Joins the download of `t` in flight or starts one, pieces [first,
  // last] first (file_download::start).
  result<std::shared_ptr<file_download>> get(std::shared_ptr<const file_torrent> t,
                                             std::optional<digest> expected, int first, int last);
  // At start-up: seeds every torrent the cache holds complete.
  void reseed();
  // The cache dropped torrent `v1` (evicted or discarded): stop seeding it.
  void removed(const info_hash& v1);

  void count_served(std::uint64_t bytes, bool from_cache);
  // For /api/v1/files: downloads in flight, torrents seeded, totals.
  nlohmann::json status() const;

  file_context& context() noexcept { return ctx_; }

 private:
  struct counters;
  void finished(file_download& d);
  void seed(const info_hash& v1, lt::torrent_handle h);
  awaitable<void> stop_seeding_later(info_hash v1, lt::torrent_handle h);

  file_context ctx_;
  duration seed_time_;
  std::unique_ptr<counters> counters_;
  std::map<info_hash, std::shared_ptr<file_download>> downloads_;
  std::map<info_hash, lt::torrent_handle> seeding_;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace blobswarm::mirror
