#include "seeder/ingestor.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>

#include "common/file.hpp"
#include "common/hasher.hpp"
#include "torrentgen/piece_hasher.hpp"

namespace blobswarm::seeder {

std::string_view to_string(blob_job::state s) noexcept {
  switch (s) {
    case blob_job::state::ingesting:
      return "ingesting";
    case blob_job::state::complete:
      return "complete";
    case blob_job::state::failed:
      return "failed";
  }
  return "unknown";
}

namespace {

constexpr std::uint64_t notify_every = 1 << 20;

double seconds_since(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
}

}  // namespace

ingestor::ingestor(asio::io_context& io, blocking_pool& pool, blob_store& store,
                   torrent_session& session, tracker_link& tracker, registry::client_pool& clients,
                   ingest_options options, metrics::registry& metrics,
                   std::shared_ptr<spdlog::logger> log, cluster_ingest* cluster)
    : io_(io),
      pool_(pool),
      store_(store),
      session_(session),
      tracker_(tracker),
      clients_(clients),
      options_(options),
      log_(std::move(log)),
      cluster_(cluster),
      alive_(std::make_shared<bool>(true)),
      ingested_(metrics.add_counter("blobswarm_seeder_blobs_ingested_total",
                                    "Blobs fetched from upstream, verified and stored")),
      failed_(metrics.add_counter("blobswarm_seeder_ingest_failures_total",
                                  "Ingests that failed (upstream errors, digest mismatches, ...)")),
      upstream_bytes_(metrics.add_counter("blobswarm_seeder_upstream_bytes_total",
                                          "Bytes received from upstream registries")),
      segments_published_(metrics.add_counter("blobswarm_seeder_segments_published_total",
                                              "Segment torrents published during ingests")),
      ingest_seconds_(metrics.add_histogram("blobswarm_seeder_ingest_seconds",
                                            "Time from the start of an ingest to its end",
                                            metrics::latency_buckets())) {}

ingestor::~ingestor() {
  shutdown();
  alive_.reset();
}

void ingestor::shutdown() {
  stopping_ = true;
  for (auto& [d, job] : jobs_) job->cancel = true;
  slot_freed_.notify_all();
}

result<ingestor::view> ingestor::get(std::string_view ns, const repository_name& name,
                                     const digest& d, bool start) {
  // The registry host is checked first, so that an unconfigured ?ns= is
  // refused whatever the seeder already holds.
  auto client = clients_.get(ns);
  if (!client) return fail(client.error());
  const auto& host = (*client)->target().host;
  if (auto it = jobs_.find(d); it != jobs_.end()) {
    auto job = it->second;
    // A recent failure answers again (a 404 is not re-fetched per request),
    // but only for the upstream it came from.
    bool fresh_failure = job->st == blob_job::state::failed && job->host == host &&
                         std::chrono::steady_clock::now() - job->finished < options_.failure_ttl;
    // A finished job lingering for its segments whose blob was evicted
    // meanwhile is forgotten: the blob is fetched again.
    bool evicted = job->st == blob_job::state::complete && !store_.find(d);
    if (!evicted && (job->st != blob_job::state::failed || fresh_failure || !start)) {
      return view{job->stored, job};
    }
    if (evicted) retire_segments(job);
    jobs_.erase(it);
  }
  if (auto s = store_.find(d)) {
    store_.touch(d);
    return view{std::move(s), nullptr};
  }
  if (!start) return fail(errc::not_found, "{} is not stored", d);
  if (stopping_) return fail(errc::unavailable, "the seeder is shutting down");
  auto job = std::make_shared<blob_job>(d, name, (*client)->target().host);
  jobs_.emplace(d, job);
  log_->info("ingesting {} from {}/{}", d, (*client)->target().host, name);
  auto alive = alive_;
  auto log = log_;
  asio::co_spawn(io_, run(job, *client), [alive, log, job](std::exception_ptr e) {
    if (!e) return;
    try {
      std::rethrow_exception(e);
    } catch (const std::exception& ex) {
      log->error("ingest of {} ended by an exception: {}", job->digest, ex.what());
    }
  });
  return view{std::nullopt, job};
}

awaitable<void> ingestor::wait_done(std::shared_ptr<blob_job> job, duration timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!job->done()) {
    auto left = deadline - std::chrono::steady_clock::now();
    if (left <= duration::zero()) break;
    co_await job->changed.wait(std::chrono::duration_cast<duration>(left));
  }
}

