// Prometheus rendering; promtool must accept the output.
#include "common/metrics.hpp"

#include <gtest/gtest.h>

#include <thread>

#include "tests/support/support.hpp"

namespace blobswarm::metrics {
namespace {

TEST(metrics, renders_counters_gauges_and_histograms) {
  registry r;
  r.add_counter("announces_total", "Announces by result", {{"result", "ok"}}).inc(3);
  r.add_counter("announces_total", "Announces by result", {{"result", "error"}}).inc();
  r.add_gauge("swarms", "Swarms tracked").set(7);
  r.add_gauge_callback("ratio", "A computed value", [] { return 0.25; });
  auto& h = r.add_histogram("pull_seconds", "Pull latency", {0.1, 1, 10});
  h.observe(0.05);
  h.observe(5);
  h.observe(50);
  auto text = r.render();
  EXPECT_NE(text.find("# TYPE announces_total counter"), std::string::npos);
  EXPECT_NE(text.find("announces_total{result=\"ok\"} 3"), std::string::npos);
  EXPECT_NE(text.find("announces_total{result=\"error\"} 1"), std::string::npos);
  EXPECT_NE(text.find("swarms 7"), std::string::npos);
  EXPECT_NE(text.find("ratio 0.25"), std::string::npos);
  EXPECT_NE(text.find("pull_seconds_bucket{le=\"0.1\"} 1"), std::string::npos);
  EXPECT_NE(text.find("pull_seconds_bucket{le=\"10\"} 2"), std::string::npos);
  EXPECT_NE(text.find("pull_seconds_bucket{le=\"+Inf\"} 3"), std::string::npos);
  EXPECT_NE(text.find("pull_seconds_count 3"), std::string::npos);
  EXPECT_NE(text.find("pull_seconds_sum 55.05"), std::string::npos);
  // The same name and labels give the same series.
  EXPECT_EQ(&r.add_gauge("swarms", "Swarms tracked"), &r.add_gauge("swarms", "Swarms tracked"));
}

TEST(metrics, label_values_are_escaped) {
  registry r;
  r.add_counter("x_total", "help with \\ and\nnewline", {{"path", "a\"b\\c\nd"}}).inc();
  auto text = r.render();
  EXPECT_NE(text.find(R"(x_total{path="a\"b\\c\nd"} 1)"), std::string::npos) << text;
  EXPECT_NE(text.find(R"(# HELP x_total help with \\ and\nnewline)"), std::string::npos) << text;
}

TEST(metrics, rejects_bad_names_and_type_clashes) {
  registry r;
  EXPECT_THROW(r.add_counter("bad-name", "h"), std::logic_error);
  EXPECT_THROW(r.add_counter("ok", "h", {{"__reserved", "x"}}), std::logic_error);
  r.add_counter("thing", "h");
  EXPECT_THROW(r.add_gauge("thing", "h"), std::logic_error);
}

TEST(metrics, counters_are_exact_under_concurrent_updates) {
  registry r;
  auto& c = r.add_counter("hits_total", "hits");
  auto& h = r.add_histogram("lat", "latency", latency_buckets());
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 100000; ++i) {
        c.inc();
        h.observe(0.002);
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(c.value(), 400000u);
  EXPECT_EQ(h.read().count, 400000u);
}

TEST(metrics, promtool_accepts_the_output) {
  auto promtool = test::find_program("promtool");
  ASSERT_TRUE(promtool) << "promtool is not installed (scripts/install-deps installs prometheus)";
  registry r;
  r.add_counter("blobswarm_bytes_total", "Bytes served by source", {{"source", "peers"}}).inc(42);
  r.add_gauge("blobswarm_active_downloads", "Downloads in progress").set(2);
  r.add_histogram("blobswarm_pull_seconds", "Pull latency", latency_buckets()).observe(0.3);
  test::temp_dir dir;
  test::write_text(dir / "metrics.txt", r.render());
  auto res = test::run_command(
      {"/bin/sh", "-c", promtool->string() + " check metrics < " + (dir / "metrics.txt").string()});
  EXPECT_EQ(res.status, 0) << res.output;
}

}  // namespace
}  // namespace blobswarm::metrics
