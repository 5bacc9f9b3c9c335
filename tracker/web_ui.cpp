#include "tracker/web_ui.hpp"

#include <algorithm>
#include <charconv>
#include <map>
#include <nlohmann/json.hpp>

#include "common/hasher.hpp"
#include "common/http/json.hpp"
#include "common/http/url.hpp"
#include "common/logging.hpp"
#include "tracker/passwords.hpp"
#include "tracker/peer_client.hpp"
#include "tracker/torrent_file.hpp"
#include "tracker/torrent_json.hpp"
#include "tracker/ui_assets.hpp"

namespace blobswarm::tracker {
namespace {

using json = nlohmann::json;

constexpr std::string_view cookie_name = "blobswarm_session";

// Scripts and styles only from the tracker itself: an injected inline
// handler or <script> would not run even if something escaped unescaped.
constexpr std::string_view content_security_policy =
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

http::response secure(http::response r) {
  r.set("Content-Security-Policy", std::string(content_security_policy));
  r.set("X-Content-Type-Options", "nosniff");
  r.set("X-Frame-Options", "DENY");
  // Detail pages and downloads carry passkeys: never leak a URL elsewhere.
  r.set("Referrer-Policy", "no-referrer");
  return r;
}

http::response api_json(int status, const json& body) {
  auto r = http::json_response(status, body);
  r.set("Cache-Control", "no-store");
  return secure(std::move(r));
}

http::response api_error(const error& e) {
  auto r = http::json_error(e);
  r.set("Cache-Control", "no-store");
  return secure(std::move(r));
}

http::response too_many(std::uint32_t retry_after) {
  auto r = api_json(
      429,
      {{"error",
        {{"code", "too_many_requests"},
         {"message", fmt::format("too many failed sign-ins: try again in {} s", retry_after)}}}});
  r.set("Retry-After", std::to_string(retry_after));
  return r;
}

std::optional<std::string_view> cookie_value(const http::request& req, std::string_view name) {
  for (auto line : req.header_values("Cookie")) {
    while (!line.empty()) {
      auto semi = line.find(';');
      auto part = line.substr(0, semi);
      while (!part.empty() && part.front() == ' ') part.remove_prefix(1);
      auto eq = part.find('=');
      if (eq != std::string_view::npos && part.substr(0, eq) == name) return part.substr(eq + 1);
      if (semi == std::string_view::npos) break;
      line.remove_prefix(semi + 1);
    }
  }
  return std::nullopt;
}

// A state-changing request from another site's page says so in Origin.
bool same_origin(const http::request& req) {
  auto origin = req.header("Origin");
  if (!origin) return true;  // not sent by browsers for same-origin GETs; SameSite covers the rest
  auto host = req.header("Host");
  if (!host) return false;
  return *origin == "http://" + std::string(*host) || *origin == "https://" + std::string(*host);
}

std::string decoded_param(const http::request& req, std::string_view name) {
  return http::percent_decode(req.param(name), false).value_or(std::string());
}

std::uint64_t query_number(const http::query_string& q, std::string_view key, std::uint64_t def,
                           std::uint64_t min, std::uint64_t max) {
  auto raw = q.get(key);
  if (!raw) return def;
  std::uint64_t v = 0;
  auto [p, ec] = std::from_chars(raw->data(), raw->data() + raw->size(), v);
  if (ec != std::errc() || p != raw->data() + raw->size()) return def;
  return std::clamp(v, min, max);
}

// The hash the UI names a torrent by: v1, or the v2 hash of a v2-only torrent.
std::string id_of(const torrent_row& t) {
  return t.v1 ? t.v1->hex() : t.v2->hex();
}

// The API's torrent JSON plus what the pages need: the id they link by,
// the kind, who uploaded it and where to fetch it.
template <class Live>
json ui_torrent_json(const torrent_row& t, Live&& live, const std::string& mirror_url) {
  auto j = torrent_json(t, std::forward<Live>(live));
  j["id"] = id_of(t);
  j["kind"] = kind_of(t);
  j["uploaded_by"] = t.uploaded_by ? json(*t.uploaded_by) : json(nullptr);
  j.update(fetch_urls(t, mirror_url));
  return j;
}

// The API's user JSON plus what the pages show about sign-in.
json ui_user_json(const user_row& u, const user_pending& live) {
  auto j = user_json(u, live);
  j["has_password"] = u.has_password;
  j["passkey_on_record"] = u.passkey_on_record;
  return j;
}

std::vector<std::string> addresses_of(const peer& p) {
  std::vector<std::string> out;
  if (p.has_v4()) {
    ip_address a;
    std::copy(p.ip4.begin(), p.ip4.end(), a.bytes.begin());
    out.push_back(fmt::format("{}:{}", a.str(), p.port4));
  }
  if (p.has_v6()) {
    ip_address a;
    a.v6 = true;
    a.bytes = p.ip6;
    out.push_back(fmt::format("[{}]:{}", a.str(), p.port6));
  }
  return out;
}

// Progress in [0, 1] from `left`, or null when unknown.
json progress_of(const peer& p, std::uint64_t size) {
  if (p.seeder) return 1.0;
  if (p.left_kib == peer::unknown_left || size == 0) return nullptr;
  double left = static_cast<double>(p.left_kib) * 1024.0;
  return std::clamp(1.0 - left / static_cast<double>(size), 0.0, 1.0);
}

}  // namespace

const ui_asset* find_ui_asset(std::string_view name) noexcept {
  for (const auto& a : ui_assets()) {
    if (a.name == name) return &a;
  }
  return nullptr;
}

std::string_view ui_content_type(std::string_view name) noexcept {
  if (name.ends_with(".html")) return "text/html; charset=utf-8";
  if (name.ends_with(".css")) return "text/css; charset=utf-8";
  if (name.ends_with(".js")) return "text/javascript; charset=utf-8";
  if (name.ends_with(".svg")) return "image/svg+xml";
  if (name.ends_with(".png")) return "image/png";
  return "application/octet-stream";
}

web_ui::web_ui(catalog& cat, blocking_pool& db, blocking_pool& kdf, user_table& users,
               swarm_table& swarms, const stats_history& history, const zone_directory& zones,
               std::unique_ptr<session_store> sessions, web_ui_options options,
               std::shared_ptr<spdlog::logger> log)
    : catalog_(cat),
      db_(db),
      kdf_(kdf),
      users_(users),
      swarms_(swarms),
      history_(history),
      zones_(zones),
      options_(std::move(options)),
      admin_hash_(passkey_hasher()(options_.admin_token)),
      sessions_(std::move(sessions)),
      limiter_(options_.login_attempts),
      log_(std::move(log)) {}

// See api::on_db: a plain function, so callers name the awaitable first.
template <class F>
awaitable<std::invoke_result_t<F>> web_ui::on_db(F f) {
  using R = std::invoke_result_t<F>;
  return db_.run([f = std::move(f)]() mutable -> R {
    try {
      return f();
    } catch (const std::exception& e) {
      return fail(errc::internal, "database operation failed: {}", e.what());
    }
  });
}

awaitable<result<session>> web_ui::authorize(const http::request& req, bool admin,
                                             bool state_changing) {
  auto id = cookie_value(req, cookie_name);
  std::optional<session> s;
  if (id) {
    auto now = options_.now();
    auto job = [this, id = std::string(*id), now] {
      return sessions_->find(id, now);
    };
    auto op = on_db(std::move(job));
    auto found = co_await std::move(op);
    if (!found) co_return fail(found.error());
    s = std::move(*found);
  }
  if (!s) {
    co_return fail(errc::unauthorized, "not signed in (or the session expired): sign in again");
  }
  if (admin && !s->admin) co_return fail(errc::forbidden, "this page is for admins only");
  if (state_changing) {
    auto token = req.header("X-CSRF-Token");
    if (!token || !secrets_equal(*token, s->csrf)) {
      co_return fail(errc::forbidden, "missing or wrong CSRF token: reload the page");
    }
    if (!same_origin(req)) co_return fail(errc::forbidden, "cross-origin request refused");
  }
  co_return std::move(*s);
}

awaitable<bool> web_ui::signed_in(const http::request& req, bool admin) {
  auto s = co_await authorize(req, admin, false);
  co_return s.has_value();
}

awaitable<http::response> web_ui::page(http::request& req, std::string_view name, bool admin) {
  auto s = co_await authorize(req, admin, false);
  if (!s && s.error().code != errc::unauthorized && s.error().code != errc::forbidden) {
    co_return api_error(s.error());  // the session store is down: say so (503)
  }
  if (!s && s.error().code == errc::unauthorized) {
    auto target = std::string(req.target()).substr(0, 1000);
    http::response r(303);
    r.set("Location", "/login?next=" + http::percent_encode(target));
    r.set("Cache-Control", "no-store");
    co_return secure(std::move(r));
  }
  const auto* shell = find_ui_asset("app.html");
  if (shell == nullptr) co_return http::response::text(500, "web UI assets missing\n");
  std::string html(shell->data);
  // A fixed page name (never request data) tells the script what to show.
  auto at = html.find("%PAGE%");
  if (at != std::string::npos) html.replace(at, 6, s ? name : std::string_view("forbidden"));
  auto r = http::response::text(s ? 200 : 403, std::move(html), "text/html; charset=utf-8");
  r.set("Cache-Control", "no-store");
  co_return secure(std::move(r));
}

void web_ui::add_routes(http::router& r) {
  using handler_fn = awaitable<http::response> (web_ui::*)(http::request&, const session&);
  auto api = [this](bool admin, bool state_changing, handler_fn fn) -> http::async_handler {
    return [this, admin, state_changing, fn](http::request& req) -> awaitable<http::response> {
      auto s = co_await authorize(req, admin, state_changing);
      if (!s) co_return api_error(s.error());
      co_return co_await (this->*fn)(req, *s);
    };
  };
  auto show = [this](std::string_view name, bool admin) -> http::async_handler {
    return [this, name, admin](http::request& req) {
      return page(req, name, admin);
    };
  };
  r.get("/", show("overview", false));
  r.get("/torrents", show("torrents", false));
  r.get("/torrents/{hash}", show("torrent", false));
  r.get("/upload", show("upload", false));
  r.get("/account", show("account", false));
  r.get("/users", show("users", true));
  r.get("/login", http::sync_handler([](http::request&) {
          const auto* a = find_ui_asset("login.html");
          if (a == nullptr) return http::response::text(500, "web UI assets missing\n");
          auto res = http::response::text(200, std::string(a->data), "text/html; charset=utf-8");
          res.set("Cache-Control", "no-store");
          return secure(std::move(res));
        }));
  r.get("/ui/assets/{file}", http::sync_handler([](http::request& req) {
          auto name = req.param("file");
          const auto* a = find_ui_asset(name);
          if (a == nullptr || name.ends_with(".html")) {
            return http::response::text(404, "no such file\n");
          }
          auto res = http::response::bytes(200, std::string(a->data), ui_content_type(name));
          res.set("Cache-Control", "no-cache");
          return secure(std::move(res));
        }));
  r.post("/ui/login", http::async_handler([this](http::request& req) { return login(req); }));
  r.post("/ui/logout", http::async_handler([this](http::request& req) { return logout(req); }));
  r.get("/ui/api/session",
        http::async_handler([this](http::request& req) -> awaitable<http::response> {
          auto s = co_await authorize(req, false, false);
          if (!s) co_return api_error(s.error());
          co_return api_json(200, {{"name", s->name}, {"admin", s->admin}, {"csrf", s->csrf}});
        }));
  r.get("/ui/api/overview", api(false, false, &web_ui::overview));
  r.get("/ui/api/torrents", api(false, false, &web_ui::list_torrents));
  r.post("/ui/api/torrents", api(false, true, &web_ui::upload));
  r.get("/ui/api/torrents/{hash}", api(false, false, &web_ui::torrent_detail));
  r.get("/ui/api/torrents/{hash}/file", api(false, false, &web_ui::torrent_file));
  r.get("/ui/api/users", api(true, false, &web_ui::list_users));
  r.post("/ui/api/users", api(true, true, &web_ui::create_user));
  r.del("/ui/api/users/{name}", api(true, true, &web_ui::delete_user));
  // A user may see and rotate their own passkey and set their own password.
  r.get("/ui/api/users/{name}/passkey", api(false, false, &web_ui::show_passkey));
  r.post("/ui/api/users/{name}/passkey", api(false, true, &web_ui::rotate_passkey));
  r.post("/ui/api/users/{name}/password", api(false, true, &web_ui::set_password));
}

// --- sign-in -----------------------------------------------------------------

awaitable<http::response> web_ui::login(http::request& req) {
  // JSON only: a plain cross-site <form> cannot send it, so nobody can sign
  // a visitor in to an account of theirs (login CSRF).
  auto type = req.header("Content-Type");
  if (!type || !type->starts_with("application/json") || !same_origin(req)) {
    co_return api_error(error{errc::forbidden, "sign in from the sign-in page"});
  }
  auto body = http::parse_json_object(req.body());
  if (!body) co_return api_error(body.error());
  auto text = [&](const char* key) -> std::string {
    auto it = body->find(key);
    return it != body->end() && it->is_string() ? it->get<std::string>() : std::string();
  };
  auto name = text("name");
  auto password = text("password");
  auto token = text("token");
  auto now = options_.now();
  auto address_key = "address " + req.remote().address.str();
  auto name_key = "name " + name.substr(0, 64);
  auto wait = std::max(limiter_.retry_after(address_key, now),
                       token.empty() ? limiter_.retry_after(name_key, now) : 0u);
  if (wait > 0) {
    log_->warn("sign-in from {} refused: rate limited ({} s)", req.remote().address.str(), wait);
    co_return too_many(wait);
  }

  std::optional<session_store::created_session> made;
  if (!token.empty()) {
    if (token.size() <= 256) {
      auto hash = passkey_hasher()(token);
      if (secrets_equal(hash.view(), admin_hash_.view())) {
        auto job = [this, now] {
          return sessions_->create(0, "admin", true, now);
        };
        auto op = on_db(std::move(job));
        auto created = co_await std::move(op);
        if (!created) co_return api_error(created.error());
        made = std::move(*created);
      }
    }
  } else {
    auto creds_op = on_db([this, name] { return catalog_.find_credentials(name); });
    auto creds = co_await std::move(creds_op);
    if (!creds && creds.error().code != errc::not_found) co_return api_error(creds.error());
    // Unknown names and users without a password are checked against a
    // decoy hash, so they take as long as a wrong password.
    std::string stored = creds && creds->password_hash ? *creds->password_hash : passwords::decoy();
    bool real = creds && creds->password_hash;
    auto check = [password, stored] {
      return passwords::verify(password, stored);
    };
    bool ok = co_await kdf_.run(std::move(check));
    if (ok && real) {
      auto job = [this, id = static_cast<std::uint32_t>(creds->id), n = creds->name, now] {
        return sessions_->create(id, n, false, now);
      };
      auto op = on_db(std::move(job));
      auto created = co_await std::move(op);
      if (!created) co_return api_error(created.error());
      made = std::move(*created);
    }
  }
  if (!made) {
    limiter_.failed(address_key, now);
    if (token.empty()) limiter_.failed(name_key, now);
    log_->info("failed sign-in{} from {}", token.empty() ? " as '" + name.substr(0, 64) + "'" : "",
               req.remote().address.str());
    co_return api_error(error{errc::unauthorized, token.empty() ? "wrong name or password"
                                                                : "that is not the admin token"});
  }
  limiter_.succeeded(name_key);
  log_->info("'{}' signed in to the web UI from {}", made->s.name, req.remote().address.str());
  auto r = api_json(200, {{"name", made->s.name}, {"admin", made->s.admin}});
  bool https = options_.public_url && options_.public_url->starts_with("https://");
  r.add("Set-Cookie",
        fmt::format("{}={}; Path=/; Max-Age={}; HttpOnly; SameSite=Strict{}", cookie_name, made->id,
                    options_.sessions.ttl, https ? "; Secure" : ""));
  co_return r;
}

awaitable<http::response> web_ui::logout(http::request& req) {
  auto s = co_await authorize(req, false, true);
  if (!s) co_return api_error(s.error());
  if (auto id = cookie_value(req, cookie_name)) {
    auto job = [this, id = std::string(*id)] {
      return sessions_->remove(id);
    };
    auto op = on_db(std::move(job));
    if (auto r = co_await std::move(op); !r) co_return api_error(r.error());
  }
  auto r = api_json(200, {{"signed_out", true}});
  r.add("Set-Cookie",
        fmt::format("{}=; Path=/; Max-Age=0; HttpOnly; SameSite=Strict", cookie_name));
  co_return r;
}

// --- overview ----------------------------------------------------------------

awaitable<http::response> web_ui::overview(http::request&, const session&) {
  auto now = options_.now();
  auto window = options_.nodes_window;
  struct node {
    std::string address;
    std::string client;
    std::string zone;
    std::uint32_t user = 0;
    std::uint32_t last_seen = 0;
    std::size_t torrents = 0;
    std::size_t seeding = 0;
  };
  struct gathered {
    catalog_totals totals;
    std::vector<user_row> users;
    std::vector<node> nodes;
    std::uint64_t pending_up = 0, pending_down = 0;
  };
  // A walk over every swarm: on the database thread, off the server threads.
  auto job = [this, now, window]() -> result<gathered> {
    gathered g;
    auto t = catalog_.totals();
    if (!t) return fail(t.error());
    g.totals = *t;
    auto u = catalog_.list_users();
    if (!u) return fail(u.error());
    g.users = std::move(*u);
    std::map<std::string, node> by_key;
    swarms_.for_each([&](const swarm_key&, swarm& s) {
      g.pending_up += s.pending().uploaded;
      g.pending_down += s.pending().downloaded;
    });
    auto visited = catalog_.peers().visit([&](const peer& p) {
      {
        if (p.last_seen + window < now) return;
        auto addrs = addresses_of(p);
        auto key = fmt::format("{}|{}", p.user, addrs.empty() ? "" : addrs.front());
        auto [it, added] = by_key.try_emplace(key);
        auto& n = it->second;
        if (added) {
          n.address = fmt::format("{}", fmt::join(addrs, " "));
          n.user = p.user;
        }
        if (p.last_seen >= n.last_seen) {
          n.last_seen = p.last_seen;
          n.client = client_name(p.id);
          n.zone = zones_.describe(p.zone);
        }
        ++n.torrents;
        if (p.seeder) ++n.seeding;
      }
    });
    if (!visited) return fail(visited.error());
    for (auto& [k, n] : by_key) g.nodes.push_back(std::move(n));
    std::sort(g.nodes.begin(), g.nodes.end(),
              [](const node& a, const node& b) { return a.last_seen > b.last_seen; });
    if (g.nodes.size() > 200) g.nodes.resize(200);
    return g;
  };
  auto op = on_db(std::move(job));
  auto g = co_await std::move(op);
  if (!g) co_return api_error(g.error());

  std::map<std::uint32_t, std::string> names;
  for (const auto& u : g->users) names[static_cast<std::uint32_t>(u.id)] = u.name;
  auto live = options_.sample ? options_.sample() : stats_sample{now};
  json history = json::array();
  for (const auto& m : history_.last_hour(live)) {
    history.push_back({{"start", m.start},
                       {"known", m.known},
                       {"announces_per_second", m.per_second},
                       {"peers", m.peers},
                       {"seeders", m.seeders},
                       {"swarms", m.swarms}});
  }
  json nodes = json::array();
  for (const auto& n : g->nodes) {
    auto it = names.find(n.user);
    nodes.push_back({{"address", n.address},
                     {"client", n.client},
                     {"zone", n.zone},
                     {"user", it == names.end() ? json(nullptr) : json(it->second)},
                     {"last_seen", n.last_seen},
                     {"torrents", n.torrents},
                     {"seeding", n.seeding}});
  }
  const auto& t = g->totals;
  co_return api_json(200, {{"totals",
                            {{"torrents", t.torrents},
                             {"blobs", t.blobs},
                             {"segments", t.segments},
                             {"files", t.files},
                             {"size", t.size},
                             {"users", t.users},
                             {"peers", live.peers},
                             {"seeders", live.seeders},
                             {"leechers", live.peers - std::min(live.peers, live.seeders)},
                             {"uploaded", t.uploaded + g->pending_up},
                             {"downloaded", t.downloaded + g->pending_down},
                             {"completed", t.completed},
                             {"announces", live.announces}}},
                           {"history", std::move(history)},
                           {"nodes", std::move(nodes)},
                           {"nodes_window", window},
                           {"now", now}});
}

// --- torrents ----------------------------------------------------------------

awaitable<http::response> web_ui::list_torrents(http::request& req, const session&) {
  http::query_string q(req.query());
  torrent_filter f;
  if (auto raw = q.get("q")) {
    auto text = http::percent_decode(*raw, true);
    if (!text)
      co_return api_error(error{errc::invalid_argument, "q is not valid percent-encoding"});
    f.text = text->substr(0, 200);
  }
  auto kind = q.get("kind").value_or("all");
  if (kind == "blobs") {
    f.what = torrent_filter::kind::blobs;
  } else if (kind == "files") {
    f.what = torrent_filter::kind::files;
  } else if (kind != "all") {
    co_return api_error(error{errc::invalid_argument, "kind must be all, blobs or files"});
  }
  std::string order(q.get("sort").value_or("created"));
  if (!catalog::known_order(order)) {
    co_return api_error(error{errc::invalid_argument,
                              "sort must be name, size, seeders, leechers, completed or created"});
  }
  bool descending = q.get("dir").value_or(order == "name" ? "asc" : "desc") == "desc";
  auto per_page = query_number(q, "per_page", 25, 1, 200);
  auto page_no = query_number(q, "page", 1, 1, 1'000'000);
  auto offset = (page_no - 1) * per_page;
  auto job = [this, f, order, descending, offset, per_page] {
    return catalog_.search_torrents(f, order, descending, offset, per_page);
  };
  auto op = on_db(std::move(job));
  auto found = co_await std::move(op);
  if (!found) co_return api_error(found.error());
  json rows = json::array();
  auto live = live_counts(catalog_.peers(), found->rows);
  for (std::size_t n = 0; n < found->rows.size(); ++n) {
    rows.push_back(ui_torrent_json(found->rows[n], live[n], options_.mirror_url));
  }
  co_return api_json(200, {{"torrents", std::move(rows)},
                           {"total", found->total},
                           {"page", page_no},
                           {"per_page", per_page},
                           {"sort", order},
                           {"dir", descending ? "desc" : "asc"}});
}

awaitable<result<std::optional<std::string>>> web_ui::announce_url_for(const session& s) {
  if (s.admin) co_return std::optional<std::string>{};
  auto id = static_cast<std::int64_t>(s.user_id);
  auto op = on_db([this, id] { return catalog_.passkey_of(id); });
  auto passkey = co_await std::move(op);
  if (!passkey) co_return fail(passkey.error());
  if (!*passkey) {
    co_return fail(errc::conflict,
                   "your passkey is not on record (it was made before the web UI kept passkeys): "
                   "rotate it on your account page, then update your nodes");
  }
  co_return std::optional<std::string>(*options_.public_url + "/announce/" + **passkey);
}

awaitable<http::response> web_ui::torrent_detail(http::request& req, const session& s) {
  auto h = info_hash::from_hex(req.param("hash"));
  if (!h) co_return api_error(error{errc::invalid_argument, "not an info-hash"});
  struct gathered {
    torrent_row row;
    torrent_contents contents;
    std::string bytes;
    std::vector<user_row> users;
  };
  bool admin = s.admin;
  auto job = [this, h = *h, admin]() -> result<gathered> {
    auto row = catalog_.find_torrent(h);
    if (!row) return fail(row.error());
    auto bytes = catalog_.torrent_bytes(row->id);
    if (!bytes) return fail(bytes.error());
    auto contents = describe_torrent(*bytes);
    if (!contents) return fail(contents.error());
    gathered g{std::move(*row), std::move(*contents), std::move(*bytes), {}};
    if (admin) {
      auto u = catalog_.list_users();
      if (!u) return fail(u.error());
      g.users = std::move(*u);
    }
    return g;
  };
  auto op = on_db(std::move(job));
  auto g = co_await std::move(op);
  if (!g) co_return api_error(g.error());

  auto j = ui_torrent_json(g->row, catalog_.peers(), options_.mirror_url);
  json files = json::array();
  auto root = g->row.name + "/";
  for (const auto& f : g->contents.files) {
    json one = {{"path", f.path}, {"size", f.size}, {"fetch_url", nullptr}};
    if (!j["fetch_url"].is_null()) {
      // The mirror names a directory torrent's files relative to its directory.
      std::string_view rel = f.path;
      if (rel.starts_with(root)) rel.remove_prefix(root.size());
      one["fetch_url"] =
          fmt::format("{}/{}", j["fetch_url"].get<std::string>(), http::percent_encode_path(rel));
    }
    files.push_back(std::move(one));
  }
  j["files"] = std::move(files);
  j["file_count"] = g->contents.total_files;
  j["comment"] = g->contents.comment;
  j["created_by"] = g->contents.created_by;
  j["creation_date"] = g->contents.creation_date ? json(g->contents.creation_date) : json(nullptr);

  auto listed = catalog_.peers().peers(g->row.primary);
  std::vector<peer> peers = listed ? std::move(*listed) : std::vector<peer>();
  std::sort(peers.begin(), peers.end(),
            [](const peer& a, const peer& b) { return a.last_seen > b.last_seen; });
  std::map<std::uint32_t, std::string> names;
  for (const auto& u : g->users) names[static_cast<std::uint32_t>(u.id)] = u.name;
  json list = json::array();
  for (const auto& p : peers) {
    if (list.size() >= 500) break;
    json one = {{"addresses", addresses_of(p)},
                {"client", client_name(p.id)},
                {"zone", zones_.describe(p.zone)},
                {"seeder", p.seeder},
                {"progress", progress_of(p, g->row.size)},
                {"uploaded", p.uploaded},
                {"downloaded", p.downloaded},
                {"last_announce", p.last_seen}};
    if (s.admin) {
      auto it = names.find(p.user);
      one["user"] = it == names.end() ? json(nullptr) : json(it->second);
    }
    list.push_back(std::move(one));
  }
  j["peers"] = std::move(list);
  j["peer_count"] = peers.size();

  auto url = co_await announce_url_for(s);
  if (url) {
    auto magnet = magnet_link(g->bytes, *url);
    j["magnet"] = magnet ? json(*magnet) : json(nullptr);
    j["announce_note"] = *url ? json(nullptr)
                              : json(
                                    "signed in as admin: the .torrent and magnet link carry no "
                                    "tracker (the admin has no passkey)");
  } else {
    j["magnet"] = nullptr;
    j["announce_note"] = url.error().message;
  }
  co_return api_json(200, j);
}

awaitable<http::response> web_ui::torrent_file(http::request& req, const session& s) {
  auto h = info_hash::from_hex(req.param("hash"));
  if (!h) co_return api_error(error{errc::invalid_argument, "not an info-hash"});
  auto url = co_await announce_url_for(s);
  if (!url) co_return api_error(url.error());
  auto job = [this, h = *h, u = *url]() -> result<std::pair<std::string, std::string>> {
    auto row = catalog_.find_torrent(h);
    if (!row) return fail(row.error());
    auto bytes = catalog_.torrent_bytes(row->id);
    if (!bytes) return fail(bytes.error());
    auto out = with_announce(*bytes, u);
    if (!out) return fail(out.error());
    return std::pair{row->name, std::move(*out)};
  };
  auto op = on_db(std::move(job));
  auto file = co_await std::move(op);
  if (!file) co_return api_error(file.error());
  std::string name;
  for (char c : file->first.substr(0, 200)) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '_' || c == '-';
    name += ok ? c : '_';
  }
  if (name.empty()) name = "torrent";
  auto r = http::response::bytes(200, std::move(file->second), "application/x-bittorrent");
  r.set("Content-Disposition", "attachment; filename=\"" + name + ".torrent\"");
  r.set("Cache-Control", "private, no-store");
  co_return secure(std::move(r));
}

