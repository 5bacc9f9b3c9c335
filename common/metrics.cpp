#include "common/metrics.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <stdexcept>

namespace blobswarm::metrics {
namespace {

bool valid_name(const std::string& n) {
  if (n.empty()) return false;
  auto first = [](char c) {
    return std::isalpha(static_cast<unsigned char>(c)) || c == '_' || c == ':';
  };
  if (!first(n[0])) return false;
  return std::all_of(n.begin(), n.end(), [&](char c) {
    return first(c) || std::isdigit(static_cast<unsigned char>(c));
  });
}

std::string escape_label(const std::string& v) {
  std::string out;
  for (char c : v) {
    if (c == '\\')
      out += "\\\\";
    else if (c == '"')
      out += "\\\"";
    else if (c == '\n')
      out += "\\n";
    else
      out += c;
  }
  return out;
}

std::string escape_help(const std::string& v) {
  std::string out;
  for (char c : v) {
    if (c == '\\')
      out += "\\\\";
    else if (c == '\n')
      out += "\\n";
    else
      out += c;
  }
  return out;
}

std::string format_labels(const labels& l, const std::string& extra_key = {},
                          const std::string& extra_value = {}) {
  if (l.empty() && extra_key.empty()) return {};
  std::string out = "{";
  bool first = true;
  for (const auto& [k, v] : l) {
    if (!first) out += ',';
    first = false;
    out += fmt::format("{}=\"{}\"", k, escape_label(v));
  }
  if (!extra_key.empty()) {
    if (!first) out += ',';
    out += fmt::format("{}=\"{}\"", extra_key, extra_value);
  }
  return out + "}";
}

std::string format_value(double v) {
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  if (std::isnan(v)) return "NaN";
  if (v == std::floor(v) && std::fabs(v) < 1e15)
    return fmt::format("{}", static_cast<long long>(v));
  return fmt::format("{}", v);
}

}  // namespace

histogram::histogram(std::vector<double> bounds)
    : bounds_(std::move(bounds)),
      buckets_(std::make_unique<std::atomic<std::uint64_t>[]>(bounds_.size() + 1)) {
  if (!std::is_sorted(bounds_.begin(), bounds_.end())) {
    throw std::logic_error("histogram bounds must be ascending");
  }
}

void histogram::observe(double v) noexcept {
  auto it = std::lower_bound(bounds_.begin(), bounds_.end(), v);
  buckets_[static_cast<std::size_t>(it - bounds_.begin())].fetch_add(1, std::memory_order_relaxed);
  count_.fetch_add(1, std::memory_order_relaxed);
  double old = sum_.load(std::memory_order_relaxed);
  while (!sum_.compare_exchange_weak(old, old + v, std::memory_order_relaxed)) {
  }
}

histogram::snapshot histogram::read() const {
  snapshot s;
  std::uint64_t running = 0;
  for (std::size_t i = 0; i <= bounds_.size(); ++i) {
    running += buckets_[i].load(std::memory_order_relaxed);
    s.cumulative.push_back(running);
  }
  s.count = running;
  s.sum = sum_.load(std::memory_order_relaxed);
  return s;
}

std::vector<double> latency_buckets() {
  return {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120};
}

registry::series& registry::find_or_add(const std::string& name, const std::string& help, kind k,
                                        labels l) {
  if (!valid_name(name)) throw std::logic_error("invalid metric name: " + name);
  for (const auto& [key, value] : l) {
    if (!valid_name(key) || key.starts_with("__")) {
      throw std::logic_error("invalid label name: " + key);
    }
  }
  std::sort(l.begin(), l.end());
  auto [it, inserted] = families_.try_emplace(name, family{k, help, {}});
  if (!inserted && it->second.k != k) {
    throw std::logic_error("metric " + name + " registered with two types");
  }
  for (auto& s : it->second.all) {
    if (s.l == l) return s;
  }
  it->second.all.push_back(series{std::move(l), nullptr, nullptr, nullptr, nullptr});
  return it->second.all.back();
}

counter& registry::add_counter(const std::string& name, const std::string& help, labels l) {
  std::lock_guard lock(mutex_);
  auto& s = find_or_add(name, help, kind::counter, std::move(l));
  if (!s.c) s.c = std::make_unique<counter>();
  return *s.c;
}

gauge& registry::add_gauge(const std::string& name, const std::string& help, labels l) {
  std::lock_guard lock(mutex_);
  auto& s = find_or_add(name, help, kind::gauge, std::move(l));
  if (!s.g) s.g = std::make_unique<gauge>();
  return *s.g;
}

histogram& registry::add_histogram(const std::string& name, const std::string& help,
                                   std::vector<double> bounds, labels l) {
  std::lock_guard lock(mutex_);
  auto& s = find_or_add(name, help, kind::histogram, std::move(l));
  if (!s.h) s.h = std::make_unique<histogram>(std::move(bounds));
  return *s.h;
}

void registry::add_gauge_callback(const std::string& name, const std::string& help,
                                  std::function<double()> read, labels l) {
  std::lock_guard lock(mutex_);
  auto& s = find_or_add(name, help, kind::gauge, std::move(l));
  s.read = std::move(read);
}

std::string registry::render() const {
  std::lock_guard lock(mutex_);
  std::string out;
  for (const auto& [name, fam] : families_) {
    static constexpr const char* type_names[] = {"counter", "gauge", "histogram"};
    out += fmt::format("# HELP {} {}\n# TYPE {} {}\n", name, escape_help(fam.help), name,
                       type_names[static_cast<int>(fam.k)]);
    for (const auto& s : fam.all) {
      switch (fam.k) {
        case kind::counter:
          out += fmt::format("{}{} {}\n", name, format_labels(s.l), s.c->value());
          break;
        case kind::gauge:
          out += fmt::format("{}{} {}\n", name, format_labels(s.l),
                             s.read ? format_value(s.read()) : fmt::format("{}", s.g->value()));
          break;
        case kind::histogram: {
          auto snap = s.h->read();
          const auto& bounds = s.h->bounds();
          for (std::size_t i = 0; i <= bounds.size(); ++i) {
            auto le = i < bounds.size() ? format_value(bounds[i]) : std::string("+Inf");
            out += fmt::format("{}_bucket{} {}\n", name, format_labels(s.l, "le", le),
                               snap.cumulative[i]);
          }
          out += fmt::format("{}_sum{} {}\n", name, format_labels(s.l), format_value(snap.sum));
          out += fmt::format("{}_count{} {}\n", name, format_labels(s.l), snap.count);
          break;
        }
      }
    }
  }
  return out;
}

}  // namespace blobswarm::metrics
