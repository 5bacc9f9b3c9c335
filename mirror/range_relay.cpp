#include "mirror/range_relay.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>

namespace blobswarm::mirror {

range_relay::range_relay(asio::any_io_executor ex, blob_sources& sources, blob_ref blob,
                         std::uint64_t offset, std::uint64_t length)
    : ex_(std::move(ex)),
      sources_(sources),
      blob_(std::move(blob)),
      offset_(offset),
      length_(length) {}

void range_relay::start() {
  asio::co_spawn(ex_, run(), asio::detached);
}

awaitable<void> range_relay::run() {
  auto self = shared_from_this();
  auto sink = [self](std::span<const std::byte> data) {
    return self->receive(data);
  };
  auto got = co_await sources_.fetch_range(byte_source::seeder, blob_, offset_, length_, sink);
  {
    std::lock_guard lock(mutex_);
    if (!got) {
      failure_ = got.error();
    } else if (received_ != length_) {
      failure_ = error{errc::upstream, fmt::format("the seeder sent {} of the {} bytes asked for",
                                                   received_, length_)};
    }
    done_ = true;
  }
  changed_.notify_all();
}

result<void> range_relay::receive(std::span<const std::byte> data) {
  {
    std::lock_guard lock(mutex_);
    if (received_ + data.size() > length_) {
      return fail(errc::upstream, "the seeder sent more than the {} bytes asked for", length_);
    }
    pending_.append(reinterpret_cast<const char*>(data.data()), data.size());
    received_ += data.size();
  }
  asio::post(ex_, [self = shared_from_this()] { self->changed_.notify_all(); });
  return {};
}

awaitable<result<void>> range_relay::wait_first_bytes(duration limit) {
  auto self = shared_from_this();
  auto until = std::chrono::steady_clock::now() + limit;
  while (true) {
    {
      std::lock_guard lock(mutex_);
      if (received_ > 0) co_return result<void>{};
      if (failure_) co_return fail(*failure_);
      if (done_) co_return result<void>{};
    }
    auto now = std::chrono::steady_clock::now();
    if (now >= until) co_return fail(errc::timeout, "the seeder sent nothing yet");
    co_await changed_.wait(std::chrono::duration_cast<duration>(until - now));
  }
}

awaitable<result<void>> range_relay::pump(http::body_writer& w, std::uint64_t& sent) {
  auto self = shared_from_this();
  // Bounded: each round either writes bytes or waits for a change; a
  // seeder that stalls fails the read by its own client timeout.
  while (true) {
    std::string chunk;
    bool done = false;
    std::optional<error> failure;
    {
      std::lock_guard lock(mutex_);
      chunk.swap(pending_);
      done = done_;
      failure = failure_;
    }
    if (!chunk.empty()) {
      auto bytes = std::as_bytes(std::span(chunk.data(), chunk.size()));
      if (!co_await w.write(bytes)) co_return fail(errc::unavailable, "client stopped reading");
      sent += chunk.size();
      continue;
    }
    if (failure) co_return fail(*failure);
    if (done) co_return result<void>{};
    co_await changed_.wait(std::chrono::seconds(5));
  }
}

}  // namespace blobswarm::mirror
