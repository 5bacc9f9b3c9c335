#include "tracker/stats_history.hpp"

#include <algorithm>

namespace blobswarm::tracker {

void stats_history::apply(ring& r, const std::optional<stats_sample>& last, const stats_sample& s) {
  auto slot = [&r](std::uint32_t minute) -> bucket& {
    auto& b = r[minute % r.size()];
    if (b.minute != minute) b = bucket{minute};
    return b;
  };
  if (last && s.time > last->time) {
    // Spread the announces since the last sample over the seconds of each
    // minute they fall in (at most the last hour).
    std::uint64_t delta = s.announces >= last->announces ? s.announces - last->announces : 0;
    std::uint32_t from = std::max(last->time, s.time - static_cast<std::uint32_t>(minutes * 60));
    std::uint32_t span = s.time - from;
    std::uint64_t given = 0;
    for (std::uint32_t t = from; t < s.time;) {
      std::uint32_t minute_end = (t / 60 + 1) * 60;
      std::uint32_t until = std::min(minute_end, s.time);
      auto& b = slot(t / 60);
      std::uint64_t share = until == s.time ? delta - given : delta * (until - t) / span;
      b.announces += share;
      b.seconds += until - t;
      given += share;
      t = until;
    }
  }
  auto& b = slot(s.time / 60);
  b.peers = s.peers;
  b.seeders = s.seeders;
  b.swarms = s.swarms;
  b.peak_peers = std::max(b.peak_peers, s.peers);
}

void stats_history::record(const stats_sample& s) {
  std::lock_guard lock(mutex_);
  if (last_ && s.time < last_->time) return;  // the clock went back: keep what we have
  apply(ring_, last_, s);
  last_ = s;
}

std::vector<minute_stats> stats_history::last_hour(const stats_sample& live) const {
  ring r;
  {
    std::lock_guard lock(mutex_);
    r = ring_;
    if (!last_ || live.time >= last_->time) apply(r, last_, live);
  }
  std::vector<minute_stats> out;
  out.reserve(minutes);
  std::uint32_t now_minute = live.time / 60;
  for (std::uint32_t i = 0; i < minutes; ++i) {
    std::uint32_t minute = now_minute + i + 1 >= minutes ? now_minute + i + 1 - minutes : 0;
    minute_stats m;
    m.start = minute * 60;
    const auto& b = r[minute % r.size()];
    if (minute != 0 && b.minute == minute) {
      m.known = true;
      m.announces = b.announces;
      m.seconds = b.seconds;
      m.per_second = b.seconds > 0 ? static_cast<double>(b.announces) / b.seconds : 0.0;
      m.peers = b.peers;
      m.seeders = b.seeders;
      m.peak_peers = b.peak_peers;
      m.swarms = b.swarms;
    }
    out.push_back(m);
  }
  return out;
}

}  // namespace blobswarm::tracker
