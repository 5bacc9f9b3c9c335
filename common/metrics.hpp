// metrics: counters, gauges and histograms rendered in the Prometheus text
// exposition format. Registration takes a lock; updates are lock-free
// atomics, cheap enough for the tracker's announce path.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

namespace blobswarm::metrics {

using labels = std::vector<std::pair<std::string, std::string>>;

class counter {
 public:
  void inc(std::uint64_t n = 1) noexcept { value_.fetch_add(n, std::memory_order_relaxed); }
  std::uint64_t value() const noexcept { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<std::uint64_t> value_{0};
};

class gauge {
 public:
  void set(std::int64_t v) noexcept { value_.store(v, std::memory_order_relaxed); }
  void add(std::int64_t n) noexcept { value_.fetch_add(n, std::memory_order_relaxed); }
  void sub(std::int64_t n) noexcept { value_.fetch_sub(n, std::memory_order_relaxed); }
  std::int64_t value() const noexcept { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<std::int64_t> value_{0};
};

class histogram {
 public:
  // `bounds` are the buckets' upper bounds, ascending; +Inf is implied.
  explicit histogram(std::vector<double> bounds);
  void observe(double v) noexcept;

  struct snapshot {
    std::vector<std::uint64_t> cumulative;  // one per bound, then +Inf
    double sum = 0;
    std::uint64_t count = 0;
  };
  snapshot read() const;
  const std::vector<double>& bounds() const noexcept { return bounds_; }

 private:
  std::vector<double> bounds_;
  std::unique_ptr<std::atomic<std::uint64_t>[]> buckets_;
  std::atomic<std::uint64_t> count_{0};
  std::atomic<double> sum_{0};
};

// Buckets for latencies in seconds, 1 ms to 2 min.
std::vector<double> latency_buckets();

class registry {
 public:
  // The same name and labels return the same series. Names must match
  // [a-zA-Z_:][a-zA-Z0-9_:]*; a name reused with another type throws
  // std::logic_error (a programming error, found at start-up).
  counter& add_counter(const std::string& name, const std::string& help, labels l = {});
  gauge& add_gauge(const std::string& name, const std::string& help, labels l = {});
  histogram& add_histogram(const std::string& name, const std::string& help,
                           std::vector<double> bounds, labels l = {});
  // A gauge whose value is read when metrics are rendered.
  void add_gauge_callback(const std::string& name, const std::string& help,
                          std::function<double()> read, labels l = {});

  // Prometheus text format 0.0.4.
  std::string render() const;
  static constexpr const char* content_type = "text/plain; version=0.0.4; charset=utf-8";

 private:
  enum class kind { counter, gauge, histogram };
  struct series {
    labels l;
    std::unique_ptr<counter> c;
    std::unique_ptr<gauge> g;
    std::unique_ptr<histogram> h;
    std::function<double()> read;
  };
  struct family {
    kind k;
    std::string help;
    std::vector<series> all;
  };
  series& find_or_add(const std::string& name, const std::string& help, kind k, labels l);

  mutable std::mutex mutex_;
  std::map<std::string, family> families_;
};

}  // namespace blobswarm::metrics
