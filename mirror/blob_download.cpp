#include "mirror/blob_download.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <libtorrent/torrent_info.hpp>

#include "common/hasher.hpp"
#include "common/units.hpp"
#include "mirror/http_fetch.hpp"
#include "mirror/torrent_fetch.hpp"

namespace blobswarm::mirror {

using steady = std::chrono::steady_clock;

blob_download::blob_download(download_context& ctx, blob_ref ref, bool force_direct)
    : ctx_(ctx), ref_(std::move(ref)), started_(steady::now()), force_direct_(force_direct) {}

blob_download::~blob_download() = default;

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

// --- ranges ------------------------------------------------------------------

void blob_download::ranges_only(duration idle_limit) {
  ranges_only_ = true;
  rest_follows_ = false;
  idle_limit_ = idle_limit;
  last_range_ = steady::now();
}

void blob_download::readers_first() {
  ranges_only_ = true;
  rest_follows_ = true;
  last_range_ = steady::now();
}

bool blob_download::serves_pieces() const noexcept {
  return strategy_ && strategy_->verifies_pieces() && piece_length_ > 0 && size_.has_value();
}

awaitable<void> blob_download::wait_route() {
  auto self = shared_from_this();
  auto routed = [this] {
    if (!strategy_ || !size_) return false;
    if (!strategy_->verifies_pieces()) return true;
    return !parts_.empty() && parts_.front()->handle.is_valid();
  };
  while (!finished() && !routed()) co_await wait_change(std::chrono::seconds(1));
}

void blob_download::want_range(std::uint64_t first, std::uint64_t last) {
  last_range_ = steady::now();
  if (!size_ || first > last || last >= *size_) return;
  range_asked_ = true;
  if (!strategy_ || piece_length_ == 0) {
    constexpr std::size_t keep = 64;
    if (early_ranges_.size() < keep) early_ranges_.emplace_back(first, last);
    return;
  }
  strategy_->prioritize(first / piece_length_, last / piece_length_);
}

void blob_download::replay_ranges() {
  auto early = std::move(early_ranges_);
  early_ranges_.clear();
  for (auto [first, last] : early) want_range(first, last);
}

void blob_download::want_everything() {
  if (!ranges_only_) return;
  ranges_only_ = false;
  if (strategy_) strategy_->fetch_everything();
}

bool blob_download::range_local(std::uint64_t first, std::uint64_t last) const noexcept {
  if (verified_) return true;
  if (!serves_pieces() || piece_length_ == 0 || !size_ || last >= *size_) return false;
  for (auto q = first / piece_length_; q <= last / piece_length_; ++q) {
    if (!is_done(q)) return false;
  }
  return true;
}

awaitable<result<std::uint64_t>> blob_download::wait_piece_readable(std::uint64_t offset) {
  auto self = shared_from_this();
  while (true) {
    if (failure_) co_return fail(*failure_);
    if (verified_) co_return *size_;
    last_range_ = steady::now();
    if (serves_pieces() && offset < *size_) {
      const auto pl = piece_length_;
      // verify() matched the prefix [0, checked_) piece by piece as well.
      auto readable = [&](std::uint64_t q) {
        return std::min((q + 1) * pl, *size_) <= checked_ ||
               (q < piece_checked_.size() && piece_checked_[q]);
      };
      auto p = offset / pl;
      if (readable(p)) {
        auto q = p;
        while (q < done_.size() && readable(q)) ++q;
        co_return std::min(q * pl, *size_);
      }
      if (p < done_.size() && done_[p] && !piece_checking_[p]) spawn(check_piece(p));
    }
    co_await wait_change(std::chrono::seconds(1));
  }
}

awaitable<void> blob_download::check_piece(std::uint64_t piece) {
  auto self = shared_from_this();
  piece_checking_[piece] = true;
  auto& part = part_of_piece(piece);
  auto e = extent_at(piece * piece_length_);
  if (!e || !part.ti) {
    piece_checking_[piece] = false;
    co_return;
  }
  auto length = std::min<std::uint64_t>(piece_length_, *size_ - piece * piece_length_);
  auto local = piece - part.first_piece;
  auto h = part.ti->hash_for_piece(lt::piece_index_t(static_cast<int>(local)));
  std::string expected(h.data(), h.size());
  auto read = [where = *e, length, expected]() -> result<bool> {
    std::string buf(length, '\0');
    std::uint64_t got = 0;
    while (got < length) {
      auto n = ::pread(where.fd, buf.data() + got, length - got,
                       static_cast<off_t>(where.file_offset + got));
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) return fail(errc::io, "cannot read back downloaded data");
      if (n == 0) return false;  // not on disk yet
      got += static_cast<std::uint64_t>(n);
    }
    if (sha1(buf) != expected) {
      return fail(errc::corrupt, "a piece on disk does not match its hash");
    }
    return true;
  };
  auto r = co_await ctx_.pool.run(std::move(read));
  piece_checking_[piece] = false;
  if (!r) {
    ctx_.log->error("blob {}: piece {}: {}", ref_.id.str(), piece, r.error().message);
    fail_with(r.error().with_context(fmt::format("blob {} piece {}", ref_.id.str(), piece)));
    co_return;
  }
  if (*r) {
    piece_checked_[piece] = true;
    notify();
  }
}

