#include "seeder/cluster_ingest.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace blobswarm::seeder {

cluster_ingest::cluster_ingest(asio::io_context& io, blocking_pool& pool, tracker_link& tracker,
                               ingest_lease& lease, swarm_fetch& swarm, replicator& replicas,
                               cluster_options options, metrics::registry& metrics,
                               std::shared_ptr<spdlog::logger> log)
    : io_(io),
      pool_(pool),
      tracker_(tracker),
      lease_(lease),
      swarm_(swarm),
      replicas_(replicas),
      options_(options),
      log_(std::move(log)),
      alive_(std::make_shared<bool>(true)),
      swarm_bytes_(metrics.add_counter(
          "blobswarm_seeder_swarm_bytes_total",
          "Blob bytes this seeder got from other peers instead of upstream (replicas, takeovers)")),
      followed_(metrics.add_counter(
          "blobswarm_seeder_ingests_followed_total",
          "Blobs asked for while another seeder held their ingest lease (followed, not fetched)")) {
}

cluster_ingest::~cluster_ingest() {
  alive_.reset();
}

awaitable<void> cluster_ingest::pause(duration d) {
  asio::steady_timer t(io_, d);
  boost::system::error_code ec;
  co_await t.async_wait(asio::redirect_error(asio::use_awaitable, ec));
}

awaitable<std::optional<std::uint64_t>> cluster_ingest::upstream_size(
    const blob_job& job, const registry::client& client) {
  auto name = job.name;
  auto d = job.digest;
  auto ask = [&client, name, d, cancel = &job.cancel] {
    registry::request_options opts{.cancel = cancel};
    return client.head_blob(name, d, opts);
  };
  auto head = co_await pool_.run(std::move(ask));
  if (!head || !head->size_known) {
    log_->warn("{}: upstream did not tell its size{}", d,
               head ? std::string() : ": " + head.error().message);
    co_return std::nullopt;
  }
  co_return head->size;
}

awaitable<std::optional<blob_torrent>> cluster_ingest::whole_torrent(const blob_job& job) {
  auto d = job.digest;
  auto get = [this, d] {
    return tracker_.torrent(d, std::nullopt);
  };
  auto bytes = co_await pool_.run(std::move(get));
  if (!bytes) co_return std::nullopt;
  auto size = torrent_size(*bytes);
  if (!size) co_return std::nullopt;
  auto t =
      adopt_blob_torrent(*bytes, d, piece_layout::make(*size, options_.segment_size), std::nullopt);
  if (!t) {
    log_->warn("{}: the tracker's torrent is not usable here: {}", d, t.error().message);
    co_return std::nullopt;
  }
  co_return std::move(*t);
}

awaitable<std::vector<blob_torrent>> cluster_ingest::segment_torrents(const blob_job& job,
                                                                      const tracker_blob& info,
                                                                      const piece_layout& layout,
                                                                      std::uint32_t from) {
  std::vector<blob_torrent> out;
  auto d = job.digest;
  for (auto n = from; n < info.segments.size() && info.segments[n] == n; ++n) {
    auto get = [this, d, n] {
      return tracker_.torrent(d, n);
    };
    auto bytes = co_await pool_.run(std::move(get));
    if (!bytes) break;
    auto t = adopt_blob_torrent(*bytes, d, layout, n);
    if (!t) {
      log_->warn("{}: segment {} at the tracker is not usable here: {}", d, n, t.error().message);
      break;
    }
    out.push_back(std::move(*t));
  }
  co_return out;
}

