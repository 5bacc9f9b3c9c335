#include "mirror/blob_download.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <array>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <libtorrent/announce_entry.hpp>
#include <libtorrent/torrent_info.hpp>
#include <libtorrent/torrent_status.hpp>

#include "common/hasher.hpp"
#include "common/units.hpp"

namespace blobswarm::mirror {

using steady = std::chrono::steady_clock;

// HTTP fallbacks ask the seeder first (one upstream fetch for every node),
// then upstream itself.
constexpr std::array<byte_source, 2> http_order{byte_source::seeder, byte_source::upstream};

// One file of the blob: the whole blob, or one segment.
struct blob_download::part {
  std::filesystem::path path;
  std::uint64_t offset = 0;  // where the part starts in the blob
  std::uint64_t length = 0;
  std::uint64_t first_piece = 0;
  std::shared_ptr<const lt::torrent_info> ti;
  lt::torrent_handle handle;
  std::shared_ptr<swarm_listener> listener;
  unique_fd fd;  // opened for reading on first use
};

class blob_download::part_listener final : public swarm_listener {
 public:
  part_listener(std::weak_ptr<blob_download> d, std::size_t index)
      : d_(std::move(d)), index_(index) {}
  void on_piece_finished(int piece) override {
    if (auto d = d_.lock()) d->piece_finished(index_, piece);
  }
  void on_hash_failed(int piece) override {
    if (auto d = d_.lock()) d->hash_failed(index_, piece);
  }
  void on_torrent_error(const std::string& message) override {
    if (auto d = d_.lock()) d->torrent_error(index_, message);
  }
  void on_block(bool from_seeder) override {
    if (auto d = d_.lock()) d->block_received(from_seeder);
  }
  void on_alerts_dropped() override {
    if (auto d = d_.lock()) d->resync();
  }

