#include "tracker/api.hpp"

#include <charconv>
#include <nlohmann/json.hpp>

#include "common/hasher.hpp"
#include "common/http/json.hpp"
#include "common/http/url.hpp"
#include "common/logging.hpp"
#include "tracker/passwords.hpp"
#include "tracker/torrent_file.hpp"
#include "tracker/torrent_json.hpp"

namespace blobswarm::tracker {
namespace {

using json = nlohmann::json;

http::response error_response(const error& e) {
  auto r = http::json_error(e);
  if (e.code == errc::unauthorized) r.set("WWW-Authenticate", "Bearer realm=\"blobswarm-tracker\"");
  return r;
}

result<std::int64_t> parse_int(std::string_view name, std::string_view raw, std::int64_t min,
                               std::int64_t max) {
  std::int64_t v = 0;
  auto [p, ec] = std::from_chars(raw.data(), raw.data() + raw.size(), v);
  if (raw.empty() || ec != std::errc() || p != raw.data() + raw.size() || v < min || v > max) {
    return fail(errc::invalid_argument, "{} must be an integer between {} and {}", name, min, max);
  }
  return v;
}

result<info_hash> parse_info_hash_param(std::string_view raw) {
  auto h = info_hash::from_hex(raw);
  if (!h) {
    return fail(errc::invalid_argument,
                "'{}' is not an info-hash (40 hex characters for v1, 64 for v2)",
                raw.substr(0, 80));
  }
  return h;
}

result<digest> parse_digest_param(std::string_view raw) {
  auto decoded = http::percent_decode(raw, false);
  if (!decoded) return fail(errc::invalid_argument, "digest is not valid percent-encoding");
  auto d = digest::parse(*decoded);
  if (!d) return fail(d.error());
  return d;
}

// Safe for a Content-Disposition filename.
std::string file_name_for(std::string_view name) {
  std::string out;
  for (char c : name.substr(0, 200)) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '_' || c == '-';
    out += ok ? c : '_';
  }
  if (out.empty()) out = "torrent";
  return out + ".torrent";
}

}  // namespace

api::api(catalog& cat, blocking_pool& db, user_table& users, api_options options,
         std::shared_ptr<spdlog::logger> log)
    : catalog_(cat),
      db_(db),
      users_(users),
      options_(std::move(options)),
      admin_hash_(passkey_hasher()(options_.admin_token)),
      log_(std::move(log)) {}

// GCC 12 destroys a temporary with a non-trivial destructor twice when it
// appears inside a co_await expression (e.g. `co_await run([s] {...})`
// with a std::string capture). So this is a plain function, and callers
// make the awaitable in one statement and co_await it in the next:
//   auto op = on_db([..] {...});
//   auto r = co_await std::move(op);
template <class F>
awaitable<std::invoke_result_t<F>> api::on_db(F f) {
  using R = std::invoke_result_t<F>;
  // An exception must not escape onto the pool's thread.
  return db_.run([f = std::move(f)]() mutable -> R {
    try {
      return f();
    } catch (const std::exception& e) {
      return fail(errc::internal, "database operation failed: {}", e.what());
    }
  });
}

result<caller> api::authenticate(const http::request& req) const {
  auto header = req.header("Authorization");
  if (!header) {
    return fail(errc::unauthorized,
                "missing Authorization: Bearer <admin token or passkey> header");
  }
  std::string_view value = *header;
  if (value.size() < 7 || !http::iequals(value.substr(0, 7), "Bearer ")) {
    return fail(errc::unauthorized, "the Authorization header must be 'Bearer <token>'");
  }
  auto token = value.substr(7);
  while (!token.empty() && token.front() == ' ') token.remove_prefix(1);
  while (!token.empty() && token.back() == ' ') token.remove_suffix(1);
  if (token.empty() || token.size() > 256) return fail(errc::unauthorized, "invalid token");
  passkey_hasher hasher;
  auto hash = hasher(token);
  if (secrets_equal(hash.view(), admin_hash_.view())) {
    return caller{true, 0, {}, {}};
  }
  if (auto user = users_.find(hash)) {
    return caller{false, user->id, std::move(user->name), std::string(token)};
  }
  return fail(errc::unauthorized, "the token is neither the admin token nor a valid passkey");
}

