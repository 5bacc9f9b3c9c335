#include "seeder/replicator.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "common/http/url.hpp"
#include "common/rendezvous.hpp"

namespace blobswarm::seeder {

replicator::replicator(asio::io_context& io, blocking_pool& pool, replicator_options options,
                       metrics::registry& metrics, std::shared_ptr<spdlog::logger> log)
    : io_(io),
      pool_(pool),
      options_(std::move(options)),
      log_(std::move(log)),
      http_(http::client_options{.connect_timeout = std::chrono::seconds(3),
                                 .timeout = std::chrono::seconds(15)}),
      alive_(std::make_shared<bool>(true)),
      asked_(metrics.add_counter("blobswarm_seeder_replications_asked_total",
                                 "Other seeders asked to hold a copy of a blob this one ingested")),
      failed_(metrics.add_counter(
          "blobswarm_seeder_replications_failed_total",
          "Of those, requests given up (the seeder refused, or stayed unreachable)")) {
  options_.self = rendezvous_member(options_.self);
}

replicator::~replicator() {
  stop();
  alive_.reset();
}

void replicator::stop() {
  stopping_ = true;
}

std::vector<std::string> replicator::holders(const digest& d) const {
  auto ranked = rendezvous_ranked(options_.seeders, d.str());
  if (ranked.size() > options_.replicas) ranked.resize(options_.replicas);
  return ranked;
}

void replicator::replicate(const digest& d, const repository_name& name, const std::string& host) {
  for (auto& s : holders(d)) {
    if (s == options_.self || stopping_) continue;
    asked_.inc();
    auto alive = alive_;
    auto log = log_;
    asio::co_spawn(io_, push(s, d, name, host), [alive, log, d](std::exception_ptr e) {
      if (!e) return;
      try {
        std::rethrow_exception(e);
      } catch (const std::exception& ex) {
        log->error("replication of {} ended by an exception: {}", d, ex.what());
      }
    });
  }
}

awaitable<void> replicator::push(std::string seeder, digest d, repository_name name,
                                 std::string host) {
  auto alive = std::weak_ptr<bool>(alive_);
  http::client_request req{.method = "POST",
                           .url = fmt::format("{}/api/v1/blobs/{}/{}/replicate?ns={}", seeder,
                                              name.str(), d.str(), http::percent_encode(host))};
  if (!options_.api_token.empty()) {
    req.headers.emplace_back("Authorization", "Bearer " + options_.api_token);
  }
  auto give_up = std::chrono::steady_clock::now() + options_.give_up_after;
  auto wait = options_.first_retry;
  asio::steady_timer timer(io_);
  // Bounded: gives up after give_up_after, or when the seeder stops.
  while (true) {
    auto send = [this, req] {
      return http_.send(req);
    };
    auto r = co_await pool_.run(std::move(send));
    if (!alive.lock() || stopping_) co_return;
    if (r && r->status >= 200 && r->status < 300) {
      log_->info("asked {} to hold a copy of {}", seeder, d);
      co_return;
    }
    if (r && r->status >= 400 && r->status < 500) {
      failed_.inc();
      log_->error("{} refused to hold a copy of {} ({}): {}", seeder, d, r->status,
                  r->body.substr(0, 200));
      co_return;
    }
    if (std::chrono::steady_clock::now() + wait > give_up) {
      failed_.inc();
      log_->warn("gave up asking {} to hold a copy of {}: {}", seeder, d,
                 r ? fmt::format("HTTP {}", r->status) : r.error().message);
      co_return;
    }
    log_->debug("cannot reach {} to replicate {} ({}); again in {}", seeder, d,
                r ? fmt::format("HTTP {}", r->status) : r.error().message, format_duration(wait));
    timer.expires_after(wait);
    boost::system::error_code ec;
    co_await timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    if (!alive.lock() || stopping_) co_return;
    wait = std::min<duration>(wait * 2, options_.max_retry);
  }
}

}  // namespace blobswarm::seeder
