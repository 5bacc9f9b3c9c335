// stall_watch: thresholds from the gaps between deliveries (floors before
// any, a ceiling always), the order of remedies, and a delivery starting the
// clock over.
#include "mirror/stall_watch.hpp"

#include <gtest/gtest.h>

namespace blobswarm::mirror {
namespace {

using namespace std::chrono_literals;
using action = stall_watch::action;
using clock = stall_watch::clock;

stall_watch::settings with(std::uint64_t piece_length, stall_watch::duration ceiling = 5s) {
  stall_watch::settings s;
  s.piece_length = piece_length;
  s.ceiling = ceiling;
  return s;
}

double secs(stall_watch::duration d) {
  return std::chrono::duration<double>(d).count();
}

TEST(stall_watch, small_pieces_get_the_floors_not_seconds) {
  stall_watch w(with(16384), clock::now());
  EXPECT_EQ(w.kick_after(), 150ms);
  EXPECT_EQ(w.origins_after(), 400ms);
  EXPECT_EQ(w.http_after(), 1s);
}

TEST(stall_watch, large_pieces_wait_longer_up_to_the_ceiling) {
  // 4 MiB pieces at the assumed 10 MiB/s: 0.4 s a piece, a gap of 0.8 s.
  stall_watch w(with(4 << 20), clock::now());
  EXPECT_EQ(w.kick_after(), 1s);  // kicks are cheap: at most 1 s apart
  EXPECT_NEAR(secs(w.origins_after()), 1.6, 0.001);
  EXPECT_NEAR(secs(w.http_after()), 2.4, 0.001);
  stall_watch capped(with(16 << 20), clock::now());
  EXPECT_EQ(capped.http_after(), 5s);
  EXPECT_EQ(capped.origins_after(), 2500ms);
}

TEST(stall_watch, thresholds_follow_the_longest_gap_the_swarm_showed) {
  auto t = clock::now();
  stall_watch w(with(16384, 60s), t);
  // A steady piece every 100 ms: the floors still hold.
  for (int i = 0; i < 100; ++i) w.delivered(t += 100ms);
  EXPECT_EQ(w.kick_after(), 150ms);
  EXPECT_EQ(w.http_after(), 1s);
  // Bursts a second apart, as a download rate limit hands out its quota:
  // such a swarm is not late after a second.
  for (int burst = 0; burst < 5; ++burst) {
    for (int i = 0; i < 10; ++i) w.delivered(t += 5ms);
    w.delivered(t += 1s);
  }
  EXPECT_EQ(w.kick_after(), 1s);
  EXPECT_GE(w.origins_after(), 1900ms);
  EXPECT_GE(w.http_after(), 2900ms);
  EXPECT_EQ(w.due(t + 1500ms), action::kick);
  // Steady again for a minute (six half-lives): the long gap is forgotten.
  for (int i = 0; i < 6000; ++i) w.delivered(t += 10ms);
  EXPECT_EQ(w.kick_after(), 150ms);
  EXPECT_EQ(w.http_after(), 1s);
}

TEST(stall_watch, remedies_come_cheapest_first_and_a_delivery_resets_them) {
  auto t0 = clock::now();
  stall_watch w(with(16384), t0);
  EXPECT_EQ(w.due(t0 + 100ms), action::none);
  EXPECT_EQ(w.due(t0 + 160ms), action::kick);
  EXPECT_EQ(w.due(t0 + 200ms), action::none);  // the next kick is an interval away
  EXPECT_EQ(w.due(t0 + 320ms), action::kick);
  EXPECT_EQ(w.due(t0 + 410ms), action::ask_origins);
  EXPECT_EQ(w.due(t0 + 480ms), action::kick);
  EXPECT_EQ(w.due(t0 + 1010ms), action::fetch_over_http);
  EXPECT_EQ(w.due(t0 + 1100ms), action::fetch_over_http);  // for as long as the quiet lasts
  // The swarm delivers again; the 1.2 s wait went to HTTP and does not
  // count as the swarm's pace.
  w.delivered(t0 + 1200ms);
  EXPECT_EQ(w.kick_after(), 150ms);
  EXPECT_EQ(w.due(t0 + 1300ms), action::none);
  EXPECT_EQ(w.due(t0 + 1360ms), action::kick);
  // Origins are asked once per download.
  EXPECT_NE(w.due(t0 + 1700ms), action::ask_origins);
  EXPECT_EQ(w.due(t0 + 2300ms), action::fetch_over_http);
}

TEST(stall_watch, an_excused_wait_is_neither_quiet_nor_a_gap) {
  auto t0 = clock::now();
  stall_watch w(with(16384), t0);
  w.excuse(t0 + 900ms);  // segments not published yet
  EXPECT_EQ(w.due(t0 + 1000ms), action::none);
  EXPECT_EQ(w.due(t0 + 1060ms), action::kick);
  w.delivered(t0 + 1070ms);
  EXPECT_EQ(w.kick_after(), 150ms);
}

TEST(stall_watch, a_short_stall_timeout_caps_every_threshold) {
  auto t0 = clock::now();
  stall_watch w(with(16384, 300ms), t0);
  EXPECT_EQ(w.http_after(), 300ms);
  EXPECT_EQ(w.origins_after(), 150ms);
  EXPECT_EQ(w.kick_after(), 75ms);
  EXPECT_EQ(w.due(t0 + 310ms), action::ask_origins);
  EXPECT_EQ(w.due(t0 + 311ms), action::fetch_over_http);
}

}  // namespace
}  // namespace blobswarm::mirror
