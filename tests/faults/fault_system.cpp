#include "tests/faults/fault_system.hpp"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <fstream>
#include <random>
#include <set>
#include <sstream>

#include "common/hasher.hpp"
#include "common/hex.hpp"
#include "db/database.hpp"

namespace blobswarm::test {

namespace fs = std::filesystem;
using nlohmann::json;

// --- fault_proxy -------------------------------------------------------------

std::pair<std::unique_ptr<process>, std::uint16_t> start_helper(const std::string& script,
                                                                std::vector<std::string> args,
                                                                const std::string& name) {
  args.insert(args.begin(),
              {"/usr/bin/python3", std::string(BLOBSWARM_SOURCE_DIR) + "/tests/faults/" + script});
  auto proc = std::make_unique<process>(std::move(args), process::options{.name = name});
  const std::string marker = name + " listening on 127.0.0.1:";
  if (!proc->wait_for_output(marker, 20s)) {
    throw std::runtime_error(name + " did not start:\n" + proc->output());
  }
  auto out = proc->output();
  auto port = static_cast<std::uint16_t>(std::stoi(out.substr(out.find(marker) + marker.size())));
  return {std::move(proc), port};
}

fault_proxy::fault_proxy(const std::string& upstream_url) {
  std::tie(proc_, port_) =
      start_helper("fault_proxy.py", {"--upstream", upstream_url}, "fault_proxy");
}

void fault_proxy::set_rules(const json& rules) {
  http::client c;
  auto r = c.send({.method = "PUT",
                   .url = url() + "/__faults",
                   .headers = {{"Content-Type", "application/json"}},
                   .body = rules.dump()});
  if (!r || r->status != 200) throw std::runtime_error("fault_proxy refused the rules");
}

std::vector<std::string> fault_proxy::requests() const {
  http::client c;
  auto r = c.send({.url = url() + "/__faults"});
  if (!r || r->status != 200) return {};
  return json::parse(r->body)["requests"].get<std::vector<std::string>>();
}

std::size_t fault_proxy::count(std::initializer_list<std::string_view> parts) const {
  std::size_t n = 0;
  for (const auto& line : requests()) {
    bool all = true;
    for (auto p : parts) all = all && line.find(p) != std::string::npos;
    if (all) ++n;
  }
  return n;
}

// --- fault_system ------------------------------------------------------------

fault_system::fault_system(bool with_tracker, nlohmann::json tracker_extra,
                           registry_options registry)
    : reg(std::move(registry)) {
  admin_token = "admin-" + to_hex(random_bytes(16, std::random_device{}()));
  write_text(dir / "admin-token", admin_token + "\n");
  seeder_token = "seeder-" + to_hex(random_bytes(16, std::random_device{}()));
  write_text(dir / "seeder-token", seeder_token + "\n");
  auto listen = "127.0.0.1:" + std::to_string(free_port());
  tracker_url_ = "http://" + listen;
  if (!with_tracker) return;
  tracker =
      std::make_unique<service_process>("blobswarm-tracker",
                                        json{{"listen", listen},
                                             {"db", (dir / "tracker.db").string()},
                                             {"admin_token_file", (dir / "admin-token").string()},
                                             {"announce_interval", "5s"},
                                             {"min_interval", "1s"},
                                             {"log_level", "debug"}},
                                        listen);
  tracker->config().update(tracker_extra);
  tracker->start();
  passkey = create_user("nodes");
}

fault_system::~fault_system() {
  // Mirrors first: they announce 'stopped' to a tracker that is still there.
  mirrors.clear();
  seeder.reset();
  tracker.reset();
}

std::string fault_system::create_user(const std::string& name) {
  http::client c;
  auto r = c.send({.method = "POST",
                   .url = tracker_url_ + "/api/v1/users",
                   .headers = {{"Authorization", "Bearer " + admin_token},
                               {"Content-Type", "application/json"}},
                   .body = json{{"name", name}}.dump()});
  if (!r || r->status != 201) {
    throw std::runtime_error("cannot create tracker user: " + (r ? r->body : r.error().message));
  }
  return json::parse(r->body).value("passkey", "");
}

std::string fault_system::upstream_for(const std::string& upstream) const {
  return upstream.empty() ? reg.url() : upstream;
}

namespace {
std::string host_of(const std::string& url) {
  auto s = url.substr(url.find("://") + 3);
  return s.substr(0, s.find('/'));
}
}  // namespace

service_process& fault_system::start_seeder(json extra, std::string upstream) {
  upstream = upstream_for(upstream);
  auto listen = "127.0.0.1:" + std::to_string(free_port());
  json cfg = {
      {"listen", listen},        {"data", (dir / "seeder").string()},
      {"upstream", upstream},    {"upstreams", {{host_of(upstream), {{"url", upstream}}}}},
      {"tracker", tracker_url_}, {"peer_listen", "127.0.0.1:" + std::to_string(free_port())},
      {"log_level", "debug"},    {"api_token_file", (dir / "seeder-token").string()}};
  if (tracker) cfg["tracker_token_file"] = (dir / "admin-token").string();
  if (extra.is_object()) cfg.merge_patch(extra);
  seeder = std::make_unique<service_process>("blobswarm-seeder", cfg, listen);
  seeder->start();
  return *seeder;
}

service_process& fault_system::add_mirror(json extra, std::string upstream) {
  upstream = upstream_for(upstream);
  mirror_config c;
  c.host = "127.0.0." + std::to_string(2 + mirrors.size());
  c.upstream = upstream;
  c.upstreams = {{host_of(upstream), {{"url", upstream}}}};
  if (tracker) {
    c.tracker = tracker_url_;
    c.passkey = passkey;
  }
  if (seeder) c.seeder = seeder->url();
  c.extra = {{"seeder_token_file", (dir / "seeder-token").string()}};
  if (extra.is_object()) c.extra.merge_patch(extra);
  mirrors.push_back(start_mirror(c));
  return *mirrors.back();
}

void fault_system::ingest(const std::string& name, const pushed_blob& b) {
  ASSERT_TRUE(seeder) << "start_seeder() first";
  http::client c;
  auto r = c.send({.url = seeder->url("/api/v1/blobs/" + name + "/" + b.digest.str() + "/torrent"),
                   .headers = {{"Authorization", "Bearer " + seeder_token}}});
  ASSERT_TRUE(r && r->status == 200) << (r ? r->body : r.error().message);
}

// --- pulls and checks --------------------------------------------------------

bool blob_pull::intact(const blobswarm::digest& expected, std::uint64_t size) const {
  return status == 200 && error.empty() && bytes == size && digest == expected.str();
}

blob_pull pull_blob(const std::string& url, std::atomic<std::uint64_t>* progress,
                    http::header_list headers, std::uint64_t max_speed) {
  http::client c(http::client_options{.connect_timeout = std::chrono::seconds(5),
                                      .stall_timeout = std::chrono::seconds(30)});
  blob_pull out;
  hasher h(hash_algorithm::sha256);
  http::client_request req{.url = url, .headers = std::move(headers)};
  req.timeout = std::chrono::seconds(120);
  req.max_recv_speed = max_speed;
  auto r = c.stream(
      req,
      [&](const http::client_response& res) -> result<void> {
        out.status = res.status;
        return {};
      },
      [&](std::span<const std::byte> d) -> result<void> {
        std::string_view s(reinterpret_cast<const char*>(d.data()), d.size());
        h.update(s);
        if (out.body.size() < 4096) out.body.append(s.substr(0, 4096 - out.body.size()));
        out.bytes += d.size();
        if (progress) progress->store(out.bytes);
        return {};
      });
  if (!r) out.error = r.error().message;
  out.digest = "sha256:" + to_hex(h.finish());
  return out;
}

std::string blob_url(const service_process& mirror, const std::string& name,
                     const blobswarm::digest& d) {
  return mirror.url("/v2/" + name + "/blobs/" + d.str());
}

std::string sha256_of(std::string_view bytes) {
  return "sha256:" + to_hex(sha256(bytes));
}

std::string registry_error_code(const std::string& body) {
  auto j = json::parse(body, nullptr, false);
  if (!j.is_object() || !j.contains("errors") || j["errors"].empty()) return "<none>";
  return j["errors"][0].value("code", "");
}

double metric(const std::string& page, std::string_view series) {
  std::istringstream in(page);
  std::string line;
  while (std::getline(in, line)) {
    if (line.size() > series.size() && line.starts_with(series) && line[series.size()] == ' ') {
      return std::stod(line.substr(series.size() + 1));
    }
  }
  return 0;
}

double metric_of(const service_process& s, std::string_view series) {
  http::client c;
  auto r = c.send({.url = s.url("/metrics")});
  return r && r->status == 200 ? metric(r->body, series) : 0;
}

std::vector<cache_entry> cache_index(const fs::path& data) {
  std::vector<cache_entry> out;
  auto db = db::database::open(data / "index.db", {.create = false, .read_only = true});
  if (!db) {
    ADD_FAILURE() << "cannot open " << (data / "index.db") << ": " << db.error().message;
    return out;
  }
  auto s = db->prepare("SELECT digest, state, size FROM blobs ORDER BY digest");
  if (!s) return out;
  while (s->step().value_or(false)) {
    out.push_back({std::string(s->column_text(0)), std::string(s->column_text(1)),
                   static_cast<std::uint64_t>(s->column_int(2))});
  }
  return out;
}

std::vector<std::string> cache_files(const fs::path& data) {
  std::vector<std::string> out;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(data / "blobs", ec)) {
    out.push_back(e.path().filename().string());
  }
  std::sort(out.begin(), out.end());
  return out;
}