awaitable<void> blob_download::expire_when_idle() {
  auto self = shared_from_this();
  while (!finished()) {
    boost::asio::steady_timer t(ctx_.io, std::chrono::seconds(1));
    boost::system::error_code ec;
    co_await t.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    if (!ranges_only_) co_return;
    if (steady::now() - last_range_ >= idle_limit_) {
      ctx_.log->info(
          "blob {}: nobody asked for a range of it for {} s; dropping its partial "
          "download",
          ref_.id.str(), std::chrono::duration_cast<std::chrono::seconds>(idle_limit_).count());
      fail_with(error{errc::unavailable, "a ranges-only download nobody reads any more"});
      co_return;
    }
  }
}

awaitable<void> blob_download::rest_after_ranges() {
  auto self = shared_from_this();
  // A reader that left before asking for its range (a failed size lookup,
  // a closed connection) must not leave the blob waiting.
  constexpr auto no_reader = std::chrono::seconds(5);
  while (!finished() && ranges_only_) {
    bool pending = strategy_ && strategy_->ranges_pending();
    if (range_asked_ ? !pending : steady::now() - started_ >= no_reader) {
      want_everything();
      co_return;
    }
    co_await wait_change(std::chrono::seconds(1));
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
  if (ranges_only_) spawn(rest_follows_ ? rest_after_ranges() : expire_when_idle());
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

awaitable<result<void>> blob_download::attempt(std::shared_ptr<fetch_strategy> s) {
  strategy_ = s;
  mode_ = std::string(s->mode());
  auto r = co_await s->run();
  if (!r) s->abandon();
  co_return r;
}

// Why a failed swarm falls back to HTTP: the bytes are the same whichever
// route delivers them, and a pull that has to go to HTTP beats one that fails.
awaitable<result<void>> blob_download::fetch() {
  auto retry_over_http = [this](const result<void>& r) {
    if (r || failure_ || r.error().code == errc::no_space) return false;
    ctx_.log->warn("blob {}: swarm download failed ({}); falling back to HTTP", ref_.id.str(),
                   r.error().message);
    return true;
  };
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
        co_return co_await attempt(std::make_shared<http_fetch>(*this));
      }
      tried_swarm = true;
      auto r = co_await attempt(torrent_fetch::whole(*this, std::move(*from_tracker), "tracker"));
      if (!retry_over_http(r)) co_return r;
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
      co_return co_await attempt(std::make_shared<http_fetch>(*this));
    }
    if (d && d->what != seeder_descriptor::state::failed) {
      result<void> r;
      if (d->what == seeder_descriptor::state::ingesting && d->segment_count > 1) {
        r = co_await attempt(torrent_fetch::segments(*this, *d));
      } else if (auto t = co_await ctx_.sources.seeder_torrent(ref_); t) {
        r = co_await attempt(torrent_fetch::whole(*this, std::move(*t), "seeder"));
      } else {
        r = fail(t.error());
      }
      if (!retry_over_http(r)) co_return r;
    } else if (d) {
      ctx_.log->warn("blob {}: the seeder could not ingest it: {}", ref_.id.str(), d->error);
    } else {
      ctx_.log->warn("blob {}: seeder unavailable: {}", ref_.id.str(), d.error().message);
    }
  }
  // 3. No usable swarm: plain HTTP, continuing for readers already under way.
  co_return co_await attempt(std::make_shared<http_fetch>(*this));
}