void api::add_routes(http::router& r) {
  using handler_fn = awaitable<http::response> (api::*)(http::request&, const caller&);
  auto route = [this](bool admin_only, handler_fn fn) -> http::async_handler {
    return [this, admin_only, fn](http::request& req) -> awaitable<http::response> {
      auto who = authenticate(req);
      if (!who) co_return error_response(who.error());
      if (admin_only && !who->admin) {
        co_return error_response(
            error{errc::forbidden, "this operation needs the admin token; passkeys may only read"});
      }
      co_return co_await (this->*fn)(req, *who);
    };
  };
  r.get("/api/v1/users", route(false, &api::list_users));
  r.post("/api/v1/users", route(true, &api::create_user));
  r.get("/api/v1/users/{name}", route(false, &api::get_user));
  r.del("/api/v1/users/{name}", route(true, &api::delete_user));
  r.post("/api/v1/users/{name}/passkey", route(true, &api::rotate_passkey));
  r.get("/api/v1/torrents", route(false, &api::list_torrents));
  r.post("/api/v1/torrents", route(true, &api::register_torrent));
  r.get("/api/v1/torrents/{hash}", route(false, &api::get_torrent));
  r.del("/api/v1/torrents/{hash}", route(true, &api::delete_torrent));
  r.get("/api/v1/torrents/{hash}/file", route(false, &api::torrent_file));
  r.get("/api/v1/blobs/{digest}", route(false, &api::get_blob));
  r.get("/api/v1/blobs/{digest}/torrent", route(false, &api::blob_torrent));
  r.get("/api/v1/blobs/{digest}/segments/{index}/torrent", route(false, &api::segment_torrent));
}

// --- users -----------------------------------------------------------------

namespace {
std::string user_name_param(const http::request& req) {
  return http::percent_decode(req.param("name"), false).value_or(std::string());
}
}  // namespace

awaitable<http::response> api::create_user(http::request& req, const caller&) {
  auto body = http::parse_json_object(req.body());
  if (!body) co_return error_response(body.error());
  auto it = body->find("name");
  if (it == body->end() || !it->is_string()) {
    co_return error_response(error{errc::invalid_argument, "body must be {\"name\": \"<user>\"}"});
  }
  std::optional<std::string> password;
  for (const auto& [k, v] : body->items()) {
    if (k == "password" && v.is_string()) {
      password = v.get<std::string>();
    } else if (k != "name") {
      co_return error_response(
          error{errc::invalid_argument,
                fmt::format("unknown field '{}' (only \"name\", \"password\")", k)});
    }
  }
  auto name = it->get<std::string>();
  if (auto c = catalog::check_user_name(name); !c) co_return error_response(c.error());
  std::optional<std::string> hash;
  if (password) {
    if (auto c = passwords::check_rules(*password); !c) co_return error_response(c.error());
    auto make = [p = *password] {
      return passwords::hash(p);
    };
    blocking_pool& kdf = options_.kdf ? *options_.kdf : db_;
    hash = co_await kdf.run(std::move(make));
  }
  auto now = options_.now();
  auto made_op = on_db([this, name, now, hash]() -> result<new_user> {
    auto made = catalog_.create_user(name, now);
    if (!made || !hash) return made;
    auto row = catalog_.set_password_hash(name, hash);
    if (!row) return fail(row.error());
    made->user = std::move(*row);
    return made;
  });
  auto made = co_await std::move(made_op);
  if (!made) co_return error_response(made.error());
  log_->info("user '{}' created (passkey {}){}", made->user.name, logging::redact(made->passkey),
             hash ? " with a web UI password" : "");
  co_return http::json_response(201, {{"name", made->user.name}, {"passkey", made->passkey}});
}

awaitable<http::response> api::rotate_passkey(http::request& req, const caller&) {
  auto name = user_name_param(req);
  auto made_op = on_db([this, name] { return catalog_.rotate_passkey(name); });
  auto made = co_await std::move(made_op);
  if (!made) co_return error_response(made.error());
  log_->info("user '{}' has a new passkey ({})", made->user.name, logging::redact(made->passkey));
  co_return http::json_response(200, {{"name", made->user.name}, {"passkey", made->passkey}});
}

awaitable<http::response> api::delete_user(http::request& req, const caller&) {
  auto name = user_name_param(req);
  auto gone_op = on_db([this, name] {
    auto gone = catalog_.delete_user(name);
    if (gone && options_.user_deleted) {
      options_.user_deleted(static_cast<std::uint32_t>(gone->id));
    }
    return gone;
  });
  auto gone = co_await std::move(gone_op);
  if (!gone) co_return error_response(gone.error());
  log_->info("user '{}' deleted; their passkey no longer works", gone->name);
  co_return http::response(204);
}

awaitable<http::response> api::list_users(http::request&, const caller&) {
  auto users_op = on_db([this] { return catalog_.list_users(); });
  auto users = co_await std::move(users_op);
  if (!users) co_return error_response(users.error());
  json list = json::array();
  for (const auto& u : *users) {
    list.push_back(user_json(u, users_.pending(static_cast<std::uint32_t>(u.id))));
  }
  co_return http::json_response(200, {{"users", std::move(list)}});
}

