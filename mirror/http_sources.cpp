#include "mirror/http_sources.hpp"

#include <algorithm>
#include <atomic>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <nlohmann/json.hpp>

#include "common/http/url.hpp"
#include "common/registry/registry_error.hpp"
#include "common/rendezvous.hpp"

namespace blobswarm::mirror {
namespace {

// Waiting for the seeder to ingest a blob can take as long as the upstream
// transfer; the request sends nothing meanwhile.
constexpr auto ingest_wait = std::chrono::minutes(30);

error http_failure(const http::client_response& r, std::string_view what) {
  errc code = r.status == 404   ? errc::not_found
              : r.status == 401 ? errc::unauthorized
              : r.status == 403 ? errc::forbidden
              : r.status == 507 ? errc::no_space
              : r.status >= 500 ? errc::unavailable
                                : errc::upstream;
  std::string message;
  auto j = nlohmann::json::parse(r.body, nullptr, false);
  if (!j.is_discarded() && j.contains("error") && j["error"].is_object()) {
    message = j["error"].value("message", "");
  } else if (auto entries = registry::parse_errors(r.body); entries && !entries->empty()) {
    message = entries->front().message;
  }
  return error{
      code, fmt::format("{}: HTTP {}{}{}", what, r.status, message.empty() ? "" : ": ", message)};
}

// Adds "Authorization: <value>" unless `value` is empty.
void authorize(http::client_request& req, std::string value) {
  if (!value.empty()) req.headers.emplace_back("Authorization", std::move(value));
}

}  // namespace

http_sources::http_sources(blocking_pool& pool, upstreams& registries, std::string tracker_url,
                           std::string passkey, std::vector<std::string> seeder_urls,
                           std::string seeder_token)
    : pool_(pool),
      registries_(registries),
      tracker_(std::move(tracker_url)),
      passkey_(std::move(passkey)),
      seeder_token_(std::move(seeder_token)),
      http_(http::client_options{.connect_timeout = std::chrono::seconds(5),
                                 .stall_timeout = std::chrono::seconds(60)}) {
  while (tracker_.ends_with('/')) tracker_.pop_back();
  for (const auto& u : seeder_urls) seeders_.push_back(rendezvous_member(u));
}

std::vector<std::string> http_sources::seeders_for(const blob_ref& b) const {
  if (seeders_.size() == 1) return seeders_;
  auto order = rendezvous_ranked(seeders_, b.id.str());
  auto now = std::chrono::steady_clock::now();
  std::lock_guard lock(mutex_);
  std::stable_partition(order.begin(), order.end(), [&](const std::string& s) {
    auto it = down_until_.find(s);
    return it == down_until_.end() || it->second <= now;
  });
  return order;
}

bool http_sources::try_next(const error& e) noexcept {
  // Unreachable, 5xx, timed out, or out of room: another seeder may do it.
  return e.code == errc::unavailable || e.code == errc::timeout || e.code == errc::no_space;
}

void http_sources::mark_down(const std::string& seeder) {
  if (seeders_.size() < 2) return;
  std::lock_guard lock(mutex_);
  down_until_[seeder] = std::chrono::steady_clock::now() + down_for;
}

std::string http_sources::seeder_url(const std::string& seeder, const blob_ref& b,
                                     std::string_view suffix) const {
  return fmt::format("{}/api/v1/blobs/{}/{}{}?ns={}", seeder, b.name.str(), b.id.str(), suffix,
                     http::percent_encode(registries_.host_key(b.host)));
}

std::string http_sources::seeder_authorization() const {
  return seeder_token_.empty() ? std::string() : "Bearer " + seeder_token_;
}

awaitable<result<std::string>> http_sources::get_torrent(std::string url, std::string authorization,
                                                         duration wait) {
  http::client_request req{.url = std::move(url)};
  req.headers.emplace_back("Accept", "application/x-bittorrent");
  authorize(req, std::move(authorization));
  req.timeout = wait;
  auto send = [this, req] {
    return http_.send(req);
  };
  auto r = co_await pool_.run(std::move(send));
  if (!r) co_return fail(r.error());
  if (r->status != 200) co_return fail(http_failure(*r, "torrent request"));
  co_return std::move(r->body);
}

awaitable<result<std::string>> http_sources::tracker_torrent(const blob_ref& b) {
  co_return co_await get_torrent(fmt::format("{}/api/v1/blobs/{}/torrent", tracker_, b.id.str()),
                                 "Bearer " + passkey_, std::chrono::seconds(10));
}

awaitable<result<std::string>> http_sources::seeder_get_torrent(const blob_ref& b,
                                                                std::string suffix) {
  result<std::string> r = fail(errc::unavailable, "no seeder configured");
  for (const auto& seeder : seeders_for(b)) {
    r = co_await get_torrent(seeder_url(seeder, b, suffix), seeder_authorization(), ingest_wait);
    if (r || !try_next(r.error())) co_return r;
    mark_down(seeder);
  }
  co_return r;
}

awaitable<result<std::string>> http_sources::seeder_torrent(const blob_ref& b) {
  co_return co_await seeder_get_torrent(b, "/torrent");
}

awaitable<result<std::string>> http_sources::seeder_segment_torrent(const blob_ref& b,
                                                                    std::uint32_t n) {
  co_return co_await seeder_get_torrent(b, fmt::format("/segments/{}/torrent", n));
}

awaitable<result<seeder_descriptor>> http_sources::seeder_descriptor_of(const blob_ref& b) {
  result<seeder_descriptor> r = fail(errc::unavailable, "no seeder configured");
  for (const auto& seeder : seeders_for(b)) {
    r = co_await descriptor_from(seeder, b);
    if (r || !try_next(r.error())) co_return r;
    mark_down(seeder);
  }
  co_return r;
}

awaitable<result<seeder_descriptor>> http_sources::descriptor_from(const std::string& seeder,
                                                                   const blob_ref& b) {
  // Until upstream has answered the seeder, the blob's size (and so its
  // layout) is unknown and the descriptor says null: ask again shortly.
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  auto executor = co_await asio::this_coro::executor;
  while (true) {
    http::client_request req{.url = seeder_url(seeder, b, "/descriptor")};
    authorize(req, seeder_authorization());
    req.timeout = std::chrono::seconds(30);
    auto send = [this, req] {
      return http_.send(req);
    };
    auto r = co_await pool_.run(std::move(send));
    if (!r) co_return fail(r.error());
    if (r->status != 200) co_return fail(http_failure(*r, "seeder descriptor"));
    auto j = nlohmann::json::parse(r->body, nullptr, false);
    if (j.is_discarded() || !j.is_object()) {
      co_return fail(errc::upstream, "the seeder's descriptor is not JSON");
    }
    auto state = j.value("state", std::string());
    seeder_descriptor d;
    d.what = state == "complete" ? seeder_descriptor::state::complete
             : state == "failed" ? seeder_descriptor::state::failed
                                 : seeder_descriptor::state::ingesting;
    d.error = j.value("error", std::string());
    auto number = [&](const char* key) -> std::optional<std::uint64_t> {
      auto it = j.find(key);
      if (it == j.end() || !it->is_number_unsigned()) return std::nullopt;
      return it->get<std::uint64_t>();
    };
    if (auto size = number("size"); size || d.what == seeder_descriptor::state::failed) {
      d.size = size.value_or(0);
      d.piece_length = static_cast<std::uint32_t>(number("piece_length").value_or(0));
      d.segment_length = number("segment_length").value_or(0);
      d.segment_count = static_cast<std::uint32_t>(number("segment_count").value_or(0));
      d.segments_ready = static_cast<std::uint32_t>(number("segments_ready").value_or(0));
      co_return d;
    }
    if (std::chrono::steady_clock::now() > deadline) {
      co_return fail(errc::timeout, "the seeder did not learn the size of {} in time", b.id.str());
    }
    boost::asio::steady_timer pause(executor, std::chrono::milliseconds(50));
    boost::system::error_code ec;
    co_await pause.async_wait(asio::redirect_error(asio::use_awaitable, ec));
  }
}

awaitable<result<void>> http_sources::fetch_range(
    byte_source from, const blob_ref& b, std::uint64_t offset, std::uint64_t length,
    std::function<result<void>(std::span<const std::byte>)> sink) {
  if (length == 0) co_return result<void>{};
  if (from == byte_source::seeder) {
    result<void> r = fail(errc::unavailable, "no seeder configured");
    for (const auto& seeder : seeders_for(b)) {
      http::client_request req{.url = seeder_url(seeder, b, "")};
      authorize(req, seeder_authorization());
      req.headers.emplace_back("Range", fmt::format("bytes={}-{}", offset, offset + length - 1));
      // Another seeder may take over only while nothing reached the sink.
      auto delivered = std::make_shared<std::atomic<bool>>(false);
      auto counting = [sink, delivered](std::span<const std::byte> data) -> result<void> {
        delivered->store(true);
        return sink(data);
      };
      auto stream = [this, req, counting, offset] {
        auto check = [offset](const http::client_response& res) -> result<void> {
          if (res.status == 206 || (res.status == 200 && offset == 0)) return {};
          return fail(http_failure(res, "seeder blob request"));
        };
        return http_.stream(req, check, counting);
      };
      auto got = co_await pool_.run(std::move(stream));
      if (got) co_return result<void>{};
      r = fail(got.error());
      if (delivered->load() || !try_next(got.error())) co_return r;
      mark_down(seeder);
    }
    co_return r;
  }
  auto client = registries_.client_for(b.host);
  if (!client) co_return fail(client.error());
  auto fetch = [c = *client, b, offset, length, sink]() -> result<void> {
    auto got =
        c->get_blob(b.name, b.id, http::byte_range{offset, offset + length - 1}, nullptr, sink);
    if (!got) return fail(got.error());
    return {};
  };
  co_return co_await pool_.run(std::move(fetch));
}

awaitable<result<std::uint64_t>> http_sources::upstream_size(const blob_ref& b) {
  auto client = registries_.client_for(b.host);
  if (!client) co_return fail(client.error());
  auto head = [c = *client, b] {
    return c->head_blob(b.name, b.id);
  };
  auto r = co_await pool_.run(std::move(head));
  if (!r) co_return fail(r.error());
  if (!r->size_known)
    co_return fail(errc::upstream, "upstream did not say how large {} is", b.id.str());
  co_return r->size;
}

}  // namespace blobswarm::mirror
