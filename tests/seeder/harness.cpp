#include "tests/seeder/harness.hpp"

#include <gtest/gtest.h>

#include <sstream>
#include <stdexcept>

#include "common/hasher.hpp"
#include "common/hex.hpp"

namespace blobswarm::test {

namespace fs = std::filesystem;
using json = nlohmann::json;

http::client_response http_get(const std::string& url, http::header_list headers) {
  static http::client c(http::client_options{.timeout = std::chrono::seconds(120)});
  auto r = c.send({.url = url, .headers = std::move(headers)});
  if (!r) return http::client_response{.status = 0, .body = r.error().message};
  return *r;
}

http::client_response http_post(const std::string& url, std::string body,
                                http::header_list headers) {
  static http::client c(http::client_options{.timeout = std::chrono::seconds(120)});
  if (headers.empty()) headers.emplace_back("Content-Type", "application/json");
  auto r = c.send(
      {.method = "POST", .url = url, .headers = std::move(headers), .body = std::move(body)});
  if (!r) return http::client_response{.status = 0, .body = r.error().message};
  return *r;
}

json json_of(const http::client_response& r) {
  auto j = json::parse(r.body, nullptr, false);
  return j.is_discarded() ? json() : j;
}

std::string sha256_hex_digest(std::string_view bytes) {
  return "sha256:" + to_hex(sha256(bytes));
}

tracker_process::tracker_process() {
  token_ = "test-admin-token-" + to_hex(random_bytes(8, static_cast<std::uint64_t>(::getpid())));
  token_file_ = dir_ / "admin-token";
  write_text(token_file_, token_ + "\n");
  port_ = free_port();
  process_ = std::make_unique<process>(
      std::vector<std::string>{
          binary("blobswarm-tracker").string(), "--listen", "127.0.0.1:" + std::to_string(port_),
          "--db", (dir_ / "tracker.db").string(), "--admin-token-file", token_file_.string(),
          "--announce-interval", "5s", "--min-interval", "1s"},
      process::options{.name = "blobswarm-tracker"});
  if (!wait_for([&] { return http_get(url() + "/healthz").status == 200; }, 20s)) {
    throw std::runtime_error("blobswarm-tracker did not start:\n" + process_->output());
  }
}

std::string tracker_process::create_user(const std::string& name) {
  auto r = http_post(url() + "/api/v1/users", json{{"name", name}}.dump(),
                     {{"Authorization", "Bearer " + token_}, {"Content-Type", "application/json"}});
  if (r.status != 201) throw std::runtime_error("cannot create tracker user: " + r.body);
  return json_of(r)["passkey"].get<std::string>();
}

json tracker_process::blob(const digest& d) {
  return json_of(
      http_get(url() + "/api/v1/blobs/" + d.str(), {{"Authorization", "Bearer " + token_}}));
}

std::string tracker_process::torrent_for(const digest& d, const std::string& passkey) {
  auto r = http_get(url() + "/api/v1/blobs/" + d.str() + "/torrent",
                    {{"Authorization", "Bearer " + passkey}});
  if (r.status != 200) return {};
  return r.body;
}

seeder_process::seeder_process(seeder_config config) : config_(std::move(config)) {
  data_ = config_.data ? *config_.data : dir_ / "data";
  port_ = config_.port ? *config_.port : free_port();
  peer_port_ = free_port();
  start();
}

seeder_process::~seeder_process() {
  stop();
}

void seeder_process::start() {
  if (process_ && process_->running()) return;
  std::vector<std::string> argv = config_.wrapper;
  argv.insert(argv.end(),
              {binary("blobswarm-seeder").string(), "--listen",
               "127.0.0.1:" + std::to_string(port_), "--data", data_.string(), "--upstream",
               config_.upstream, "--peer-listen", "127.0.0.1:" + std::to_string(peer_port_),
               "--tracker-user", config_.tracker_user, "--log-level", "debug"});
  if (!config_.tracker.empty()) {
    argv.insert(argv.end(), {"--tracker", config_.tracker, "--tracker-token-file",
                             config_.tracker_token_file.string()});
  }
  if (!config_.config_json.empty()) {
    write_text(dir_ / "seeder.json", config_.config_json);
    argv.insert(argv.end(), {"--config", (dir_ / "seeder.json").string()});
  }
  argv.insert(argv.end(), config_.args.begin(), config_.args.end());
  process_ = std::make_unique<process>(argv, process::options{.name = "blobswarm-seeder"});
  if (!wait_for([&] { return get("/healthz").status == 200 || !process_->running(); }, 20s) ||
      !process_->running()) {
    throw std::runtime_error("blobswarm-seeder did not start:\n" + process_->output());
  }
}

void seeder_process::stop() {
  if (!process_) return;
  process_->stop(15, 20s);
}

std::string seeder_process::url(std::string_view path) const {
  return "http://127.0.0.1:" + std::to_string(port_) + std::string(path);
}

std::string seeder_process::blob_path(const std::string& name, const digest& d,
                                      std::string_view suffix) const {
  return "/api/v1/blobs/" + name + "/" + d.str() + std::string(suffix);
}

http::client_response seeder_process::get(std::string_view path, http::header_list headers) const {
  return http_get(url(path), std::move(headers));
}

json seeder_process::descriptor(const std::string& name, const digest& d) const {
  return json_of(get(blob_path(name, d, "/descriptor")));
}

double seeder_process::metric(std::string_view name) const {
  auto text = get("/metrics").body;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    if (line.starts_with(name) && line.size() > name.size() &&
        (line[name.size()] == ' ' || line[name.size()] == '{')) {
      auto sp = line.rfind(' ');
      return std::stod(line.substr(sp + 1));
    }
  }
  return 0;
}

lt_download download_with_libtorrent(std::string_view torrent,
                                     const std::vector<std::string>& peers,
                                     std::chrono::seconds timeout) {
  temp_dir dir;
  write_text(dir / "t.torrent", torrent);
  fs::create_directories(dir / "save");
  std::vector<std::string> argv = {
      "/usr/bin/python3", std::string(BLOBSWARM_SOURCE_DIR) + "/tests/seeder/lt_client.py",
      "--torrent",        (dir / "t.torrent").string(),
      "--save",           (dir / "save").string(),
      "--timeout",        std::to_string(timeout.count())};
  for (const auto& p : peers) argv.insert(argv.end(), {"--peer", p});
  auto r = run_command(argv, timeout + 30s);
  lt_download out{r.status, {}, r.output};
  auto pos = r.output.rfind("sha256:");
  if (r.status == 0 && pos != std::string::npos) out.digest = r.output.substr(pos, 71);
  return out;
}

}  // namespace blobswarm::test