awaitable<http::response> web_ui::upload(http::request& req, const session& s) {
  if (req.body().size() > options_.max_torrent_size) {
    co_return api_error(error{
        errc::too_large, fmt::format("the file is {} bytes; the largest .torrent accepted is {}",
                                     req.body().size(), options_.max_torrent_size)});
  }
  std::string body(req.body());
  auto now = static_cast<std::int64_t>(options_.now());
  std::string by = s.name;
  auto job = [this, body = std::move(body), now, by] {
    return catalog_.register_torrent(body, std::nullopt, std::nullopt, now,
                                     registration_details{std::nullopt, by});
  };
  auto op = on_db(std::move(job));
  auto out = co_await std::move(op);
  if (!out) co_return api_error(out.error());
  const auto& row = out->row;
  if (out->created) {
    log_->info("'{}' uploaded torrent {} '{}' ({} bytes) in the web UI{}", s.name, id_of(row),
               row.name, row.size, out->made_private_from ? ", made private" : "");
  }
  auto j = ui_torrent_json(row, catalog_.peers(), options_.mirror_url);
  add_registration_fields(j, *out);
  co_return api_json(out->created ? 201 : 200, j);
}

// --- users -------------------------------------------------------------------

awaitable<http::response> web_ui::list_users(http::request&, const session&) {
  auto op = on_db([this] { return catalog_.list_users(); });
  auto users = co_await std::move(op);
  if (!users) co_return api_error(users.error());
  json list = json::array();
  for (const auto& u : *users) {
    list.push_back(ui_user_json(u, users_.pending(static_cast<std::uint32_t>(u.id))));
  }
  co_return api_json(200, {{"users", std::move(list)}});
}