awaitable<http::response> api::get_user(http::request& req, const caller&) {
  auto name = user_name_param(req);
  auto u_op = on_db([this, name] { return catalog_.find_user(name); });
  auto u = co_await std::move(u_op);
  if (!u) co_return error_response(u.error());
  co_return http::json_response(200,
                                user_json(*u, users_.pending(static_cast<std::uint32_t>(u->id))));
}

// --- torrents --------------------------------------------------------------

awaitable<http::response> api::register_torrent(http::request& req, const caller&) {
  if (req.body().size() > options_.max_torrent_size) {
    co_return error_response(
        error{errc::too_large, fmt::format("the .torrent is {} bytes; max_torrent_size is {}",
                                           req.body().size(), options_.max_torrent_size)});
  }
  http::query_string q(req.query());
  std::optional<digest> blob;
  std::optional<std::int64_t> segment;
  if (auto raw = q.get("digest")) {
    auto d = parse_digest_param(*raw);
    if (!d) co_return error_response(d.error());
    blob = *d;
  }
  if (auto raw = q.get("segment")) {
    auto n = parse_int("segment", *raw, 0, 1LL << 40);
    if (!n) co_return error_response(n.error());
    if (!blob) {
      co_return error_response(
          error{errc::invalid_argument, "segment=<n> needs digest=<blob digest> as well"});
    }
    segment = *n;
  }
  registration_details details;
  if (auto raw = q.get("repository")) {
    auto repo = http::percent_decode(*raw, true);
    if (!repo || repo->empty() || repo->size() > 255) {
      co_return error_response(
          error{errc::invalid_argument, "repository must be 1-255 characters, percent-encoded"});
    }
    details.repository = std::move(*repo);
  }
  if (auto raw = q.get("url")) {
    // Where a seeder pulled the file from (shown in the web UI).
    auto url = http::percent_decode(*raw, true);
    if (!url || url->size() > 2048 ||
        !(url->starts_with("https://") || url->starts_with("http://"))) {
      co_return error_response(error{errc::invalid_argument,
                                     "url must be an http(s) URL of at most 2048 characters, "
                                     "percent-encoded"});
    }
    details.source_url = std::move(*url);
  }
  auto now = options_.now();
  std::string body(req.body());
  auto out_op = on_db([this, body = std::move(body), blob, segment, now, details] {
    return catalog_.register_torrent(body, blob, segment, now, details);
  });
  auto out = co_await std::move(out_op);
  if (!out) co_return error_response(out.error());
  if (out->created) {
    log_->info("registered torrent {} '{}' ({} bytes){}{}{}",
               out->row.v1 ? out->row.v1->hex() : out->row.v2->hex(), out->row.name, out->row.size,
               blob ? " for " + blob->str() : std::string(),
               segment ? fmt::format(" segment {}", *segment) : std::string(),
               out->made_private_from
                   ? fmt::format(", made private (sent as {})", out->made_private_from->hex())
                   : std::string());
  }
  auto j = torrent_json(out->row, catalog_.peers());
  add_registration_fields(j, *out);
  co_return http::json_response(out->created ? 201 : 200, std::move(j));
}

awaitable<http::response> api::list_torrents(http::request& req, const caller&) {
  http::query_string q(req.query());
  std::int64_t after = 0, limit = 100;
  if (auto raw = q.get("after")) {
    auto v = parse_int("after", *raw, 0, INT64_MAX);
    if (!v) co_return error_response(v.error());
    after = *v;
  }
  if (auto raw = q.get("limit")) {
    auto v = parse_int("limit", *raw, 1, 1000);
    if (!v) co_return error_response(v.error());
    limit = *v;
  }
  auto rows_op = on_db([this, after, limit] {
    return catalog_.list_torrents(after, static_cast<std::size_t>(limit));
  });
  auto rows = co_await std::move(rows_op);
  if (!rows) co_return error_response(rows.error());
  json list = json::array();
  auto live = live_counts(catalog_.peers(), *rows);
  for (std::size_t n = 0; n < rows->size(); ++n) list.push_back(torrent_json((*rows)[n], live[n]));
  json next =
      rows->size() == static_cast<std::size_t>(limit) ? json(rows->back().id) : json(nullptr);
  co_return http::json_response(200, {{"torrents", std::move(list)}, {"next_after", next}});
}

awaitable<http::response> api::get_torrent(http::request& req, const caller&) {
  auto h = parse_info_hash_param(req.param("hash"));
  if (!h) co_return error_response(h.error());
  auto row_op = on_db([this, h = *h] { return catalog_.find_torrent(h); });
  auto row = co_await std::move(row_op);
  if (!row) co_return error_response(row.error());
  co_return http::json_response(200, torrent_json(*row, catalog_.peers()));
}

