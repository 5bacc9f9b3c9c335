#include "mirror/stall_watch.hpp"

#include <algorithm>
#include <cmath>

namespace blobswarm::mirror {

namespace {
using seconds = std::chrono::duration<double>;
// A kick at most this far apart however slow the swarm: it costs nothing.
constexpr auto kick_ceiling = std::chrono::seconds(1);
// Thresholds in longest gaps.
constexpr double kick_gaps = 1.25, origins_gaps = 2, http_gaps = 3;
}  // namespace

stall_watch::stall_watch(settings s, clock::time_point now) : s_(s), last_(now), last_kick_(now) {
  if (s_.piece_length == 0) s_.piece_length = 16384;
  if (s_.assumed_rate == 0) s_.assumed_rate = 1;
  gap_ = 2 * static_cast<double>(s_.piece_length) / static_cast<double>(s_.assumed_rate);
}

void stall_watch::delivered(clock::time_point now) {
  double since = seconds(now - last_).count();
  // The longest gap fades: what the swarm did a minute ago says little.
  gap_ *= std::exp2(-since / seconds(s_.gap_memory).count());
  if (!excused_ && !went_to_http_) gap_ = std::max(gap_, since);
  excused_ = went_to_http_ = false;
  last_ = last_kick_ = now;
}

void stall_watch::excuse(clock::time_point now) {
  excused_ = true;
  last_ = now;
}

stall_watch::duration stall_watch::late(double times, duration floor) const {
  auto t = std::chrono::duration_cast<duration>(seconds(times * gap_));
  return std::min(std::max(floor, t), s_.ceiling);
}

stall_watch::duration stall_watch::kick_after() const {
  return std::min({late(kick_gaps, s_.kick_floor), duration(kick_ceiling), s_.ceiling / 4});
}

stall_watch::duration stall_watch::origins_after() const {
  return std::min(late(origins_gaps, s_.origins_floor), s_.ceiling / 2);
}

stall_watch::duration stall_watch::http_after() const {
  return late(http_gaps, s_.http_floor);
}

stall_watch::duration stall_watch::longest_gap() const {
  return std::chrono::duration_cast<duration>(seconds(gap_));
}

stall_watch::action stall_watch::due(clock::time_point now) {
  auto q = now - last_;
  if (!origins_asked_ && q >= origins_after()) {
    origins_asked_ = true;
    return action::ask_origins;
  }
  if (q >= http_after()) {
    went_to_http_ = true;
    return action::fetch_over_http;
  }
  auto k = kick_after();
  if (q >= k && now - last_kick_ >= k) {
    last_kick_ = now;
    return action::kick;
  }
  return action::none;
}

}  // namespace blobswarm::mirror