awaitable<http::response> web_ui::create_user(http::request& req, const session& s) {
  auto body = http::parse_json_object(req.body());
  if (!body) co_return api_error(body.error());
  auto name_it = body->find("name");
  auto pw_it = body->find("password");
  if (name_it == body->end() || !name_it->is_string()) {
    co_return api_error(error{errc::invalid_argument, "a user needs a name"});
  }
  auto name = name_it->get<std::string>();
  if (auto c = catalog::check_user_name(name); !c) co_return api_error(c.error());
  std::optional<std::string> password;
  if (pw_it != body->end() && pw_it->is_string() && !pw_it->get<std::string>().empty()) {
    password = pw_it->get<std::string>();
    if (auto c = passwords::check_rules(*password); !c) co_return api_error(c.error());
  }
  std::optional<std::string> hash;
  if (password) {
    auto make = [p = *password] {
      return passwords::hash(p);
    };
    hash = co_await kdf_.run(std::move(make));
  }
  auto now = static_cast<std::int64_t>(options_.now());
  auto job = [this, name, now, hash]() -> result<new_user> {
    auto made = catalog_.create_user(name, now);
    if (!made) return made;
    if (hash) {
      auto row = catalog_.set_password_hash(name, hash);
      if (!row) return fail(row.error());
      made->user = std::move(*row);
    }
    return made;
  };
  auto op = on_db(std::move(job));
  auto made = co_await std::move(op);
  if (!made) co_return api_error(made.error());
  log_->info("user '{}' created in the web UI by '{}' (passkey {})", made->user.name, s.name,
             logging::redact(made->passkey));
  auto j = ui_user_json(made->user, {});
  j["passkey"] = made->passkey;
  co_return api_json(201, j);
}