awaitable<http::response> api::delete_torrent(http::request& req, const caller&) {
  auto h = parse_info_hash_param(req.param("hash"));
  if (!h) co_return error_response(h.error());
  auto row_op = on_db([this, h = *h] { return catalog_.delete_torrent(h); });
  auto row = co_await std::move(row_op);
  if (!row) co_return error_response(row.error());
  log_->info("unregistered torrent {} '{}'", h->hex(), row->name);
  co_return http::response(204);
}

awaitable<http::response> api::serve_torrent(const caller& who, const torrent_row& row) {
  auto id = row.id;
  auto bytes_op = on_db([this, id] { return catalog_.torrent_bytes(id); });
  auto bytes = co_await std::move(bytes_op);
  if (!bytes) co_return error_response(bytes.error());
  // A user gets their own passkey URL; the admin has no passkey and gets
  // the torrent without any tracker (to add their own).
  std::optional<std::string> url;
  if (!who.admin) url = *options_.public_url + "/announce/" + who.passkey;
  auto out = with_announce(*bytes, url);
  if (!out) co_return error_response(out.error());
  auto r = http::response::bytes(200, std::move(*out), "application/x-bittorrent");
  r.set("Content-Disposition", "attachment; filename=\"" + file_name_for(row.name) + "\"");
  r.set("Cache-Control", "private, no-store");  // it carries the caller's passkey
  co_return r;
}

awaitable<http::response> api::torrent_file(http::request& req, const caller& who) {
  auto h = parse_info_hash_param(req.param("hash"));
  if (!h) co_return error_response(h.error());
  auto row_op = on_db([this, h = *h] { return catalog_.find_torrent(h); });
  auto row = co_await std::move(row_op);
  if (!row) co_return error_response(row.error());
  co_return co_await serve_torrent(who, *row);
}

// --- blobs -----------------------------------------------------------------

awaitable<http::response> api::get_blob(http::request& req, const caller&) {
  auto d = parse_digest_param(req.param("digest"));
  if (!d) co_return error_response(d.error());
  auto blob_op = on_db([this, d = *d] { return catalog_.find_blob(d); });
  auto blob = co_await std::move(blob_op);
  if (!blob) co_return error_response(blob.error());
  if (!blob->whole && blob->segments.empty()) {
    co_return error_response(
        error{errc::not_found, fmt::format("no torrent for blob {}", d->str())});
  }
  json whole = nullptr;
  if (blob->whole) {
    const auto& t = *blob->whole;
    whole = {{"info_hash_v1", hex_or_null(t.v1)},
             {"info_hash_v2", hex_or_null(t.v2)},
             {"size", t.size},
             {"piece_length", t.piece_length}};
  }
  json segments = json::array();
  for (const auto& s : blob->segments) {
    segments.push_back({{"index", *s.segment},
                        {"info_hash_v1", hex_or_null(s.v1)},
                        {"info_hash_v2", hex_or_null(s.v2)},
                        {"size", s.size},
                        {"piece_length", s.piece_length}});
  }
  co_return http::json_response(
      200,
      {{"digest", d->str()}, {"torrent", std::move(whole)}, {"segments", std::move(segments)}});
}

awaitable<http::response> api::blob_torrent(http::request& req, const caller& who) {
  auto d = parse_digest_param(req.param("digest"));
  if (!d) co_return error_response(d.error());
  auto blob_op = on_db([this, d = *d] { return catalog_.find_blob(d); });
  auto blob = co_await std::move(blob_op);
  if (!blob) co_return error_response(blob.error());
  if (!blob->whole) {
    co_return error_response(
        error{errc::not_found,
              fmt::format(
                  "no whole-blob torrent for {}{}", d->str(),
                  blob->segments.empty() ? "" : " (segment torrents exist: ingest in progress)")});
  }
  co_return co_await serve_torrent(who, *blob->whole);
}

awaitable<http::response> api::segment_torrent(http::request& req, const caller& who) {
  auto d = parse_digest_param(req.param("digest"));
  if (!d) co_return error_response(d.error());
  auto index = parse_int("segment index", req.param("index"), 0, 1LL << 40);
  if (!index) co_return error_response(index.error());
  auto row_op = on_db([this, d = *d, n = *index] { return catalog_.find_segment(d, n); });
  auto row = co_await std::move(row_op);
  if (!row) co_return error_response(row.error());
  if (!*row) {
    co_return error_response(error{
        errc::not_found, fmt::format("no torrent for segment {} of blob {}", *index, d->str())});
  }
  co_return co_await serve_torrent(who, **row);
}

}  // namespace blobswarm::tracker
