// Real blobswarm services as child processes for integration tests: each
// writes its JSON config into a temporary directory, starts the binary from
// build/bin and waits until its /healthz answers. Output is kept and
// printed when a test fails.
#pragma once

#include <cstdint>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "common/http/client.hpp"
#include "tests/support/support.hpp"

namespace blobswarm::test {

// Waits until `p` answers 200 on `healthz_url` through `c`, or exits; true
// when it answers and still runs.
bool wait_healthy(process& p, const http::client& c, const std::string& healthz_url,
                  std::chrono::milliseconds timeout = std::chrono::seconds(20));

class service_process {
 public:
  // `binary`: "blobswarm-mirror"...; `config`: the JSON settings; `listen`:
  // the HTTP address in the config (to wait on /healthz).
  service_process(std::string binary, nlohmann::json config, std::string listen);
  ~service_process();

  void start();
  void stop(int signal = 15);
  void restart() {
    stop();
    start();
  }
  bool running() const { return proc_ && proc_->running(); }
  std::string url(std::string_view path = "") const {
    return "http://" + listen_ + std::string(path);
  }
  const std::string& listen() const noexcept { return listen_; }
  const std::filesystem::path& dir() const noexcept { return dir_.path(); }
  // Its output (after stop(): what it wrote until then).
  std::string output() const { return proc_ ? proc_->output() : last_output_; }
  nlohmann::json& config() noexcept { return config_; }
  // GET <path> as JSON (e.g. /api/v1/stats).
  nlohmann::json get_json(std::string_view path) const;
  // A mirror's /api/v1/stats "totals" (an empty object if it does not
  // answer), and one counter of them (0 if absent).
  nlohmann::json stats_totals() const;
  std::uint64_t stats_total(std::string_view key) const;

 private:
  std::string binary_;
  nlohmann::json config_;
  std::string listen_;
  temp_dir dir_;
  std::unique_ptr<process> proc_;
  std::string last_output_;
};

// A blobswarm-mirror on `host` (a loopback address such as 127.0.0.2) with
// its data in its own temporary directory.
struct mirror_config {
  std::string host = "127.0.0.1";
  std::string upstream;  // default upstream URL
  nlohmann::json upstreams = nlohmann::json::object();
  std::string tracker = "http://127.0.0.1:9";  // nothing listens on port 9
  std::string seeder = "http://127.0.0.1:9";
  std::string passkey = "test-passkey-0123456789";
  nlohmann::json extra = nlohmann::json::object();  // merged last
};
std::unique_ptr<service_process> start_mirror(const mirror_config& c);

// A blobswarm-tracker on 127.0.0.1 with its database and an admin token
// (written to <dir>/admin-token) in `dir`.
std::unique_ptr<service_process> start_tracker(const std::filesystem::path& dir,
                                               const std::string& admin_token);
// Creates a tracker user through the REST API; its passkey ("" on failure,
// which also fails the test).
std::string create_tracker_user(const service_process& tracker, const std::string& admin_token,
                                const std::string& name);

// The bytes of everything under a directory, keyed by relative path (to
// compare two image copies byte for byte).
std::map<std::string, std::string> read_tree(const std::filesystem::path& root);

}  // namespace blobswarm::test
