#include "seeder/swarm_fetch.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace blobswarm::seeder {

namespace {
// How often progress is looked at: a fraction of the shortest stall.
constexpr auto poll_every = std::chrono::milliseconds(100);
}  // namespace

swarm_fetch::swarm_fetch(asio::io_context& io, torrent_session& session, duration stall,
                         std::shared_ptr<spdlog::logger> log)
    : io_(io), session_(session), stall_(stall), log_(std::move(log)) {}

std::uint64_t swarm_fetch::prefix_of(const std::vector<swarm_part>& parts,
                                     const std::vector<std::vector<bool>>& pieces) {
  std::uint64_t prefix = 0;
  for (std::size_t i = 0; i < parts.size(); ++i) {
    const auto& p = parts[i];
    if (p.offset != prefix || p.piece_length == 0) break;  // not contiguous: stop here
    std::uint64_t have = 0;
    const auto& bits = i < pieces.size() ? pieces[i] : std::vector<bool>{};
    std::size_t n = 0;
    while (n < bits.size() && bits[n]) ++n;
    have = std::min<std::uint64_t>(static_cast<std::uint64_t>(n) * p.piece_length, p.length);
    prefix += have;
    if (have < p.length) break;
  }
  return prefix;
}

awaitable<std::uint64_t> swarm_fetch::run(std::vector<swarm_part> parts, std::filesystem::path path,
                                          std::shared_ptr<unique_fd> fd,
                                          const std::atomic<bool>& cancel,
                                          std::function<void(std::uint64_t)> progress) {
  std::vector<info_hash> added;
  for (const auto& p : parts) {
    // One this session already has reads from another file: not this one's bytes.
    if (session_.contains(p.torrent.v1)) break;
    auto ih = session_.add_download(p.torrent.bytes, path, p.offset, fd);
    if (!ih) {
      log_->warn("cannot download {} from the swarm: {}", p.torrent.v1, ih.error().message);
      break;
    }
    added.push_back(*ih);
  }
  using clock = std::chrono::steady_clock;
  auto last_progress = clock::now();
  std::uint64_t last_done = 0;
  std::uint64_t prefix = 0;
  bool asked_again = false;  // re-announced since the last progress
  parts.erase(parts.begin() + static_cast<std::ptrdiff_t>(added.size()), parts.end());
  std::vector<std::vector<bool>> pieces(added.size());
  std::vector<bool> finished(added.size(), false);
  asio::steady_timer timer(io_);
  // Bounded: ends when every part finished, on cancel, or after a stall.
  while (!cancel.load()) {
    timer.expires_after(poll_every);
    boost::system::error_code ec;
    co_await timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    std::uint64_t done = 0;
    bool all = !added.empty();
    for (std::size_t i = 0; i < added.size(); ++i) {
      auto st = session_.status_of(added[i]);
      done += st.done;
      finished[i] = st.known && st.finished;
      if (st.known) pieces[i] = std::move(st.pieces);
      all = all && finished[i];
    }
    auto now = clock::now();
    if (done > last_done) {
      last_done = done;
      last_progress = now;
      asked_again = false;
    }
    if (auto p = prefix_of(parts, pieces); p > prefix) {
      prefix = p;
      if (progress) progress(prefix);
    }
    if (all || added.empty()) break;
    auto limit = last_done == 0 ? 2 * stall_ : stall_;
    if (!asked_again && now - last_progress > limit / 2) {
      // The peers that have it may have joined after this seeder's first
      // announce (a seeder that just finished the blob): ask for them now
      // rather than at the next announce interval.
      for (std::size_t i = 0; i < added.size(); ++i) {
        if (!finished[i]) session_.reannounce(added[i]);
      }
      asked_again = true;
    }
    if (now - last_progress > limit) {
      log_->info(
          "the swarm delivered nothing for {} ms at {} of {} bytes; the rest comes from "
          "upstream",
          std::chrono::duration_cast<std::chrono::milliseconds>(now - last_progress).count(),
          prefix, parts.empty() ? 0 : parts.back().offset + parts.back().length);
      break;
    }
  }
  for (std::size_t i = 0; i < added.size(); ++i) {
    if (!finished[i]) session_.remove(added[i]);
  }
  co_return prefix;
}

}  // namespace blobswarm::seeder
