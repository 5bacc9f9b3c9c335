#include "mirror/torrent_fetch.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <boost/asio/io_context.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <libtorrent/announce_entry.hpp>
#include <libtorrent/torrent_info.hpp>
#include <libtorrent/torrent_status.hpp>

#include "common/units.hpp"

namespace blobswarm::mirror {

using steady = std::chrono::steady_clock;

namespace {
// How often drive() looks at the swarm when nothing wakes it earlier
// (every stored piece does): finer than the shortest stall threshold.
constexpr auto drive_tick = std::chrono::milliseconds(50);
}  // namespace

class torrent_fetch::part_listener final : public swarm_listener {
 public:
  part_listener(std::weak_ptr<torrent_fetch> f, std::size_t index)
      : f_(std::move(f)), index_(index) {}
  void on_piece_finished(int piece) override {
    if (auto f = f_.lock()) f->piece_finished(index_, piece);
  }
  void on_hash_failed(int piece) override {
    if (auto f = f_.lock()) f->hash_failed(index_, piece);
  }
  void on_torrent_error(const std::string& message) override {
    if (auto f = f_.lock()) f->torrent_error(index_, message);
  }
  void on_block(bool from_seeder) override {
    if (auto f = f_.lock()) f->block_received(from_seeder);
  }
  void on_alerts_dropped() override {
    if (auto f = f_.lock()) f->resync();
  }

