#include "mirror/file_downloads.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <libtorrent/torrent_status.hpp>
#include <nlohmann/json.hpp>

namespace blobswarm::mirror {

struct file_downloads::counters {
  explicit counters(metrics::registry& r)
      : peers(r.add_counter("blobswarm_mirror_file_bytes_total",
                            "Bytes of /files torrents this node received, by sender",
                            {{"source", "peers"}})),
        seeder(r.add_counter("blobswarm_mirror_file_bytes_total",
                             "Bytes of /files torrents this node received, by sender",
                             {{"source", "seeder"}})),
        served(r.add_counter("blobswarm_mirror_file_served_bytes_total",
                             "Bytes sent to /files clients", {{"from", "download"}})),
        served_cache(r.add_counter("blobswarm_mirror_file_served_bytes_total",
                                   "Bytes sent to /files clients", {{"from", "cache"}})),
        completed(r.add_counter("blobswarm_mirror_file_downloads_total",
                                "Torrent downloads for /files by outcome", {{"outcome", "ok"}})),
        failed(r.add_counter("blobswarm_mirror_file_downloads_total",
                             "Torrent downloads for /files by outcome", {{"outcome", "failed"}})) {}
  metrics::counter& peers;
  metrics::counter& seeder;
  metrics::counter& served;
  metrics::counter& served_cache;
  metrics::counter& completed;
  metrics::counter& failed;
};

namespace {
constexpr std::uint64_t block_size = 16 * 1024;
}  // namespace

file_downloads::file_downloads(file_context ctx, duration seed_time, metrics::registry& metrics)
    : ctx_(std::move(ctx)), seed_time_(seed_time), counters_(std::make_unique<counters>(metrics)) {
  metrics.add_gauge_callback("blobswarm_mirror_file_downloads_active",
                             "Torrent downloads for /files in progress",
                             [this] { return static_cast<double>(downloads_.size()); });
}

file_downloads::~file_downloads() {
  alive_.reset();
  auto all = std::move(downloads_);
  for (auto& [v1, d] : all) d->abandon();
}

std::shared_ptr<file_download> file_downloads::in_flight(const info_hash& v1) const {
  auto it = downloads_.find(v1);
  return it == downloads_.end() ? nullptr : it->second;
}

result<std::shared_ptr<file_download>> file_downloads::get(std::shared_ptr<const file_torrent> t,
                                                           std::optional<digest> expected,
                                                           int first, int last) {
  if (auto d = in_flight(t->id())) return d;
  auto id = t->id();
  auto d = std::make_shared<file_download>(ctx_, std::move(t), std::move(expected));
  if (auto r = d->start(first, last); !r) return fail(r.error());
  std::weak_ptr<bool> alive = alive_;
  d->on_finished([this, alive](file_download& done) {
    if (alive.lock()) finished(done);
  });
  downloads_.emplace(id, d);
  return d;
}

void file_downloads::finished(file_download& d) {
  auto id = d.torrent().id();
  counters_->peers.inc(d.blocks_from_peers() * block_size);
  counters_->seeder.inc(d.blocks_from_seeders() * block_size);
  (d.succeeded() ? counters_->completed : counters_->failed).inc();
  if (d.succeeded()) seed(id, d.handle());
  // The download may be running this very hook: release it afterwards.
  if (auto it = downloads_.find(id); it != downloads_.end() && it->second.get() == &d) {
    auto keep = std::move(it->second);
    downloads_.erase(it);
    asio::post(ctx_.io, [keep] {});
  }
}

void file_downloads::seed(const info_hash& v1, lt::torrent_handle h) {
  ctx_.peers.set_listener(h, {});
  seeding_[v1] = h;
  if (seed_time_.count() > 0) {
    auto log = ctx_.log;
    asio::co_spawn(ctx_.io, stop_seeding_later(v1, h), [log](std::exception_ptr e) {
      if (!e) return;
      try {
        std::rethrow_exception(e);
      } catch (const std::exception& ex) {
        log->error("stopping a seed failed: {}", ex.what());
      }
    });
  }
}

awaitable<void> file_downloads::stop_seeding_later(info_hash v1, lt::torrent_handle h) {
  std::weak_ptr<bool> alive = alive_;
  boost::asio::steady_timer t(ctx_.io, seed_time_);
  boost::system::error_code ec;
  co_await t.async_wait(asio::redirect_error(asio::use_awaitable, ec));
  if (!alive.lock()) co_return;
  if (auto it = seeding_.find(v1); it != seeding_.end() && it->second == h) {
    ctx_.peers.remove(h);
    seeding_.erase(it);
  }
}

void file_downloads::removed(const info_hash& v1) {
  auto it = seeding_.find(v1);
  if (it == seeding_.end()) return;
  ctx_.peers.remove(it->second);
  seeding_.erase(it);
}

void file_downloads::reseed() {
  auto files = ctx_.store.complete_files();
  if (!files) {
    ctx_.log->warn("cannot list cached torrents to seed: {}", files.error().message);
    return;
  }
  std::size_t n = 0;
  for (const auto& f : *files) {
    auto t = file_torrent::parse(f.torrent, f.id);
    if (!t) {
      ctx_.log->warn("cached torrent {} is unusable ({}); dropping it", f.id.hex(),
                     t.error().message);
      ctx_.store.abort_file(f.id);
      continue;
    }
    // Seed mode: pieces are checked lazily, the first time a peer asks.
    auto h = ctx_.peers.add(t->info(), ctx_.store.file_dir(f.id), ctx_.announce_urls, true, {});
    if (!h) {
      ctx_.log->warn("cannot seed cached torrent {}: {}", f.id.hex(), h.error().message);
      continue;
    }
    seed(f.id, *h);
    ++n;
  }
  if (n > 0) ctx_.log->info("seeding {} cached torrents fetched through /files", n);
}

void file_downloads::count_served(std::uint64_t bytes, bool from_cache) {
  (from_cache ? counters_->served_cache : counters_->served).inc(bytes);
}

nlohmann::json file_downloads::status() const {
  nlohmann::json downloads = nlohmann::json::array();
  for (const auto& [v1, d] : downloads_) {
    downloads.push_back({{"info_hash", v1.hex()},
                         {"name", d->torrent().name()},
                         {"size", d->torrent().size()},
                         {"pieces_done", d->pieces_done()},
                         {"pieces", d->torrent().piece_count()},
                         {"from_peers", d->blocks_from_peers() * block_size},
                         {"from_seeder", d->blocks_from_seeders() * block_size}});
  }
  nlohmann::json seeding = nlohmann::json::array();
  for (const auto& [v1, h] : seeding_) {
    auto st = h.status(lt::torrent_handle::query_name);
    seeding.push_back({{"info_hash", v1.hex()},
                       {"name", st.name},
                       {"uploaded", st.all_time_upload},
                       {"peers", st.num_peers}});
  }
  return {{"downloads", std::move(downloads)},
          {"seeding", std::move(seeding)},
          {"totals",
           {{"from_peers", counters_->peers.value()},
            {"from_seeder", counters_->seeder.value()},
            {"served_from_downloads", counters_->served.value()},
            {"served_from_cache", counters_->served_cache.value()},
            {"completed", counters_->completed.value()},
            {"failed", counters_->failed.value()}}}};
}

}  // namespace blobswarm::mirror
