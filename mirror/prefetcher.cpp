#include "mirror/prefetcher.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>

#include "common/units.hpp"

namespace blobswarm::mirror {

prefetcher::prefetcher(asio::io_context& io, cache& store, options o, start_fn start, have_fn have,
                       std::shared_ptr<spdlog::logger> log)
    : io_(io),
      store_(store),
      options_(o),
      start_(std::move(start)),
      have_(std::move(have)),
      log_(std::move(log)) {}

std::size_t prefetcher::image(const std::string& host, const repository_name& name,
                              const registry::manifest& m) {
  if (options_.concurrency == 0 || m.is_index()) return 0;
  std::vector<blob_ref> missing;
  std::uint64_t bytes = 0;
  for (const auto& d : m.blobs()) {
    if (queued_.contains(d.digest.str()) || have_(d.digest)) continue;
    missing.push_back(blob_ref{host, name, d.digest});
    bytes += d.size;
  }
  if (missing.empty()) return 0;
  if (bytes > store_.quota() / 2) {
    log_->info("not prefetching {} blob(s) of {} ({}): more than half the cache quota",
               missing.size(), name.str(), human_bytes(bytes));
    skipped_ += missing.size();
    return 0;
  }
  std::size_t n = 0;
  for (auto& b : missing) {
    if (queue_.size() >= options_.max_queue) {
      skipped_ += missing.size() - n;
      break;
    }
    queued_.insert(b.id.str());
    queue_.push_back(std::move(b));
    ++n;
  }
  log_->debug("prefetching {} blob(s) of {} ({})", n, name.str(), human_bytes(bytes));
  pump();
  return n;
}

void prefetcher::asked(const digest& id) {
  if (queued_.erase(id.str()) == 0) return;
  std::erase_if(queue_, [&](const blob_ref& b) { return b.id == id; });
}

void prefetcher::pump() {
  while (running_ < options_.concurrency && !queue_.empty()) {
    auto b = std::move(queue_.front());
    queue_.pop_front();
    queued_.erase(b.id.str());
    if (have_(b.id)) continue;  // a client asked for it meanwhile
    ++running_;
    ++started_;
    asio::co_spawn(io_, watch(start_(b)), asio::detached);
  }
}

awaitable<void> prefetcher::watch(std::shared_ptr<blob_download> d) {
  co_await d->wait_finished();
  --running_;
  pump();
}

}  // namespace blobswarm::mirror
