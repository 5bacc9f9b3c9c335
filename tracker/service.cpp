#include "tracker/service.hpp"

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <chrono>
#include <random>

#include "common/blocking_pool.hpp"
#include "common/file.hpp"
#include "common/http/json.hpp"
#include "common/http/server.hpp"
#include "common/logging.hpp"
#include "tracker/announcer.hpp"
#include "tracker/api.hpp"
#include "tracker/catalog.hpp"
#include "tracker/log_target.hpp"
#include "tracker/memory_peer_store.hpp"
#include "tracker/memory_session_store.hpp"
#include "tracker/peer_snapshot.hpp"
#include "tracker/redis_peer_store.hpp"
#include "tracker/replica_sync.hpp"
#include "tracker/reply_writer.hpp"
#include "tracker/shared_session_store.hpp"
#include "tracker/stats_history.hpp"
#include "tracker/web_ui.hpp"
#include "tracker/zone_directory.hpp"

namespace blobswarm::tracker {
namespace {

using error_code = boost::system::error_code;

std::uint32_t system_now() {
  return static_cast<std::uint32_t>(std::chrono::duration_cast<std::chrono::seconds>(
                                        std::chrono::system_clock::now().time_since_epoch())
                                        .count());
}

std::uint32_t seconds_of(duration d) {
  return static_cast<std::uint32_t>(std::chrono::duration_cast<std::chrono::seconds>(d).count());
}

// SO_REUSEPORT lets any process of the same user join a listening port.
// Probe with a plain socket first, so a second tracker on the same port
// fails instead of silently sharing the connections.
result<void> check_port_free(const host_port& where) {
  if (where.port == 0) return {};
  auto a = ip_address::parse(where.host);
  if (!a) return {};  // a host name; the server resolves it and reports errors
  int fd = ::socket(a->v6 ? AF_INET6 : AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return {};
  // SO_REUSEADDR ignores TIME_WAIT leftovers but, on Linux, still refuses a
  // port someone listens on.
  int one = 1;
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  int rc;
  if (a->v6) {
    sockaddr_in6 sa{};
    sa.sin6_family = AF_INET6;
    sa.sin6_port = htons(where.port);
    std::memcpy(&sa.sin6_addr, a->bytes.data(), 16);
    rc = ::bind(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa);
  } else {
    sockaddr_in sa{};
    sa.sin_family = AF_INET;
    sa.sin_port = htons(where.port);
    std::memcpy(&sa.sin_addr, a->bytes.data(), 4);
    rc = ::bind(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa);
  }
  int err = errno;
  ::close(fd);
  if (rc != 0 && err == EADDRINUSE) {
    return fail(errc::unavailable, "cannot listen on {}: address already in use", where.str());
  }
  return {};
}

}  // namespace

struct service::impl {
  settings s;
  std::function<std::uint32_t()> now;
  std::shared_ptr<spdlog::logger> log = logging::get("tracker");
  std::shared_ptr<spdlog::logger> http_log = logging::get("http");
  std::string admin_token;
  std::string public_url;

  metrics::registry metrics;
  std::array<metrics::counter*, 5> announces{};
  std::array<metrics::counter*, 5> scrapes{};
  metrics::counter* uploaded = nullptr;
  metrics::counter* downloaded = nullptr;
  metrics::counter* completed = nullptr;
  metrics::counter* expired = nullptr;
  metrics::counter* flush_ok = nullptr;
  metrics::counter* flush_failed = nullptr;

  user_table users;
  swarm_table swarms;
  std::unique_ptr<peer_store> peers;  // memory (over swarms) or Redis
  zone_map zones;
  zone_directory zone_names;
  stats_history history;
  std::unique_ptr<announcer> bittorrent;
  std::unique_ptr<catalog> index;
  std::unique_ptr<api> rest;
  std::unique_ptr<web_ui> ui;
  // Declared after what their tasks use, so they are joined before it goes.
  // One thread per store connection (sqlite: 1).
  std::unique_ptr<blocking_pool> db;
  std::unique_ptr<replica_sync> sync;                                       // with a shared store
  std::unique_ptr<blocking_pool> kdf = std::make_unique<blocking_pool>(1);  // password hashing

