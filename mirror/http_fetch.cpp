#include "mirror/http_fetch.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "common/units.hpp"

namespace blobswarm::mirror {

awaitable<result<void>> http_fetch::run() {
  auto self = shared_from_this();
  auto& ctx = d_.context();
  const auto& ref = d_.ref();
  if (!d_.size()) {
    auto s = co_await ctx.sources.upstream_size(ref);
    if (!s) co_return fail(s.error());
    d_.set_size(*s, 0);
  }
  const auto size = *d_.size();
  if (auto r = d_.begin_entry(); !r) co_return r;
  d_.restart_prefix();
  auto path = ctx.store.blob_path(ref.id);
  auto out = open_file(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
  if (!out) co_return fail(out.error());
  d_.add_part(blob_part{.path = path, .length = size});

  // The sink runs on a pool thread; progress is posted to the io_context.
  auto written = std::make_shared<std::atomic<std::uint64_t>>(0);
  auto download = d_.shared_from_this();
  const int fd = out->get();
  for (auto source : {byte_source::seeder, byte_source::upstream}) {
    std::uint64_t before = written->load();
    while (written->load() < size) {
      auto from = written->load();
      std::function<result<void>(std::span<const std::byte>)> sink =
          [&ctx, download, fd, path, written,
           size](std::span<const std::byte> data) -> result<void> {
        auto at = written->load();
        if (at + data.size() > size) return fail(errc::upstream, "more bytes than the blob has");
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
        asio::post(ctx.io, [download, total] { download->prefix_stored(total); });
        return {};
      };
      auto r = co_await ctx.sources.fetch_range(source, ref, from, size - from, std::move(sink));
      d_.prefix_stored(written->load());
      if (!r) {
        if (r.error().code == errc::no_space) co_return r;
        ctx.log->warn("blob {}: fetching from the {} stopped at {}: {}", ref.id.str(),
                      source == byte_source::seeder ? "seeder" : "upstream",
                      human_bytes(written->load()), r.error().message);
      }
      if (!r || written->load() == from) break;  // no progress: next source
    }
    d_.count_http(source, written->load() - before);
    if (written->load() >= size) break;
  }
  if (written->load() < size) {
    co_return fail(errc::unavailable, "blob {}: neither the seeder nor upstream delivered it",
                   ref.id.str());
  }
  while (!d_.verified() && !d_.failed()) co_await d_.wait_change(std::chrono::seconds(1));
  if (d_.failed()) co_return fail(*d_.failed());
  if (auto c = d_.commit(""); !c) co_return c;
  d_.spawn(adopt_torrent());
  co_return result<void>{};
}

awaitable<void> http_fetch::adopt_torrent() {
  // The seeder registers the torrent as soon as its own ingest finishes,
  // which an HTTP-only download usually overlapped. Look a few times.
  auto self = shared_from_this();
  auto& ctx = d_.context();
  const auto& ref = d_.ref();
  for (int attempt = 0; attempt < 10; ++attempt) {
    auto t = co_await ctx.sources.tracker_torrent(ref);
    if (t) {
      auto ti = d_.parse_torrent(*t, ref.id.hex(), *d_.size());
      if (!ti) co_return;
      if (auto r = ctx.store.set_torrent(ref.id, *t); !r) co_return;
      d_.start_seeding(*ti);
      co_return;
    }
    if (t.error().code != errc::not_found) co_return;
    boost::asio::steady_timer pause(ctx.io, std::chrono::seconds(1));
    boost::system::error_code ec;
    co_await pause.async_wait(asio::redirect_error(asio::use_awaitable, ec));
  }
}

}  // namespace blobswarm::mirror
