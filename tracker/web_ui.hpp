// web_ui: the tracker's web interface at "/": sign-in, torrents (search,
// sort, pages), torrent detail with live peers, upload, users (admin) and an
// overview with the last hour's activity. The pages are static HTML/CSS/JS
// embedded in the binary (tracker/ui/, see ui_assets.hpp); they render what
// the JSON endpoints under /ui/api return with DOM text nodes only, so no
// stored string is ever parsed as HTML.
//
// Security: a sign-in creates a session (session_store) whose id travels in
// an HttpOnly, SameSite=Strict cookie; every page but /login needs one,
// admin pages need an admin session; every state-changing request carries
// the session's CSRF token in X-CSRF-Token and, when the browser sends one,
// a same-origin Origin header; sign-in attempts are rate-limited per client
// address and per name (login_limiter); passwords are PBKDF2 (passwords),
// checked on a thread of their own, and every secret comparison is
// constant-time. Pages carry a strict Content-Security-Policy.
#pragma once

#include <spdlog/logger.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "common/blocking_pool.hpp"
#include "common/http/router.hpp"
#include "tracker/catalog.hpp"
#include "tracker/login_limiter.hpp"
#include "tracker/passkey.hpp"
#include "tracker/session_store.hpp"
#include "tracker/stats_history.hpp"
#include "tracker/swarm_table.hpp"
#include "tracker/user_table.hpp"
#include "tracker/zone_directory.hpp"

namespace blobswarm::tracker {

struct web_ui_options {
  std::string admin_token;
  const std::string* public_url = nullptr;  // no trailing slash; set before serving
  std::function<std::uint32_t()> now;       // unix seconds
  std::function<stats_sample()> sample;     // the counters now, for the live minute
  std::uint64_t max_torrent_size = 16ULL << 20;
  session_policy sessions;
  bucket_policy login_attempts;
  std::uint32_t nodes_window = 15 * 60;  // "seen recently": seconds since the last announce
  std::string mirror_url = "http://127.0.0.1:65001";  // a node's mirror, for /files links
};

class web_ui {
 public:
  // `sessions`: where sign-ins are kept (in memory, or in a shared store so
  // that every replica knows them).
  web_ui(catalog& cat, blocking_pool& db, blocking_pool& kdf, user_table& users,
         swarm_table& swarms, const stats_history& history, const zone_directory& zones,
         std::unique_ptr<session_store> sessions, web_ui_options options,
         std::shared_ptr<spdlog::logger> log);

  // Adds the pages, the static assets and /ui/api/*.
  void add_routes(http::router& r);

  // Ends every web session of a user (deleted through the REST API too).
  // Blocks on the database with a shared session store: call it on a
  // database thread.
  void end_sessions(std::uint32_t user_id) { (void)sessions_->remove_user(user_id); }

  // Whether the request carries a live session (an admin's, if `admin`):
  // the server's body limit lets only signed-in users upload .torrent files.
  awaitable<bool> signed_in(const http::request& req, bool admin);

 private:
  template <class F>
  awaitable<std::invoke_result_t<F>> on_db(F f);

  // The session of the request's cookie; errors are the JSON answer to give.
  awaitable<result<session>> authorize(const http::request& req, bool admin, bool state_changing);
  awaitable<http::response> page(http::request& req, std::string_view name, bool admin);

  awaitable<http::response> login(http::request& req);
  awaitable<http::response> logout(http::request& req);
  awaitable<http::response> overview(http::request& req, const session& s);
  awaitable<http::response> list_torrents(http::request& req, const session& s);
  awaitable<http::response> torrent_detail(http::request& req, const session& s);
  awaitable<http::response> torrent_file(http::request& req, const session& s);
  awaitable<http::response> upload(http::request& req, const session& s);
  awaitable<http::response> list_users(http::request& req, const session& s);
  awaitable<http::response> create_user(http::request& req, const session& s);
  awaitable<http::response> delete_user(http::request& req, const session& s);
  awaitable<http::response> show_passkey(http::request& req, const session& s);
  awaitable<http::response> rotate_passkey(http::request& req, const session& s);
  awaitable<http::response> set_password(http::request& req, const session& s);

  // The announce URL for a session: the user's passkey URL; none for the admin.
  awaitable<result<std::optional<std::string>>> announce_url_for(const session& s);

  catalog& catalog_;
  blocking_pool& db_;
  blocking_pool& kdf_;
  user_table& users_;
  swarm_table& swarms_;
  const stats_history& history_;
  const zone_directory& zones_;
  web_ui_options options_;
  passkey_hash admin_hash_;
  std::unique_ptr<session_store> sessions_;
  login_limiter limiter_;
  std::shared_ptr<spdlog::logger> log_;
};

}  // namespace blobswarm::tracker
