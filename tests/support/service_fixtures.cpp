#include "tests/support/service_fixtures.hpp"

#include <gtest/gtest.h>

#include <fstream>

namespace blobswarm::test {

bool wait_healthy(process& p, const http::client& c, const std::string& healthz_url,
                  std::chrono::milliseconds timeout) {
  bool answered = false;
  wait_for(
      [&] {
        if (!p.running()) return true;
        auto r = c.send({.url = healthz_url});
        answered = r && r->status == 200;
        return answered;
      },
      timeout);
  return answered && p.running();
}

service_process::service_process(std::string binary, nlohmann::json config, std::string listen)
    : binary_(std::move(binary)), config_(std::move(config)), listen_(std::move(listen)) {}

service_process::~service_process() {
  stop();
}

void service_process::start() {
  write_text(dir_ / "config.json", config_.dump(2));
  proc_ = std::make_unique<process>(std::vector<std::string>{binary(binary_).string(), "--config",
                                                             (dir_ / "config.json").string()},
                                    process::options{.name = binary_ + "@" + listen_});
  http::client c(http::client_options{.connect_timeout = std::chrono::seconds(1),
                                      .timeout = std::chrono::seconds(1)});
  if (!wait_healthy(*proc_, c, url("/healthz"))) {
    ADD_FAILURE() << binary_ << " did not start:\n" << proc_->output();
  }
}

void service_process::stop(int signal) {
  if (!proc_) return;
  proc_->stop(signal, std::chrono::seconds(15));
  last_output_ = proc_->output();
  proc_.reset();
}

nlohmann::json service_process::get_json(std::string_view path) const {
  http::client c;
  auto r = c.send({.url = url(path)});
  if (!r || r->status != 200) return nullptr;
  return nlohmann::json::parse(r->body, nullptr, false);
}

nlohmann::json service_process::stats_totals() const {
  auto j = get_json("/api/v1/stats");
  return j.is_object() && j.contains("totals") ? j["totals"] : nlohmann::json::object();
}

std::uint64_t service_process::stats_total(std::string_view key) const {
  return stats_totals().value(std::string(key), std::uint64_t{0});
}

std::unique_ptr<service_process> start_mirror(const mirror_config& c) {
  auto port = free_port(c.host);
  auto peer_port = free_port(c.host);
  auto listen = c.host + ":" + std::to_string(port);
  auto p = std::make_unique<service_process>("blobswarm-mirror", nlohmann::json::object(), listen);
  write_text(p->dir() / "passkey", c.passkey + "\n");
  nlohmann::json cfg = {
      {"listen", listen},
      {"data", (p->dir() / "data").string()},
      {"tracker", c.tracker},
      {"seeder", c.seeder},
      {"passkey_file", (p->dir() / "passkey").string()},
      {"peer_listen", c.host + ":" + std::to_string(peer_port)},
      {"upstream", c.upstream},
      {"upstreams", c.upstreams},
      {"stall_timeout", "2s"},
      {"shutdown_grace", "2s"},
      {"log_level", "debug"},
  };
  cfg.merge_patch(c.extra);
  p->config() = cfg;
  p->start();
  return p;
}

std::unique_ptr<service_process> start_tracker(const std::filesystem::path& dir,
                                               const std::string& admin_token) {
  write_text(dir / "admin-token", admin_token);
  auto listen = "127.0.0.1:" + std::to_string(free_port());
  auto tracker = std::make_unique<service_process>(
      "blobswarm-tracker",
      nlohmann::json{{"listen", listen},
                     {"db", (dir / "tracker.db").string()},
                     {"admin_token_file", (dir / "admin-token").string()},
                     {"access_log", false}},
      listen);
  tracker->start();
  return tracker;
}

std::string create_tracker_user(const service_process& tracker, const std::string& admin_token,
                                const std::string& name) {
  http::client c;
  auto r = c.send({.method = "POST",
                   .url = tracker.url("/api/v1/users"),
                   .headers = {{"Authorization", "Bearer " + admin_token},
                               {"Content-Type", "application/json"}},
                   .body = nlohmann::json{{"name", name}}.dump()});
  EXPECT_TRUE(r && r->status == 201) << (r ? r->body : r.error().message);
  return r && r->status == 201 ? nlohmann::json::parse(r->body).value("passkey", "") : "";
}

std::map<std::string, std::string> read_tree(const std::filesystem::path& root) {
  std::map<std::string, std::string> out;
  for (const auto& e : std::filesystem::recursive_directory_iterator(root)) {
    if (e.is_regular_file())
      out[std::filesystem::relative(e.path(), root).string()] = read_text(e.path());
  }
  return out;
}

}  // namespace blobswarm::test