 private:
  std::weak_ptr<torrent_fetch> f_;
  std::size_t index_;
};

std::shared_ptr<torrent_fetch> torrent_fetch::whole(blob_download& d, std::string torrent,
                                                    std::string_view from) {
  std::shared_ptr<torrent_fetch> f(new torrent_fetch(d));
  f->whole_torrent_ = std::move(torrent);
  f->from_ = std::string(from);
  return f;
}

std::shared_ptr<torrent_fetch> torrent_fetch::segments(blob_download& d, seeder_descriptor layout) {
  std::shared_ptr<torrent_fetch> f(new torrent_fetch(d));
  f->segmented_ = true;
  f->layout_ = layout;
  return f;
}

awaitable<result<void>> torrent_fetch::run() {
  auto self = shared_from_this();
  if (segmented_) co_return co_await run_segmented();
  co_return co_await run_whole();
}

awaitable<result<void>> torrent_fetch::run_whole() {
  auto& ctx = d_.context();
  const auto& id = d_.ref().id;
  auto ti = d_.parse_torrent(whole_torrent_, id.hex(), d_.size().value_or(0));
  if (!ti) co_return fail(ti.error());
  d_.set_size(static_cast<std::uint64_t>((*ti)->total_size()),
              static_cast<std::uint32_t>((*ti)->piece_length()));
  fed_.assign(d_.piece_count(), false);
  wanted_.assign(d_.piece_count(), false);
  d_.replay_ranges();
  if (auto r = d_.begin_entry(); !r) co_return r;
  // A torrent with nothing wanted is "finished" to libtorrent, which then
  // connects to no seed: a download started by a range joins the swarm
  // with that range's pieces wanted.
  while (d_.is_ranges_only() && !abandoned_ && !d_.failed() &&
         std::find(wanted_.begin(), wanted_.end(), true) == wanted_.end()) {
    co_await d_.wait_change(std::chrono::seconds(1));
  }
  if (d_.failed()) co_return fail(*d_.failed());
  if (abandoned_) co_return fail(errc::unavailable, "the download was given up");
  blob_part p{.path = ctx.store.blob_path(id), .length = *d_.size(), .ti = *ti};
  p.listener = std::make_shared<part_listener>(weak_from_this(), 0);
  auto h = ctx.peers.add(p.ti, ctx.store.blobs_dir(), announce_urls(), false, p.listener,
                         initial_priorities(p));
  if (!h) co_return fail(h.error());
  p.handle = *h;
  d_.add_part(std::move(p));
  ctx.log->debug("blob {}: downloading {} from the swarm (torrent from the {})", id.str(),
                 human_bytes(*d_.size()), from_);
  update_window();
  auto r = co_await drive();
  if (!r) co_return r;
  if (auto c = d_.commit(whole_torrent_); !c) co_return c;
  auto seeding = d_.parts().front()->handle;
  ctx.peers.set_listener(seeding, {});
  d_.seeding(seeding);
  co_return result<void>{};
}

awaitable<result<void>> torrent_fetch::run_segmented() {
  auto& ctx = d_.context();
  const auto& id = d_.ref().id;
  const auto& l = layout_;
  if (l.piece_length == 0 || l.segment_length == 0 || l.segment_length % l.piece_length != 0 ||
      l.size == 0 || (l.size + l.segment_length - 1) / l.segment_length != l.segment_count) {
    co_return fail(errc::corrupt, "the seeder described blob {} inconsistently", id.str());
  }
  d_.set_size(l.size, l.piece_length);
  d_.set_pieces_per_part(l.segment_length / l.piece_length);
  fed_.assign(d_.piece_count(), false);
  wanted_.assign(d_.piece_count(), false);
  d_.replay_ranges();
  if (auto r = d_.begin_entry(); !r) co_return r;
  if (auto r = blobswarm::create_directories(ctx.segments_dir); !r) co_return r;
  for (std::uint32_t n = 0; n < l.segment_count; ++n) {
    blob_part p;
    p.offset = static_cast<std::uint64_t>(n) * l.segment_length;
    p.length = std::min<std::uint64_t>(l.segment_length, l.size - p.offset);
    p.first_piece = static_cast<std::uint64_t>(n) * d_.pieces_per_part();
    p.path = ctx.segments_dir / fmt::format("{}.{}", id.hex(), n);
    p.listener = std::make_shared<part_listener>(weak_from_this(), n);
    d_.add_part(std::move(p));
  }
  ctx.log->debug("blob {}: {} is still being ingested; following its {} segments", id.str(),
                 human_bytes(l.size), l.segment_count);
  d_.spawn(add_segments(l.segment_count));
  auto r = co_await drive();
  if (!r) co_return r;
  co_return co_await assemble_from_segments();
}

awaitable<void> torrent_fetch::add_segments(std::uint32_t count) {
  auto self = shared_from_this();
  auto& ctx = d_.context();
  const auto& id = d_.ref().id;
  for (std::uint32_t n = 0; n < count; ++n) {
    if (abandoned_ || d_.failed() || method_error_ || d_.verified()) co_return;
    auto t = co_await ctx.sources.seeder_segment_torrent(d_.ref(), n);
    if (abandoned_ || n >= d_.parts().size()) co_return;
    auto& p = *d_.parts()[n];
    result<std::shared_ptr<const lt::torrent_info>> ti =
        t ? d_.parse_torrent(*t, fmt::format("{}.{}", id.hex(), n), p.length)
          : result<std::shared_ptr<const lt::torrent_info>>(fail(t.error()));
    if (ti && static_cast<std::uint32_t>((*ti)->piece_length()) != d_.piece_length()) {
      ti = fail(errc::corrupt, "segment torrent has the wrong piece length");
    }
    if (!ti) {
      method_error_ = ti.error().with_context(fmt::format("segment {}", n));
      d_.notify();
      co_return;
    }
    p.ti = *ti;
    auto h = ctx.peers.add(p.ti, ctx.segments_dir, announce_urls(), false, p.listener,
                           initial_priorities(p));
    if (!h) {
      method_error_ = h.error();
      d_.notify();
      co_return;
    }
    p.handle = *h;
    update_window();
    d_.notify();
  }
}

void torrent_fetch::remove_torrents(bool remove_files) {
  auto& ctx = d_.context();
  for (const auto& p : d_.parts()) {
    if (p->handle.is_valid()) ctx.peers.remove(p->handle);
    p->handle = {};
    if (remove_files) {
      // Readers may still hold the file open; unlinking leaves their bytes intact.
      std::error_code ec;
      std::filesystem::remove(p->path, ec);
    }
  }
}

void torrent_fetch::abandon() {
  if (abandoned_) return;
  abandoned_ = true;
  remove_torrents(true);
  d_.clear_parts();
}

// Waits for the swarm to deliver every piece, remedying stalls as
// stall_watch says: kick, ask for origins, then fill over HTTP chunk after
// chunk until the swarm delivers again.
awaitable<result<void>> torrent_fetch::drive() {
  auto self = shared_from_this();
  auto& ctx = d_.context();
  stall_watch::settings ws;
  ws.piece_length = d_.piece_length();
  ws.ceiling = ctx.settings.stall_timeout;
  watch_.emplace(ws, steady::now());
  while (!d_.verified()) {
    if (d_.failed()) co_return fail(*d_.failed());
    if (method_error_) co_return fail(*method_error_);
    co_await d_.wait_change(drive_tick);
    if (d_.verified() || d_.failed() || method_error_) continue;
    auto now = steady::now();
    auto target = frontier();
    if (!target) {
      watch_->excuse(now);  // all there (verify() finishes up), or nothing wanted
      continue;
    }
    if (!d_.part_of_piece(*target).handle.is_valid()) {
      watch_->excuse(now);  // not published by the seeder yet: not a stall
      continue;
    }
    auto what = watch_->due(now);
    if (what == stall_watch::action::none) continue;
    if (what == stall_watch::action::kick) {
      d_.context().log->debug(
          "blob {}: nothing from the swarm for {} ms at {} of {}; kicking "
          "libtorrent's piece picker",
          d_.ref().id.str(),
          std::chrono::duration_cast<std::chrono::milliseconds>(watch_->quiet(now)).count(),
          human_bytes(d_.contiguous()), human_bytes(*d_.size()));
      kick();
      continue;
    }
    // A piece_finished alert libtorrent dropped looks like a stall; and
    // feeding it a piece it already has over HTTP would never finish.
    resync();
    target = frontier();
    if (d_.verified() || !target) continue;
    if (what == stall_watch::action::ask_origins) {
      if (!origins_asked_) ask_for_origins();
      continue;
    }
    if (watch_->quiet(steady::now()) < watch_->kick_after()) continue;  // resync found pieces
    // At most two chunks handed to libtorrent and not yet confirmed.
    std::uint64_t pending = 0;
    for (auto p = d_.next_piece(); p < d_.piece_count(); ++p) {
      if (fed_[p] && !d_.is_done(p)) ++pending;
    }
    if (pending * d_.piece_length() >= 2 * ctx.settings.fallback_chunk) continue;
    auto first = *target;
    if (!stalled_logged_) {
      ctx.log->info(
          "blob {}: swarm stalled at {} of {} (nothing for {} ms); fetching missing "
          "pieces over HTTP",
          d_.ref().id.str(), human_bytes(d_.contiguous()), human_bytes(*d_.size()),
          std::chrono::duration_cast<std::chrono::milliseconds>(watch_->quiet(now)).count());
      stalled_logged_ = true;
    }
    auto r = co_await fill_over_http(first);
    if (!r) {
      if (r.error().code == errc::no_space) co_return r;
      ctx.log->warn("blob {}: HTTP fallback failed: {}", d_.ref().id.str(), r.error().message);
      watch_->excuse(steady::now());  // both HTTP sources failed: the swarm gets a window
    }
  }
  co_return result<void>{};
}

// libtorrent runs its picker for a peer on that peer's events. A request
// the seeder rejects goes back to the picker, but a peer that has the piece
// and has nothing more to say (a node that finished) is not asked for it
// until something happens on its connection. Changing a piece's priority
// to 0 and back makes libtorrent re-evaluate its interest in every peer
// and request blocks from those it is interested in; a piece this node
// already has is used, so nothing it downloads changes.
void torrent_fetch::kick() {
  for (const auto& p : d_.parts()) {
    if (!p->handle.is_valid() || !p->ti) continue;
    auto count = static_cast<std::uint64_t>(p->ti->num_pieces());
    std::optional<std::uint64_t> have;
    bool missing = false;
    for (std::uint64_t local = 0; local < count; ++local) {
      bool done = d_.is_done(p->first_piece + local);
      if (done && !have) have = local;
      missing = missing || !done;
      if (have && missing) break;
    }
    if (!have || !missing) continue;
    lt::piece_index_t piece(static_cast<int>(*have));
    p->handle.piece_priority(piece, lt::dont_download);
    p->handle.piece_priority(piece, lt::low_priority);
  }
}

awaitable<result<void>> torrent_fetch::fill_over_http(std::uint64_t first) {
  auto self = shared_from_this();
  auto& ctx = d_.context();
  const auto piece_length = d_.piece_length();
  auto chunk_pieces = std::max<std::uint64_t>(1, ctx.settings.fallback_chunk / piece_length);
  auto last = first;
  while (last < d_.piece_count() && !d_.is_done(last) && !fed_[last] &&
         last - first < chunk_pieces) {
    if (!d_.part_of_piece(last).handle.is_valid()) break;
    if (d_.is_ranges_only() && !wanted_[last]) break;  // only what readers asked for
    ++last;
  }
  if (last == first) co_return result<void>{};
  auto begin = first * piece_length;
  auto end = std::min<std::uint64_t>(last * piece_length, *d_.size());
  auto buffer = std::make_shared<std::string>();
  result<void> fetched = fail(errc::unavailable, "no source tried");
  byte_source used = byte_source::seeder;
  for (auto source : {byte_source::seeder, byte_source::upstream}) {
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
    fetched =
        co_await ctx.sources.fetch_range(source, d_.ref(), begin, end - begin, std::move(sink));
    if (fetched && buffer->size() != end - begin) fetched = fail(errc::upstream, "short response");
    if (fetched) {
      used = source;
      break;
    }
  }
  if (!fetched) co_return fetched;
  if (abandoned_) co_return result<void>{};
  d_.count_http(used, buffer->size());
  for (auto piece = first; piece < last; ++piece) {
    if (d_.is_done(piece)) continue;
    auto& p = d_.part_of_piece(piece);
    if (!p.handle.is_valid()) continue;
    auto off = (piece - first) * piece_length;
    auto len = std::min<std::uint64_t>(piece_length, buffer->size() - off);
    fed_[piece] = true;
    // libtorrent checks the piece hash and reports it like a downloaded piece.
    p.handle.add_piece(lt::piece_index_t(static_cast<int>(piece - p.first_piece)),
                       std::vector<char>(buffer->data() + off, buffer->data() + off + len));
  }
  co_return result<void>{};
}

void torrent_fetch::piece_finished(std::size_t part_index, int local_piece) {
  if (abandoned_ || part_index >= d_.parts().size()) return;
  auto global = d_.parts()[part_index]->first_piece + static_cast<std::uint64_t>(local_piece);
  if (global >= d_.piece_count() || d_.is_done(global)) return;
  if (!fed_[global] && watch_) watch_->delivered(steady::now());
  d_.piece_done(global);
  update_window();
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
std::vector<lt::download_priority_t> torrent_fetch::initial_priorities(const blob_part& p) const {
  if (!p.ti) return {};
  const bool ranges_only = d_.is_ranges_only();
  const auto window = d_.context().settings.stream_window;
  const auto n = static_cast<std::size_t>(p.ti->num_pieces());
  auto wanted = [&](std::size_t local) {
    auto global = p.first_piece + local;
    return global < wanted_.size() && wanted_[global];
  };
  bool any_wanted = false;
  for (std::size_t i = 0; i < n && !any_wanted; ++i) any_wanted = wanted(i);
  if (!ranges_only && window == 0 && !any_wanted) return {};
  // A ranges-only download fetches nothing but what readers ask for.
  std::vector<lt::download_priority_t> out(
      n, ranges_only ? lt::dont_download : (window ? lt::low_priority : lt::default_priority));
  for (std::size_t i = 0; i < n; ++i) {
    if (wanted(i)) out[i] = range_priority;
  }
  return out;
}

void torrent_fetch::prioritize(std::uint64_t first, std::uint64_t last) {
  if (abandoned_ || wanted_.empty()) return;
  last = std::min<std::uint64_t>(last, wanted_.size() - 1);
  std::vector<std::pair<lt::piece_index_t, lt::download_priority_t>> raise;
  blob_part* current = nullptr;
  auto flush = [&] {
    if (current && !raise.empty()) current->handle.prioritize_pieces(raise);
    raise.clear();
  };
  for (auto piece = first; piece <= last; ++piece) {
    if (d_.is_done(piece) || wanted_[piece]) continue;
    wanted_[piece] = true;
    // Parts not added yet get it from initial_priorities().
    if (d_.parts().empty()) continue;
    auto& p = d_.part_of_piece(piece);
    if (!p.handle.is_valid()) continue;
    if (&p != current) {
      flush();
      current = &p;
    }
    raise.emplace_back(lt::piece_index_t(static_cast<int>(piece - p.first_piece)), range_priority);
  }
  flush();
  // A range is news to a swarm that had nothing to do: look again at once.
  d_.notify();
}

bool torrent_fetch::ranges_pending() const noexcept {
  for (std::uint64_t p = 0; p < wanted_.size(); ++p) {
    if (wanted_[p] && !d_.is_done(p)) return true;
  }
  return false;
}

void torrent_fetch::fetch_everything() {
  if (abandoned_) return;
  for (const auto& p : d_.parts()) {
    if (!p->handle.is_valid() || !p->ti) continue;
    std::vector<std::pair<lt::piece_index_t, lt::download_priority_t>> low;
    for (int local = 0; local < p->ti->num_pieces(); ++local) {
      auto global = p->first_piece + static_cast<std::uint64_t>(local);
      if (!d_.is_done(global) && !wanted_[global]) {
        low.emplace_back(lt::piece_index_t(local), lt::low_priority);
      }
    }
    if (!low.empty()) p->handle.prioritize_pieces(low);
  }
  window_until_ = 0;
  update_window();
  d_.notify();
}

std::optional<std::uint64_t> torrent_fetch::frontier() const {
  for (std::uint64_t p = 0; p < wanted_.size(); ++p) {
    if (wanted_[p] && !d_.is_done(p) && !fed_[p]) return p;
  }
  if (d_.is_ranges_only()) return std::nullopt;
  auto first = d_.next_piece();
  while (first < d_.piece_count() && (d_.is_done(first) || fed_[first])) ++first;
  if (first >= d_.piece_count()) return std::nullopt;
  return first;
}

void torrent_fetch::update_window() {
  const auto window = d_.context().settings.stream_window;
  if (d_.piece_count() == 0 || window == 0 || abandoned_ || d_.is_ranges_only()) return;
  auto window_pieces = std::max<std::uint64_t>(1, window / d_.piece_length());
  auto until = std::min<std::uint64_t>(d_.next_piece() + window_pieces, d_.piece_count());
  auto piece = std::max(d_.next_piece(), window_until_);
  std::vector<std::pair<lt::piece_index_t, lt::download_priority_t>> raise;
  blob_part* current = nullptr;
  auto flush = [&] {
    if (current && !raise.empty()) current->handle.prioritize_pieces(raise);
    raise.clear();
  };
  for (; piece < until; ++piece) {
    auto& p = d_.part_of_piece(piece);
    if (!p.handle.is_valid()) break;  // not published yet: raised once it is added
    if (&p != current) {
      flush();
      current = &p;
    }
    if (!d_.is_done(piece)) {
      raise.emplace_back(lt::piece_index_t(static_cast<int>(piece - p.first_piece)),
                         window_priority);
    }
  }
  flush();
  window_until_ = std::max(window_until_, piece);
}

void torrent_fetch::resync() {
  if (abandoned_) return;
  for (std::size_t i = 0; i < d_.parts().size(); ++i) {
    auto handle = d_.parts()[i]->handle;  // piece_finished may change the parts
    if (!handle.is_valid()) continue;
    auto st = handle.status(lt::torrent_handle::query_pieces);
    for (int local = 0; local < st.pieces.size(); ++local) {
      if (st.pieces.get_bit(lt::piece_index_t(local))) piece_finished(i, local);
    }
  }
}

void torrent_fetch::hash_failed(std::size_t part_index, int local_piece) {
  // libtorrent asks peers again (and bans those that keep sending bad
  // data). A piece fed from HTTP that failed may be fetched again.
  if (part_index >= d_.parts().size()) return;
  auto global = d_.parts()[part_index]->first_piece + static_cast<std::uint64_t>(local_piece);
  if (global < fed_.size()) fed_[global] = false;
}

void torrent_fetch::torrent_error(std::size_t, const std::string& message) {
  if (!method_error_) method_error_ = error{errc::io, message};
  d_.notify();
}

void torrent_fetch::block_received(bool from_seeder) {
  d_.count_block(from_seeder);
}

std::vector<std::string> torrent_fetch::announce_urls() const {
  const auto& base = d_.context().announce_urls;
  if (!origins_asked_) return base;
  std::vector<std::string> urls;
  for (const auto& u : base) {
    urls.push_back(u + (u.find('?') == std::string::npos ? "?" : "&") + "origins=1");
  }
  return urls;
}

void torrent_fetch::ask_for_origins() {
  origins_asked_ = true;
  d_.context().log->info(
      "blob {}: no progress from the nodes at {} of {} for {} ms; asking the tracker for the "
      "seeder too",
      d_.ref().id.str(), human_bytes(d_.contiguous()), human_bytes(*d_.size()),
      std::chrono::duration_cast<std::chrono::milliseconds>(watch_->quiet(steady::now())).count());
  auto urls = announce_urls();
  std::vector<lt::announce_entry> trackers;
  for (const auto& u : urls) trackers.emplace_back(u);
  for (const auto& p : d_.parts()) {
    if (!p->handle.is_valid()) continue;
    p->handle.replace_trackers(trackers);
    p->handle.force_reannounce(0, -1, lt::torrent_handle::ignore_min_interval);
  }
}

awaitable<result<void>> torrent_fetch::assemble_from_segments() {
  auto self = shared_from_this();
  auto& ctx = d_.context();
  const auto& id = d_.ref().id;
  // The file the cache serves is the segments end to end.
  auto target = ctx.store.blob_path(id);
  std::vector<std::filesystem::path> sources;
  for (const auto& p : d_.parts()) sources.push_back(p->path);
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
  auto r = co_await ctx.pool.run(std::move(concatenate));
  if (!r) co_return r;
  // The whole torrent exists once the seeder has finished; this node seeds
  // it from now on.
  auto whole = co_await ctx.sources.tracker_torrent(d_.ref());
  if (!whole) whole = co_await ctx.sources.seeder_torrent(d_.ref());
  std::shared_ptr<const lt::torrent_info> ti;
  if (whole) {
    if (auto parsed = d_.parse_torrent(*whole, id.hex(), *d_.size())) {
      ti = *parsed;
      whole_torrent_ = std::move(*whole);
    }
  }
  if (auto c = d_.commit(whole_torrent_); !c) co_return c;
  if (ti) d_.start_seeding(ti);
  d_.spawn(retire_segments_later());
  co_return result<void>{};
}

awaitable<void> torrent_fetch::retire_segments_later() {
  auto self = shared_from_this();
  boost::asio::steady_timer t(d_.context().io, d_.context().settings.segment_linger);
  boost::system::error_code ec;
  co_await t.async_wait(asio::redirect_error(asio::use_awaitable, ec));
  // Other nodes still on segments have had their chance; the whole torrent
  // serves everyone now.
  remove_torrents(true);
}

}  // namespace blobswarm::mirror