awaitable<void> ingestor::run(std::shared_ptr<blob_job> job,
                              std::shared_ptr<registry::client> client) {
  // Replicated seeders first see what the tracker, the lease and the swarm
  // offer (cluster_ingest); the rest comes from upstream.
  cluster_ingest::head_start head;
  if (cluster_) {
    auto open = [this, job](std::uint64_t size) {
      return open_ingest(job->digest, size);
    };
    auto prepared = co_await cluster_->prepare(job, client, std::move(open));
    if (!prepared) {
      fail_job(job, prepared.error());
      co_return;
    }
    head = *prepared;
  }
  bool upstream = !head.size || head.prefix < *head.size;
  const auto max = static_cast<std::size_t>(options_.max_ingests);
  // A small blob (an image config, a tiny layer) does not wait behind big
  // ones: when every slot is taken, the upstream is asked the blob's size
  // and one of at most small_ingest bytes starts at once.
  bool small = !upstream;
  if (!small && running_ >= max && !stopping_) {
    auto ask = [job, client] {
      registry::request_options opts{.cancel = &job->cancel};
      return client->head_blob(job->name, job->digest, opts);
    };
    auto head_reply = co_await pool_.run(std::move(ask));
    small = head_reply && head_reply->size_known && head_reply->size <= small_ingest;
    if (small) {
      log_->debug("{} is {} bytes: ingested without waiting for a slot", job->digest,
                  head_reply->size);
    }
  }
  // Bounded: every wake-up is a freed slot or a minute; stopping ends it.
  while (!small && running_ >= max && !stopping_) {
    co_await slot_freed_.wait(std::chrono::minutes(1));
  }
  if (stopping_) {
    fail_job(job, error{errc::unavailable, "the seeder is shutting down"});
    co_return;
  }
  if (upstream) ++running_;
  job->started = std::chrono::steady_clock::now();
  auto work = [this, job, client, head] {
    return fetch(job, *client, head);
  };
  auto r = co_await pool_.run(std::move(work));
  if (upstream) {
    --running_;
    slot_freed_.notify_all();
  }
  if (!r) {
    fail_job(job, r.error());
    co_return;
  }
  complete(job, std::move(*r));
}

