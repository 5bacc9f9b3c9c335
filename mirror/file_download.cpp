#include "mirror/file_download.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <cstring>
#include <libtorrent/file_storage.hpp>
#include <libtorrent/torrent_info.hpp>
#include <libtorrent/torrent_status.hpp>

#include "common/file.hpp"
#include "common/hasher.hpp"

namespace blobswarm::mirror {

namespace {

using steady = std::chrono::steady_clock;

// Piece priorities: a Range read's pieces first, then the windows ahead of
// streaming readers, then the rest of the torrent.
constexpr auto urgent_priority = lt::top_priority;
constexpr auto streaming_priority = lt::download_priority_t(6);

// How long the pieces a download's first request reads are the only ones
// fetched (start()).
constexpr auto hold_rest_for = std::chrono::seconds(2);

// A piece libtorrent reported may not be in its files yet (threaded disk
// back-end): read it again this often before calling the data corrupt.
constexpr int read_attempts = 40;
constexpr auto read_retry_pause = std::chrono::milliseconds(50);

// Reads piece `p` of `ti` from the files under `dir` (padding as zeros)
// and checks it against its v1 hash. Blocking.
result<std::shared_ptr<const std::string>> read_piece_from(const lt::torrent_info& ti,
                                                           const std::filesystem::path& dir,
                                                           int p) {
  const auto& fs = ti.files();
  lt::piece_index_t piece(p);
  auto size = ti.piece_size(piece);
  auto out = std::make_shared<std::string>(static_cast<std::size_t>(size), '\0');
  char* at = out->data();
  for (const auto& slice : fs.map_block(piece, 0, size)) {
    auto n = static_cast<std::size_t>(slice.size);
    if (!fs.pad_file_at(slice.file_index)) {
      auto path = std::filesystem::path(fs.file_path(slice.file_index, dir.string()));
      auto fd = open_file(path, O_RDONLY | O_CLOEXEC);
      if (!fd) return fail(errc::corrupt, "{}", fd.error().message);
      std::size_t got = 0;
      while (got < n) {
        auto r = ::pread(fd->get(), at + got, n - got, static_cast<off_t>(slice.offset) + got);
        if (r < 0 && errno == EINTR) continue;
        if (r < 0) return fail(system_error(errno, "cannot read", path));
        if (r == 0)
          return fail(errc::corrupt, "{} is shorter than its torrent says", path.string());
        got += static_cast<std::size_t>(r);
      }
    }
    at += n;
  }
  auto hash = sha1(*out);
  auto expected = ti.hash_for_piece(piece);
  if (hash.size() != expected.size() || std::memcmp(hash.data(), expected.data(), hash.size())) {
    return fail(errc::corrupt, "piece {} as stored does not match its hash", p);
  }
  return std::shared_ptr<const std::string>(std::move(out));
}

}  // namespace

file_download::file_download(file_context& ctx, std::shared_ptr<const file_torrent> torrent,
                             std::optional<digest> expected)
    : ctx_(ctx), torrent_(std::move(torrent)), expected_(std::move(expected)) {}

file_download::~file_download() = default;

void file_download::abandon() {
  finished_hook_ = nullptr;
  fail_with(error{errc::unavailable, "the mirror is shutting down"});
}

void file_download::spawn(awaitable<void> task) {
  asio::co_spawn(ctx_.io, std::move(task), [self = shared_from_this()](std::exception_ptr e) {
    if (!e) return;
    try {
      std::rethrow_exception(e);
    } catch (const std::exception& ex) {
      self->fail_with(error{errc::internal, fmt::format("download task crashed: {}", ex.what())});
    }
  });
}

result<void> file_download::start(int first, int last) {
  const auto& id = torrent_->id();
  auto v1 = lt::sha1_hash(id.raw().data());
  if (ctx_.peers.find(v1).is_valid()) {
    return fail(errc::conflict,
                "torrent {} is in this node's session for another purpose (an image blob with the "
                "same content); fetch it through the registry API",
                id.hex());
  }
  if (auto r = ctx_.store.begin_file(id, torrent_->size()); !r) return r;
  began_ = true;
  lease_ = ctx_.store.lease_file(id);
  auto n = static_cast<std::size_t>(torrent_->piece_count());
  done_.assign(n, false);
  raised_.assign(n, 0);
  // Priorities (want()) decide what libtorrent asks for next, but a peer
  // serves the requests it has in order, and libtorrent asks a seed for its
  // "allowed fast" pieces (BEP 6, any pieces) before it is unchoked: a Range
  // read at the end of a file waited behind a dozen other pieces. So at
  // first only the first reader's pieces are wanted at all; release_rest()
  // adds the others once they arrived, or after hold_rest_for.
  std::vector<lt::download_priority_t> priorities(n, lt::dont_download);
  first_wanted_ = first;
  last_wanted_ = window_end(first, last);
  for (int p = first_wanted_; p <= last_wanted_; ++p) {
    priorities[static_cast<std::size_t>(p)] = urgent_priority;
    raised_[static_cast<std::size_t>(p)] = static_cast<std::uint8_t>(urgent_priority);
  }
  holding_rest_ = true;
  started_ = steady::now();
  std::weak_ptr<swarm_listener> listener = weak_from_this();
  auto h = ctx_.peers.add(torrent_->info(), ctx_.store.file_dir(id), ctx_.announce_urls, false,
                          listener, std::move(priorities));
  if (!h) {
    ctx_.store.abort_file(id);
    began_ = false;
    return fail(h.error());
  }
  handle_ = *h;
  last_progress_ = steady::now();
  ctx_.log->info("torrent {} ('{}', {} bytes in {} files): downloading", id.hex(), torrent_->name(),
                 torrent_->size(), torrent_->files().size());
  spawn(watch());
  if (expected_) spawn(hash_in_order());
  return {};
}

int file_download::window_end(int first, int last) const {
  auto window = static_cast<int>(
      std::max<std::uint64_t>(2, ctx_.settings.stream_window / torrent_->piece_length()));
  return std::min({last, first + window - 1, torrent_->piece_count() - 1});
}

void file_download::release_rest() {
  if (!holding_rest_ || finished() || !handle_.is_valid()) return;
  holding_rest_ = false;
  std::vector<lt::download_priority_t> priorities(done_.size(), lt::low_priority);
  for (std::size_t p = 0; p < done_.size(); ++p) {
    if (raised_[p]) priorities[p] = lt::download_priority_t(raised_[p]);
  }
  handle_.prioritize_pieces(priorities);
}

void file_download::want(int first, int last, bool urgent) {
  if (finished() || !handle_.is_valid()) return;
  last = window_end(first, last);
  auto target = urgent ? urgent_priority : streaming_priority;
  std::vector<std::pair<lt::piece_index_t, lt::download_priority_t>> raise;
  for (int p = first; p <= last; ++p) {
    auto i = static_cast<std::size_t>(p);
    if (done_[i] || raised_[i] >= static_cast<std::uint8_t>(target)) continue;
    raised_[i] = static_cast<std::uint8_t>(target);
    raise.emplace_back(lt::piece_index_t(p), target);
  }
  // While the rest is held back (start()), only raised pieces are wanted
  // anyway; release_rest() gives every piece its priority then.
  if (!raise.empty()) handle_.prioritize_pieces(raise);
}

awaitable<result<void>> file_download::wait_piece(int p, duration limit) {
  auto self = shared_from_this();
  auto deadline = steady::now() + limit;
  // Bounded: each pass waits for a change or the deadline.
  while (true) {
    if (done_[static_cast<std::size_t>(p)]) co_return result<void>{};
    if (failure_) co_return fail(*failure_);
    auto left = deadline - steady::now();
    if (left <= duration::zero()) {
      co_return fail(errc::timeout, "piece {} of torrent {} did not arrive within {}", p,
                     torrent_->id().hex(), format_duration(limit));
    }
    co_await changed_.wait(
        std::min<duration>(std::chrono::duration_cast<duration>(left), std::chrono::seconds(1)));
  }
}

awaitable<result<std::shared_ptr<const std::string>>> file_download::read_piece(int p) {
  auto self = shared_from_this();
  auto ti = torrent_->info();
  auto dir = ctx_.store.file_dir(torrent_->id());
  auto read = [ti, dir, p] {
    return read_piece_from(*ti, dir, p);
  };
  result<std::shared_ptr<const std::string>> r = fail(errc::internal, "not read");
  for (int attempt = 0; attempt < read_attempts; ++attempt) {
    r = co_await ctx_.pool.run(read);
    if (r || r.error().code != errc::corrupt) co_return r;
    boost::asio::steady_timer pause(ctx_.io, read_retry_pause);
    boost::system::error_code ec;
    co_await pause.async_wait(asio::redirect_error(asio::use_awaitable, ec));
  }
  // libtorrent's hash check passed, yet the files do not hold those bytes:
  // the disk (or someone writing to the cache) changed them.
  ctx_.log->error("torrent {}: {}; discarding the download", torrent_->id().hex(),
                  r.error().message);
  fail_with(r.error());
  co_return r;
}

awaitable<result<void>> file_download::wait_verified() {
  auto self = shared_from_this();
  // Bounded: the download either verifies or fails (the stall watch ends it).
  while (true) {
    if (failure_) co_return fail(*failure_);
    if (!expected_ || digest_ok_) co_return result<void>{};
    co_await changed_.wait(std::chrono::seconds(1));
  }
}

void file_download::mark_done(int piece) {
  if (piece < 0 || piece >= torrent_->piece_count()) return;
  auto i = static_cast<std::size_t>(piece);
  last_progress_ = steady::now();
  if (done_[i]) return;
  done_[i] = true;
  ++done_count_;
  ctx_.log->debug("torrent {}: piece {} arrived ({} of {})", torrent_->id().hex(), piece,
                  done_count_, torrent_->piece_count());
  if (holding_rest_) {
    bool all = true;
    for (int p = first_wanted_; p <= last_wanted_ && all; ++p) {
      all = done_[static_cast<std::size_t>(p)];
    }
    if (all) release_rest();
  }
  changed_.notify_all();
  maybe_commit();
}

void file_download::maybe_commit() {
  if (committed_ || failure_ || done_count_ < torrent_->piece_count()) return;
  if (expected_ && !digest_ok_) return;
  if (auto r = ctx_.store.commit_file(torrent_->id(), torrent_->bytes()); !r) {
    fail_with(r.error());
    return;
  }
  committed_ = true;
  lease_ = cache_lease();
  ctx_.log->info("torrent {} ('{}'): complete, cached, seeding", torrent_->id().hex(),
                 torrent_->name());
  changed_.notify_all();
  if (finished_hook_) finished_hook_(*this);
}

void file_download::fail_with(error e) {
  if (finished()) return;
  ctx_.log->warn("torrent {} ('{}'): {}", torrent_->id().hex(), torrent_->name(), e.message);
  failure_ = std::move(e);
  ctx_.peers.remove(handle_);
  if (began_) ctx_.store.abort_file(torrent_->id());
  began_ = false;
  lease_ = cache_lease();
  changed_.notify_all();
  if (finished_hook_) finished_hook_(*this);
}

awaitable<void> file_download::watch() {
  auto self = shared_from_this();
  // Ends when the download does; each pass waits at most a second (or
  // hold_rest_for, which is longer).
  while (!finished()) {
    duration pause = std::chrono::seconds(1);
    if (holding_rest_) pause = hold_rest_for;
    co_await changed_.wait(pause);
    if (finished()) break;
    if (holding_rest_ && steady::now() - started_ >= hold_rest_for) release_rest();
    if (steady::now() - last_progress_ > ctx_.settings.stall_timeout) {
      fail_with(error{errc::timeout,
                      fmt::format("no peer sent any of torrent {} ('{}') for {} ({} of {} pieces "
                                  "arrived): is anyone seeding it?",
                                  torrent_->id().hex(), torrent_->name(),
                                  format_duration(ctx_.settings.stall_timeout), done_count_,
                                  torrent_->piece_count())});
    }
  }
}

awaitable<void> file_download::hash_in_order() {
  auto self = shared_from_this();
  hasher h(expected_->algorithm());
  const auto size = torrent_->size();
  for (int p = 0; p < torrent_->piece_count(); ++p) {
    // No limit of its own: the stall watch fails a download that stops.
    auto arrived = co_await wait_piece(p, std::chrono::hours(24 * 365));
    if (!arrived) co_return;
    auto bytes = co_await read_piece(p);
    if (!bytes) co_return;
    auto offset = torrent_->piece_offset(p);
    auto n = std::min<std::uint64_t>((*bytes)->size(), size - std::min(size, offset));
    h.update(std::string_view((*bytes)->data(), static_cast<std::size_t>(n)));
  }
  auto got = digest::from_raw(expected_->algorithm(), h.finish());
  if (!got || *got != *expected_) {
    fail_with(error{
        errc::digest_mismatch,
        fmt::format("torrent {} delivered content whose digest is {}, not {}; "
                    "discarded",
                    torrent_->id().hex(), got ? got->str() : std::string("?"), expected_->str())});
    co_return;
  }
  digest_ok_ = true;
  changed_.notify_all();
  maybe_commit();
}

void file_download::on_piece_finished(int piece) {
  mark_done(piece);
}

void file_download::on_hash_failed(int) {
  // libtorrent bans the peer and fetches the piece again; that is progress
  // of a kind, not a stall.
  last_progress_ = steady::now();
}

void file_download::on_torrent_error(const std::string& message) {
  fail_with(error{errc::io, fmt::format("torrent {}: {}", torrent_->id().hex(), message)});
}

void file_download::on_block(bool from_seeder) {
  last_progress_ = steady::now();
  ++(from_seeder ? blocks_from_seeders_ : blocks_from_peers_);
}

void file_download::on_alerts_dropped() {
  if (!handle_.is_valid() || finished()) return;
  auto st = handle_.status(lt::torrent_handle::query_pieces);
  for (int p = 0; p < torrent_->piece_count(); ++p) {
    if (st.pieces.get_bit(lt::piece_index_t(p))) mark_done(p);
  }
}

}  // namespace blobswarm::mirror