void blob_download::set_size(std::uint64_t size, std::uint32_t piece_length) {
  size_ = size;
  piece_length_ = piece_length;
  done_.assign(piece_length ? (size + piece_length - 1) / piece_length : 0, false);
  piece_checked_.assign(done_.size(), false);
  piece_checking_.assign(done_.size(), false);
  next_piece_ = 0;
  notify();
}

result<void> blob_download::begin_entry() {
  if (began_) return {};
  if (auto r = ctx_.store.begin_blob(ref_.id, size_.value_or(0)); !r) return r;
  began_ = true;
  lease_ = ctx_.store.lease(ref_.id);
  return {};
}

std::shared_ptr<blob_part> blob_download::add_part(blob_part p) {
  parts_.push_back(std::make_shared<blob_part>(std::move(p)));
  notify();  // wait_route() waits for the first part's torrent
  return parts_.back();
}

blob_part& blob_download::part_of_piece(std::uint64_t piece) {
  return *parts_[pieces_per_part_ ? piece / pieces_per_part_ : 0];
}

void blob_download::clear_parts() {
  parts_.clear();
  pieces_per_part_ = 0;
}

void blob_download::piece_done(std::uint64_t piece) {
  if (piece >= done_.size() || done_[piece]) return;
  done_[piece] = true;
  advance();
  notify();  // range readers wait for pieces anywhere
}

void blob_download::advance() {
  auto before = next_piece_;
  while (next_piece_ < done_.size() && done_[next_piece_]) ++next_piece_;
  if (next_piece_ == before) return;
  contiguous_ = std::min<std::uint64_t>(next_piece_ * piece_length_, *size_);
  notify();
}

std::uint64_t blob_download::bytes_stored() const noexcept {
  if (!size_) return 0;
  if (piece_length_ == 0 || done_.empty()) return std::min(contiguous_, *size_);
  std::uint64_t n = 0;
  for (std::uint64_t p = 0; p < done_.size(); ++p) {
    if (done_[p]) n += std::min<std::uint64_t>(piece_length_, *size_ - p * piece_length_);
  }
  return n;
}

void blob_download::prefix_stored(std::uint64_t end) {
  if (end <= contiguous_) return;
  contiguous_ = end;
  notify();
}

void blob_download::restart_prefix() {
  // Readers keep their position: the bytes are the same whichever route
  // delivers them, and verify() continues where it was (its pieces are
  // re-read from the new file only past checked_).
  contiguous_ = 0;
}

void blob_download::count_http(byte_source from, std::uint64_t bytes) {
  (from == byte_source::seeder ? http_from_seeder_ : http_from_upstream_) += bytes;
}

void blob_download::count_block(bool from_seeder) {
  ++(from_seeder ? blocks_from_seeders_ : blocks_from_peers_);
}

result<void> blob_download::commit(const std::string& torrent) {
  if (auto c = ctx_.store.commit_blob(ref_.id, torrent); !c) return c;
  committed_ = true;
  return {};
}

void blob_download::seeding(const lt::torrent_handle& h) {
  if (ctx_.on_seeding) ctx_.on_seeding(ref_.id, h);
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

void blob_download::start_seeding(const std::shared_ptr<const lt::torrent_info>& ti) {
  auto h = ctx_.peers.add(ti, ctx_.store.blobs_dir(), ctx_.announce_urls, true, {});
  if (!h) {
    ctx_.log->warn("blob {}: cannot seed it: {}", ref_.id.str(), h.error().message);
    return;
  }
  seeding(*h);
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
  if (strategy_) strategy_->abandon();
  for (auto& p : parts_) {
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
