// Real processes for the seeder's integration tests: the blobswarm-tracker
// binary and blobswarm-seeder binaries, each on free loopback ports, plus
// small HTTP helpers and a libtorrent client (python3-libtorrent).
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "common/digest.hpp"
#include "common/http/client.hpp"
#include "tests/support/support.hpp"

namespace blobswarm::test {

// GET/POST helpers that never throw: a transport error becomes status 0.
http::client_response http_get(const std::string& url, http::header_list headers = {});
http::client_response http_post(const std::string& url, std::string body,
                                http::header_list headers = {});
nlohmann::json json_of(const http::client_response& r);
std::string sha256_hex_digest(std::string_view bytes);  // "sha256:<hex>"

class tracker_process {
 public:
  tracker_process();
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }
  const std::filesystem::path& token_file() const noexcept { return token_file_; }
  const std::string& admin_token() const noexcept { return token_; }
  // Creates a tracker user; returns its passkey.
  std::string create_user(const std::string& name);
  // GET /api/v1/blobs/<digest> as admin.
  nlohmann::json blob(const blobswarm::digest& d);
  // The whole torrent as the tracker hands it to `passkey`'s owner (with
  // their announce URL).
  std::string torrent_for(const blobswarm::digest& d, const std::string& passkey);
  process& proc() { return *process_; }

 private:
  temp_dir dir_;
  std::string token_;
  std::filesystem::path token_file_;
  std::uint16_t port_ = 0;
  std::unique_ptr<process> process_;
};

struct seeder_config {
  std::string upstream;                      // --upstream
  std::string tracker;                       // --tracker (empty: none)
  std::filesystem::path tracker_token_file;  // --tracker-token-file
  std::string tracker_user = "seeder";
  std::vector<std::string> args;              // more flags
  std::string config_json;                    // written to a --config file when set
  std::optional<std::filesystem::path> data;  // default: a fresh directory
  std::optional<std::uint16_t> port;          // default: a free port
  std::vector<std::string> wrapper;           // argv prefix (e.g. unshare ... sh -c)
};

class seeder_process {
 public:
  explicit seeder_process(seeder_config config);
  ~seeder_process();

  std::string url(std::string_view path = "") const;
  std::uint16_t port() const noexcept { return port_; }
  std::uint16_t peer_port() const noexcept { return peer_port_; }
  const std::filesystem::path& data() const noexcept { return data_; }
  std::string blob_path(const std::string& name, const blobswarm::digest& d,
                        std::string_view suffix = "") const;

  http::client_response get(std::string_view path, http::header_list headers = {}) const;
  nlohmann::json descriptor(const std::string& name, const blobswarm::digest& d) const;
  // A sample of /metrics; 0 when absent.
  double metric(std::string_view name) const;

  // SIGTERM and wait; start() runs it again with the same data and ports.
  void stop();
  void start();
  process& proc() { return *process_; }
  std::string output() const { return process_ ? process_->output() : std::string(); }

 private:
  seeder_config config_;
  temp_dir dir_;
  std::filesystem::path data_;
  std::uint16_t port_ = 0;
  std::uint16_t peer_port_ = 0;
  std::unique_ptr<process> process_;
};

// Runs tests/seeder/lt_client.py; returns "sha256:<hex>" of what it
// downloaded, or nullopt (its output is printed by the caller on failure).
struct lt_download {
  int status = -1;
  std::string digest;
  std::string output;
};
lt_download download_with_libtorrent(std::string_view torrent,
                                     const std::vector<std::string>& peers,
                                     std::chrono::seconds timeout = std::chrono::seconds(60));

}  // namespace blobswarm::test
