// api: the tracker's admin/user REST API under /api/v1 (JSON). Writes need
// the admin token as a Bearer token; reads accept the admin token or any
// user's passkey. Everything that touches the database runs on the
// database threads (blocking_pool); handlers only await it.
#pragma once

#include <spdlog/logger.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "common/blocking_pool.hpp"
#include "common/error.hpp"
#include "common/http/router.hpp"
#include "tracker/catalog.hpp"
#include "tracker/passkey.hpp"
#include "tracker/swarm_table.hpp"
#include "tracker/user_table.hpp"

namespace blobswarm::tracker {

// Who is calling: the admin, or a user identified by their passkey.
struct caller {
  bool admin = false;
  std::uint32_t user_id = 0;
  std::string name;     // the user's name; empty for the admin
  std::string passkey;  // the user's passkey (their Bearer token); empty for the admin
};

struct api_options {
  std::string admin_token;
  const std::string* public_url = nullptr;  // no trailing slash; set before serving
  std::function<std::int64_t()> now;        // unix seconds
  std::uint64_t max_torrent_size = 16ULL << 20;
  // Runs password hashing (slow on purpose); the database pool when null.
  blocking_pool* kdf = nullptr;
  // Told when a user is deleted (the web UI ends their sessions), on the
  // database thread.
  std::function<void(std::uint32_t)> user_deleted;
};

class api {
 public:
  api(catalog& cat, blocking_pool& db, user_table& users, api_options options,
      std::shared_ptr<spdlog::logger> log);

  // Adds every /api/v1 route.
  void add_routes(http::router& r);

  // From the Authorization header: errc::unauthorized when missing or unknown.
  result<caller> authenticate(const http::request& req) const;

 private:
  template <class F>
  awaitable<std::invoke_result_t<F>> on_db(F f);

  awaitable<http::response> create_user(http::request& req, const caller& who);
  awaitable<http::response> rotate_passkey(http::request& req, const caller& who);
  awaitable<http::response> delete_user(http::request& req, const caller& who);
  awaitable<http::response> list_users(http::request& req, const caller& who);
  awaitable<http::response> get_user(http::request& req, const caller& who);
  awaitable<http::response> register_torrent(http::request& req, const caller& who);
  awaitable<http::response> list_torrents(http::request& req, const caller& who);
  awaitable<http::response> get_torrent(http::request& req, const caller& who);
  awaitable<http::response> delete_torrent(http::request& req, const caller& who);
  awaitable<http::response> torrent_file(http::request& req, const caller& who);
  awaitable<http::response> get_blob(http::request& req, const caller& who);
  awaitable<http::response> blob_torrent(http::request& req, const caller& who);
  awaitable<http::response> segment_torrent(http::request& req, const caller& who);

  // The .torrent of `row` with the caller's announce URL.
  awaitable<http::response> serve_torrent(const caller& who, const torrent_row& row);

  catalog& catalog_;
  blocking_pool& db_;
  user_table& users_;
  api_options options_;
  passkey_hash admin_hash_;
  std::shared_ptr<spdlog::logger> log_;
};

}  // namespace blobswarm::tracker