  struct worker {
    std::unique_ptr<announce_scratch> scratch;
    std::unique_ptr<http::server> server;
  };
  std::vector<worker> workers;
  std::unique_ptr<asio::steady_timer> flush_timer;
  std::unique_ptr<asio::steady_timer> expire_timer;
  std::unique_ptr<asio::steady_timer> history_timer;
  std::atomic<bool> stopping{false};

  // The counters the overview charts are made of.
  stats_sample sample() {
    stats_sample s;
    s.time = now();
    for (auto* c : announces) s.announces += c->value();
    auto t = peers->totals();
    s.peers = t.peers;
    s.seeders = t.seeders;
    s.swarms = t.swarms;
    return s;
  }

  void register_metrics() {
    for (auto r :
         {announce_result::ok, announce_result::bad_request, announce_result::unknown_passkey,
          announce_result::unregistered, announce_result::unavailable}) {
      auto i = static_cast<std::size_t>(r);
      announces[i] =
          &metrics.add_counter("blobswarm_tracker_announces_total", "Announces answered, by result",
                               {{"result", std::string(to_string(r))}});
      scrapes[i] =
          &metrics.add_counter("blobswarm_tracker_scrapes_total", "Scrapes answered, by result",
                               {{"result", std::string(to_string(r))}});
    }
    uploaded = &metrics.add_counter("blobswarm_tracker_reported_bytes_total",
                                    "Transfer reported by peers in announces",
                                    {{"direction", "uploaded"}});
    downloaded = &metrics.add_counter("blobswarm_tracker_reported_bytes_total",
                                      "Transfer reported by peers in announces",
                                      {{"direction", "downloaded"}});
    completed = &metrics.add_counter("blobswarm_tracker_completed_total",
                                     "Downloads completed (event=completed, once per peer)");
    expired = &metrics.add_counter("blobswarm_tracker_peers_expired_total",
                                   "Peers forgotten after peer_ttl without an announce");
    flush_ok = &metrics.add_counter("blobswarm_tracker_stats_flushes_total",
                                    "Counter flushes to the database", {{"result", "ok"}});
    flush_failed = &metrics.add_counter("blobswarm_tracker_stats_flushes_total",
                                        "Counter flushes to the database", {{"result", "error"}});
    metrics.add_gauge_callback("blobswarm_tracker_swarms", "Registered torrents (swarms)",
                               [this] { return static_cast<double>(swarms.totals().swarms); });
    metrics.add_gauge_callback("blobswarm_tracker_peers", "Peers in all swarms",
                               [this] { return static_cast<double>(peers->totals().peers); });
    metrics.add_gauge_callback("blobswarm_tracker_seeders", "Seeders in all swarms",
                               [this] { return static_cast<double>(peers->totals().seeders); });
    metrics.add_gauge_callback("blobswarm_tracker_leechers", "Leechers in all swarms", [this] {
      auto t = peers->totals();
      return static_cast<double>(t.peers - t.seeders);
    });
    metrics.add_gauge_callback("blobswarm_tracker_users", "Users with a passkey",
                               [this] { return static_cast<double>(users.size()); });
  }

  http::response announce(http::request& req, announce_scratch& scratch) {
    auto o = bittorrent->announce(req.param("passkey"), req.query(), req.remote().address, now(),
                                  scratch);
    announces[static_cast<std::size_t>(o.result)]->inc();
    if (o.uploaded) uploaded->inc(o.uploaded);
    if (o.downloaded) downloaded->inc(o.downloaded);
    if (o.completed) completed->inc();
    return http::response::bytes(200, scratch.reply, "text/plain");
  }

  http::response scrape(http::request& req, announce_scratch& scratch) {
    auto r = bittorrent->scrape(req.param("passkey"), req.query(), scratch);
    scrapes[static_cast<std::size_t>(r)]->inc();
    return http::response::bytes(200, scratch.reply, "text/plain");
  }

