#include "seeder/service.hpp"

#include <spdlog/spdlog.h>
#include <sys/resource.h>

#include <boost/asio/steady_timer.hpp>
#include <cstdlib>

#include "common/file.hpp"
#include "common/http/server.hpp"
#include "common/logging.hpp"
#include "common/registry/client.hpp"
#include "common/rendezvous.hpp"
#include "common/service.hpp"
#include "seeder/api.hpp"
#include "seeder/blob_store.hpp"
#include "seeder/cluster_ingest.hpp"
#include "seeder/file_api.hpp"
#include "seeder/ingest_lease.hpp"
#include "seeder/ingestor.hpp"
#include "seeder/preheater.hpp"
#include "seeder/replicator.hpp"
#include "seeder/swarm_fetch.hpp"
#include "seeder/torrent_session.hpp"
#include "seeder/tracker_link.hpp"
#include "seeder/url_index.hpp"
#include "seeder/url_ingest.hpp"

namespace blobswarm::seeder {

namespace {

// Every seeded blob may hold a descriptor: use what the system allows.
void raise_file_limit() {
  rlimit r{};
  if (::getrlimit(RLIMIT_NOFILE, &r) == 0 && r.rlim_cur < r.rlim_max) {
    r.rlim_cur = r.rlim_max;
    ::setrlimit(RLIMIT_NOFILE, &r);
  }
}

}  // namespace

service::service(settings s) : settings_(std::move(s)) {}

result<std::unique_ptr<service>> service::make(const settings& s) {
  std::unique_ptr<service> svc(new service(s));
  auto& st = svc->settings_;
  if (!st.tracker_token_file.empty()) {
    auto token = read_secret(st.tracker_token_file, "tracker token file");
    if (!token) return fail(token.error());
    svc->tracker_token_ = std::move(*token);
  }
  if (!st.api_token_file.empty()) {
    auto token = read_secret(st.api_token_file, "api_token_file", 16);
    if (!token) return fail(token.error());
    svc->api_token_ = std::move(*token);
  }
  if (!st.notification_token_file.empty()) {
    auto token = read_secret(st.notification_token_file, "notification token file");
    if (!token) return fail(token.error());
    svc->notification_token_ = std::move(*token);
  }
  auto store = blob_store::open(st.data, store_options{st.max_size.bytes, st.min_free.bytes});
  if (!store) return fail(store.error().with_context(fmt::format("data directory {}", st.data)));
  svc->store_ = std::move(*store);
  auto table =
      registry::upstream_table::make(st.upstream, st.upstreams, st.allow_unlisted_upstreams);
  if (!table) return fail(table.error());
  // Check every configured upstream's credentials now, not at the first pull.
  for (const auto& u : table->all()) {
    if (auto c = registry::client::make(u); !c) return fail(c.error());
  }
  registry::client_options copts{.request_timeout = st.upstream_timeout,
                                 .stall_timeout = st.upstream_stall_timeout,
                                 .max_attempts = st.upstream_attempts,
                                 .max_recv_speed = st.upstream_rate_limit.bytes,
                                 .user_agent = "blobswarm-seeder/" BLOBSWARM_VERSION};
  svc->clients_ = std::make_unique<registry::client_pool>(std::move(*table), copts);
  if (st.replicated()) {
    auto lease = ingest_lease::make(st.lease_store, rendezvous_member(st.self_url()), st.lease_ttl,
                                    logging::get("lease"));
    if (!lease) return fail(lease.error());
    svc->lease_ = std::move(*lease);
  }
  return svc;
}

service::~service() {
  alive_.reset();
  if (ingest_) ingest_->shutdown();
  if (urls_) urls_->shutdown();
  if (tracker_) tracker_->stop();
  if (replicator_) replicator_->stop();
  // Cancelled transfers end quickly; their completions are posted to io_.
  pool_.reset();
  io_.restart();
  io_.poll();
  server_.reset();
  file_api_.reset();
  urls_.reset();
  api_.reset();
  preheater_.reset();
  ingest_.reset();
  cluster_.reset();
  replicator_.reset();
  swarm_.reset();
  lease_.reset();
  tracker_.reset();
  if (session_) session_->shutdown();
  session_.reset();
  clients_.reset();
  store_.reset();
}

result<void> service::start() {
  auto log = logging::get("seeder");
  raise_file_limit();
  const auto& st = settings_;
  // Registry ingests and URL fetches (max_ingests each), the tracker link and the API.
  pool_ = std::make_unique<blocking_pool>(2 * static_cast<std::size_t>(st.max_ingests) + 4);
  session_ = std::make_unique<torrent_session>(
      io_,
      session_options{.listen = st.peer_listen,
                      .upload_rate_limit = st.upload_rate_limit.bytes,
                      .unchoke_slots = st.unchoke_slots,
                      .resend_after = st.resend_after,
                      .libtorrent = st.libtorrent},
      logging::get("torrent"));
  tracker_ = std::make_unique<tracker_link>(
      io_, *pool_,
      tracker_options{.url = tracker_token_.empty() ? std::string() : st.tracker,
                      .token = tracker_token_,
                      .user = st.tracker_user,
                      .passkey_file = std::filesystem::path(st.data) / "tracker-passkey"},
      logging::get("tracker-link"));
  if (lease_) {
    swarm_ = std::make_unique<swarm_fetch>(io_, *session_, st.swarm_stall_timeout,
                                           logging::get("swarm"));
    replicator_ = std::make_unique<replicator>(io_, *pool_,
                                               replicator_options{.self = st.self_url(),
                                                                  .seeders = st.seeders,
                                                                  .replicas = st.replica_count(),
                                                                  .api_token = api_token_},
                                               metrics_, logging::get("replicas"));
    cluster_ = std::make_unique<cluster_ingest>(
        io_, *pool_, *tracker_, *lease_, *swarm_, *replicator_,
        cluster_options{.segment_size = st.segment_size.bytes, .wait_timeout = st.wait_timeout},
        metrics_, log);
    log->info(
        "one of {} seeders (this one: {}); ingest leases in {} (ttl {}), {} copies of each "
        "blob",
        st.seeders.size(), rendezvous_member(st.self_url()), lease_->describe(),
        format_duration(st.lease_ttl), st.replica_count());
  }
  ingest_ = std::make_unique<ingestor>(io_, *pool_, *store_, *session_, *tracker_, *clients_,
                                       ingest_options{.segment_size = st.segment_size.bytes,
                                                      .segment_linger = st.segment_linger,
                                                      .max_ingests = st.max_ingests},
                                       metrics_, log, cluster_.get());
  preheater_ = std::make_unique<preheater>(io_, *pool_, *ingest_, *clients_, st.wait_timeout, log);
  auto public_url = st.self_url();
  api_ =
      std::make_unique<api>(*ingest_, *store_, *preheater_, *session_, *tracker_, *pool_, metrics_,
                            api_options{.public_url = public_url,
                                        .web_seed = st.web_seed,
                                        .wait_timeout = st.wait_timeout,
                                        .api_token = api_token_,
                                        .notification_token = notification_token_},
                            log);
  auto* session = session_.get();
  auto* store = store_.get();
  auto* ingest = ingest_.get();
  metrics_.add_gauge_callback("blobswarm_seeder_active_torrents", "Torrents being seeded",
                              [session] { return static_cast<double>(session->stats().torrents); });
  metrics_.add_gauge_callback("blobswarm_seeder_peers", "Connected BitTorrent peers",
                              [session] { return static_cast<double>(session->stats().peers); });
  metrics_.add_gauge_callback(
      "blobswarm_seeder_uploaded_bytes", "Payload bytes uploaded to peers since start",
      [session] { return static_cast<double>(session->stats().uploaded_payload); });
  metrics_.add_gauge_callback(
      "blobswarm_seeder_pieces_held",
      "Pieces refused to a peer since start because another peer was sent them (resend_after)",
      [session] { return static_cast<double>(session->stats().pieces_held); });
  metrics_.add_gauge_callback(
      "blobswarm_seeder_pieces_resent",
      "Of those, pieces sent to that peer after all since start (it still lacked them)",
      [session] { return static_cast<double>(session->stats().pieces_resent); });
  metrics_.add_gauge_callback(
      "blobswarm_seeder_pieces_deferred",
      "Pieces nobody owned refused to a mirror since start because it had been sent more than "
      "twice the median mirror's pieces (announced to it again a moment later)",
      [session] { return static_cast<double>(session->stats().pieces_deferred); });
  metrics_.add_gauge_callback("blobswarm_seeder_store_bytes", "Bytes of stored blobs",
                              [store] { return static_cast<double>(store->used_bytes()); });
  metrics_.add_gauge_callback("blobswarm_seeder_store_blobs", "Stored blobs",
                              [store] { return static_cast<double>(store->count()); });
  metrics_.add_gauge_callback("blobswarm_seeder_ingests_running", "Upstream fetches running",
                              [ingest] { return static_cast<double>(ingest->running()); });

  tracker_->start([session](std::string url) { session->set_announce_url(std::move(url)); });
  ingest_->resume_stored();
  if (auto r = start_files(); !r) return r;

  auto listen = host_port::parse(st.listen);
  if (!listen) return fail(listen.error());
  http::server_options sopts;
  sopts.body_limit = 4 << 20;  // notifications and preheat requests
  sopts.tls_cert_file = st.tls_cert_file;
  sopts.tls_key_file = st.tls_key_file;
  auto routes = api_->routes();
  file_api_->add_routes(routes);
  server_ = std::make_unique<http::server>(io_, std::make_shared<const http::router>(routes), sopts,
                                           logging::get("http"));
  auto ep = server_->listen(*listen);
  if (!ep) return fail(ep.error());
  log->info("blobswarm-seeder {} listening on {} (data {}, default upstream {}, tracker {})",
            BLOBSWARM_VERSION, ep->str(), st.data, clients_->table().default_upstream().url,
            tracker_->enabled() ? st.tracker : std::string("disabled"));
  if (api_token_.empty()) {
    log->warn(
        "api_token_file is not set: anyone who reaches {} can read every blob the upstream "
        "credentials can read and start ingests (docs/SECURITY.md)",
        ep->str());
  }
  schedule_flush();
  return {};
}

result<void> service::start_files() {
  const auto& st = settings_;
  auto allow = origin_allowlist::make(st.file_origins);
  if (!allow) return fail(allow.error());
  auto index = url_index::open(std::filesystem::path(st.data) / "urls.db");
  if (!index) return fail(index.error().with_context("urls.db"));
  urls_ = std::make_unique<url_ingest>(
      io_, *pool_, *store_, *session_, *tracker_, std::move(*allow), std::move(*index),
      url_ingest_options{.ttl = st.file_ttl,
                         .max_size = st.max_file_size.bytes,
                         .stall_timeout = st.upstream_stall_timeout,
                         .max_fetches = st.max_ingests},
      metrics_, logging::get("files"));
  file_api_ =
      std::make_unique<file_api>(*urls_, api_token_, st.wait_timeout, logging::get("files"));
  auto* urls = urls_.get();
  metrics_.add_gauge_callback("blobswarm_seeder_url_fetches_running", "URL fetches running",
                              [urls] { return static_cast<double>(urls->running()); });
  return {};
}

void service::schedule_flush() {
  auto timer = std::make_shared<asio::steady_timer>(io_, std::chrono::seconds(30));
  std::weak_ptr<bool> alive = alive_;
  timer->async_wait([this, alive, timer](boost::system::error_code ec) {
    if (ec || !alive.lock()) return;
    if (auto r = store_->flush(); !r) {
      logging::get("seeder")->warn("cannot save access times: {}", r.error().message);
    }
    schedule_flush();
  });
}

awaitable<void> service::shutdown() {
  alive_.reset();
  // Cancelled ingests fail their waiting requests (503) at once, so the
  // server's grace period is not spent waiting for fetches.
  ingest_->shutdown();
  urls_->shutdown();
  tracker_->stop();
  if (replicator_) replicator_->stop();
  co_await server_->stop(std::chrono::seconds(5));
  (void)store_->flush();
  session_->shutdown();
}

int service::run() {
  if (auto r = start(); !r) {
    logging::get("seeder")->error("{}", r.error().message);
    return 1;
  }
  asio::io_context* contexts[] = {&io_};
  try {
    return run_until_signal(
        contexts, [this] { return shutdown(); }, *logging::get("seeder"));
  } catch (const std::exception& e) {
    // A handler threw past the event loop: a bug. The store is consistent
    // at every instant (blobs enter it by rename after verification), so
    // exit at once rather than unwind through half-stopped components.
    logging::get("seeder")->critical("event loop failed: {}; exiting", e.what());
    spdlog::shutdown();
    std::_Exit(70);
  }
}

}  // namespace blobswarm::seeder
