// Test fixture: the real blobswarm-tracker binary on a loopback port it
// picks itself, in a temporary directory, with helpers for its REST API,
// announces and scrapes (over real sockets, through libcurl).
#pragma once

#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "common/http/client.hpp"
#include "tests/support/support.hpp"

namespace blobswarm::tracker::test_support {

class tracker_instance {
 public:
  // Starts the tracker with `args` added to the command line (a --db there
  // replaces the default sqlite file); the directory (database, token,
  // snapshot) is `dir` or a new temporary one.
  explicit tracker_instance(std::vector<std::string> args = {},
                            const std::filesystem::path& dir = {});
  ~tracker_instance();

  const std::filesystem::path& dir() const noexcept { return dir_; }
  std::uint16_t port() const noexcept { return port_; }
  std::string url(const std::string& path = "") const;
  const std::string& admin_token() const noexcept { return token_; }
  test::process& process() noexcept { return *process_; }
  // SIGTERM (clean shutdown) and wait; returns the exit status.
  std::optional<int> stop(int sig = 15);

  // One HTTP request; `token` goes into Authorization: Bearer.
  http::client_response request(const std::string& method, const std::string& path,
                                const std::optional<std::string>& token = {},
                                const std::string& body = {},
                                const std::string& content_type = {}) const;
  nlohmann::json json_of(const http::client_response& r) const;

  // POST /api/v1/users with the admin token; returns the passkey.
  std::string create_user(const std::string& name) const;
  // POST /api/v1/torrents with the admin token; returns the response.
  http::client_response register_torrent(const std::string& bytes,
                                         const std::string& query = "") const;
  // GET /announce/<passkey>?<query>; returns the bencoded body (HTTP 200 expected).
  std::string announce(const std::string& passkey, const std::string& query) const;

 private:
  std::unique_ptr<test::temp_dir> owned_dir_;
  std::filesystem::path dir_;
  std::string token_ = "test-admin-token-0123456789";
  std::unique_ptr<test::process> process_;
  std::uint16_t port_ = 0;
  http::client client_;
};

// The announce query for a 20-byte info-hash given in hex.
std::string announce_query(const std::string& info_hash_hex, const std::string& peer_id, int port,
                           std::uint64_t left, const std::string& extra = "");

}  // namespace blobswarm::tracker::test_support