  std::shared_ptr<const http::router> routes_for(announce_scratch& scratch) {
    auto r = std::make_shared<http::router>();
    // The announce route first: the router tries routes in order.
    r->get("/announce/{passkey}", http::sync_handler([this, &scratch](http::request& req) {
             return announce(req, scratch);
           }));
    r->get("/scrape/{passkey}", http::sync_handler([this, &scratch](http::request& req) {
             return scrape(req, scratch);
           }));
    rest->add_routes(*r);
    if (ui) ui->add_routes(*r);
    r->get("/metrics", http::sync_handler([this](http::request&) {
             return http::response::text(200, metrics.render(), metrics::registry::content_type);
           }));
    r->get("/healthz", http::sync_handler([](http::request&) {
             return http::json_response(200, {{"status", "ok"}});
           }));
    // "/" and everything else outside these prefixes is left for the web UI.
    r->not_found(http::sync_handler([](http::request& req) {
      auto path = req.path();
      if (path.starts_with("/announce") || path.starts_with("/scrape")) {
        std::string out;
        reply_writer::failure(out,
                              path == "/announce" || path == "/scrape" || path.ends_with('/')
                                  ? "missing passkey: use the URL /announce/<passkey> from your "
                                    ".torrent"
                                  : "unknown tracker URL: use /announce/<passkey>");
        return http::response::bytes(200, std::move(out), "text/plain");
      }
      return http::json_error(
          error{errc::not_found, fmt::format("no such route: {}", path.substr(0, 200))});
    }));
    r->method_not_allowed(http::sync_handler([](http::request& req) {
      auto allow = req.param("allow");
      auto res = http::json_response(
          405, {{"error",
                 {{"code", "method_not_allowed"},
                  {"message", fmt::format("{} is not allowed here (allowed: {})",
                                          req.method_string(), allow)}}}});
      res.set("Allow", std::string(allow));
      return res;
    }));
    return r;
  }

  awaitable<void> flush_loop() {
    while (!stopping) {
      flush_timer->expires_after(s.stats_flush_interval);
      error_code ec;
      co_await flush_timer->async_wait(asio::redirect_error(asio::use_awaitable, ec));
      if (stopping) break;
      co_await flush_once();
    }
  }

  awaitable<void> flush_once() {
    auto r = co_await db->run([this]() -> result<flush_report> {
      try {
        return index->flush_stats();
      } catch (const std::exception& e) {
        return fail(errc::internal, "{}", e.what());
      }
    });
    if (r) {
      flush_ok->inc();
      if (r->torrents + r->users > 0) {
        log->debug("flushed counters of {} torrents and {} users", r->torrents, r->users);
      }
    } else {
      flush_failed->inc();
      log->error("writing transfer counters failed (kept for the next flush): {}",
                 r.error().message);
    }
  }

  awaitable<void> history_loop() {
    while (!stopping) {
      history.record(sample());
      history_timer->expires_after(std::chrono::seconds(10));
      error_code ec;
      co_await history_timer->async_wait(asio::redirect_error(asio::use_awaitable, ec));
    }
  }