result<ingest_file> ingestor::open_ingest(const digest& d, std::uint64_t size) {
  auto path = store_.ingest_path(d);
  auto evicted = store_.reserve(d, size);
  if (!evicted) return fail(evicted.error());
  if (!evicted->empty()) {
    asio::post(io_, [this, alive = std::weak_ptr<bool>(alive_), list = std::move(*evicted)] {
      if (alive.lock()) this->evicted(list);
    });
  }
  auto opened = open_file(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (!opened) {
    store_.abandon(d);
    return fail(opened.error());
  }
  if (size > 0) {
    // Claim the space now: a full disk fails here, before any byte.
    int rc = ::posix_fallocate(opened->get(), 0, static_cast<off_t>(size));
    if (rc == ENOSPC || rc == EDQUOT) {
      store_.abandon(d);
      return fail(system_error(rc, "cannot allocate space for the blob", path));
    }
  }
  return ingest_file{std::make_shared<unique_fd>(std::move(*opened)), path};
}

result<ingestor::fetched> ingestor::fetch(const std::shared_ptr<blob_job>& job,
                                          const registry::client& client,
                                          const cluster_ingest::head_start& head) {
  const auto& d = job->digest;
  auto path = store_.ingest_path(d);
  std::optional<piece_layout> layout;
  std::optional<torrentgen::piece_hasher> pieces;
  hasher content(d.algorithm());
  unique_fd fd;
  std::uint64_t written = 0;
  std::uint64_t notified = 0;
  std::uint32_t published = 0;
  // Until commit, a failure gives the reservation and the ingest file back.
  struct reservation {
    blob_store& store;
    const digest& d;
    bool held = false;
    ~reservation() {
      if (held) store.abandon(d);
    }
  } reserved{store_, d};
  // The swarm already filled the ingest file's start (cluster_ingest): it
  // exists, with room reserved; this fetch hashes that part from disk and
  // asks upstream only for the rest.
  const bool resumed = job->file_ready;
  const std::uint64_t prefix = resumed ? head.prefix : 0;
  reserved.held = resumed;

  auto publish = [&](std::uint32_t upto) -> result<void> {
    for (; published < upto; ++published) {
      auto t = make_segment_torrent(d, *layout, published, pieces->hashes());
      if (!t) return fail(t.error());
      asio::post(io_, [this, alive = std::weak_ptr<bool>(alive_), job, n = published,
                       t = std::move(*t)]() mutable {
        if (alive.lock()) publish_segment(job, n, std::move(t));
      });
    }
    return {};
  };

  // Opens the files and learns the layout once the size is known.
  auto begin = [&](std::uint64_t size) -> result<void> {
    std::shared_ptr<unique_fd> reader;
    if (resumed) {
      auto opened = open_file(path, O_WRONLY | O_CLOEXEC);
      if (!opened) return fail(opened.error());
      if (::lseek(opened->get(), static_cast<off_t>(prefix), SEEK_SET) < 0) {
        return fail(system_error(errno, "cannot seek in", path));
      }
      fd = std::move(*opened);
    } else {
      auto f = open_ingest(d, size);
      if (!f) return fail(f.error());
      reserved.held = true;
      auto writer = ::dup(f->fd->get());
      if (writer < 0) return fail(system_error(errno, "cannot duplicate the descriptor of", path));
      fd = unique_fd(writer);
      reader = f->fd;
    }
    layout = piece_layout::make(size, options_.segment_size);
    pieces.emplace(layout->piece_length);
    asio::post(io_, [alive = std::weak_ptr<bool>(alive_), job, l = *layout, reader] {
      if (!alive.lock()) return;
      job->layout = l;
      if (reader) job->read_fd = reader;  // resumed: the swarm's descriptor stays
      job->changed.notify_all();
    });
    return {};
  };

  auto on_start = [&](const registry::blob_response& info) -> result<void> {
    if (info.digest && *info.digest != d) {
      return fail(errc::digest_mismatch, "upstream {} says Docker-Content-Digest {} for {}",
                  client.target().host, *info.digest, d);
    }
    if (!info.size_known) {
      return fail(errc::upstream, "upstream {} sent {} without a Content-Length",
                  client.target().host, d);
    }
    if (layout) {
      if (info.size != layout->size) {
        return fail(errc::upstream, "upstream says {} has {} bytes; the swarm's torrent, {}", d,
                    info.size, layout->size);
      }
      return {};
    }
    return begin(info.size);
  };

  auto on_data = [&](std::span<const std::byte> data) -> result<void> {
    if (written + data.size() > layout->size) {
      return fail(errc::upstream, "upstream sent more than the {} bytes it announced for {}",
                  layout->size, d);
    }
    if (auto w = write_all(fd.get(), data, path); !w) return w;
    content.update(data);
    pieces->update(data);
    written += data.size();
    job->received.store(written, std::memory_order_release);
    upstream_bytes_.inc(data.size());
    // The last segment is published only after the digest check.
    auto whole_segments =
        layout->segments_complete(static_cast<std::uint32_t>(pieces->hashes().size()));
    if (whole_segments == layout->segment_count && whole_segments > 0) --whole_segments;
    if (auto p = publish(whole_segments); !p) return p;
    if (written - notified >= notify_every) {
      notified = written;
      asio::post(io_, [alive = std::weak_ptr<bool>(alive_), job] {
        if (alive.lock()) job->changed.notify_all();
      });
    }
    return {};
  };

  // Resumed: what the swarm wrote is hashed (and its segments published)
  // as if it had just arrived.
  auto hash_prefix = [&]() -> result<void> {
    auto reader = open_file(path, O_RDONLY | O_CLOEXEC);
    if (!reader) return fail(reader.error());
    std::string buffer(std::min<std::uint64_t>(prefix, 1 << 20), '\0');
    while (written < prefix) {
      auto want =
          static_cast<std::size_t>(std::min<std::uint64_t>(buffer.size(), prefix - written));
      auto n = ::pread(reader->get(), buffer.data(), want, static_cast<off_t>(written));
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) return fail(system_error(errno, "cannot read back", path));
      if (n == 0)
        return fail(errc::io, "{} ends at {} of the {} bytes the swarm wrote", path.string(),
                    written, prefix);
      std::string_view got(buffer.data(), static_cast<std::size_t>(n));
      content.update(got);
      pieces->update(std::as_bytes(std::span(got.data(), got.size())));
      written += static_cast<std::uint64_t>(n);
      auto whole_segments =
          layout->segments_complete(static_cast<std::uint32_t>(pieces->hashes().size()));
      if (whole_segments == layout->segment_count && whole_segments > 0) --whole_segments;
      if (auto p = publish(whole_segments); !p) return p;
    }
    return {};
  };

  registry::request_options opts{.cancel = &job->cancel};
  if (resumed) {
    if (!head.size) return fail(errc::internal, "{}: resumed without a size", d);
    if (auto b = begin(*head.size); !b) return fail(b.error());
    if (auto h = hash_prefix(); !h) return fail(h.error());
  }
  bool from_upstream = !resumed || written < layout->size;
  if (from_upstream) {
    std::optional<http::byte_range> range;
    if (resumed) range = http::byte_range{written, layout->size - 1};
    auto r = client.get_blob(job->name, d, range, on_start, on_data, opts);
    if (!r) return fail(r.error());
  }
  if (!layout) return fail(errc::upstream, "upstream sent no body for {}", d);
  if (written != layout->size) {
    return fail(errc::upstream, "upstream ended {} after {} of {} bytes", d, written, layout->size);
  }
  pieces->finish();
  auto got = digest::from_raw(d.algorithm(), content.finish());
  if (!got) return fail(got.error());
  if (*got != d) {
    return fail(errc::digest_mismatch,
                "{}/{}: the bytes upstream sent hash to {}, not {}; discarded",
                client.target().host, job->name, *got, d);
  }
  if (::fdatasync(fd.get()) != 0) return fail(system_error(errno, "cannot sync the blob", path));
  fd.reset();
  if (auto p = publish(layout->segment_count); !p) return fail(p.error());
  std::optional<blob_torrent> whole;
  if (layout->size > 0) {
    auto t = make_whole_torrent(d, *layout, pieces->hashes());
    if (!t) return fail(t.error());
    whole = std::move(*t);
  }
  auto stored = store_.commit(d, layout->piece_length,
                              whole ? std::optional<info_hash>(whole->v1) : std::nullopt,
                              whole ? std::string_view(whole->bytes) : std::string_view());
  if (!stored) return fail(stored.error());
  reserved.held = false;
  return fetched{std::move(*stored), std::move(whole), from_upstream};
}

