// stall_watch: when a torrent download has stopped making progress, and
// what to do about it. Pure: the download feeds it the pieces the swarm
// delivers and asks it, with the time, what is due.
//
// Three remedies, cheapest first:
//   kick        make libtorrent pick pieces for its peers again. Its picker
//               runs on peer events; when a peer rejects requests (the
//               seeder's piece gate does, by design) the rejected pieces go
//               back to the picker, but a peer that has them and sends
//               nothing (a node that finished) is not asked until something
//               else happens on its connection. bench/swarm, serial pulls of
//               2.5 MiB layers: whole swarms waited the full HTTP timeout
//               with every missing piece held by idle finished nodes.
//   origins     ask the tracker for the seeder too (it keeps the seeder on
//               standby while nodes seed a blob; those may be gone).
//   http        fetch the missing pieces over HTTP (seeder, then upstream).
//
// Fixed timers sized for big blobs used to decide small ones (2.5 s before
// asking for the seeder, 5 s before HTTP: a 2 MiB layer waited longer than a
// direct pull takes). Here the thresholds follow the longest gap between
// pieces the swarm has shown lately (it decays with a half-life of
// `gap_memory`): a node whose pieces come steadily every few milliseconds is
// late after the floors (150 ms, 400 ms, 1 s); one whose pieces come in
// bursts a second apart (a download rate limit hands out its quota that
// way) is late only after several seconds. Before any piece the gap is
// twice the time one piece takes at `assumed_rate`. A kick is due after
// 1.25 times the gap, origins after 2, HTTP after 3; a gap that ended over
// HTTP was the stall itself and is not learnt. The configured stall_timeout
// caps every threshold. A kick repeats every kick interval while nothing
// arrives; origins are asked once; HTTP is due for as long as the quiet
// lasts (the caller limits how much it has in flight).
#pragma once

#include <chrono>
#include <cstdint>

namespace blobswarm::mirror {

class stall_watch {
 public:
  using clock = std::chrono::steady_clock;
  using duration = clock::duration;

  struct settings {
    std::uint64_t piece_length = 16384;
    // Expected delivery before the swarm has shown any (bytes/s): a LAN
    // node's link, conservatively.
    std::uint64_t assumed_rate = 10ULL << 20;
    duration gap_memory = std::chrono::seconds(10);  // half-life of the longest gap
    duration kick_floor = std::chrono::milliseconds(150);
    duration origins_floor = std::chrono::milliseconds(400);
    duration http_floor = std::chrono::milliseconds(1000);
    duration ceiling = std::chrono::seconds(5);  // stall_timeout
  };

  enum class action { none, kick, ask_origins, fetch_over_http };

  stall_watch(settings s, clock::time_point now);

  // The swarm delivered a piece.
  void delivered(clock::time_point now);
  // Nothing to wait for: the pieces are not published yet (segments of an
  // ingest in progress). Quiet time restarts, and the wait is no gap.
  void excuse(clock::time_point now);
  // What is due now: a kick every kick interval, origins once, HTTP for as
  // long as the quiet lasts.
  action due(clock::time_point now);

  // The current thresholds (for log lines and tests).
  duration kick_after() const;
  duration origins_after() const;
  duration http_after() const;
  duration quiet(clock::time_point now) const { return now - last_; }
  // The longest gap between deliveries lately.
  duration longest_gap() const;

 private:
  // `times` the longest gap, at least `floor`, at most the ceiling.
  duration late(double times, duration floor) const;

  settings s_;
  clock::time_point last_;       // the last delivery, or the start
  clock::time_point last_kick_;  // the last kick (or the last delivery)
  bool excused_ = false;         // the wait since `last_` was excused
  bool went_to_http_ = false;    // HTTP was due during the wait since `last_`
  double gap_ = 0;               // seconds: the longest gap, decaying
  bool origins_asked_ = false;
};

}  // namespace blobswarm::mirror
