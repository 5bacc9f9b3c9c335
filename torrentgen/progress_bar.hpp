// progress_bar: the one-line progress display `create` and `verify` draw on
// a terminal: percent, a bar, throughput in MB/s and the time left. render()
// is pure (tested); the class redraws the line in place with '\r'.
#pragma once

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <string>
#include <string_view>

namespace blobswarm::torrentgen {

class progress_bar {
 public:
  using clock = std::chrono::steady_clock;

  progress_bar(std::FILE* out, std::string label);
  void update(std::uint64_t done, std::uint64_t total);
  // Erases the line so what follows starts clean.
  void finish();

  // "hashing  42.0% [########            ]  1234.5 MB/s  ETA 0:03"
  static std::string render(std::string_view label, std::uint64_t done, std::uint64_t total,
                            double seconds, int width = 24);

 private:
  std::FILE* out_;
  std::string label_;
  clock::time_point start_;
  bool drawn_ = false;
};

}  // namespace blobswarm::torrentgen