void ingestor::register_then_seed(const blob_job& job, std::optional<std::uint32_t> segment,
                                  const blob_torrent& t, std::function<void()> seed,
                                  std::function<void()> on_registered,
                                  std::function<void()> release) {
  const auto& d = job.digest;
  auto released = std::make_shared<bool>(false);
  auto fire = [released, release = std::move(release)] {
    if (*released) return;
    *released = true;
    release();
  };
  auto seeded = std::make_shared<bool>(false);
  auto seed_once = [seeded, seed = std::move(seed)] {
    if (*seeded) return;
    *seeded = true;
    seed();
  };
  if (!tracker_.enabled()) {
    seed_once();
    fire();
    return;
  }
  auto alive = std::weak_ptr<bool>(alive_);
  tracker_.register_torrent(
      d, segment, t.bytes,
      [this, alive, ih = t.v1, on_registered, seed_once, fire](bool ok) {
        if (!alive.lock()) return;
        if (ok && on_registered) on_registered();
        seed_once();
        if (ok) {
          session_.reannounce(ih);
          session_.when_announced(ih, fire);
        } else {
          fire();
        }
      },
      job.host.empty() ? job.name.str() : job.host + "/" + job.name.str());
  // The tracker may be slow or down: seed and hand out the torrent anyway.
  auto timer = std::make_shared<asio::steady_timer>(io_, options_.registration_wait);
  timer->async_wait([alive, timer, seed_once, fire](boost::system::error_code ec) {
    if (ec || !alive.lock()) return;
    seed_once();
    fire();
  });
}

void ingestor::publish_segment(const std::shared_ptr<blob_job>& job, std::uint32_t n,
                               blob_torrent t) {
  if (job->st == blob_job::state::failed || job->segments_retired) return;
  if (n != job->seeded.size()) {
    log_->error("{}: segment {} arrived out of order", job->digest, n);
    return;
  }
  job->seeded.push_back(t);
  job->releasable.push_back(false);
  auto seed = [this, job, n] {
    if (job->segments_retired) return;
    const auto& seg = job->seeded[n];
    auto offset = job->layout->segment_offset(n);
    auto added =
        session_.add_seed(seg.bytes, store_.ingest_path(job->digest), offset, job->read_fd);
    if (!added) {
      log_->error("{}: cannot seed segment {}: {}", job->digest, n, added.error().message);
      return;
    }
    log_->debug("{}: segment {} of {} seeded ({})", job->digest, n, job->layout->segment_count,
                seg.v1);
  };
  register_then_seed(*job, n, t, std::move(seed), nullptr, [this, job, n] {
    job->releasable[n] = true;
    release_segments(job);
  });
}

void ingestor::release_segments(const std::shared_ptr<blob_job>& job) {
  if (job->segments_retired) return;
  bool any = false;
  while (job->segments.size() < job->seeded.size() && job->releasable[job->segments.size()]) {
    job->segments.push_back(job->seeded[job->segments.size()]);
    segments_published_.inc();
    any = true;
  }
  if (any) job->changed.notify_all();
}