  awaitable<void> expire_loop() {
    auto ttl = seconds_of(s.peer_ttl);
    auto every =
        std::clamp<duration>(s.peer_ttl / 4, std::chrono::seconds(1), std::chrono::seconds(30));
    while (!stopping) {
      expire_timer->expires_after(every);
      error_code ec;
      co_await expire_timer->async_wait(asio::redirect_error(asio::use_awaitable, ec));
      if (stopping) break;
      // Off the server threads: a sweep over a million peers takes a few ms.
      auto sweep = [this, ttl] {
        return peers->sweep(now(), ttl);
      };
      auto n = co_await db->run(std::move(sweep));
      if (!n) {
        log->warn("peer store upkeep failed: {}", n.error().message);
      } else if (*n > 0) {
        expired->inc(*n);
        log->debug("expired {} peers", *n);
      }
    }
  }
};

service::service(std::unique_ptr<impl> i) : impl_(std::move(i)) {}

service::~service() {
  // The database thread may still run a task that uses the indexes.
  if (impl_) {
    if (impl_->sync) impl_->sync->stop();
    impl_->kdf.reset();
    impl_->db.reset();
  }
}

const std::string& service::public_url() const noexcept {
  return impl_->public_url;
}

metrics::registry& service::metrics() noexcept {
  return impl_->metrics;
}

result<std::unique_ptr<service>> service::create(const settings& s,
                                                 std::function<std::uint32_t()> now) {
  auto i = std::make_unique<impl>();
  i->s = s;
  i->now = now ? std::move(now) : std::function<std::uint32_t()>(system_now);
  auto token = read_secret(s.admin_token_file, "admin_token_file", 16);
  if (!token) return fail(token.error());
  i->admin_token = std::move(*token);
  auto zones = zone_map::build(s.zones);
  if (!zones) return fail(zones.error());
  i->zones = std::move(*zones);

  announce_policy policy;
  policy.interval = std::max<std::uint32_t>(1, seconds_of(s.announce_interval));
  policy.min_interval = seconds_of(s.min_interval);
  policy.peer_ttl = seconds_of(s.peer_ttl);
  policy.default_numwant = s.numwant;
  policy.max_numwant = s.max_numwant;
  policy.origin_standby = s.origin_standby_seeders;
  policy.origin_fanout = s.origin_fanout;
  for (const auto& t : s.trusted_addresses) {
    auto c = cidr::parse(t);
    if (!c) return fail(c.error().with_context("trusted_addresses"));
    policy.trusted.push_back(*c);
  }
  for (const auto& rule : s.zones) i->zone_names.note(zone_of_name(rule.zone), rule.zone);

  auto where = logging::redact_url(s.db);
  if (s.shared_peers()) {
    redis_peer_options ro;
    ro.peer_ttl = policy.peer_ttl;
    auto url = db::redis_url::parse(s.peer_store);
    if (!url) return fail(url.error().with_context("peer_store"));
    auto redis = std::make_unique<redis_peer_store>(*url, i->swarms, ro, i->log);
    // Not fatal: announces fail with a clear reason until Redis answers.
    if (auto p = redis->ping(); !p) {
      i->log->error("peer store {} does not answer yet: {}", redis->describe(), p.error().message);
    }
    i->peers = std::move(redis);
  } else {
    i->peers = std::make_unique<memory_peer_store>(i->swarms);
  }
  i->bittorrent =
      std::make_unique<announcer>(std::move(policy), i->users, *i->peers, i->zones, &i->zone_names);

  store_options so;
  so.connections = s.db_connections;
  auto db = open_store(s.db, so);
  if (!db) return fail(db.error().with_context(where));
  i->db = std::make_unique<blocking_pool>((*db)->workers());
  i->index = std::make_unique<catalog>(std::move(*db), i->users, i->swarms, i->peers.get());
  if (auto l = i->index->load(); !l) return fail(l.error().with_context(where));
  if (s.web_ui) {
    auto vault = passkey_vault::open_or_create(s.effective_passkey_key_file());
    if (!vault) return fail(vault.error());
    i->index->keep_passkeys(std::move(*vault));
  }
  for (const auto& u : s.users) {
    auto passkey = read_secret(u.passkey_file, "users[].passkey_file", 16);
    if (!passkey) return fail(passkey.error().with_context("user '" + u.name + "'"));
    auto changed = i->index->provision_user(u.name, *passkey, i->now());
    if (!changed) return fail(changed.error().with_context("users"));
    if (*changed) {
      i->log->info("user '{}' set up with the passkey in {} ({})", u.name, u.passkey_file,
                   logging::redact(*passkey));
    }
  }
  auto snapshot_path = s.effective_peer_snapshot();
  auto snapshot = snapshot_path.empty() ? result<snapshot_report>(snapshot_report{})
                                        : load_peer_snapshot(i->swarms, i->users, snapshot_path,
                                                             i->now(), seconds_of(s.peer_ttl));
  if (!snapshot) {
    i->log->warn("peer snapshot not restored: {}", snapshot.error().message);
  } else if (snapshot->peers + snapshot->dropped > 0) {
    i->log->info("restored {} peers from {} ({} expired or orphaned)", snapshot->peers,
                 s.effective_peer_snapshot(), snapshot->dropped);
  }
  auto totals = i->swarms.totals();
  i->log->info("loaded {} users and {} torrents from {}; peers in {}", i->users.size(),
               totals.swarms, where, i->peers->describe());
  i->register_metrics();
  return std::unique_ptr<service>(new service(std::move(i)));
}

result<ip_endpoint> service::start(std::span<asio::io_context* const> contexts) {
  auto& i = *impl_;
  if (contexts.empty()) return fail(errc::invalid_argument, "no io_context to run on");
  if (!i.workers.empty()) return fail(errc::conflict, "the tracker is already started");
  auto where = host_port::parse(i.s.listen);
  if (!where) return fail(where.error().with_context("listen"));
  if (auto free = check_port_free(*where); !free) return fail(free.error());

  api_options ao;
  ao.admin_token = i.admin_token;
  ao.public_url = &i.public_url;
  ao.now = [&i] {
    return static_cast<std::int64_t>(i.now());
  };
  ao.max_torrent_size = i.s.max_torrent_size.bytes;
  ao.kdf = i.kdf.get();
  if (i.s.web_ui) {
    web_ui_options uo;
    uo.admin_token = i.admin_token;
    uo.public_url = &i.public_url;
    uo.mirror_url = i.s.mirror_url;
    while (uo.mirror_url.ends_with('/')) uo.mirror_url.pop_back();
    uo.now = i.now;
    uo.sample = [&i] {
      return i.sample();
    };
    uo.max_torrent_size = i.s.max_torrent_size.bytes;
    uo.sessions.ttl = seconds_of(i.s.session_ttl);
    uo.sessions.idle = seconds_of(i.s.session_idle);
    // Sessions live where every replica sees them when the store is shared.
    std::unique_ptr<session_store> sessions;
    if (i.index->records().shared()) {
      sessions = std::make_unique<shared_session_store>(i.index->records(), uo.sessions);
    } else {
      sessions = std::make_unique<memory_session_store>(uo.sessions);
    }
    i.ui = std::make_unique<web_ui>(*i.index, *i.db, *i.kdf, i.users, i.swarms, i.history,
                                    i.zone_names, std::move(sessions), std::move(uo), i.log);
    ao.user_deleted = [&i](std::uint32_t id) {
      i.ui->end_sessions(id);
    };
  }
  i.rest = std::make_unique<api>(*i.index, *i.db, i.users, std::move(ao), i.log);

  http::server_options options;
  // Bodies up to 4x the limit reach the API, which answers a JSON 413;
  // beyond that the server refuses them before reading (plain 413).
  options.body_limit = 4 * i.s.max_torrent_size.bytes;
  options.access_log = i.s.access_log;
  options.reuse_port = true;
  options.single_threaded = true;  // one thread per io_context (main.cpp, tests)
  options.log_target = [](std::string_view t) {
    return loggable_target(t);
  };
  options.tls_cert_file = i.s.tls_cert_file;
  options.tls_key_file = i.s.tls_key_file;
  // Large bodies only for .torrent uploads by callers who may upload,
  // decided from the headers before the body is read: anyone else could
  // otherwise make every connection buffer the whole upload limit.
  options.body_limit_for = [&i](const http::request& req) -> awaitable<std::uint64_t> {
    constexpr std::uint64_t small = 64 * 1024;
    auto upload = 4 * i.s.max_torrent_size.bytes;
    if (req.method() != http::verb::post) co_return small;
    if (req.path() == "/api/v1/torrents") {
      auto who = i.rest->authenticate(req);
      co_return who && who->admin ? upload : small;
    }
    if (req.path() == "/ui/api/torrents" && i.ui && co_await i.ui->signed_in(req, false)) {
      co_return upload;
    }
    co_return small;
  };

  // One server per context on the same port: the first binds (port 0
  // picks one), the others join it. Requests are only served once the
  // caller runs the contexts, after public_url is set below.
  std::random_device rd;
  host_port target = *where;
  std::optional<ip_endpoint> bound;
  for (std::size_t n = 0; n < contexts.size(); ++n) {
    impl::worker w;
    w.scratch = std::make_unique<announce_scratch>((std::uint64_t{rd()} << 32) ^ rd() ^ n);
    w.scratch->reply.reserve(16 * 1024);
    w.server =
        std::make_unique<http::server>(*contexts[n], i.routes_for(*w.scratch), options, i.http_log);
    auto ep = w.server->listen(target);
    if (!ep) return fail(ep.error());
    if (!bound) {
      bound = *ep;
      target.port = ep->port;
    }
    i.workers.push_back(std::move(w));
  }
  i.public_url = i.s.public_url.empty()
                     ? fmt::format("{}://{}", i.s.tls_cert_file.empty() ? "http" : "https",
                                   host_port{where->host, bound->port}.str())
                     : i.s.effective_public_url();
  if (i.s.public_url.empty() && (where->host == "0.0.0.0" || where->host == "::")) {
    i.log->warn(
        "listening on {} without --public-url: handed-out .torrent files announce to {}, "
        "which clients cannot reach; set --public-url",
        where->host, i.public_url);
  }

  i.flush_timer = std::make_unique<asio::steady_timer>(*contexts[0]);
  i.expire_timer = std::make_unique<asio::steady_timer>(*contexts[0]);
  i.history_timer = std::make_unique<asio::steady_timer>(*contexts[0]);
  auto report = [log = i.log](std::exception_ptr e) {
    if (!e) return;
    try {
      std::rethrow_exception(e);
    } catch (const std::exception& ex) {
      log->error("periodic task ended by exception: {}", ex.what());
    }
  };
  asio::co_spawn(*contexts[0], i.flush_loop(), report);
  asio::co_spawn(*contexts[0], i.expire_loop(), report);
  asio::co_spawn(*contexts[0], i.history_loop(), report);
  if (i.index->records().shared()) {
    i.sync =
        std::make_unique<replica_sync>(*contexts[0], *i.index, *i.db, i.s.resync_interval, i.log);
    i.sync->start();
  }
  i.log->info("listening on {} with {} thread(s); announce URL {}/announce/<passkey>", bound->str(),
              contexts.size(), i.public_url);
  return *bound;
}

awaitable<void> service::stop() {
  auto& i = *impl_;
  if (i.stopping.exchange(true)) co_return;
  if (i.sync) i.sync->stop();
  for (auto* t : {i.flush_timer.get(), i.expire_timer.get(), i.history_timer.get()}) {
    if (t) asio::post(t->get_executor(), [t] { t->cancel(); });
  }
  for (auto& w : i.workers) co_await w.server->stop(i.s.shutdown_grace);
  // Announces have stopped: the counters and peers written now are final.
  co_await i.flush_once();
  auto path = i.s.effective_peer_snapshot();
  if (path.empty()) {
    i.log->info("peers are in {}; no snapshot to save", i.peers->describe());
    co_return;
  }
  // Two statements: see api::on_db about GCC 12 and temporaries in co_await.
  auto save_op = i.db->run([&i, path] {
    try {
      return save_peer_snapshot(i.swarms, path);
    } catch (const std::exception& e) {
      return result<snapshot_report>(fail(errc::internal, "{}", e.what()));
    }
  });
  auto saved = co_await std::move(save_op);
  if (saved) {
    i.log->info("saved {} peers to {}", saved->peers, path);
  } else {
    i.log->error("saving peers failed: {}", saved.error().message);
  }
}

}  // namespace blobswarm::tracker
