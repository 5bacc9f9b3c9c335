#include "torrentgen/progress_bar.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

namespace blobswarm::torrentgen {

progress_bar::progress_bar(std::FILE* out, std::string label)
    : out_(out), label_(std::move(label)), start_(clock::now()) {}

std::string progress_bar::render(std::string_view label, std::uint64_t done, std::uint64_t total,
                                 double seconds, int width) {
  double fraction = total == 0 ? 1.0 : std::min(1.0, double(done) / double(total));
  int filled = static_cast<int>(fraction * width);
  double rate = seconds > 0 ? double(done) / seconds : 0.0;
  std::string eta = "--:--";
  if (rate > 0 && done < total) {
    auto left = static_cast<long long>(std::ceil(double(total - done) / rate));
    eta = left >= 3600 ? fmt::format("{}:{:02}:{:02}", left / 3600, left / 60 % 60, left % 60)
                       : fmt::format("{}:{:02}", left / 60, left % 60);
  } else if (done >= total) {
    eta = "0:00";
  }
  return fmt::format("{} {:5.1f}% [{}{}] {:7.1f} MB/s  ETA {}", label, fraction * 100,
                     std::string(static_cast<std::size_t>(filled), '#'),
                     std::string(static_cast<std::size_t>(width - filled), ' '), rate / 1e6, eta);
}

void progress_bar::update(std::uint64_t done, std::uint64_t total) {
  double seconds = std::chrono::duration<double>(clock::now() - start_).count();
  std::fputs(("\r" + render(label_, done, total, seconds) + "\x1b[K").c_str(), out_);
  std::fflush(out_);
  drawn_ = true;
}

void progress_bar::finish() {
  if (!drawn_) return;
  std::fputs("\r\x1b[K", out_);
  std::fflush(out_);
  drawn_ = false;
}

}  // namespace blobswarm::torrentgen