 private:
  std::weak_ptr<blob_download> d_;
  std::size_t index_;
};

blob_download::blob_download(download_context& ctx, blob_ref ref, bool force_direct)
    : ctx_(ctx),
      ref_(std::move(ref)),
      started_(steady::now()),
      last_progress_(steady::now()),
      force_direct_(force_direct) {}

void blob_download::spawn(awaitable<void> task) {
  asio::co_spawn(ctx_.io, std::move(task), [self = shared_from_this()](std::exception_ptr e) {
    if (!e) return;
    try {
      std::rethrow_exception(e);
    } catch (const std::exception& ex) {
      self->fail_with(error{errc::internal, fmt::format("download task crashed: {}", ex.what())});
    }
  });
}

void blob_download::start() {
  asio::co_spawn(ctx_.io, run(), [self = shared_from_this()](std::exception_ptr e) {
    if (!e) return;
    try {
      std::rethrow_exception(e);
    } catch (const std::exception& ex) {
      self->fail_with(error{errc::internal, fmt::format("download crashed: {}", ex.what())});
    }
  });
}

// --- waiting ---------------------------------------------------------------

void blob_download::notify() {
  for (auto& t : waiters_) t->cancel();
  waiters_.clear();
}

awaitable<void> blob_download::wait_change(duration limit) {
  auto now = steady::now();
  std::erase_if(waiters_, [&](const auto& t) { return t->expiry() <= now; });
  auto t = std::make_shared<boost::asio::steady_timer>(ctx_.io, limit);
  waiters_.push_back(t);
  boost::system::error_code ec;
  co_await t->async_wait(asio::redirect_error(asio::use_awaitable, ec));
}

awaitable<result<std::uint64_t>> blob_download::wait_size() {
  auto self = shared_from_this();
  while (!size_) {
    if (failure_) co_return fail(*failure_);
    co_await wait_change(std::chrono::seconds(1));
  }
  co_return *size_;
}

awaitable<void> blob_download::wait_finished() {
  auto self = shared_from_this();
  while (!finished()) co_await wait_change(std::chrono::seconds(1));
}

awaitable<result<std::uint64_t>> blob_download::wait_readable(std::uint64_t offset) {
  auto self = shared_from_this();
  while (true) {
    if (failure_) co_return fail(*failure_);
    if (size_) {
      if (verified_) co_return *size_;
      auto limit = *size_ > ctx_.settings.holdback ? *size_ - ctx_.settings.holdback : 0;
      auto end = std::min(checked_, limit);
      if (end > offset) co_return end;
    }
    co_await wait_change(std::chrono::seconds(1));
  }
}

awaitable<result<void>> blob_download::wait_started(duration limit) {
  auto self = shared_from_this();
  auto deadline = steady::now() + limit;
  while (true) {
    if (failure_) co_return fail(*failure_);
    auto now = steady::now();
    if (verified_ || checked_ > 0 || now >= deadline) co_return result<void>{};
    co_await wait_change(
        std::min<duration>(std::chrono::duration_cast<duration>(deadline - now) + duration(1),
                           std::chrono::seconds(1)));
  }
}

result<blob_download::extent> blob_download::extent_at(std::uint64_t offset) {
  for (auto& p : parts_) {
    if (offset < p->offset || offset >= p->offset + p->length) continue;
    if (!p->fd) {
      auto fd = open_file(p->path, O_RDONLY);
      if (!fd) return fail(fd.error());
      p->fd = std::move(*fd);
    }
    auto within = offset - p->offset;
    return extent{p->fd.get(), within, p->length - within, p};
  }
  return fail(errc::internal, "offset {} of {} is not stored", offset, ref_.id.str());
}

// --- the download ----------------------------------------------------------

awaitable<void> blob_download::run() {
  auto self = shared_from_this();
  spawn(verify());
  auto outcome = co_await fetch();
  elapsed_ = std::chrono::duration_cast<std::chrono::milliseconds>(steady::now() - started_);
  if (!outcome) {
    fail_with(outcome.error());
    co_return;
  }
  auto s = stats();
  ctx_.log->info("blob {} {} in {:.2f}s via {}: peers {}, seeder {}, upstream {}", ref_.id.str(),
                 human_bytes(s.size), static_cast<double>(s.elapsed.count()) / 1000.0, s.mode,
                 human_bytes(s.from_peers), human_bytes(s.from_seeder),
                 human_bytes(s.from_upstream));
  notify();
}

awaitable<result<void>> blob_download::fetch() {
  bool tried_swarm = false;
  if (!force_direct_) {
    // 1. The tracker knows the blobs the seeder has finished.
    auto from_tracker = co_await ctx_.sources.tracker_torrent(ref_);
    if (from_tracker) {
      // A small blob is not worth a swarm; its torrent still says how big it is.
      lt::error_code ec;
      lt::torrent_info ti(from_tracker->data(), static_cast<int>(from_tracker->size()), ec);
      if (!ec && static_cast<std::uint64_t>(ti.total_size()) < ctx_.settings.swarm_min_size) {
        set_size(static_cast<std::uint64_t>(ti.total_size()), 0);
        co_return co_await run_direct();
      }
      tried_swarm = true;
      auto r = co_await run_whole(std::move(*from_tracker), "tracker");
      if (r || failure_ || r.error().code == errc::no_space) co_return r;
      ctx_.log->warn("blob {}: swarm download failed ({}); falling back to HTTP", ref_.id.str(),
                     r.error().message);
    } else if (from_tracker.error().code != errc::not_found) {
      ctx_.log->warn("blob {}: tracker unavailable: {}", ref_.id.str(),
                     from_tracker.error().message);
    }
  }
  if (!force_direct_ && !tried_swarm) {
    // 2. The seeder ingests on a miss; a large blob arrives as segments.
    auto d = co_await ctx_.sources.seeder_descriptor_of(ref_);
    if (d && d->what != seeder_descriptor::state::failed &&
        d->size < ctx_.settings.swarm_min_size) {
      set_size(d->size, 0);
      co_return co_await run_direct();
    }
    if (d && d->what != seeder_descriptor::state::failed) {
      result<void> r;
      if (d->what == seeder_descriptor::state::ingesting && d->segment_count > 1) {
        r = co_await run_segmented(*d);
      } else {
        auto t = co_await ctx_.sources.seeder_torrent(ref_);
        if (t) {
          r = co_await run_whole(std::move(*t), "seeder");
        } else {
          r = fail(t.error());
        }
      }
      if (r || failure_ || r.error().code == errc::no_space) co_return r;
      ctx_.log->warn("blob {}: swarm download failed ({}); falling back to HTTP", ref_.id.str(),
                     r.error().message);
    } else if (d) {
      ctx_.log->warn("blob {}: the seeder could not ingest it: {}", ref_.id.str(), d->error);
    } else {
      ctx_.log->warn("blob {}: seeder unavailable: {}", ref_.id.str(), d.error().message);
    }
  }
  // 3. No usable swarm: plain HTTP, continuing for readers already under way.
  co_return co_await run_direct();
}

result<std::shared_ptr<const lt::torrent_info>> blob_download::parse_torrent(
    std::string_view bytes, std::string_view expected_name, std::uint64_t expected_size) const {
  lt::error_code ec;
  auto ti = std::make_shared<lt::torrent_info>(bytes.data(), static_cast<int>(bytes.size()), ec);
  if (ec) {
    return fail(errc::corrupt, "torrent for {} does not parse: {}", ref_.id.str(), ec.message());
  }
  if (ti->num_files() != 1 || ti->name() != expected_name) {
    return fail(errc::corrupt, "torrent '{}' does not describe {}", ti->name(), expected_name);
  }
  if (ti->info_hashes().has_v2()) {
    // Blob torrents are v1 (seeder/blob_torrents); node_disk_io hashes v1 only.
    return fail(errc::corrupt, "torrent for {} is a BitTorrent v2 torrent; blob torrents are v1",
                expected_name);
  }
  auto size = static_cast<std::uint64_t>(ti->total_size());
  if (size == 0 || (expected_size && size != expected_size)) {
    return fail(errc::corrupt, "torrent for {} has {} bytes, expected {}", expected_name, size,
                expected_size);
  }
  return std::shared_ptr<const lt::torrent_info>(std::move(ti));
}

void blob_download::set_size(std::uint64_t size, std::uint32_t piece_length) {
  size_ = size;
  piece_length_ = piece_length;
  done_.assign(piece_length ? (size + piece_length - 1) / piece_length : 0, false);
  fed_.assign(done_.size(), false);
  next_piece_ = 0;
  window_until_ = 0;
  notify();
}

awaitable<result<void>> blob_download::run_whole(std::string torrent, std::string_view from) {
  auto ti = parse_torrent(torrent, ref_.id.hex(), size_.value_or(0));
  if (!ti) co_return fail(ti.error());
  mode_ = "swarm";
  whole_torrent_ = std::move(torrent);
  set_size(static_cast<std::uint64_t>((*ti)->total_size()),
           static_cast<std::uint32_t>((*ti)->piece_length()));
  if (!began_) {
    if (auto r = ctx_.store.begin_blob(ref_.id, *size_); !r) co_return r;
    began_ = true;
    lease_ = ctx_.store.lease(ref_.id);
  }
  auto p = std::make_shared<part>();
  p->path = ctx_.store.blob_path(ref_.id);
  p->length = *size_;
  p->ti = *ti;
  p->listener = std::make_shared<part_listener>(weak_from_this(), parts_.size());
  auto h = ctx_.peers.add(p->ti, ctx_.store.blobs_dir(), announce_urls(), false, p->listener,
                          initial_priorities(*p));
  if (!h) co_return fail(h.error());
  p->handle = *h;
  parts_.push_back(std::move(p));
  ctx_.log->debug("blob {}: downloading {} from the swarm (torrent from the {})", ref_.id.str(),
                  human_bytes(*size_), from);
  update_window();
  auto r = co_await drive_swarm();
  if (!r) co_return r;
  if (auto c = ctx_.store.commit_blob(ref_.id, whole_torrent_); !c) co_return c;
  committed_ = true;
  seeding_ = parts_.front()->handle;
  ctx_.peers.set_listener(seeding_, {});
  if (ctx_.on_seeding) ctx_.on_seeding(ref_.id, seeding_);
  co_return result<void>{};
}

awaitable<result<void>> blob_download::run_segmented(seeder_descriptor d) {
  if (d.piece_length == 0 || d.segment_length == 0 || d.segment_length % d.piece_length != 0 ||
      d.size == 0 || (d.size + d.segment_length - 1) / d.segment_length != d.segment_count) {
    co_return fail(errc::corrupt, "the seeder described blob {} inconsistently", ref_.id.str());
  }
  mode_ = "segments";
  set_size(d.size, d.piece_length);
  pieces_per_part_ = static_cast<std::uint32_t>(d.segment_length / d.piece_length);
  if (!began_) {
    if (auto r = ctx_.store.begin_blob(ref_.id, d.size); !r) co_return r;
    began_ = true;
    lease_ = ctx_.store.lease(ref_.id);
  }
  if (auto r = blobswarm::create_directories(ctx_.segments_dir); !r) co_return r;
  for (std::uint32_t n = 0; n < d.segment_count; ++n) {
    auto p = std::make_shared<part>();
    p->offset = static_cast<std::uint64_t>(n) * d.segment_length;
    p->length = std::min<std::uint64_t>(d.segment_length, d.size - p->offset);
    p->first_piece = static_cast<std::uint64_t>(n) * pieces_per_part_;
    p->path = ctx_.segments_dir / fmt::format("{}.{}", ref_.id.hex(), n);
    p->listener = std::make_shared<part_listener>(weak_from_this(), n);
    parts_.push_back(std::move(p));
  }
  ctx_.log->debug("blob {}: {} is still being ingested; following its {} segments", ref_.id.str(),
                  human_bytes(d.size), d.segment_count);
  spawn(add_segments(d.segment_count));
  auto r = co_await drive_swarm();
  if (!r) co_return r;
  co_return co_await assemble_from_segments();
}

awaitable<void> blob_download::add_segments(std::uint32_t count) {
  auto self = shared_from_this();
  for (std::uint32_t n = 0; n < count; ++n) {
    if (failure_ || method_error_ || verified_ || mode_ != "segments") co_return;
    auto t = co_await ctx_.sources.seeder_segment_torrent(ref_, n);
    if (mode_ != "segments" || n >= parts_.size()) co_return;
    auto& p = *parts_[n];
    result<std::shared_ptr<const lt::torrent_info>> ti =
        t ? parse_torrent(*t, fmt::format("{}.{}", ref_.id.hex(), n), p.length)
          : result<std::shared_ptr<const lt::torrent_info>>(fail(t.error()));
    if (ti && static_cast<std::uint32_t>((*ti)->piece_length()) != piece_length_) {
      ti = fail(errc::corrupt, "segment torrent has the wrong piece length");
    }
    if (!ti) {
      method_error_ = ti.error().with_context(fmt::format("segment {}", n));
      notify();
      co_return;
    }
    p.ti = *ti;
    auto h = ctx_.peers.add(p.ti, ctx_.segments_dir, announce_urls(), false, p.listener,
                            initial_priorities(p));
    if (!h) {
      method_error_ = h.error();
      notify();
      co_return;
    }
    p.handle = *h;
    update_window();
    notify();
  }
  co_return;
}

void blob_download::abandon_swarm() {
  for (auto& p : parts_) {
    if (p->handle.is_valid()) ctx_.peers.remove(p->handle);
    p->handle = {};
    // Readers may still hold the file open; unlinking leaves their bytes intact.
    std::error_code ec;
    std::filesystem::remove(p->path, ec);
  }
  parts_.clear();
  pieces_per_part_ = 0;
  method_error_.reset();
}

awaitable<result<void>> blob_download::run_direct() {
  auto self = shared_from_this();
  abandon_swarm();
  mode_ = "direct";
  if (!size_) {
    auto s = co_await ctx_.sources.upstream_size(ref_);
    if (!s) co_return fail(s.error());
    set_size(*s, 0);
  }
  if (!began_) {
    if (auto r = ctx_.store.begin_blob(ref_.id, *size_); !r) co_return r;
    began_ = true;
    lease_ = ctx_.store.lease(ref_.id);
  }
  // Readers keep their position: the bytes are the same whichever route
  // delivers them, and verify() continues where it was (its pieces are
  // re-read from the new file only past checked_).
  contiguous_ = 0;
  auto path = ctx_.store.blob_path(ref_.id);
  auto out = open_file(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
  if (!out) co_return fail(out.error());
  auto p = std::make_shared<part>();
  p->path = path;
  p->length = *size_;
  parts_.push_back(p);

  auto written = std::make_shared<std::atomic<std::uint64_t>>(0);
  const int fd = out->get();
  for (auto source : http_order) {
    std::uint64_t before = written->load();
    while (written->load() < *size_) {
      auto from = written->load();
      std::function<result<void>(std::span<const std::byte>)> sink =
          [this, self, fd, path, written](std::span<const std::byte> data) -> result<void> {
        auto at = written->load();
        if (at + data.size() > *size_) return fail(errc::upstream, "more bytes than the blob has");
        // A write that fills the disk comes back short first; only the
        // next one says ENOSPC, which the caller needs to see.
        for (std::size_t done = 0; done < data.size();) {
          auto n =
              ::pwrite(fd, data.data() + done, data.size() - done, static_cast<off_t>(at + done));
          if (n < 0 && errno == EINTR) continue;
          if (n <= 0) return fail(system_error(n < 0 ? errno : ENOSPC, "cannot write", path));
          done += static_cast<std::size_t>(n);
        }
        auto total = written->fetch_add(data.size()) + data.size();
        asio::post(ctx_.io, [self, total] {
          if (total > self->contiguous_) {
            self->contiguous_ = total;
            self->last_progress_ = steady::now();
            self->notify();
          }
        });
        return {};
      };
      auto r =
          co_await ctx_.sources.fetch_range(source, ref_, from, *size_ - from, std::move(sink));
      contiguous_ = std::max(contiguous_, written->load());
      notify();
      if (!r) {
        if (r.error().code == errc::no_space) co_return r;
        ctx_.log->warn("blob {}: fetching from the {} stopped at {}: {}", ref_.id.str(),
                       source == byte_source::seeder ? "seeder" : "upstream",
                       human_bytes(written->load()), r.error().message);
      }
      if (!r || written->load() == from) break;  // no progress: next source
    }
    auto got = written->load() - before;
    (source == byte_source::seeder ? http_from_seeder_ : http_from_upstream_) += got;
    if (written->load() >= *size_) break;
  }
  if (written->load() < *size_) {
    co_return fail(errc::unavailable, "blob {}: neither the seeder nor upstream delivered it",
                   ref_.id.str());
  }
  while (!verified_ && !failure_) co_await wait_change(std::chrono::seconds(1));
  if (failure_) co_return fail(*failure_);
  if (auto c = ctx_.store.commit_blob(ref_.id, ""); !c) co_return c;
  committed_ = true;
  spawn(adopt_torrent());
  co_return result<void>{};
}

// Waits for the swarm to deliver every piece. When the swarm itself
// delivers nothing for stall_timeout, the missing pieces come over HTTP,
// chunk after chunk, until the swarm delivers again.
awaitable<result<void>> blob_download::drive_swarm() {
  auto self = shared_from_this();
  last_progress_ = last_swarm_progress_ = steady::now();
  while (!verified_) {
    if (failure_) co_return fail(*failure_);
    if (method_error_) co_return fail(*method_error_);
    co_await wait_change(std::chrono::milliseconds(500));
    if (verified_ || failure_ || method_error_) continue;
    if (next_piece_ >= done_.size()) continue;  // all there; verify() finishes up
    auto& frontier = *parts_[pieces_per_part_ ? next_piece_ / pieces_per_part_ : 0];
    if (!frontier.handle.is_valid()) {
      last_swarm_progress_ = steady::now();  // not published by the seeder yet: not a stall
      continue;
    }
    auto quiet = steady::now() - last_swarm_progress_;
    if (quiet >= ctx_.settings.stall_timeout / 2) {
      // A piece_finished alert libtorrent dropped looks like a stall; and
      // feeding it a piece it already has over HTTP would never finish.
      resync();
      if (verified_ || next_piece_ >= done_.size()) continue;
      quiet = steady::now() - last_swarm_progress_;
    }
    if (!origins_asked_ && quiet >= ctx_.settings.stall_timeout / 2) ask_for_origins();
    if (quiet < ctx_.settings.stall_timeout) continue;
    // At most two chunks handed to libtorrent and not yet confirmed.
    std::uint64_t pending = 0;
    for (auto p = next_piece_; p < done_.size(); ++p) {
      if (fed_[p] && !done_[p]) ++pending;
    }
    if (pending * piece_length_ >= 2 * ctx_.settings.fallback_chunk) continue;
    auto first = next_piece_;
    while (first < done_.size() && (done_[first] || fed_[first])) ++first;
    if (first >= done_.size()) continue;
    if (!stalled_logged_) {
      ctx_.log->info("blob {}: swarm stalled at {} of {}; fetching missing pieces over HTTP",
                     ref_.id.str(), human_bytes(contiguous_), human_bytes(*size_));
      stalled_logged_ = true;
    }
    auto r = co_await fallback(first);
    if (!r) {
      if (r.error().code == errc::no_space) co_return r;
      ctx_.log->warn("blob {}: HTTP fallback failed: {}", ref_.id.str(), r.error().message);
      last_swarm_progress_ = steady::now();  // both HTTP sources failed: the swarm gets a window
    }
  }
  co_return result<void>{};
}

std::vector<std::string> blob_download::announce_urls() const {
  if (!origins_asked_) return ctx_.announce_urls;
  std::vector<std::string> urls;
  for (const auto& u : ctx_.announce_urls) {
    urls.push_back(u + (u.find('?') == std::string::npos ? "?" : "&") + "origins=1");
  }
  return urls;
}

void blob_download::ask_for_origins() {
  origins_asked_ = true;
  ctx_.log->info(
      "blob {}: no progress from the nodes at {} of {}; asking the tracker for the "
      "seeder too",
      ref_.id.str(), human_bytes(contiguous_), human_bytes(*size_));
  auto urls = announce_urls();
  std::vector<lt::announce_entry> trackers;
  for (const auto& u : urls) trackers.emplace_back(u);
  for (auto& p : parts_) {
    if (!p->handle.is_valid()) continue;
    p->handle.replace_trackers(trackers);
    p->handle.force_reannounce(0, -1, lt::torrent_handle::ignore_min_interval);
  }
}

awaitable<result<void>> blob_download::fallback(std::uint64_t first) {
  auto self = shared_from_this();
  auto chunk_pieces = std::max<std::uint64_t>(1, ctx_.settings.fallback_chunk / piece_length_);
  auto last = first;
  while (last < done_.size() && !done_[last] && !fed_[last] && last - first < chunk_pieces) {
    auto& p = *parts_[pieces_per_part_ ? last / pieces_per_part_ : 0];
    if (!p.handle.is_valid()) break;
    ++last;
  }
  if (last == first) co_return result<void>{};
  auto begin = first * piece_length_;
  auto end = std::min<std::uint64_t>(last * piece_length_, *size_);
  auto buffer = std::make_shared<std::string>();
  result<void> fetched = fail(errc::unavailable, "no source tried");
  byte_source used = byte_source::seeder;
  for (auto source : http_order) {
    buffer->clear();
    buffer->reserve(end - begin);
    std::function<result<void>(std::span<const std::byte>)> sink =
        [buffer, want = end - begin](std::span<const std::byte> d) -> result<void> {
      if (buffer->size() + d.size() > want) {
        return fail(errc::upstream, "server sent more than the range asked for");
      }
      buffer->append(reinterpret_cast<const char*>(d.data()), d.size());
      return {};
    };
    fetched = co_await ctx_.sources.fetch_range(source, ref_, begin, end - begin, std::move(sink));
    if (fetched && buffer->size() != end - begin) fetched = fail(errc::upstream, "short response");
    if (fetched) {
      used = source;
      break;
    }
  }
  if (!fetched) co_return fetched;
  (used == byte_source::seeder ? http_from_seeder_ : http_from_upstream_) += buffer->size();
  for (auto piece = first; piece < last; ++piece) {
    if (done_[piece]) continue;
    auto& p = *parts_[pieces_per_part_ ? piece / pieces_per_part_ : 0];
    if (!p.handle.is_valid()) continue;
    auto off = (piece - first) * piece_length_;
    auto len = std::min<std::uint64_t>(piece_length_, buffer->size() - off);
    fed_[piece] = true;
    // libtorrent checks the piece hash and reports it like a downloaded piece.
    p.handle.add_piece(lt::piece_index_t(static_cast<int>(piece - p.first_piece)),
                       std::vector<char>(buffer->data() + off, buffer->data() + off + len));
  }
  co_return result<void>{};
}

void blob_download::piece_finished(std::size_t part_index, int local_piece) {
  if (mode_ == "direct" || part_index >= parts_.size()) return;
  auto global = parts_[part_index]->first_piece + static_cast<std::uint64_t>(local_piece);
  if (global >= done_.size() || done_[global]) return;
  done_[global] = true;
  if (!fed_[global]) last_swarm_progress_ = steady::now();
  advance();
}

void blob_download::advance() {
  auto before = next_piece_;
  while (next_piece_ < done_.size() && done_[next_piece_]) ++next_piece_;
  if (next_piece_ == before) return;
  contiguous_ = std::min<std::uint64_t>(next_piece_ * piece_length_, *size_);
  last_progress_ = steady::now();
  update_window();
  notify();
}

// Why a window: clients read a blob front to back, and verify() can only
// hash the contiguous prefix. Plain rarest-first spreads a node's pieces
// over the whole blob, so the prefix stayed short until the last pieces
// arrived; every node then hashed and streamed most of its image at the
// end, all at once (bench/swarm: links idle for the last 3-4 s of a 30 s
// pull). Top priority for the window ignores availability between window
// and rest, so the window comes first; inside it libtorrent still picks
// rarest-first, which keeps the nodes fetching different pieces.
// libtorrent's time-critical pieces (set_piece_deadline) would do the same,
// but crashed mirrors in its network thread (arvidn/libtorrent#5891).
std::vector<lt::download_priority_t> blob_download::initial_priorities(const part& p) const {
  if (ctx_.settings.stream_window == 0 || !p.ti) return {};
  return std::vector<lt::download_priority_t>(static_cast<std::size_t>(p.ti->num_pieces()),
                                              lt::low_priority);
}

void blob_download::update_window() {
  if (done_.empty() || mode_ == "direct" || ctx_.settings.stream_window == 0) return;
  auto window_pieces = std::max<std::uint64_t>(1, ctx_.settings.stream_window / piece_length_);
  auto until = std::min<std::uint64_t>(next_piece_ + window_pieces, done_.size());
  auto piece = std::max(next_piece_, window_until_);
  std::vector<std::pair<lt::piece_index_t, lt::download_priority_t>> raise;
  part* current = nullptr;
  auto flush = [&] {
    if (current && !raise.empty()) current->handle.prioritize_pieces(raise);
    raise.clear();
  };
  for (; piece < until; ++piece) {
    auto& p = *parts_[pieces_per_part_ ? piece / pieces_per_part_ : 0];
    if (!p.handle.is_valid()) break;  // not published yet: raised once it is added
    if (&p != current) {
      flush();
      current = &p;
    }
    if (!done_[piece]) {
      raise.emplace_back(lt::piece_index_t(static_cast<int>(piece - p.first_piece)),
                         lt::top_priority);
    }
  }
  flush();
  window_until_ = std::max(window_until_, piece);
}

void blob_download::resync() {
  if (mode_ == "direct") return;
  for (std::size_t i = 0; i < parts_.size(); ++i) {
    auto handle = parts_[i]->handle;  // piece_finished may change parts_
    if (!handle.is_valid()) continue;
    auto st = handle.status(lt::torrent_handle::query_pieces);
    for (int local = 0; local < st.pieces.size(); ++local) {
      if (st.pieces.get_bit(lt::piece_index_t(local))) piece_finished(i, local);
    }
  }
}

void blob_download::hash_failed(std::size_t part_index, int local_piece) {
  // libtorrent asks peers again (and bans those that keep sending bad
  // data). A piece fed from HTTP that failed may be fetched again.
  if (part_index >= parts_.size()) return;
  auto global = parts_[part_index]->first_piece + static_cast<std::uint64_t>(local_piece);
  if (global < fed_.size()) fed_[global] = false;
}

void blob_download::torrent_error(std::size_t, const std::string& message) {
  if (!method_error_) method_error_ = error{errc::io, message};
  notify();
}

awaitable<void> blob_download::verify() {
  auto self = shared_from_this();
  hasher h(ref_.id.algorithm());
  int retries = 0;
  while (!failure_) {
    if (!size_ || contiguous_ <= checked_) {
      if (size_ && checked_ >= *size_) break;
      co_await wait_change(std::chrono::seconds(1));
      continue;
    }
    // Read back what was reported complete, one piece (or 1 MiB without a
    // torrent) at a time, in order.
    auto end = contiguous_;
    struct chunk {
      extent where;
      std::string expected_sha1;  // empty: no torrent to check against
    };
    std::vector<chunk> chunks;
    for (auto off = checked_; off < end && chunks.size() < 64;) {
      auto e = extent_at(off);
      if (!e) break;  // not created yet: libtorrent writes lazily
      std::uint64_t step = std::min<std::uint64_t>(e->length, end - off);
      chunk c{*e, {}};
      auto& p = *e->owner;
      if (p.ti && piece_length_) {
        auto local = (off - p.offset) / piece_length_;
        step = std::min<std::uint64_t>(step, piece_length_ - (off - p.offset) % piece_length_);
        auto expected = p.ti->hash_for_piece(lt::piece_index_t(static_cast<int>(local)));
        c.expected_sha1.assign(expected.data(), expected.size());
      } else {
        step = std::min<std::uint64_t>(step, 1 << 20);
      }
      c.where.length = step;
      off += step;
      chunks.push_back(std::move(c));
    }
    auto check = [&h, chunks]() -> result<std::uint64_t> {
      // Returns how many bytes checked out; stops at the first piece whose
      // bytes are not on disk yet.
      std::uint64_t good = 0;
      std::string buf;
      for (const auto& c : chunks) {
        buf.resize(c.where.length);
        std::uint64_t got = 0;
        while (got < c.where.length) {
          auto n = ::pread(c.where.fd, buf.data() + got, c.where.length - got,
                           static_cast<off_t>(c.where.file_offset + got));
          if (n < 0 && errno == EINTR) continue;
          if (n < 0) return fail(errc::io, "cannot read back downloaded data");
          if (n == 0) break;
          got += static_cast<std::uint64_t>(n);
        }
        if (got < c.where.length) break;
        if (!c.expected_sha1.empty() && sha1(buf) != c.expected_sha1) break;
        h.update(buf);
        good += c.where.length;
      }
      return good;
    };
    std::uint64_t good = 0;
    if (!chunks.empty()) {
      auto r = co_await ctx_.pool.run(std::move(check));
      if (!r) {
        fail_with(r.error());
        co_return;
      }
      good = *r;
    }
    if (good == 0) {
      // Reported complete but not readable yet: the write is still in
      // flight. Give it time; a piece that never appears is an I/O fault.
      if (++retries > 500) {
        fail_with(
            error{errc::io, fmt::format("blob {}: downloaded data at {} never reached the disk",
                                        ref_.id.str(), checked_)});
        co_return;
      }
      co_await wait_change(std::chrono::milliseconds(10));
      continue;
    }
    retries = 0;
    checked_ += good;
    notify();
  }
  if (failure_) co_return;
  auto actual = digest::from_raw(ref_.id.algorithm(), h.finish());
  if (!actual || *actual != ref_.id) {
    ctx_.log->error("DIGEST MISMATCH: blob {} arrived as {} ({}); discarding it", ref_.id.str(),
                    actual ? actual->str() : "?", mode_);
    fail_with(error{errc::digest_mismatch,
                    fmt::format("content does not match digest {}", ref_.id.str())});
    co_return;
  }
  verified_ = true;
  notify();
}

awaitable<result<void>> blob_download::assemble_from_segments() {
  // The file the cache serves is the segments end to end.
  auto target = ctx_.store.blob_path(ref_.id);
  std::vector<std::filesystem::path> sources;
  for (auto& p : parts_) sources.push_back(p->path);
  auto concatenate = [target, sources]() -> result<void> {
    auto out = open_file(target, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (!out) return fail(out.error());
    for (const auto& s : sources) {
      auto in = open_file(s, O_RDONLY);
      if (!in) return fail(in.error());
      while (true) {
        auto n = ::copy_file_range(in->get(), nullptr, out->get(), nullptr, 64 << 20, 0);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) return fail(system_error(errno, "cannot copy a segment into", target));
        if (n == 0) break;
      }
    }
    if (::fsync(out->get()) != 0) return fail(system_error(errno, "cannot fsync", target));
    return {};
  };
  auto r = co_await ctx_.pool.run(std::move(concatenate));
  if (!r) co_return r;
  // The whole torrent exists once the seeder has finished; this node seeds
  // it from now on.
  auto whole = co_await ctx_.sources.tracker_torrent(ref_);
  if (!whole) whole = co_await ctx_.sources.seeder_torrent(ref_);
  std::shared_ptr<const lt::torrent_info> ti;
  if (whole) {
    if (auto parsed = parse_torrent(*whole, ref_.id.hex(), *size_)) {
      ti = *parsed;
      whole_torrent_ = std::move(*whole);
    }
  }
  if (auto c = ctx_.store.commit_blob(ref_.id, whole_torrent_); !c) co_return c;
  committed_ = true;
  if (ti) start_seeding(ti);
  spawn(retire_segments_later());
  co_return result<void>{};
}

void blob_download::start_seeding(const std::shared_ptr<const lt::torrent_info>& ti) {
  auto h = ctx_.peers.add(ti, ctx_.store.blobs_dir(), ctx_.announce_urls, true, {});
  if (!h) {
    ctx_.log->warn("blob {}: cannot seed it: {}", ref_.id.str(), h.error().message);
    return;
  }
  seeding_ = *h;
  if (ctx_.on_seeding) ctx_.on_seeding(ref_.id, seeding_);
}

awaitable<void> blob_download::adopt_torrent() {
  // The seeder registers the torrent as soon as its own ingest finishes,
  // which an HTTP-only download usually overlapped. Look a few times.
  auto self = shared_from_this();
  for (int attempt = 0; attempt < 10; ++attempt) {
    auto t = co_await ctx_.sources.tracker_torrent(ref_);
    if (t) {
      auto ti = parse_torrent(*t, ref_.id.hex(), *size_);
      if (!ti) co_return;
      if (auto r = ctx_.store.set_torrent(ref_.id, *t); !r) co_return;
      start_seeding(*ti);
      co_return;
    }
    if (t.error().code != errc::not_found) co_return;
    boost::asio::steady_timer pause(ctx_.io, std::chrono::seconds(1));
    boost::system::error_code ec;
    co_await pause.async_wait(asio::redirect_error(asio::use_awaitable, ec));
  }
}

awaitable<void> blob_download::retire_segments_later() {
  auto self = shared_from_this();
  boost::asio::steady_timer t(ctx_.io, ctx_.settings.segment_linger);
  boost::system::error_code ec;
  co_await t.async_wait(asio::redirect_error(asio::use_awaitable, ec));
  // Other nodes still on segments have had their chance; the whole torrent
  // serves everyone now.
  for (auto& p : parts_) {
    if (p->handle.is_valid()) ctx_.peers.remove(p->handle);
    p->handle = {};
    std::error_code fec;
    std::filesystem::remove(p->path, fec);
  }
}

void blob_download::block_received(bool from_seeder) {
  ++(from_seeder ? blocks_from_seeders_ : blocks_from_peers_);
}

download_stats blob_download::stats() const {
  download_stats s;
  s.size = size_.value_or(0);
  // What arrived over BitTorrent is the blob less what came over HTTP;
  // split it by the blocks seeders and other nodes sent (blocks requested
  // twice near the end count where they came from, which is fair enough).
  auto http = http_from_seeder_ + http_from_upstream_;
  auto bt_unique = s.size > http ? s.size - http : 0;
  auto blocks = blocks_from_seeders_ + blocks_from_peers_;
  std::uint64_t bt_from_seeders = 0;
  if (blocks > 0) {
    bt_from_seeders = static_cast<std::uint64_t>(static_cast<double>(bt_unique) *
                                                 static_cast<double>(blocks_from_seeders_) /
                                                 static_cast<double>(blocks));
  }
  s.from_peers = bt_unique - bt_from_seeders;
  s.from_seeder = bt_from_seeders + http_from_seeder_;
  s.from_upstream = http_from_upstream_;
  s.mode = mode_;
  s.elapsed = elapsed_;
  return s;
}

void blob_download::fail_with(error e) {
  if (failure_ || committed_) return;
  failure_ = std::move(e);
  for (auto& p : parts_) {
    if (p->handle.is_valid()) ctx_.peers.remove(p->handle);
    p->handle = {};
    if (p->path != ctx_.store.blob_path(ref_.id)) {
      std::error_code ec;
      std::filesystem::remove(p->path, ec);
    }
  }
  if (began_) ctx_.store.abort_blob(ref_.id);
  began_ = false;
  notify();
}

}  // namespace blobswarm::mirror