void ingestor::complete(const std::shared_ptr<blob_job>& job, fetched f) {
  const auto& d = job->digest;
  job->stored = f.stored;
  job->whole = std::move(f.whole);
  job->from_upstream = f.from_upstream;
  if (!job->whole) {
    finish(job);
    return;
  }
  auto seed = [this, job] {
    auto added = session_.add_seed(job->whole->bytes, store_.blob_path(job->digest));
    if (!added) {
      log_->error("{}: cannot seed the stored blob: {}", job->digest, added.error().message);
    }
  };
  // The job reports "complete" (and hands out the torrent) once the seeder
  // is in the torrent's swarm at the tracker.
  register_then_seed(
      *job, std::nullopt, *job->whole, std::move(seed), [this, d] { store_.set_registered(d); },
      [this, job] { finish(job); });
}

void ingestor::finish(const std::shared_ptr<blob_job>& job) {
  if (job->st != blob_job::state::ingesting) return;
  job->st = blob_job::state::complete;
  job->finished = std::chrono::steady_clock::now();
  ingested_.inc();
  ingest_seconds_.observe(seconds_since(job->started));
  log_->info("ingested {} ({} bytes{}) in {:.2f}s{}", job->digest, job->stored->size,
             job->layout && job->layout->segmented()
                 ? fmt::format(", {} segments", job->layout->segment_count)
                 : std::string(),
             seconds_since(job->started),
             job->whole ? fmt::format(", info-hash {}", job->whole->v1) : std::string());
  job->changed.notify_all();
  if (cluster_) cluster_->ended(job);
  // Segment torrents stay a while for nodes that are still on them.
  forget_later(job, job->seeded.empty() ? duration::zero() : options_.segment_linger);
}

void ingestor::fail_job(const std::shared_ptr<blob_job>& job, error e) {
  log_->warn("ingest of {} failed: {}", job->digest, e.message);
  job->failure = std::move(e);
  job->st = blob_job::state::failed;
  job->finished = std::chrono::steady_clock::now();
  failed_.inc();
  retire_segments(job);
  if (job->file_ready && !job->stored) store_.abandon(job->digest);
  job->changed.notify_all();
  if (cluster_) cluster_->ended(job);
  forget_later(job, options_.failure_ttl);
}

void ingestor::retire_segments(const std::shared_ptr<blob_job>& job) {
  if (job->segments_retired) return;
  job->segments_retired = true;
  for (const auto& s : job->seeded) {
    session_.remove(s.v1);
    tracker_.retire(s.v1);
  }
}

void ingestor::forget_later(const std::shared_ptr<blob_job>& job, duration after) {
  auto timer = std::make_shared<asio::steady_timer>(io_, after);
  auto alive = std::weak_ptr<bool>(alive_);
  timer->async_wait([this, alive, job, timer](boost::system::error_code) {
    if (!alive.lock()) return;
    retire_segments(job);
    // A newer job for the digest may have replaced this one.
    if (auto it = jobs_.find(job->digest); it != jobs_.end() && it->second == job) jobs_.erase(it);
  });
}

void ingestor::evicted(const std::vector<stored_blob>& blobs) {
  for (const auto& b : blobs) {
    log_->info("evicted {} ({} bytes) to make room", b.digest, b.size);
    if (b.torrent_hash) {
      session_.remove(*b.torrent_hash);
      // Replicated seeders: others may hold it and still seed it under the
      // same registration.
      if (!cluster_) tracker_.retire(*b.torrent_hash);
    }
  }
}

void ingestor::resume_stored() {
  std::size_t seeded = 0;
  for (const auto& b : store_.list()) {
    if (!b.torrent_hash) continue;
    auto torrent = store_.torrent(b.digest);
    if (!torrent) {
      log_->error("{}: stored without a usable torrent: {}", b.digest, torrent.error().message);
      continue;
    }
    if (auto added = session_.add_seed(*torrent, store_.blob_path(b.digest)); !added) {
      log_->error("{}: cannot seed: {}", b.digest, added.error().message);
      continue;
    }
    ++seeded;
    if (!b.registered) {
      auto alive = std::weak_ptr<bool>(alive_);
      tracker_.register_torrent(b.digest, std::nullopt, std::move(*torrent),
                                [this, alive, d = b.digest, ih = *b.torrent_hash](bool ok) {
                                  if (!ok || !alive.lock()) return;
                                  store_.set_registered(d);
                                  session_.reannounce(ih);
                                });
    }
  }
  if (seeded > 0) log_->info("seeding {} stored blobs", seeded);
}

}  // namespace blobswarm::seeder
