#include "seeder/preheater.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>

#include "common/registry/media_types.hpp"

namespace blobswarm::seeder {

preheater::preheater(asio::io_context& io, blocking_pool& pool, ingestor& ingest,
                     registry::client_pool& clients, duration wait_timeout,
                     std::shared_ptr<spdlog::logger> log)
    : io_(io),
      pool_(pool),
      ingest_(ingest),
      clients_(clients),
      wait_timeout_(wait_timeout),
      log_(std::move(log)),
      alive_(std::make_shared<bool>(true)) {}

preheater::~preheater() {
  alive_.reset();
}

awaitable<result<preheater::outcome>> preheater::preheat(const preheat_request& request) {
  auto client = clients_.get(request.ns);
  if (!client) co_return fail(client.error());
  auto c = *client;
  const auto& name = request.image.name();
  auto reference = request.image.reference();
  auto get_top = [c, name, reference] {
    return c->get_manifest(name, reference);
  };
  auto top = co_await pool_.run(std::move(get_top));
  if (!top) co_return fail(top.error());
  auto parsed = registry::parse_manifest(top->body, top->content_type);
  if (!parsed) co_return fail(parsed.error().with_context(request.image.str()));

  outcome out{c->target().host, *top->digest, top->media_type, {}};
  std::vector<std::pair<registry::descriptor, std::string>> blobs;
  if (parsed->is_index()) {
    auto chosen = parsed->select(request.platforms);
    if (chosen.empty()) {
      std::string wanted;
      for (const auto& p : request.platforms) wanted += (wanted.empty() ? "" : ", ") + p.str();
      co_return fail(errc::not_found, "{}: the index has no manifest for {}", request.image.str(),
                     wanted);
    }
    for (const auto& entry : chosen) {
      auto child_digest = entry.digest.str();
      auto get_child = [c, name, child_digest] {
        return c->get_manifest(name, child_digest);
      };
      auto child = co_await pool_.run(std::move(get_child));
      if (!child) co_return fail(child.error());
      auto m = registry::parse_manifest(child->body, child->content_type);
      if (!m) co_return fail(m.error().with_context(child_digest));
      if (m->is_index()) {
        co_return fail(errc::unsupported, "{}: nested indexes are not supported", child_digest);
      }
      auto platform = entry.platform ? entry.platform->str() : std::string();
      for (auto& b : m->blobs()) blobs.emplace_back(std::move(b), platform);
    }
  } else {
    for (auto& b : parsed->blobs()) blobs.emplace_back(std::move(b), std::string());
  }

  std::set<std::string> seen;
  for (auto& [desc, platform] : blobs) {
    if (!seen.insert(desc.digest.str()).second) continue;
    blob_result r{std::move(desc), std::move(platform), std::nullopt, nullptr, std::nullopt};
    auto v = ingest_.get(request.ns, name, r.descriptor.digest);
    if (!v) {
      r.failure = v.error();
    } else {
      r.stored = v->stored;
      r.job = v->job;
    }
    out.blobs.push_back(std::move(r));
  }
  if (request.wait) {
    for (auto& b : out.blobs) {
      if (b.job) co_await ingestor::wait_done(b.job, wait_timeout_);
    }
  }
  co_return out;
}

void preheater::on_push(const push_event& e) {
  std::string ns = e.host;
  if (!ns.empty() && !clients_.table().resolve(ns)) {
    log_->debug("notification from unconfigured registry host {}; using the default upstream", ns);
    ns.clear();
  }
  auto key = ns + "/" + e.digest.str();
  if (!in_flight_.insert(key).second) return;
  auto ref = registry::image_reference::parse(e.repository.str() + "@" + e.digest.str());
  if (!ref) {
    in_flight_.erase(key);
    return;
  }
  preheat_request request{std::move(*ref), ns, {}, true};
  auto alive = alive_;
  auto log = log_;
  asio::co_spawn(io_, background(std::move(request), key), [alive, log](std::exception_ptr ep) {
    if (!ep) return;
    try {
      std::rethrow_exception(ep);
    } catch (const std::exception& ex) {
      log->error("preheat after a notification failed: {}", ex.what());
    }
  });
}

awaitable<void> preheater::background(preheat_request request, std::string key) {
  std::weak_ptr<bool> alive = alive_;
  auto r = co_await preheat(request);
  if (!alive.lock()) co_return;
  in_flight_.erase(key);
  if (!r) {
    log_->warn("preheat of pushed {} failed: {}", request.image.str(), r.error().message);
    co_return;
  }
  std::size_t ok = 0;
  for (const auto& b : r->blobs) {
    if (b.stored || (b.job && b.job->st == blob_job::state::complete)) ++ok;
  }
  log_->info("preheated pushed {}: {} of {} blobs stored", request.image.str(), ok,
             r->blobs.size());
}

}  // namespace blobswarm::seeder