awaitable<std::uint64_t> cluster_ingest::from_swarm(const std::shared_ptr<blob_job>& job,
                                                    std::vector<swarm_part> parts,
                                                    std::uint64_t size,
                                                    const open_file_fn& open_file) {
  if (!job->file_ready) {
    auto open = [open_file, size] {
      return open_file(size);
    };
    auto f = co_await pool_.run(std::move(open));
    if (!f) {
      log_->warn("{}: cannot make room for it: {}", job->digest, f.error().message);
      co_return 0;
    }
    job->file_ready = true;
    job->file = f->path;
    job->read_fd = f->fd;
    if (!job->layout) job->layout = piece_layout::make(size, options_.segment_size);
    job->changed.notify_all();
  }
  auto started = std::chrono::steady_clock::now();
  auto on_progress = [job](std::uint64_t prefix) {
    job->received.store(prefix, std::memory_order_release);
    job->changed.notify_all();
  };
  auto prefix =
      co_await swarm_.run(std::move(parts), job->file, job->read_fd, job->cancel, on_progress);
  if (prefix > job->from_swarm) {
    swarm_bytes_.inc(prefix - job->from_swarm);
    job->from_swarm = prefix;
  }
  log_->info("{}: {} of {} bytes from the swarm in {:.2f}s", job->digest, prefix, size,
             std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
  co_return prefix;
}

awaitable<result<cluster_ingest::head_start>> cluster_ingest::prepare(
    std::shared_ptr<blob_job> job, std::shared_ptr<registry::client> client,
    open_file_fn open_file) {
  auto alive = std::weak_ptr<bool>(alive_);
  const auto d = job->digest;
  auto deadline = std::chrono::steady_clock::now() + options_.wait_timeout;
  head_start head;
  bool try_whole = true;
  bool counted = false;
  // Bounded: every pass either returns or pauses follow_interval, and the
  // deadline (or a shutdown) ends the wait.
  while (true) {
    if (job->cancel.load() || !alive.lock()) {
      co_return fail(errc::unavailable, "the seeder is shutting down");
    }
    auto look = [this, d] {
      return tracker_.blob(d);
    };
    auto rec = co_await pool_.run(std::move(look));
    if (!rec && rec.error().code != errc::not_found) {
      log_->debug("{}: cannot ask the tracker what it has: {}", d, rec.error().message);
    }
    tracker_blob info = rec ? *rec : tracker_blob{};

    // 1. Another seeder has the whole blob: the swarm has it.
    if (info.whole && try_whole) {
      try_whole = false;
      if (auto whole = co_await whole_torrent(*job)) {
        auto size = whole->bytes.empty() ? 0 : *torrent_size(whole->bytes);
        head.size = size;
        job->known_whole = *whole;
        if (!job->layout) job->layout = piece_layout::make(size, options_.segment_size);
        job->changed.notify_all();
        const auto& layout = *job->layout;
        std::vector<swarm_part> parts{
            {.torrent = *whole, .offset = 0, .length = size, .piece_length = layout.piece_length}};
        head.prefix = co_await from_swarm(job, std::move(parts), size, open_file);
        if (head.prefix == size) co_return head;
      }
    }

    // 2. Nobody has it all: whoever holds the lease fetches it.
    auto claim = [this, d] {
      return lease_.claim(d);
    };
    auto c = co_await pool_.run(std::move(claim));
    if (c.what == lease_claim::outcome::held) {
      if (job->following != c.holder) {
        log_->info("{} is being ingested by {}: following it", d, c.holder);
        job->following = c.holder;
        if (!counted) followed_.inc();
        counted = true;
        job->changed.notify_all();
      }
      if (!job->layout) {
        if (auto size = co_await upstream_size(*job, *client)) {
          job->layout = piece_layout::make(*size, options_.segment_size);
          job->changed.notify_all();
        }
      }
      if (job->layout && job->layout->segmented()) {
        auto from = static_cast<std::uint32_t>(job->segments.size());
        for (auto& t : co_await segment_torrents(*job, info, *job->layout, from)) {
          job->segments.push_back(std::move(t));
        }
        if (job->segments.size() > from) job->changed.notify_all();
      }
      if (std::chrono::steady_clock::now() > deadline) {
        co_return fail(errc::timeout, "{} is still being ingested by {} after {}", d, c.holder,
                       format_duration(options_.wait_timeout));
      }
      co_await pause(options_.follow_interval);
      try_whole = true;  // it may have finished meanwhile
      continue;
    }
    if (c.what == lease_claim::outcome::unavailable) {
      if (!lease_store_down_) {
        log_->warn("ingest leases unavailable ({}): ingesting {} without one", c.error, d);
      }
      lease_store_down_ = true;
    } else {
      lease_store_down_ = false;
      job->leased = true;
      keep_lease(job);
    }
    if (!job->following.empty()) {
      log_->info("{}: {} stopped ingesting it (its lease expired); taking over", d, job->following);
      job->following.clear();
    }

    // 3. The segments a previous holder registered are on the mirrors.
    if (head.prefix == 0 && !info.segments.empty() && info.segments.front() == 0) {
      if (!head.size) head.size = co_await upstream_size(*job, *client);
      if (head.size) {
        auto layout = piece_layout::make(*head.size, options_.segment_size);
        if (!job->layout) job->layout = layout;
        std::vector<swarm_part> parts;
        for (auto& t : co_await segment_torrents(*job, info, layout, 0)) {
          auto n = static_cast<std::uint32_t>(parts.size());
          parts.push_back({.torrent = std::move(t),
                           .offset = layout.segment_offset(n),
                           .length = layout.segment_bytes(n),
                           .piece_length = layout.piece_length});
        }
        if (!parts.empty()) {
          head.prefix = co_await from_swarm(job, std::move(parts), *head.size, open_file);
        }
      }
    }
    co_return head;
  }
}

void cluster_ingest::keep_lease(const std::shared_ptr<blob_job>& job) {
  auto alive = alive_;
  auto log = log_;
  asio::co_spawn(io_, renew(job), [alive, log, job](std::exception_ptr e) {
    if (!e) return;
    try {
      std::rethrow_exception(e);
    } catch (const std::exception& ex) {
      log->error("lease renewal of {} ended by an exception: {}", job->digest, ex.what());
    }
  });
}

awaitable<void> cluster_ingest::renew(std::shared_ptr<blob_job> job) {
  auto alive = std::weak_ptr<bool>(alive_);
  auto every = std::max<duration>(lease_.ttl() / 3, std::chrono::milliseconds(100));
  // Bounded: ends with the job (or its lease).
  while (job->leased && !job->done()) {
    co_await pause(every);
    if (!alive.lock() || !job->leased || job->done()) co_return;
    auto d = job->digest;
    auto again = [this, d] {
      return lease_.renew(d);
    };
    auto c = co_await pool_.run(std::move(again));
    if (!alive.lock()) co_return;
    if (c.what == lease_claim::outcome::held) {
      // It expired here (Redis lost it, or this seeder stalled longer than
      // the ttl) and another seeder took the blob over: both fetch it; the
      // bytes are the same.
      log_->warn("{}: the ingest lease passed to {} while this seeder still ingests it", d,
                 c.holder);
      job->leased = false;
      co_return;
    }
    if (c.what == lease_claim::outcome::unavailable) {
      log_->debug("{}: cannot renew the ingest lease: {}", d, c.error);
    }
  }
}

void cluster_ingest::ended(const std::shared_ptr<blob_job>& job) {
  if (job->leased) {
    job->leased = false;
    auto d = job->digest;
    auto* lease = &lease_;
    asio::post(pool_.pool(), [lease, d] { lease->release(d); });
  }
  if (job->st == blob_job::state::complete && job->from_upstream) {
    replicas_.replicate(job->digest, job->name, job->host);
  }
}

}  // namespace blobswarm::seeder