namespace {
std::string cache_problems_now(const fs::path& data) {
  std::string problems;
  std::set<std::string> complete;
  for (const auto& e : cache_index(data)) {
    if (e.state != "complete") {
      problems += "entry " + e.digest + " is '" + e.state + "'; ";
      continue;
    }
    auto hex = e.digest.substr(e.digest.find(':') + 1);
    complete.insert(hex);
    auto file = data / "blobs" / hex;
    std::error_code ec;
    if (!fs::exists(file, ec)) {
      problems += "entry " + e.digest + " has no file; ";
    } else if (fs::file_size(file, ec) != e.size) {
      problems += "file of " + e.digest + " has the wrong size; ";
    } else if (sha256_of(read_text(file)) != e.digest) {
      problems += "file of " + e.digest + " does not match its digest; ";
    }
  }
  for (const auto& f : cache_files(data)) {
    if (!complete.contains(f)) problems += "file " + f + " has no complete entry; ";
  }
  return problems;
}
}  // namespace

std::string cache_problems(const fs::path& data) {
  std::string problems;
  wait_for([&] { return (problems = cache_problems_now(data)).empty(); }, 5s);
  return problems;
}

std::uint64_t stored_bytes(const fs::path& data, const blobswarm::digest& d) {
  std::string hex(d.hex());
  std::uint64_t total = 0;
  auto add = [&](const fs::path& p) {
    struct stat st {};
    if (::stat(p.c_str(), &st) == 0) total += static_cast<std::uint64_t>(st.st_blocks) * 512;
  };
  add(data / "blobs" / hex);
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(data / "segments", ec)) {
    if (e.path().filename().string().starts_with(hex + ".")) add(e.path());
  }
  return total;
}

namespace {
std::uint64_t status_kib(int pid, std::string_view field) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.starts_with(field) && line.size() > field.size() && line[field.size()] == ':') {
      return std::stoull(line.substr(field.size() + 1));
    }
  }
  return 0;
}
}  // namespace

std::uint64_t rss_anon_kib(int pid) {
  return status_kib(pid, "RssAnon");
}

std::uint64_t peak_rss_kib(int pid) {
  return status_kib(pid, "VmHWM");
}

int pid_of(const service_process& s) {
  auto needle = (s.dir() / "config.json").string();
  std::error_code ec;
  for (const auto& e : fs::directory_iterator("/proc", ec)) {
    auto name = e.path().filename().string();
    if (name.find_first_not_of("0123456789") != std::string::npos) continue;
    auto cmdline = read_text(e.path() / "cmdline");
    std::replace(cmdline.begin(), cmdline.end(), '\0', ' ');
    if (cmdline.find(needle) != std::string::npos &&
        cmdline.find("blobswarm-") != std::string::npos)
      return std::stoi(name);
  }
  return 0;
}

}  // namespace blobswarm::test