awaitable<http::response> web_ui::delete_user(http::request& req, const session& s) {
  auto name = decoded_param(req, "name");
  auto op = on_db([this, name] {
    auto gone = catalog_.delete_user(name);
    if (gone) (void)sessions_->remove_user(static_cast<std::uint32_t>(gone->id));
    return gone;
  });
  auto gone = co_await std::move(op);
  if (!gone) co_return api_error(gone.error());
  log_->info("user '{}' revoked in the web UI by '{}'", gone->name, s.name);
  co_return api_json(200, {{"revoked", gone->name}});
}

awaitable<http::response> web_ui::show_passkey(http::request& req, const session& s) {
  auto name = decoded_param(req, "name");
  if (!s.admin && name != s.name) {
    co_return api_error(error{errc::forbidden, "only admins see other users' passkeys"});
  }
  auto job = [this, name]() -> result<std::optional<std::string>> {
    auto u = catalog_.find_user(name);
    if (!u) return fail(u.error());
    return catalog_.passkey_of(u->id);
  };
  auto op = on_db(std::move(job));
  auto passkey = co_await std::move(op);
  if (!passkey) co_return api_error(passkey.error());
  if (!*passkey) {
    co_return api_error(error{errc::not_found,
                              "this passkey is not on record (made before the web UI kept "
                              "passkeys): rotate it to get one that can be shown"});
  }
  co_return api_json(200, {{"name", name},
                           {"passkey", **passkey},
                           {"announce_url", *options_.public_url + "/announce/" + **passkey}});
}

