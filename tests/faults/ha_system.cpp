#include "tests/faults/ha_system.hpp"

#include <gtest/gtest.h>

#include <future>
#include <random>

#include "common/hex.hpp"
#include "common/rendezvous.hpp"

namespace blobswarm::test {

using nlohmann::json;

tcp_balancer::tcp_balancer(const std::vector<std::string>& backends) {
  std::string list;
  for (const auto& b : backends) list += (list.empty() ? "" : ",") + b;
  std::tie(proc_, port_) = start_helper("tcp_balancer.py", {"--backends", list}, "tcp_balancer");
}

ha_system::ha_system(ha_options options) : options_(std::move(options)) {
  registry_proxy = std::make_unique<fault_proxy>(reg.url());
  admin_token = "admin-" + to_hex(random_bytes(16, std::random_device{}()));
  write_text(dir / "admin-token", admin_token + "\n");
  seeder_token = "seeder-" + to_hex(random_bytes(16, std::random_device{}()));
  write_text(dir / "seeder-token", seeder_token + "\n");
  write_text(dir / "passkeys.key", to_hex(random_bytes(32, std::random_device{}())) + "\n");
  db_url = shared_postgres().create_database();

  for (std::size_t i = 0; i < options_.trackers; ++i) {
    tracker_listen_.push_back("127.0.0.1:" + std::to_string(free_port()));
  }
  balancer = std::make_unique<tcp_balancer>(tracker_listen_);
  trackers.resize(options_.trackers);
  for (std::size_t i = 0; i < options_.trackers_started; ++i) start_tracker(i);
  passkey = [&] {
    http::client c;
    auto r = c.send({.method = "POST",
                     .url = tracker_url() + "/api/v1/users",
                     .headers = {{"Authorization", "Bearer " + admin_token},
                                 {"Content-Type", "application/json"}},
                     .body = json{{"name", "nodes"}}.dump()});
    if (!r || r->status != 201) {
      throw std::runtime_error("cannot create the nodes user: " +
                               (r ? r->body : r.error().message));
    }
    return json::parse(r->body).value("passkey", "");
  }();

  auto upstream = registry_proxy->url();
  json seeders_list = json::array();
  for (std::size_t i = 0; i < options_.seeders; ++i) {
    auto listen = "127.0.0.1:" + std::to_string(free_port());
    seeder_urls_.push_back("http://" + listen);
    seeders_list.push_back(seeder_urls_.back());
    seeder_configs_.push_back({{"listen", listen},
                               {"data", (dir / ("seeder-" + std::to_string(i))).string()},
                               {"upstream", upstream},
                               {"upstreams", {{registry_proxy->host(), {{"url", upstream}}}}},
                               {"tracker", tracker_url()},
                               {"tracker_token_file", (dir / "admin-token").string()},
                               {"tracker_user", "seeder-" + std::to_string(i)},
                               {"peer_listen", "127.0.0.1:" + std::to_string(free_port())},
                               {"api_token_file", (dir / "seeder-token").string()},
                               {"lease_store", redis.url()},
                               {"lease_ttl", "2s"},
                               {"swarm_stall_timeout", "1s"},
                               {"segment_size", "1MiB"},
                               {"log_level", "debug"}});
  }
  for (auto& c : seeder_configs_) {
    c["seeders"] = seeders_list;
    c.merge_patch(options_.seeder_extra);
  }
  seeders.resize(options_.seeders);
  for (std::size_t i = 0; i < options_.seeders_started; ++i) start_seeder(i);
}

ha_system::~ha_system() {
  mirrors.clear();
  seeders.clear();
  trackers.clear();
}

void ha_system::start_tracker(std::size_t i) {
  trackers[i] =
      std::make_unique<service_process>("blobswarm-tracker",
                                        json{{"listen", tracker_listen_[i]},
                                             {"db", db_url},
                                             {"peer_store", redis.url()},
                                             {"public_url", tracker_url()},
                                             {"passkey_key_file", (dir / "passkeys.key").string()},
                                             {"admin_token_file", (dir / "admin-token").string()},
                                             {"announce_interval", "5s"},
                                             {"min_interval", "1s"},
                                             {"resync_interval", "2s"},
                                             {"stats_flush_interval", "1s"},
                                             {"log_level", "debug"}},
                                        tracker_listen_[i]);
  trackers[i]->start();
}

void ha_system::start_seeder(std::size_t i) {
  auto listen = seeder_urls_[i].substr(std::string("http://").size());
  seeders[i] = std::make_unique<service_process>("blobswarm-seeder", seeder_configs_[i], listen);
  seeders[i]->start();
}

service_process& ha_system::add_mirror(json extra) {
  mirror_config c;
  c.host = "127.0.0." + std::to_string(2 + mirrors.size());
  c.upstream = registry_proxy->url();
  c.upstreams = {{registry_proxy->host(), {{"url", registry_proxy->url()}}}};
  c.tracker = tracker_url();
  c.passkey = passkey;
  c.extra = {{"seeder", seeder_urls_}, {"seeder_token_file", (dir / "seeder-token").string()}};
  if (extra.is_object()) c.extra.merge_patch(extra);
  mirrors.push_back(start_mirror(c));
  return *mirrors.back();
}

std::vector<std::size_t> ha_system::owners(const blobswarm::digest& d) const {
  return rendezvous_order(seeder_urls_, d.str());
}

void ha_system::throttle_registry(std::uint64_t bytes_per_second) {
  registry_proxy->set_rules(nlohmann::json::array({{{"path", "/blobs/"},
                                                    {"method", "GET"},
                                                    {"action", "throttle"},
                                                    {"rate", bytes_per_second}}}));
}

std::uint64_t ha_system::registry_egress() const {
  http::client c;
  auto r = c.send({.url = registry_proxy->url() + "/__faults"});
  if (!r || r->status != 200) return 0;
  return json::parse(r->body).value("body_bytes", std::uint64_t{0});
}

std::string ha_system::logs() const {
  std::string out;
  auto add = [&](const std::string& name, const std::unique_ptr<service_process>& p) {
    if (p) out += "\n===== " + name + "\n" + p->output();
  };
  for (std::size_t i = 0; i < trackers.size(); ++i)
    add("tracker " + std::to_string(i), trackers[i]);
  for (std::size_t i = 0; i < seeders.size(); ++i) add("seeder " + std::to_string(i), seeders[i]);
  for (std::size_t i = 0; i < mirrors.size(); ++i) add("mirror " + std::to_string(i), mirrors[i]);
  return out;
}

pulled pull_everywhere(const std::vector<service_process*>& mirrors, const std::string& name,
                       const std::vector<pushed_blob>& blobs) {
  std::vector<std::future<blob_pull>> running;
  for (auto* m : mirrors) {
    for (const auto& b : blobs) {
      auto url = blob_url(*m, name, b.digest);
      running.push_back(std::async(std::launch::async, [url] { return pull_blob(url); }));
    }
  }
  pulled out;
  std::size_t i = 0;
  for (auto* m : mirrors) {
    for (const auto& b : blobs) {
      auto r = running[i++].get();
      if (!r.intact(b.digest, b.size)) {
        out.problems += m->listen() + " " + b.digest.str() + ": " + std::to_string(r.status) + " " +
                        std::to_string(r.bytes) + " bytes " + r.digest + " " + r.error + "; ";
      }
      out.results.push_back(std::move(r));
    }
  }
  return out;
}

}  // namespace blobswarm::test
