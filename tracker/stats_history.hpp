// stats_history: the last hour of tracker activity, per minute, for the
// web UI's charts: announces (and their rate) and swarm sizes. Fed by a
// periodic sample of counters that exist anyway (the announce metrics and
// the swarm table's totals), so the announce path does no extra work.
// Pure (time comes in with each sample); thread-safe.
#pragma once

#include <array>
#include <cstdint>
#include <mutex>
#include <optional>
#include <vector>

namespace blobswarm::tracker {

struct stats_sample {
  std::uint32_t time = 0;       // unix seconds
  std::uint64_t announces = 0;  // total announces answered so far (monotonic)
  std::uint64_t peers = 0;      // in all swarms, now
  std::uint64_t seeders = 0;    // in all swarms, now
  std::uint64_t swarms = 0;     // registered torrents, now
};

struct minute_stats {
  std::uint32_t start = 0;  // unix seconds of the minute's start
  bool known = false;       // false: the tracker was not running (or no sample)
  std::uint64_t announces = 0;
  std::uint32_t seconds = 0;  // seconds of the minute the count covers
  double per_second = 0;
  std::uint64_t peers = 0;  // at the minute's last sample
  std::uint64_t seeders = 0;
  std::uint64_t peak_peers = 0;
  std::uint64_t swarms = 0;
};

class stats_history {
 public:
  static constexpr std::size_t minutes = 60;

  // Adds a sample. Announces between this sample and the previous one are
  // spread over the minutes in between, in proportion to their seconds.
  void record(const stats_sample& s);
  // The 60 minutes ending with the minute of `live.time`, oldest first;
  // `live` (the counters now) completes the current minute.
  std::vector<minute_stats> last_hour(const stats_sample& live) const;

 private:
  struct bucket {
    std::uint32_t minute = 0;  // time / 60; 0: unused
    std::uint64_t announces = 0;
    std::uint32_t seconds = 0;
    std::uint64_t peers = 0;
    std::uint64_t seeders = 0;
    std::uint64_t peak_peers = 0;
    std::uint64_t swarms = 0;
  };
  using ring = std::array<bucket, minutes + 1>;
  static void apply(ring& r, const std::optional<stats_sample>& last, const stats_sample& s);

  mutable std::mutex mutex_;
  ring ring_{};
  std::optional<stats_sample> last_;
};

}  // namespace blobswarm::tracker