awaitable<http::response> web_ui::rotate_passkey(http::request& req, const session& s) {
  auto name = decoded_param(req, "name");
  if (!s.admin && name != s.name) {
    co_return api_error(error{errc::forbidden, "only admins rotate other users' passkeys"});
  }
  auto op = on_db([this, name] { return catalog_.rotate_passkey(name); });
  auto made = co_await std::move(op);
  if (!made) co_return api_error(made.error());
  log_->info("user '{}' has a new passkey ({}), rotated in the web UI by '{}'", made->user.name,
             logging::redact(made->passkey), s.name);
  co_return api_json(200, {{"name", made->user.name},
                           {"passkey", made->passkey},
                           {"announce_url", *options_.public_url + "/announce/" + made->passkey}});
}

awaitable<http::response> web_ui::set_password(http::request& req, const session& s) {
  auto name = decoded_param(req, "name");
  if (!s.admin && name != s.name) {
    co_return api_error(error{errc::forbidden, "only admins set other users' passwords"});
  }
  auto body = http::parse_json_object(req.body());
  if (!body) co_return api_error(body.error());
  auto it = body->find("password");
  if (it == body->end() || !it->is_string()) {
    co_return api_error(error{errc::invalid_argument, "body must be {\"password\": \"...\"}"});
  }
  auto password = it->get<std::string>();
  if (auto c = passwords::check_rules(password); !c) co_return api_error(c.error());
  auto make = [password] {
    return passwords::hash(password);
  };
  auto hash = co_await kdf_.run(std::move(make));
  auto op = on_db([this, name, hash] { return catalog_.set_password_hash(name, hash); });
  auto row = co_await std::move(op);
  if (!row) co_return api_error(row.error());
  log_->info("user '{}' has a new web UI password, set by '{}'", row->name, s.name);
  co_return api_json(200, ui_user_json(*row, users_.pending(static_cast<std::uint32_t>(row->id))));
}

}  // namespace blobswarm::tracker
