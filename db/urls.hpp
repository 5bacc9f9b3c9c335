// urls: recognising and parsing the URLs that name the replicated control
// plane's engines (a postgresql:// index of record, a redis:// peer
// store). Header-only and pure: settings validation uses it, so the config
// fuzz target checks it without linking libpq or hiredis.
#pragma once

#include <charconv>
#include <cstdint>
#include <string>
#include <string_view>

#include "common/error.hpp"

namespace blobswarm::db {

// True for "postgresql://..." and "postgres://..." (the forms libpq takes).
inline bool is_postgres_url(std::string_view s) noexcept {
  return s.starts_with("postgresql://") || s.starts_with("postgres://");
}

// redis://[:password@]host[:port][/db]
struct redis_url {
  std::string host;
  std::uint16_t port = 6379;
  std::string password;
  int database = 0;

  static result<redis_url> parse(std::string_view url);
  static bool is_redis_url(std::string_view s) noexcept { return s.starts_with("redis://"); }
  // redis://host:port/db, without the password.
  std::string describe() const;
};

inline result<redis_url> redis_url::parse(std::string_view url) {
  if (!is_redis_url(url)) {
    return fail(errc::invalid_argument, "'{}' is not a redis:// URL", url.substr(0, 100));
  }
  redis_url u;
  auto rest = url.substr(8);
  if (auto at = rest.rfind('@'); at != std::string_view::npos) {
    auto userinfo = rest.substr(0, at);
    auto colon = userinfo.find(':');
    u.password =
        std::string(colon == std::string_view::npos ? userinfo : userinfo.substr(colon + 1));
    rest.remove_prefix(at + 1);
  }
  auto slash = rest.find('/');
  auto hostport = rest.substr(0, slash);
  if (slash != std::string_view::npos) {
    auto db = rest.substr(slash + 1);
    if (!db.empty()) {
      auto [p, ec] = std::from_chars(db.data(), db.data() + db.size(), u.database);
      if (ec != std::errc() || p != db.data() + db.size() || u.database < 0) {
        return fail(errc::invalid_argument, "redis URL: database must be a number (got '{}')",
                    db.substr(0, 20));
      }
    }
  }
  auto colon = hostport.rfind(':');
  if (colon != std::string_view::npos && hostport.find(']') == std::string_view::npos) {
    auto port = hostport.substr(colon + 1);
    unsigned v = 0;
    auto [p, ec] = std::from_chars(port.data(), port.data() + port.size(), v);
    if (ec != std::errc() || p != port.data() + port.size() || v == 0 || v > 65535) {
      return fail(errc::invalid_argument, "redis URL: bad port '{}'", port.substr(0, 20));
    }
    u.port = static_cast<std::uint16_t>(v);
    hostport = hostport.substr(0, colon);
  }
  u.host = std::string(hostport);
  if (u.host.empty()) return fail(errc::invalid_argument, "redis URL: no host");
  return u;
}

inline std::string redis_url::describe() const {
  return fmt::format("redis://{}:{}/{}", host, port, database);
}

}  // namespace blobswarm::db
